"""What the CapFilt job and ``capfilt refilter`` write: rows, dead letters, reports, stats,
and the images job's documents with the kept synthetic captions attached.

Both commands build their outputs with these functions, which is what makes a re-application
with new thresholds equal to a full run with them: rows are decided by
``filters/capfilt/decisions.py``, reports are counted from the written rows, and stats are
finalised from the merged reports by one function.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from webweave.filters.capfilt.config import CapFiltConfig
from webweave.filters.capfilt.decisions import SYNTHETIC, WEB, Thresholds, apply_decisions
from webweave.filters.capfilt.engine import PairFailure, PairScores
from webweave.pipelines.funnel import Funnel
from webweave.pipelines.parquet_shards import join, write_table_atomically
from webweave.schemas import dead_letter, image_documents

CAPFILT, DEAD_LETTER, DOCUMENTS = "capfilt", "dead_letter", "documents"
STATS, CONFIG = "stats.json", "config.yaml"
MANIFESTS, PROGRESS = "_manifest", "_progress"
STAGES = ("decode", "models")  # the funnel of stats.json, in order

# Columns of a pairs row carried into its capfilt row unchanged.
PAIR_COLUMNS = ("pair_id", "doc_id", "position", "image_url", "sha256", "format",
                "pairs_shard", "image_shard", "image_row")  # fmt: skip


def thresholds(config: CapFiltConfig) -> Thresholds:
    return Thresholds(config.mode, config.itm_threshold, config.keep_top)


# ---------------------------------------------------------------- rows


def scored_row(
    pair: dict, web: tuple[str | None, str], scores: PairScores, provenance: dict, config
) -> dict:
    """The ``capfilt`` row of a scored pair, decided with ``config``'s thresholds."""
    text, source = web
    row = {key: pair.get(key) for key in PAIR_COLUMNS}
    row.update(
        web_text=text,
        web_text_source=source,
        web_itm_score=scores.web_itm,
        web_rank_score=scores.web_rank,
        web_kept=False,
        captions=[
            {"text": t, "itm_score": i, "rank_score": r, "kept": False}
            for t, i, r in zip(
                scores.captions, scores.caption_itm, scores.caption_rank, strict=True
            )
        ],
        kept_texts=[],
        kept_sources=[],
        provenance=provenance,
    )
    return apply_decisions(row, thresholds(config))


def dead_letter_row(pair: dict, failure: PairFailure, images_dir: str) -> dict:
    """A ``dead_letter`` row: the image's shard and row locate the bytes that failed."""
    return dead_letter.row(
        join(images_dir, pair["image_shard"] or "pairs"),
        failure.stage,
        failure.error_type,
        failure.message,
        record_offset=pair.get("image_row"),
        record_id=pair["pair_id"],
        url=pair.get("image_url"),
    )


# ---------------------------------------------------------------- reports and stats


def texts_report(rows: Iterable[dict]) -> dict:
    """Counts of web and synthetic texts, kept or not, over written rows (additive)."""
    report = {
        "pairs_with_captions": 0,
        "pairs_with_kept_text": 0,
        "web_text_source": Counter(),
        "texts": Counter(),
    }
    for row in rows:
        report["pairs_with_captions"] += 1
        report["pairs_with_kept_text"] += bool(row["kept_texts"])
        report["web_text_source"][row["web_text_source"]] += 1
        texts = report["texts"]
        texts[WEB] += row["web_text"] is not None
        texts[SYNTHETIC] += len(row["captions"])
        kept = Counter(row["kept_sources"])
        texts[f"{WEB}_kept"] += kept[WEB]
        texts[f"{SYNTHETIC}_kept"] += kept[SYNTHETIC]
    report["web_text_source"] = dict(report["web_text_source"])
    report["texts"] = {k: report["texts"][k] for k in ("web", "web_kept", "synthetic",
                                                       "synthetic_kept")}  # fmt: skip
    return report


def shard_funnel(rows: list[dict], dead: list[dict]) -> Funnel:
    """decode → models over one image shard: every pair is a row or a dead letter."""
    funnel = Funnel()
    decode, models = funnel.stage("decode"), funnel.stage("models")
    decode.in_ = len(rows) + len(dead)
    decode.errors = sum(d["stage"] == "decode" for d in dead)
    decode.out = models.in_ = decode.in_ - decode.errors
    models.errors = sum(d["stage"] == "models" for d in dead)
    models.out = len(rows)
    return funnel


def shard_report(rows: list[dict], dead: list[dict]) -> dict:
    """One image shard's report; MergeReports adds them up (numbers and dicts add)."""
    funnel = shard_funnel(rows, dead)
    return {
        "pairs_in": len(rows) + len(dead),
        "funnel": funnel.to_list(),
        "dead_letter": len(dead),
        "dead_letter_by_reason": dict(Counter(d["error_type"] for d in dead)),
        **texts_report(rows),
    }


def finalize_stats(report: dict, config: CapFiltConfig, run: dict) -> dict:
    """``stats.json``: the funnel closes (pairs in = with captions + dead letter), the
    synthetic share of kept texts, and ``run`` (timing; the one part refilter does not redo)."""
    funnel = Funnel.from_list(report.get("funnel", []))
    for stage in STAGES:
        funnel.stage(stage)
    pairs_in = report.get("pairs_in", 0)
    with_captions = report.get("pairs_with_captions", 0)
    dead = report.get("dead_letter", 0)
    problems = funnel.closure_problems(pairs_in, with_captions)
    if pairs_in != with_captions + dead:
        problems.append(f"pairs in {pairs_in} != with captions {with_captions} + dead {dead}")
    errors = sum(stage.errors for stage in funnel.stages)
    if errors != dead:
        problems.append(f"{errors} stage errors but {dead} dead-letter rows")
    texts = {k: report.get("texts", {}).get(k, 0) for k in ("web", "web_kept", "synthetic",
                                                            "synthetic_kept")}  # fmt: skip
    kept = texts["web_kept"] + texts["synthetic_kept"]
    return {
        "pairs_in": pairs_in,
        "pairs_with_captions": with_captions,
        "dead_letter": dead,
        "dead_letter_by_reason": dict(sorted(report.get("dead_letter_by_reason", {}).items())),
        "funnel": funnel.to_list(),
        "funnel_closes": not problems,
        "funnel_problems": problems,
        "mode": config.mode,
        "itm_threshold": config.itm_threshold if config.mode == "blip" else None,
        "keep_top": config.keep_top if config.mode == "blip2" else None,
        "web_text_source": dict(sorted(report.get("web_text_source", {}).items())),
        "texts": {**texts, "kept": kept},
        "synthetic_share_of_kept": round(texts["synthetic_kept"] / kept, 6) if kept else 0.0,
        "pairs_with_kept_text": report.get("pairs_with_kept_text", 0),
        "pairs_without_kept_text": with_captions - report.get("pairs_with_kept_text", 0),
        "documents": report.get("documents"),
        "run": run,
    }


# ---------------------------------------------------------------- files


def write_rows(folder: str, stem: str, schema: pa.Schema, rows: list[dict], config) -> list[str]:
    """``folder/{stem}-NNNNN.parquet`` files of at most ``shard_rows`` rows (atomic writes);
    names are a function of the image shard, so a re-run rewrites exactly its own files."""
    paths = []
    for n, start in enumerate(range(0, len(rows), config.shard_rows)):
        path = join(folder, f"{stem}-{n:05d}.parquet")
        table = pa.Table.from_pylist(rows[start : start + config.shard_rows], schema=schema)
        write_table_atomically(table, path, config.parquet_compression)
        paths.append(path)
    return paths


def read_rows(paths: Iterable[str]) -> list[dict]:
    rows: list[dict] = []
    for path in paths:
        with FileSystems.open(path) as handle:
            rows.extend(pq.read_table(handle).to_pylist())
    return rows


def images_dir_of(out_dir: str) -> str:
    """The images output a CapFilt output was made from (its ownership record's input)."""
    from webweave.pipelines.errors import UserError
    from webweave.pipelines.output_folder import read_record

    record = read_record(out_dir)
    if record is None or record.get("command") != "capfilt":
        raise UserError(f"{out_dir} is not a `webweave capfilt` output")
    return record["inputs"][0]


def match(pattern: str) -> list[str]:
    return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)


def shard_prefix(path: str) -> str:
    """``pairs/input-00000-00003.parquet`` → ``input-00000`` (the images job's file prefix)."""
    stem = os.path.splitext(os.path.basename(path))[0]
    return stem.rsplit("-", 1)[0]


# ---------------------------------------------------------------- documents


def attachment(row: dict) -> tuple[str, dict]:
    """(pairs file prefix, what a document's image position gains) for one capfilt row."""
    captions = [t for t, s in zip(row["kept_texts"], row["kept_sources"], strict=True)
                if s == SYNTHETIC]  # fmt: skip
    return shard_prefix(row["pairs_shard"]), {
        "doc_id": row["doc_id"],
        "position": row["position"],
        "synthetic_captions": captions,
        "synthetic_caption_provenance": row["provenance"],
    }


class WriteCaptionedDocuments(beam.DoFn):
    """The images job's documents files of one prefix, with CapFilt's kept synthetic captions
    in ``image_metadata`` (``synthetic_captions``: kept captions, [] when none was kept,
    null when the pair was not scored). Web texts and every other field are copied as is;
    file names equal the input's."""

    def __init__(self, images_dir: str, output: str, config: CapFiltConfig):
        self.images_dir = images_dir
        self.output = output
        self.config = config

    def process(self, element) -> Iterator[dict]:
        prefix, attachments = element
        by_position = {(a["doc_id"], a["position"]): a for a in attachments if a is not None}
        pattern = re.compile(re.escape(prefix) + r"-\d{5}\.parquet$")
        files = [p for p in match(join(self.images_dir, DOCUMENTS, f"{prefix}-*.parquet"))
                 if pattern.search(os.path.basename(p))]  # fmt: skip
        documents = images = 0
        for path in files:
            rows = read_rows([path])
            for row in rows:
                metadata = row["image_metadata"] or []
                for position, meta in enumerate(metadata):
                    found = by_position.get((row["id"], position))
                    if meta is not None and found is not None:
                        meta["synthetic_captions"] = found["synthetic_captions"]
                        meta["synthetic_caption_provenance"] = found["synthetic_caption_provenance"]
                        images += bool(found["synthetic_captions"])
            table = pa.Table.from_pylist(rows, schema=image_documents.SCHEMA)
            target = join(self.output, DOCUMENTS, os.path.basename(path))
            write_table_atomically(table, target, self.config.parquet_compression)
            documents += len(rows)
        yield {"documents": {"written": documents, "images_with_synthetic_captions": images}}


def attach_documents(pipeline_part, prefixes: list[str], images_dir, output, config):
    """Group attachments by prefix (every prefix, even one without a scored pair) and write."""
    every = pipeline_part.pipeline | "DocumentPrefixes" >> beam.Create(
        [(prefix, None) for prefix in prefixes]
    )
    return (
        (every, pipeline_part)
        | "AllAttachments" >> beam.Flatten()
        | "GroupByPrefix" >> beam.GroupByKey()
        | "WriteDocuments" >> beam.ParDo(WriteCaptionedDocuments(images_dir, output, config))
    )


def document_prefixes(images_dir: str) -> list[str]:
    return sorted({shard_prefix(p) for p in match(join(images_dir, DOCUMENTS, "*.parquet"))})

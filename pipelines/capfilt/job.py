"""The ``capfilt`` job: an images output's pairs → synthetic captions, ITM or CLIP scores and
kept texts (BLIP CapFilt, or BLIP-2's caption ranking), with provenance.

    webweave capfilt IMAGES_OUT --output OUT [--config FILE] [--mode blip|blip2]
                     [--captioner ID_OR_PATH] [--filter ID_OR_PATH] [--ranker ID_OR_PATH]
                     [--device auto|cpu|cuda] [--write-documents] [--overwrite] [Beam options]

Graph (image bytes never travel through a shuffle; only small pair rows do):

    IMAGES_OUT/pairs/*.parquet → ReadPairs → (image_shard, pair) → GroupByKey(image_shard)
      → CapFiltShard: reads that images/ shard once, runs ``filters/capfilt`` over its pairs,
        writes capfilt/{shard}-NNNNN.parquet, dead_letter/{shard}-NNNNN.parquet and a
        _manifest/{shard}.json, emits a report (and documents attachments)
      → MergeReports → stats.json
    [--write-documents] attachments → GroupByKey(documents prefix) → documents/ (the images
      job's documents with the kept synthetic captions in image_metadata)

Models load once per worker process in ``setup`` (a ``Shared`` handle, so the DoFn instances
of one process share one copy): a DoFn rather than ``RunInference`` because one pair needs a
chain of model calls (caption, then ITM of K + 1 texts on the same image embeddings, or CLIP
ranking), per-pair random generators, decode threads feeding the GPU, and an out-of-memory
retry at half size; all of that lives in the Beam-free ``CapFilt`` engine, which the DoFn
only feeds. Grouping by image shard means each worker reads one images/ file sequentially.

Output folder (``pipelines/output_folder.py``, shared by every job): new, empty, or this very
job (same images folder, same output-changing config: finished shards are skipped by their
manifests, so a killed run resumes). Anything else is refused in one line unless
``--overwrite``, which writes a fresh sibling folder and swaps it in when the job succeeds.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import apache_beam as beam
import pyarrow.parquet as pq
import yaml
from apache_beam.io.filesystems import FileSystems
from apache_beam.utils.shared import Shared

from webweave.filters.capfilt.config import SPEED_KEYS, CapFiltConfig
from webweave.filters.capfilt.engine import CapFilt, PairFailure, PairInput
from webweave.filters.capfilt.web_text import web_text
from webweave.pipelines.capfilt.results import (
    CAPFILT,
    CONFIG,
    DEAD_LETTER,
    DOCUMENTS,
    MANIFESTS,
    PROGRESS,
    STATS,
    attach_documents,
    attachment,
    dead_letter_row,
    document_prefixes,
    finalize_stats,
    match,
    read_rows,
    scored_row,
    shard_report,
    write_rows,
)
from webweave.pipelines.funnel import MergeReports
from webweave.pipelines.output_folder import OutputFolder, claim, config_fingerprint
from webweave.pipelines.parquet_shards import join, read_json, write_json_atomically
from webweave.pipelines.progress import ProgressLine, clock, read_json_if_ready
from webweave.schemas import capfilt as capfilt_schema
from webweave.schemas import dead_letter as dead_letter_schema

PAIR_READ_COLUMNS = ["pair_id", "doc_id", "position", "image_url", "image_shard", "image_row",
                     "alt_text", "text_before", "text_after", "sha256", "format"]  # fmt: skip
HEARTBEAT_SECONDS = 2.0
COMMAND = "capfilt"
TABLES = (CAPFILT, DEAD_LETTER, DOCUMENTS)  # the folders the ownership record lists


@dataclass(frozen=True)
class CapFiltJob:
    """One CapFilt run: which images output, where to, with which settings."""

    images_dir: str
    output: str
    config: CapFiltConfig

    def fingerprint(self) -> str:
        """The output-changing config (speed keys and device aside) as a short hash: two runs
        with the same images folder and fingerprint are the same job."""
        config = self.config.to_dict()
        for key in SPEED_KEYS | {"device"}:
            config.pop(key)
        return config_fingerprint({"capfilt": config})

    def claim(self, overwrite: bool) -> OutputFolder:
        """The output folder for this job (resume, refuse or ``--overwrite``; one line)."""
        return claim(self.output, COMMAND, [self.images_dir], self.fingerprint(),
                     overwrite=overwrite, tables=TABLES)  # fmt: skip


# ---------------------------------------------------------------- reading pairs


class ReadPairs(beam.DoFn):
    """One pairs file → (image shard, pair row without bytes) per pair."""

    def __init__(self, images_dir: str):
        self.images_dir = images_dir

    def process(self, path: str) -> Iterator[tuple[str, dict]]:
        relative = os.path.relpath(path, self.images_dir) if "://" not in path else path
        with FileSystems.open(path) as handle:
            rows = pq.read_table(handle, columns=PAIR_READ_COLUMNS).to_pylist()
        for row in rows:
            row["pairs_shard"] = relative
            yield row["image_shard"] or "", row


# ---------------------------------------------------------------- one image shard


def _load_engine(config: CapFiltConfig) -> CapFilt:
    return CapFilt.from_config(config)


class _EngineHandle:
    """Holds the engine in a ``Shared`` slot (weak-referenceable wrapper)."""

    def __init__(self, engine: CapFilt):
        self.engine = engine


_SHARED = Shared()


class CapFiltShard(beam.DoFn):
    """The pairs of one images/ shard through CapFilt: capfilt rows, dead letters, a report."""

    def __init__(self, job: CapFiltJob, write_dir: str):
        self.job = job
        self.write_dir = write_dir

    def setup(self) -> None:
        config = self.job.config
        tag = f"capfilt-{self.job.fingerprint()}"
        # Keep the handle: Shared holds it weakly, and DoFn instances of a process share it.
        self._handle = _SHARED.acquire(lambda: _EngineHandle(_load_engine(config)), tag)
        self.engine = self._handle.engine

    def process(self, element) -> Iterator:
        image_shard, pairs = element
        pairs = sorted(pairs, key=lambda p: p["pair_id"])
        stem = _stem(image_shard)
        manifest = join(self.write_dir, MANIFESTS, f"{stem}.json")
        if FileSystems.exists(manifest):
            done = read_json(manifest)
            if done.get("fingerprint") == self.job.fingerprint():
                files = [join(self.write_dir, CAPFILT, name) for name in done["capfilt_files"]]
                yield from self._outputs(done["report"], read_rows(files))
                return
        rows, dead = self._score(image_shard, stem, pairs)
        config = self.job.config
        files = write_rows(join(self.write_dir, CAPFILT), stem, capfilt_schema.SCHEMA, rows, config)
        write_rows(join(self.write_dir, DEAD_LETTER), stem, dead_letter_schema.SCHEMA, dead, config)
        report = shard_report(rows, dead)
        report["batch_splits"] = self.engine.batch_splits
        self.engine.batch_splits = 0
        write_json_atomically(
            manifest,
            {
                "fingerprint": self.job.fingerprint(),
                "report": report,
                "capfilt_files": [os.path.basename(path) for path in files],  # folder may move
            },
        )
        yield from self._outputs(report, rows)

    def _outputs(self, report: dict, rows: list[dict]) -> Iterator:
        yield report
        if self.job.config.write_documents:
            for row in rows:
                yield beam.pvalue.TaggedOutput(DOCUMENTS, attachment(row))

    def _score(self, image_shard: str, stem: str, pairs: list[dict]):
        config = self.job.config
        images = _read_images(join(self.job.images_dir, image_shard)) if image_shard else None
        texts, inputs, failures = {}, [], {}
        for pair in pairs:
            data = _bytes_of(pair, images)
            if data is None:
                failures[pair["pair_id"]] = PairFailure(
                    pair["pair_id"], "decode", "image_not_found",
                    f"no image bytes at {image_shard or '(none)'} row {pair['image_row']}",
                )  # fmt: skip
                continue
            texts[pair["pair_id"]] = web_text(pair, config.text_sources)
            inputs.append(PairInput(pair["pair_id"], data, texts[pair["pair_id"]][0]))
        beat = _Heartbeat(join(self.write_dir, PROGRESS, f"{stem}.json"))
        provenance = self.engine.provenance()
        by_id = {pair["pair_id"]: pair for pair in pairs}
        rows, dead = [], []
        for n, result in enumerate(self.engine.run(inputs), start=1):
            beat.tick(n + len(failures))
            if isinstance(result, PairFailure):
                failures[result.pair_id] = result
                continue
            pair = by_id[result.pair_id]
            rows.append(scored_row(pair, texts[result.pair_id], result, provenance, config))
        beat.done()
        for pair in pairs:  # dead letters in pair order, counted where they failed
            failure = failures.get(pair["pair_id"])
            if failure is not None:
                dead.append(dead_letter_row(pair, failure, self.job.images_dir))
        if len(rows) + len(dead) != len(pairs):  # every pair is a row or a dead letter
            raise RuntimeError(f"{image_shard}: {len(pairs)} pairs, {len(rows)} + {len(dead)} out")
        return rows, dead


def _stem(image_shard: str) -> str:
    return os.path.splitext(os.path.basename(image_shard))[0] if image_shard else "no-image"


def _read_images(path: str):
    """The shard's (image bytes, sha256) columns, or None when the file cannot be read."""
    try:
        with FileSystems.open(path) as handle:
            table = pq.read_table(handle, columns=["sha256", "bytes"])
    except (OSError, ValueError):
        return None
    return table.column("sha256").to_pylist(), table.column("bytes")


def _bytes_of(pair: dict, images) -> bytes | None:
    """The pair's image bytes, checked against its sha256; None when missing or different."""
    row = pair.get("image_row")
    if images is None or row is None or not 0 <= row < len(images[0]):
        return None
    if pair.get("sha256") is not None and images[0][row] != pair["sha256"]:
        return None
    return images[1][row].as_py()


class _Heartbeat:
    """Writes ``_progress/{shard}.json`` every few seconds for the live progress line."""

    def __init__(self, path: str):
        self.path = path
        self.last = time.monotonic()

    def tick(self, done: int) -> None:
        if time.monotonic() - self.last >= HEARTBEAT_SECONDS:
            self.last = time.monotonic()
            write_json_atomically(self.path, {"pairs_done": done})

    def done(self) -> None:
        if FileSystems.exists(self.path):
            FileSystems.delete([self.path])


# ---------------------------------------------------------------- stats


class WriteStats(beam.DoFn):
    def __init__(self, write_dir: str, config: CapFiltConfig, started: float):
        self.write_dir = write_dir
        self.config = config
        self.started = started

    def process(self, _, report: dict, documents: list) -> Iterator[str]:
        if documents:
            report = {**report, **documents[0]}
        seconds = round(time.time() - self.started, 3)
        run = {
            "seconds": seconds,
            "pairs_per_second": round(report.get("pairs_in", 0) / seconds, 3) if seconds else 0,
            "batch_splits": report.get("batch_splits", 0),
        }
        stats = finalize_stats(report, self.config, run)
        path = join(self.write_dir, STATS)
        write_json_atomically(path, stats)
        yield path


# ---------------------------------------------------------------- graph


def build_capfilt_pipeline(pipeline: beam.Pipeline, job: CapFiltJob, write_dir: str) -> None:
    """Add the CapFilt job to ``pipeline``; outputs go to ``write_dir``."""
    pairs_files = match(join(job.images_dir, "pairs", "*.parquet"))
    shards = (
        pipeline
        | "PairsFiles" >> beam.Create(pairs_files)
        | "ReadPairs" >> beam.ParDo(ReadPairs(job.images_dir))
        | "GroupByImageShard" >> beam.GroupByKey()
        | "CapFiltShard"
        >> beam.ParDo(CapFiltShard(job, write_dir)).with_outputs(DOCUMENTS, main="reports")
    )
    report = shards.reports | "MergeReports" >> beam.CombineGlobally(MergeReports())
    documents = pipeline | "NoDocuments" >> beam.Create([])
    if job.config.write_documents:
        prefixes = document_prefixes(job.images_dir)
        documents = attach_documents(
            shards[DOCUMENTS], prefixes, job.images_dir, write_dir, job.config
        ) | "MergeDocuments" >> beam.CombineGlobally(MergeReports())
    _ = (
        pipeline
        | "StatsTrigger" >> beam.Create([None])
        | "WriteStats"
        >> beam.ParDo(
            WriteStats(write_dir, job.config, time.time()),
            beam.pvalue.AsSingleton(report),
            beam.pvalue.AsList(documents),
        )
    )


def count_pairs(images_dir: str) -> int:
    """Pairs in the images output, from Parquet footers (no rows read)."""
    total = 0
    for path in match(join(images_dir, "pairs", "*.parquet")):
        with FileSystems.open(path) as handle:
            total += pq.ParquetFile(handle).metadata.num_rows
    return total


def run_capfilt(job: CapFiltJob, options, overwrite: bool = False) -> dict:
    """Run the job with Beam ``options``; returns stats.json (written to ``job.output``)."""
    folder = job.claim(overwrite)
    write_config(job.config, folder.work_path)
    total = count_pairs(job.images_dir)
    resumed = " (resuming)" if folder.resumed else ""
    print(f"webweave capfilt: {total:,} pairs, mode {job.config.mode} → {job.output}{resumed}",
          file=sys.stderr)  # fmt: skip
    with PairsProgress(folder.work_path, total):
        with beam.Pipeline(options=options) as pipeline:
            build_capfilt_pipeline(pipeline, job, folder.work_path)
    folder.finish()
    return read_json(join(job.output, STATS))


def write_config(config: CapFiltConfig, write_dir: str) -> None:
    """``config.yaml``: the effective ``capfilt:`` section (what refilter starts from)."""
    if "://" not in write_dir:
        os.makedirs(write_dir, exist_ok=True)
    with FileSystems.create(join(write_dir, CONFIG)) as handle:
        handle.write(yaml.safe_dump({"capfilt": config.to_dict()}, sort_keys=False).encode())


# ---------------------------------------------------------------- progress


class PairsProgress(ProgressLine):
    """CapFilt: pairs done, pairs/s, ETA. Counts finished shards from ``_manifest/`` (created
    during this run) and live heartbeats from ``_progress/``."""

    def __init__(self, output_dir: str, total: int, **kwargs):
        super().__init__(output_dir, **kwargs)
        self._baseline = self.manifests()  # shards finished by an earlier, resumed run
        resumed = sum(_pairs_in(p) for p in self._baseline)
        self.total = max(0, total - resumed)

    def done(self) -> int:
        done = sum(_pairs_in(path) for path in self.manifests() - self._baseline)
        return done + sum(beat.get("pairs_done", 0) for beat in self.heartbeats())

    def line(self) -> str:
        done = self.done()
        elapsed = self.elapsed()
        rate = done / elapsed if elapsed > 0 else 0.0
        left = max(0, self.total - done)
        eta = clock(left / rate) if rate > 0 else "?"
        return (
            f"CapFilt pairs {done:,}/{self.total:,} | {rate:,.1f} pairs/s | ETA {eta} | "
            f"elapsed {clock(elapsed)}"
        )


def _pairs_in(manifest: str) -> int:
    return (read_json_if_ready(manifest) or {}).get("report", {}).get("pairs_in", 0)

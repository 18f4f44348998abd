"""The ``images`` job: a run's documents → fetched, checked images, documents with image
outcomes, image-text pairs; ``images retry`` re-fetches only retryable failures.

    webweave images RUN_DIR --output OUT [--from-warc PATH_OR_GLOB ...] [--allow-network CIDR ...]
                            [--offline] [--config FILE]      (pipelines/commands/images.py)
    webweave images retry OUT

Graph (documents are never shuffled; only URLs, small per-image results and, with
``--from-warc``, a body-less index of the archive's captures):

    doc files → ReadImageRefs → (url, file) ──────────────────────────────────┐
                             → (url, candidates) → GroupByKey → MergeCandidates │ images
    --from-warc → IndexWarcCaptures → (surt key, Capture) ─┐                    │
    images → warc_lookup.look_up_images (rounds of CoGroupByKey over the index) │
           → (url, ImageLookup) ────────────────────────────┤                    │
    retry: image_results → (url, previous) ─────────────────┴→ CoGroupByKey(url) → batch key
        → GroupByKey(batch) → ProcessImageBatch
    ProcessImageBatch: url_words → url_policy → sourcing (archive record read by offset, else
      img2dataset fetch, guarded, falling back to the next candidate: image_sourcing.py) →
      fetch → decode → image_filters; writes kept bytes to images/, per-URL rows to
      image_results/, failures to dead_letter/; emits small results (no bytes) and a report.
    results ⋈ (url, file) → GroupByKey(file) → WriteDocumentFile: rereads that input file,
      writes documents/ and pairs/ for it (deterministic names per input file), and emits
      (page WARC, url, lookup kind) for the per-WARC archive completeness counts.
    results → dedup counts by sha256 and pHash (Count.PerKey, a shuffle); all reports →
      stats.json (the funnel over distinct image URLs, plus the document funnel).

An image is a distinct image URL of the documents (``images[i]``, its preferred candidate);
its other candidates (``image_metadata[i].candidates``, merged over the documents that use
it) are where its bytes may also come from, never new images.

The funnel closes like ``webweave run``'s: ``image_funnel`` starts with the distinct image URLs
and ends with the kept ones; ``document_funnel`` starts with the documents read and ends with
the documents written. Every URL has one status; nothing is a silent gap.

Decisions: bytes are stored once per distinct URL in ``images/`` (bounded shards), pairs hold
a reference (``image_shard``, ``image_row``), so pairs and documents stay small; failed
image positions stay in the documents with their status (URLs kept as published); a document
whose kept images are fewer than ``min_images_per_document`` follows
``no_image_documents`` (``drop``, OBELICS's rule, or ``keep_text_only``), more than
``max_images_per_document`` (30) is dropped, as in OBELICS.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Iterator

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from webweave.filters.archive_lookup import (
    CAPTURED_WITHOUT_IMAGE,
    FOUND_KINDS,
    NOT_FOUND_KINDS,
    ImageLookup,
)
from webweave.filters.decision import Drop
from webweave.filters.image_checks import (
    FetchOutcome,
    ImageDecoder,
    ImageFilter,
    ImageItem,
    UrlWordFilter,
)
from webweave.filters.url_policy import UrlPolicy, UrlPolicyStage
from webweave.pipelines.beam_options import pipeline_options
from webweave.pipelines.config import default_config
from webweave.pipelines.funnel import Funnel
from webweave.pipelines.guarded_fetch import FetchLimits, is_refusal
from webweave.pipelines.image_sourcing import Attempt, CandidateSourcing
from webweave.pipelines.img2dataset_fetch import (
    RETRYABLE,
    GuardSettings,
    Img2DatasetOptions,
    run_img2dataset,
)
from webweave.pipelines.inputs import expand_pattern
from webweave.pipelines.parquet_shards import (
    ShardWriter,
    fresh_shard_writer,
    join,
    write_json_atomically,
)
from webweave.pipelines.stage_runner import StageChain, StageFailure
from webweave.pipelines.warc_lookup import IndexWarcCaptures, PayloadReader, look_up_images
from webweave.schemas import dead_letter as dead_letter_schema
from webweave.schemas import documents, image_documents, image_results, image_store, pairs

DOCUMENTS, PAIRS, IMAGES, RESULTS, DEAD_LETTER = (
    "documents",
    "pairs",
    "images",
    "image_results",
    "dead_letter",
)
STATS = "stats.json"
JOB_FILE = "images_job.json"
STAGE_STATUS = {
    "url_words": "filtered",
    "url_policy": "refused",
    "fetch": "failed",
    "decode": "invalid",
    "image_filters": "filtered",
}
IMAGE_STAGES = tuple(STAGE_STATUS)
# Where an image's bytes came from: ImageItem attributes copied to its result row.
PROVENANCE_FIELDS = tuple(field.name for field in image_results.PROVENANCE)

# The ``images:`` section of pipelines/default_config.yaml (the one place defaults live).
DEFAULT_IMAGES_CONFIG: dict = default_config().images


def images_config(section: dict | None = None) -> dict:
    """Defaults overlaid with ``section`` (the config's ``images:`` mapping); unknown keys fail."""
    config = copy.deepcopy(DEFAULT_IMAGES_CONFIG)
    for key, value in (section or {}).items():
        if key not in config:
            raise ValueError(f"unknown config key 'images.{key}'")
        config[key] = value
    if config["no_image_documents"] not in ("drop", "keep_text_only"):
        raise ValueError("images.no_image_documents must be 'drop' or 'keep_text_only'")
    if config["gif_first_frame"] and "png" not in config["formats"]:
        raise ValueError("images.gif_first_frame stores PNG frames: images.formats needs 'png'")
    for key in ("max_network_candidates", "warc_max_hops"):
        if not isinstance(config[key], int) or isinstance(config[key], bool) or config[key] < 1:
            raise ValueError(f"images.{key} must be an integer >= 1")
    return config


def static_hosts(entries: list[str]) -> dict[str, list[str]]:
    """``["host=addr[,addr]"]`` → mapping (curl --resolve style; also keeps tests off DNS)."""
    hosts: dict[str, list[str]] = {}
    for entry in entries:
        host, _, addresses = entry.partition("=")
        hosts[host.strip().lower()] = [a.strip() for a in addresses.split(",") if a.strip()]
    return hosts


def guard_settings(config: dict) -> GuardSettings:
    return GuardSettings(
        allowed_networks=tuple(config["allowed_networks"]),
        static_hosts=static_hosts(config["static_hosts"]),
        limits=FetchLimits(
            timeout_seconds=float(config["timeout_seconds"]),
            max_bytes=int(config["max_bytes"]),
            max_redirects=int(config["max_redirects"]),
            host_time_budget_seconds=float(config["host_time_budget_seconds"]),
        ),
    )


def stable_bucket(text: str, buckets: int) -> int:
    """Deterministic across processes and runs (Python's hash() is salted)."""
    return zlib.crc32(text.encode("utf-8")) % max(1, buckets)


# ---------------------------------------------------------------- reading documents


def _read_documents(path: str) -> list[dict]:
    """A run's documents file (older schema versions upgraded: their candidates are null)."""
    with FileSystems.open(path) as handle:
        table = pq.read_table(handle)
    return documents.upgrade_table(table).to_pylist()


class ReadImageRefs(beam.DoFn):
    """One documents file → (url, file) per distinct URL in it, a (file, None) marker, and
    (url, candidate URLs) per distinct URL, tagged "candidates"."""

    def process(self, path: str) -> Iterator[tuple[str, str | None]]:
        candidates: dict[str, tuple[str, ...]] = {}
        for row in _read_documents(path):
            for url, meta in zip(row["images"] or [], row["image_metadata"] or [], strict=False):
                if url is not None and url not in candidates:
                    candidates[url] = candidate_urls(url, meta)
                    yield url, path
        yield beam.pvalue.TaggedOutput("files", (path, None))
        for url, urls in candidates.items():
            yield beam.pvalue.TaggedOutput("candidates", (url, urls))


def candidate_urls(url: str, meta: dict | None) -> tuple[str, ...]:
    """The image's candidate URLs, ``url`` first (documents before schema 3 have only it)."""
    listed = [c["url"] for c in (meta or {}).get("candidates") or [] if c and c.get("url")]
    return (url, *dict.fromkeys(u for u in listed if u != url))


def merge_candidates(element) -> tuple[str, tuple[str, ...]]:
    """One image used by several documents: the union of their candidates, the image URL
    first, then by best position in any document (then URL), so the order is deterministic."""
    url, lists = element
    best: dict[str, int] = {}
    for urls in lists:
        for position, candidate in enumerate(urls):
            best[candidate] = min(position, best.get(candidate, position))
    others = sorted((u for u in best if u != url), key=lambda u: (best[u], u))
    return url, (url, *others)


# ---------------------------------------------------------------- image batches


def _replay(funnel: Funnel, stage: str | None, reason: str | None) -> None:
    """Count a reused result as if its URL went through the stages again."""
    for name in IMAGE_STAGES:
        counts = funnel.stage(name)
        counts.in_ += 1
        if name == stage:
            if reason == "error":
                counts.errors += 1
            else:
                counts.dropped[reason] += 1
            return
        counts.out += 1


class ProcessImageBatch(beam.DoFn):
    """A batch of distinct images through the image stages; writes bytes, results, dead letter.

    Members are (url, candidate URLs, ImageLookup or None, previous result or None).
    """

    def __init__(self, output_dir: str, config: dict, attempt: int):
        self.output_dir = output_dir
        self.config = config
        self.attempt = attempt

    def setup(self) -> None:
        config = self.config
        self.policy = UrlPolicy(config["allowed_networks"])
        self.pre = [UrlWordFilter(config["url_words"]), UrlPolicyStage(self.policy)]
        self.post = [
            FetchOutcome(),
            ImageDecoder(config["max_pixels"], config["max_bytes"], config["gif_first_frame"]),
            ImageFilter(
                config["formats"],
                config["min_side"],
                config["max_side"],
                config["max_aspect_ratio"],
            ),
        ]

    def process(self, element) -> Iterator:
        batch, members = element
        members = sorted(members, key=lambda m: m[0])
        prefix = f"a{self.attempt:03d}-b{batch:05d}"
        writers = self._writers(prefix)
        funnel = Funnel()
        pre = StageChain(self.pre, funnel)
        StageChain(self.post, funnel)  # registers the post-fetch stages in funnel order
        started = time.monotonic()
        results, network = [], []
        with PayloadReader(index_record_bytes(self.config), self.config["max_bytes"]) as reader:
            sourcing = CandidateSourcing(
                self.pre,
                self.post,
                self.config["fallback_reasons"],
                self.config["max_network_candidates"],
                self._fetch,
                reader,
            )
            for url, candidates, lookup, previous in members:
                if previous is not None and not _needs_retry(previous):
                    _replay(
                        funnel,
                        previous["stage"],
                        previous["status_reason"] if previous["status"] != "error" else "error",
                    )
                    results.append(previous)
                    continue
                item = ImageItem(url, warc_lookup=lookup.kind if lookup else None)
                outcome = pre.run(item)
                if not isinstance(outcome, ImageItem):
                    results.append(self._finish(item, outcome, "url_words", writers))
                elif lookup is not None and lookup.found:
                    attempt = sourcing.from_archive(item, lookup)
                    results.append(self._settle(attempt, funnel, writers))
                elif self._fetches(lookup):
                    network.append((item, candidates))
                else:
                    attempt = sourcing.attempt(_not_fetched(item, lookup))
                    results.append(self._settle(attempt, funnel, writers))
            for attempt in sourcing.from_network(network, prefix):
                results.append(self._settle(attempt, funnel, writers))
        for row in results:
            writers["results"].add({**row, "attempt": row.get("attempt") or self.attempt})
        for writer in writers.values():
            writer.close()
        yield from (beam.pvalue.TaggedOutput("results", row) for row in results)
        i2d_stats: dict = {}
        for stats in sourcing.fetch_stats:
            i2d_stats = _merge(i2d_stats, stats)
        yield {
            "funnel": funnel.to_list(),
            "distinct_urls": len(members),
            "dead_letter": writers["dead"].rows_written,
            "fetch_seconds": round(time.monotonic() - started, 3),
            "img2dataset": i2d_stats,
            "sources": dict(Counter(r["source"] for r in results if r["status"] == "ok")),
            "candidate_fallbacks": {
                "archive": sourcing.archive.to_dict(),
                "network": sourcing.network.to_dict(),
            },
            "gif_converted": sum(r.get("converted_from") == "gif" for r in results),
            "warc_lookup": _lookup_counts(results),
            "archive_warcs": {
                name: {"images_supplied": count}
                for name, count in Counter(
                    r["warc_filename"] for r in results if r.get("warc_filename")
                ).items()
            },
        }

    def _fetches(self, lookup: ImageLookup | None) -> bool:
        """Network only for images no candidate of which the archive captured."""
        captured = lookup is not None and lookup.kind == CAPTURED_WITHOUT_IMAGE
        return self.config["fetch_missing"] and not captured

    def _settle(self, attempt: Attempt, funnel: Funnel, writers) -> dict:
        """The answering attempt counts in the batch funnel (once per image) and is written."""
        funnel.merge(attempt.funnel)
        return self._finish(attempt.item, attempt.outcome, "fetch", writers)

    def _writers(self, prefix: str) -> dict[str, ShardWriter]:
        config = self.config
        folders = {
            "images": (IMAGES, image_store.SCHEMA, config["store_shard_rows"]),
            "results": (RESULTS, image_results.SCHEMA, config["shard_rows"]),
            "dead": (DEAD_LETTER, dead_letter_schema.SCHEMA, config["shard_rows"]),
        }
        writers = {}
        for key, (folder, schema, rows) in folders.items():
            path = join(self.output_dir, folder)
            writers[key] = fresh_shard_writer(
                path,
                prefix,
                schema,
                shard_rows=rows,
                compression=config["parquet_compression"],
            )
        writers["images"].bytes_buffered = 0
        return writers

    def _fetch(self, urls: list[str], prefix: str) -> tuple[dict, dict]:
        """img2dataset over ``urls`` behind the address guard: {url: (bytes, error)}, stats."""
        options = Img2DatasetOptions(
            processes=self.config["processes"],
            threads=self.config["threads"],
            retries=self.config["retries"],
            samples_per_shard=max(10, self.config["batch_size"]),
            user_agent_token=self.config["user_agent_token"],
            disallowed_header_directives=tuple(self.config["disallowed_header_directives"]),
        )
        with tempfile.TemporaryDirectory(prefix=f"webweave-{prefix}-") as work:
            return run_img2dataset(urls, work, guard_settings(self.config), options)

    def _finish(self, item: ImageItem, outcome, first_stage: str, writers) -> dict:
        row = {
            "image_url": item.url,
            "status": "ok",
            "status_reason": None,
            "stage": None,
            "detail": None,
            "width": item.width,
            "height": item.height,
            "format": item.format,
            "sha256": item.sha256,
            "phash": item.phash,
            "source": item.source,
            "image_shard": None,
            "image_row": None,
            "attempt": self.attempt,
            **{name: getattr(item, name) for name in PROVENANCE_FIELDS},
        }
        if isinstance(outcome, Drop):
            stage = _stage_of(outcome, item, first_stage)
            status = STAGE_STATUS[stage]
            if stage == "fetch" and (item.fetch_refused or is_refusal(outcome.reason)):
                status = "refused"
            detail = outcome.scores.get("detail") or json.dumps(outcome.scores, default=str)
            row.update(
                status=status, status_reason=outcome.reason, stage=stage, detail=str(detail)[:300]
            )
        elif isinstance(outcome, StageFailure):
            row.update(
                status="error",
                status_reason=outcome.error_type,
                stage=outcome.stage,
                detail=outcome.message[:300],
            )
            writers["dead"].add(
                {
                    "source_file": item.url,
                    "record_offset": None,
                    "record_id": None,
                    "url": item.url,
                    "stage": outcome.stage,
                    "error_type": outcome.error_type,
                    "message": outcome.message,
                }
            )
        else:
            row["image_shard"], row["image_row"] = self._store(item, writers["images"])
        item.data = None
        return row

    def _store(self, item: ImageItem, writer: ShardWriter) -> tuple[str, int]:
        """Append the bytes to the images store; bounded by rows and by bytes per shard."""
        if (
            writer.rows
            and writer.bytes_buffered + len(item.data) > self.config["store_shard_bytes"]
        ):
            writer.flush()
            writer.bytes_buffered = 0
        shard = f"{IMAGES}/{writer.prefix}-{len(writer.paths):05d}.parquet"
        row = len(writer.rows)
        writer.add(
            {
                "image_url": item.url,
                "sha256": item.sha256,
                "format": item.format,
                "width": item.width,
                "height": item.height,
                "bytes": item.data,
            }
        )
        writer.bytes_buffered = 0 if not writer.rows else writer.bytes_buffered + len(item.data)
        return shard, row


def _stage_of(drop: Drop, item: ImageItem, first_stage: str) -> str:
    """Which stage dropped the item (StageChain returns the Drop, not the stage name)."""
    if first_stage == "url_words":
        return "url_words" if drop.reason == "url_word" else "url_policy"
    if item.sha256 is not None:
        return "image_filters"
    if item.data is not None or drop.reason in _DECODE_REASONS:
        return "decode"
    return "fetch"


_DECODE_REASONS = frozenset({"not_an_image", "truncated_image", "decompression_bomb"})


def _needs_retry(previous: dict) -> bool:
    return previous["status"] == "failed" and previous["status_reason"] in RETRYABLE


def _not_fetched(item: ImageItem, lookup: ImageLookup | None) -> ImageItem:
    """An image neither read from the archive nor fetched: why, as its fetch failure."""
    if lookup is not None and lookup.kind == CAPTURED_WITHOUT_IMAGE:
        item.source, item.fetch_error = "warc", lookup.reason
    else:
        item.fetch_error = "not_in_warc"
    return item


def _lookup_counts(results: list[dict]) -> dict:
    """Distinct images by archive lookup kind (only images that were looked up)."""
    kinds = Counter(r.get("warc_lookup") for r in results if r.get("warc_lookup"))
    return {"total": dict(kinds)} if kinds else {}


def index_record_bytes(config: dict) -> int:
    """Largest archive record indexed and read back: room for headers around a max_bytes body
    with an HTTP coding (webweave convention: four times images.max_bytes)."""
    return 4 * int(config["max_bytes"])


# ---------------------------------------------------------------- documents and pairs


def nearest_paragraphs(texts: list, position: int) -> tuple[str | None, str | None]:
    """The last paragraph of the nearest text before ``position`` and the first after it."""
    before = after = None
    for index in range(position - 1, -1, -1):
        if texts[index]:
            paragraphs = [p for p in texts[index].split("\n\n") if p.strip()]
            before = paragraphs[-1] if paragraphs else None
            break
    for index in range(position + 1, len(texts)):
        if texts[index]:
            paragraphs = [p for p in texts[index].split("\n\n") if p.strip()]
            after = paragraphs[0] if paragraphs else None
            break
    return before, after


def pair_id(doc_id: str, position: int) -> str:
    return hashlib.sha256(f"{doc_id}\0{position}".encode()).hexdigest()[:32]


_RESULT_FIELDS = (
    "status",
    "status_reason",
    "width",
    "height",
    "format",
    "sha256",
    "phash",
    "source",
    *PROVENANCE_FIELDS,
)


def _page_warc_images(row: dict, by_url: dict) -> Iterator[tuple[str, str, str]]:
    """(WARC the page came from, image URL, lookup kind) for each image of one document."""
    warc = (row.get("general_metadata") or {}).get("warc_filename") or "unknown"
    for url in row["images"] or []:
        if url is not None:
            kind = (by_url.get(url) or {}).get("warc_lookup") or "not_looked_up"
            yield warc, url, kind


class WriteDocumentFile(beam.DoFn):
    """One input documents file + its URLs' results → documents/ and pairs/ shards, and
    (page WARC, url, lookup kind) tagged "page_warcs"."""

    def __init__(self, output_dir: str, config: dict):
        self.output_dir = output_dir
        self.config = config

    def process(self, element) -> Iterator[dict]:
        path, results = element
        by_url = {r["image_url"]: r for r in results if r is not None}
        prefix = os.path.splitext(os.path.basename(path))[0]
        writers = {}
        for key, folder, schema in (
            ("docs", DOCUMENTS, image_documents.SCHEMA),
            ("pairs", PAIRS, pairs.SCHEMA),
        ):
            target = join(self.output_dir, folder)
            writers[key] = fresh_shard_writer(
                target,
                prefix,
                schema,
                shard_rows=self.config["shard_rows"],
                compression=self.config["parquet_compression"],
            )
        funnel = Funnel()
        counts = funnel.stage("image_count")
        text_only = 0
        page_warcs: set[tuple[str, str, str]] = set()
        for row in _read_documents(path):
            counts.in_ += 1
            page_warcs.update(_page_warc_images(row, by_url))
            document, doc_pairs, kept = self._attach(row, by_url)
            reason = self._document_rule(row, kept)
            if reason is not None:
                counts.dropped[reason] += 1
                continue
            counts.out += 1
            text_only += kept == 0
            writers["docs"].add(document)
            for pair in doc_pairs:
                writers["pairs"].add(pair)
        for writer in writers.values():
            writer.close()
        yield from (beam.pvalue.TaggedOutput("page_warcs", entry) for entry in sorted(page_warcs))
        yield {
            "documents_funnel": funnel.to_list(),
            "documents_read": counts.in_,
            "documents_written": writers["docs"].rows_written,
            "text_only": text_only,
            "pairs": writers["pairs"].rows_written,
        }

    def _document_rule(self, row: dict, kept: int) -> str | None:
        if kept > self.config["max_images_per_document"]:
            return "too_many_images"
        if kept < self.config["min_images_per_document"]:
            if self.config["no_image_documents"] == "keep_text_only":
                return None
            has_images = any(url is not None for url in row["images"] or [])
            return "all_images_failed" if has_images else "no_images"
        return None

    def _attach(self, row: dict, by_url: dict) -> tuple[dict, list[dict], int]:
        metadata, doc_pairs = [], []
        texts = row["texts"] or []
        for position, (url, meta) in enumerate(
            zip(row["images"] or [], row["image_metadata"] or [], strict=False)
        ):
            if url is None:
                metadata.append(None)
                continue
            result = by_url.get(url) or {"status": "error", "status_reason": "no_result"}
            extended = dict(meta or {})
            extended.update({k: result.get(k) for k in _RESULT_FIELDS})
            metadata.append(extended)
            if result["status"] == "ok":
                before, after = nearest_paragraphs(texts, position)
                doc_pairs.append(
                    {
                        "pair_id": pair_id(row["id"], position),
                        "doc_id": row["id"],
                        "position": position,
                        "image_url": url,
                        "image_shard": result.get("image_shard"),
                        "image_row": result.get("image_row"),
                        "alt_text": (meta or {}).get("alt_text"),
                        "text_before": before,
                        "text_after": after,
                        **{
                            k: result.get(k)
                            for k in ("width", "height", "format", "sha256", "phash", "source")
                        },
                    }
                )
        document = {**row, "image_metadata": metadata}
        return document, doc_pairs, len(doc_pairs)


# ---------------------------------------------------------------- stats


class MergeReports(beam.CombineFn):
    """Sums report dicts: funnels merge stage-wise, numbers add, nested dicts add."""

    def create_accumulator(self) -> dict:
        return {}

    def add_input(self, accumulator: dict, report: dict) -> dict:
        return _merge(accumulator, report)

    def merge_accumulators(self, accumulators) -> dict:
        merged: dict = {}
        for accumulator in accumulators:
            merged = _merge(merged, accumulator)
        return merged

    def extract_output(self, accumulator: dict) -> dict:
        return accumulator


def _merge(left: dict, right: dict) -> dict:
    merged = dict(left)
    for key, value in right.items():
        if key not in merged:
            merged[key] = copy.deepcopy(value)
        elif key.endswith("funnel"):
            merged[key] = Funnel.from_list(merged[key]).merge(Funnel.from_list(value)).to_list()
        elif isinstance(value, dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = merged[key] + value
    return merged


def dedup_summary(counts: list[tuple[str, int]]) -> dict:
    """From (key, count) pairs of one hash kind: distinct values and images in duplicate groups."""
    return {
        "distinct": len(counts),
        "images_in_duplicate_groups": sum(c for _, c in counts if c > 1),
        "duplicates_beyond_first": sum(c - 1 for _, c in counts if c > 1),
    }


class WriteImageStats(beam.DoFn):
    def __init__(self, output_dir: str, looked_up: bool):
        self.output_dir = output_dir
        self.looked_up = looked_up

    def process(
        self, _, images: dict, documents: dict, sha: list, phash: list, page_warcs: list
    ) -> Iterator[str]:
        stats = finalize_stats(
            images,
            documents,
            dedup_summary(sha),
            dedup_summary(phash),
            page_warcs if self.looked_up else None,
        )
        path = join(self.output_dir, STATS)
        write_json_atomically(path, stats)
        yield path


def finalize_stats(
    images: dict,
    documents: dict,
    sha: dict,
    phash: dict,
    page_warcs: list[tuple[tuple[str, str], int]] | None = None,
) -> dict:
    """The closing contract: both funnels close, errors equal dead-letter rows, and with
    ``--from-warc`` (``page_warcs`` given) every image is found or not found, per WARC too."""
    image_funnel = Funnel.from_list(images.get("funnel", []))
    for stage in IMAGE_STAGES:
        image_funnel.stage(stage)
    distinct = images.get("distinct_urls", 0)
    kept = image_funnel.stage("image_filters").out
    problems = image_funnel.closure_problems(distinct, kept)
    doc_funnel = Funnel.from_list(documents.get("documents_funnel", []))
    doc_funnel.stage("image_count")
    problems += [
        f"documents: {p}"
        for p in doc_funnel.closure_problems(
            documents.get("documents_read", 0), documents.get("documents_written", 0)
        )
    ]
    errors = sum(s.errors for s in image_funnel.stages)
    if errors != images.get("dead_letter", 0):
        problems.append(f"{errors} stage errors but {images.get('dead_letter', 0)} dead letters")
    lookup = None
    if page_warcs is not None:
        lookup = warc_lookup_stats(images, page_warcs)
        problems += _lookup_problems(lookup, distinct)
    return {
        "distinct_image_urls": distinct,
        "images_kept": kept,
        "image_funnel": image_funnel.to_list(),
        "candidate_fallbacks": images.get("candidate_fallbacks", {}),
        "gif_converted": images.get("gif_converted", 0),
        "images_by_source": images.get("sources", {}),
        "warc_lookup": lookup,
        "documents_read": documents.get("documents_read", 0),
        "documents_written": documents.get("documents_written", 0),
        "documents_text_only": documents.get("text_only", 0),
        "document_funnel": doc_funnel.to_list(),
        "pairs": documents.get("pairs", 0),
        "dead_letter": images.get("dead_letter", 0),
        "dedup": {"sha256": sha, "phash": phash},
        "fetch_seconds": images.get("fetch_seconds", 0.0),
        "img2dataset": images.get("img2dataset", {}),
        "funnel_closes": not problems,
        "funnel_problems": problems,
    }


def lookup_summary(kinds: dict[str, int]) -> dict:
    """Images referenced, found (by how) and not found (by why), from counts per lookup kind."""
    found = {kind: kinds.get(kind, 0) for kind in FOUND_KINDS}
    not_found = {kind: kinds.get(kind, 0) for kind in NOT_FOUND_KINDS}
    other = {kind: n for kind, n in kinds.items() if kind not in found and kind not in not_found}
    summary = {
        "referenced": sum(kinds.values()),
        "found": sum(found.values()),
        "found_by": found,
        "not_found": sum(not_found.values()),
        "not_found_by": not_found,
    }
    if other:  # e.g. not_looked_up: reused results of an attempt without --from-warc
        summary["other"] = other
    return summary


def warc_lookup_stats(images: dict, page_warcs: list[tuple[tuple[str, str], int]]) -> dict:
    """``stats.json``'s ``warc_lookup``: all images, per page WARC, per archive WARC."""
    by_page: dict[str, dict[str, int]] = {}
    for (warc, kind), count in page_warcs:
        by_page.setdefault(warc, {})[kind] = by_page.get(warc, {}).get(kind, 0) + count
    return {
        "images": lookup_summary(images.get("warc_lookup", {}).get("total", {})),
        "by_page_warc": {warc: lookup_summary(kinds) for warc, kinds in sorted(by_page.items())},
        "archive_warcs": {
            name: {"images_supplied": 0, **counts}
            for name, counts in sorted(images.get("archive_warcs", {}).items())
        },
    }


def _lookup_problems(lookup: dict, distinct: int) -> list[str]:
    problems = []
    if lookup["images"]["referenced"] != distinct:
        problems.append(
            f"warc_lookup: {lookup['images']['referenced']} images looked up, {distinct} images"
        )
    for name, summary in [("images", lookup["images"]), *lookup["by_page_warc"].items()]:
        if summary["referenced"] != summary["found"] + summary["not_found"]:
            problems.append(f"warc_lookup {name}: referenced != found + not_found")
    return problems


# ---------------------------------------------------------------- graph


def _match(pattern: str) -> list[str]:
    return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)


def _join_members(element) -> Iterator[tuple[str, tuple]]:
    """(url, {images, lookups, previous}) → (url, (candidates, lookup, previous)) for used urls."""
    url, groups = element
    images = list(groups["images"])
    if not images:
        return
    lookups, previous = list(groups["lookups"]), list(groups["previous"])
    yield url, (images[0], lookups[0] if lookups else None, previous[0] if previous else None)


def build_images_pipeline(
    pipeline: beam.Pipeline, job: dict, previous_results: list[str] | None = None
) -> None:
    """Add the images job to ``pipeline`` (``job``: run_dir, output, from_warc, config, attempt)."""
    config, output = job["config"], job["output"]
    doc_files = _match(join(job["run_dir"], DOCUMENTS, "*.parquet"))
    refs = (
        pipeline
        | "DocFiles" >> beam.Create(doc_files)
        | "ReadImageRefs"
        >> beam.ParDo(ReadImageRefs()).with_outputs("files", "candidates", main="refs")
    )
    images = (
        refs.candidates
        | "GroupCandidates" >> beam.GroupByKey()
        | "MergeCandidates" >> beam.Map(merge_candidates)
    )
    warc_inputs = [w for pattern in job.get("from_warc", []) for w in expand_pattern(pattern)]
    index_reports = []
    if warc_inputs:
        index = (
            pipeline
            | "WarcInputs" >> beam.Create(warc_inputs)
            | "IndexWarcCaptures"
            >> beam.ParDo(IndexWarcCaptures(index_record_bytes(config))).with_outputs(
                "reports", main="captures"
            )
        )
        lookups = look_up_images(images, index.captures, config["warc_max_hops"])
        index_reports.append(index.reports)
    else:
        lookups = pipeline | "NoLookups" >> beam.Create([])
    previous = pipeline | "PreviousFiles" >> beam.Create(previous_results or [])
    previous = previous | "ReadPrevious" >> beam.FlatMap(
        lambda path: ((r["image_url"], r) for r in pq.read_table(path).to_pylist())
    )
    members = (
        {"images": images, "lookups": lookups, "previous": previous}
        | "JoinSources" >> beam.CoGroupByKey()
        | "Members" >> beam.FlatMap(_join_members)
    )
    count = members | "CountUrls" >> beam.combiners.Count.Globally()
    batch_size = config["batch_size"]
    batches = (
        members
        | "KeyBatch"
        >> beam.Map(
            lambda m, n: (stable_bucket(m[0], -(-n // batch_size)), (m[0], *m[1])),
            n=beam.pvalue.AsSingleton(count),
        )
        | "GroupBatch" >> beam.GroupByKey()
        | "ProcessImageBatch"
        >> beam.ParDo(ProcessImageBatch(output, config, job["attempt"])).with_outputs(
            "results", main="reports"
        )
    )
    results = batches.results
    image_report = (
        (batches.reports, *index_reports)
        | "ImageReports" >> beam.Flatten()
        | "MergeImageReports" >> beam.CombineGlobally(MergeReports())
    )
    keyed_results = results | "KeyResults" >> beam.Map(lambda r: (r["image_url"], r))
    per_file = (
        {"result": keyed_results, "file": refs.refs}
        | "JoinDocs" >> beam.CoGroupByKey()
        | "PerFile"
        >> beam.FlatMap(lambda e: ((f, r) for f in e[1]["file"] for r in e[1]["result"]))
    )
    written = (
        (per_file, refs.files)
        | "AllFiles" >> beam.Flatten()
        | "GroupFile" >> beam.GroupByKey()
        | "WriteDocumentFile"
        >> beam.ParDo(WriteDocumentFile(output, config)).with_outputs("page_warcs", main="reports")
    )
    doc_reports = written.reports | "MergeDocReports" >> beam.CombineGlobally(MergeReports())
    page_warcs = (
        written.page_warcs
        | "DistinctPageImages" >> beam.Distinct()
        | "PageWarcKind" >> beam.Map(lambda entry: (entry[0], entry[2]))
        | "CountPageWarcKinds" >> beam.combiners.Count.PerElement()
        | "PageWarcList" >> beam.combiners.ToList()
    )
    ok = results | "Kept" >> beam.Filter(lambda r: r["status"] == "ok")
    sha = (
        ok
        | "Sha" >> beam.Map(lambda r: r["sha256"])
        | "CountSha" >> beam.combiners.Count.PerElement()
        | "ShaList" >> beam.combiners.ToList()
    )
    phash = (
        ok
        | "PHash" >> beam.Map(lambda r: r["phash"])
        | "CountPHash" >> beam.combiners.Count.PerElement()
        | "PHashList" >> beam.combiners.ToList()
    )
    _ = (
        pipeline
        | "StatsTrigger" >> beam.Create([None])
        | "WriteStats"
        >> beam.ParDo(
            WriteImageStats(output, looked_up=bool(warc_inputs)),
            beam.pvalue.AsSingleton(image_report),
            beam.pvalue.AsSingleton(doc_reports),
            beam.pvalue.AsSingleton(sha),
            beam.pvalue.AsSingleton(phash),
            beam.pvalue.AsSingleton(page_warcs),
        )
    )


def retry_images_job(job: dict, beam_args: list[str]) -> int:
    """``images retry``: the job again, with its previous results, as the next attempt."""
    previous = _match(join(job["output"], RESULTS, "*.parquet"))
    config = images_config(job["config"])  # a job file of an older version: new keys
    return run_images_job(
        {**job, "config": config, "attempt": job["attempt"] + 1}, beam_args, previous
    )


def run_images_job(
    job: dict,
    beam_args: list[str],
    previous: list[str] | None = None,
    work_dir: str | None = None,
) -> int:
    """Run the pipeline into ``work_dir`` (default: the job's output), record the job for
    ``retry``, drop superseded result files."""
    work = work_dir or job["output"]
    os.makedirs(work, exist_ok=True)
    with beam.Pipeline(options=pipeline_options(beam_args)) as pipeline:
        build_images_pipeline(pipeline, {**job, "output": work}, previous)
    for path in previous or []:
        FileSystems.delete([path])  # superseded by this attempt's image_results
    write_json_atomically(join(work, JOB_FILE), job)
    with open(join(work, STATS), encoding="utf-8") as handle:
        stats = json.load(handle)
    print(
        json.dumps(
            {
                k: stats[k]
                for k in (
                    "distinct_image_urls",
                    "images_kept",
                    "pairs",
                    "documents_written",
                    "funnel_closes",
                )
            }
        )
    )
    return 0 if stats["funnel_closes"] else 1

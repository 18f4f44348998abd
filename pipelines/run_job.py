"""The ``run`` job: WARC files → ``documents/``, ``dead_letter/``, ``stats.json``, ``config.yaml``.

Graph (one element per WARC file; no shuffle of documents, so a worker's memory is bounded by
one record plus one shard buffer, whatever the size of the WARC):

    Create(patterns) → ExpandInputs → Reshuffle → ProcessWarcInput ─┬→ CombineGlobally(report)
                                                                    │     → WriteRunStats
    Create(config) → WriteConfig                                    └ (writes Parquet shards)

``ProcessWarcInput`` streams one WARC through the stage chain (select → decode → extract),
writes that input's shards under deterministic names, then an atomic completion manifest in
``_manifest/``. A re-run skips inputs whose manifest exists and reuses their report, so a
killed run resumes where it stopped, and the funnel still closes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from webweave.filters.document import check_interleaving
from webweave.filters.document_builder import DocumentBuilder, DocumentRow
from webweave.filters.extraction import ExtractionOptions
from webweave.filters.page import PageDecoder
from webweave.filters.record_digest import MISMATCH, OK, STATS_NAMES, empty_counts
from webweave.filters.record_selection import RecordSelector
from webweave.pipelines import commoncrawl
from webweave.pipelines.config import ConfigError, dump_config
from webweave.pipelines.funnel import Funnel
from webweave.pipelines.inputs import WarcInput, expand_pattern, is_url
from webweave.pipelines.parquet_shards import ShardWriter, delete_shards, join
from webweave.pipelines.stage_runner import StageChain, StageFailure
from webweave.pipelines.warc_source import (
    WarcReadError,
    WarcRecord,
    iter_warc_records,
    open_warc_stream,
)
from webweave.schemas import dead_letter as dead_letter_schema
from webweave.schemas import documents as documents_schema

log = logging.getLogger(__name__)

DOCUMENTS = "documents"
DEAD_LETTER = "dead_letter"
MANIFESTS = "_manifest"
PROGRESS = "_progress"
STATS = "stats.json"
CONFIG = "config.yaml"
READ_STAGE = "read"
EXTRACTION_STAGE = "extraction"
HEARTBEAT_SECONDS = 2.0
DIGEST_POLICIES = ("dead_letter", "flag")


def check_document_row(row: dict) -> None:
    check_interleaving(row["texts"], row["images"], row["image_metadata"])


def digest_policies(config: dict) -> tuple[str, str]:
    """(block, payload) mismatch policies of ``warc:``; ConfigError for anything else."""
    warc = config["warc"]
    policies = (warc["block_digest_mismatch"], warc["payload_digest_mismatch"])
    for key, value in zip(
        ("block_digest_mismatch", "payload_digest_mismatch"), policies, strict=True
    ):
        if value not in DIGEST_POLICIES:
            raise ConfigError(f"warc.{key} must be one of {DIGEST_POLICIES}, got {value!r}")
    return policies


def _digest_flag(status: str) -> bool | None:
    """general_metadata value: True verified, False mismatch, None not checkable."""
    return True if status == OK else False if status == MISMATCH else None


class _DigestGate:
    """Counts digest statuses of every record read; says which mismatches are dead-lettered."""

    def __init__(self, config: dict):
        self.block_policy, self.payload_policy = digest_policies(config)
        self.counts = empty_counts()

    def check(self, record: WarcRecord) -> tuple[str, str] | None:
        """Count ``record``; (error_type, message) when a policy sends it to dead letter."""
        self.counts["block"][STATS_NAMES[record.block_digest]] += 1
        self.counts["payload"][STATS_NAMES[record.payload_digest]] += 1
        if record.block_digest == MISMATCH and self.block_policy == "dead_letter":
            header = record.warc_headers.get("WARC-Block-Digest")
            return "block_digest_mismatch", f"stored block does not hash to {header}"
        if record.payload_digest == MISMATCH and self.payload_policy == "dead_letter":
            header = record.warc_headers.get("WARC-Payload-Digest")
            return "payload_digest_mismatch", f"stored payload does not hash to {header}"
        return None


@dataclass(slots=True)
class _Failure:
    """A dead-letter cause outside the stage chain (read errors, digests, invalid rows)."""

    error_type: str
    message: str


class ProcessWarcInput(beam.DoFn):
    """One WARC file in, its Parquet shards written, one report dict out."""

    def __init__(self, output_dir: str, config: dict):
        digest_policies(config)  # a bad policy fails when the graph is built, not on a worker
        self.output_dir = output_dir
        self.config = config
        self.heartbeat = "://" not in output_dir  # progress files only for local runs

    def setup(self) -> None:
        self.selector = RecordSelector(self.config)
        self.decoder = PageDecoder(self.config)
        self.builder = DocumentBuilder(ExtractionOptions.from_config(self.config["extraction"]))

    def process(self, warc_input: WarcInput) -> Iterator[dict]:
        manifest = join(self.output_dir, MANIFESTS, f"{warc_input.shard_prefix}.json")
        if FileSystems.exists(manifest):
            with FileSystems.open(manifest) as handle:
                report = json.loads(handle.read())
            Metrics.counter("run", "inputs_skipped_done").inc()
            yield report
            return
        with _local_copy(warc_input, self.config["commoncrawl"]) as location:
            report = self._process(warc_input, location)
        _write_json(manifest, report)
        _publish_counters(report)
        yield report

    def _process(self, warc_input: WarcInput, location: str) -> dict:
        started = time.monotonic()
        prefix = warc_input.shard_prefix
        documents_dir = join(self.output_dir, DOCUMENTS)
        dead_dir = join(self.output_dir, DEAD_LETTER)
        for folder in (documents_dir, dead_dir):
            delete_shards(folder, prefix)  # leftovers of an interrupted attempt
        run = self.config["run"]
        documents = ShardWriter(
            documents_dir,
            prefix,
            documents_schema.SCHEMA,
            shard_rows=run["shard_rows"],
            compression=run["parquet_compression"],
        )
        dead = ShardWriter(
            dead_dir,
            prefix,
            dead_letter_schema.SCHEMA,
            shard_rows=run["shard_rows"],
            compression=run["parquet_compression"],
        )
        funnel = Funnel()
        read = funnel.stage(READ_STAGE)
        chain = StageChain([self.selector, self.decoder, self.builder], funnel)
        gate = _DigestGate(self.config)
        images = Counter()
        slowest = {"offset": None, "seconds": 0.0, "cpu_seconds": 0.0}
        progress = _Heartbeat(self.output_dir, warc_input, enabled=self.heartbeat)
        warc = self.config["warc"]
        with open_warc_stream(location) as stream:
            for item in iter_warc_records(
                stream,
                warc_input.name,
                max_record_bytes=warc["max_record_bytes"],
                verify_digests=warc["verify_digests"],
            ):
                read.in_ += 1
                progress.tick(read.in_)
                if isinstance(item, WarcReadError):
                    read.errors += 1
                    dead.add(_dead_row(item.source, item.offset, None, None, READ_STAGE, item))
                    continue
                rejected = gate.check(item)
                if rejected is not None:
                    read.errors += 1
                    dead.add(_record_dead_row(item, READ_STAGE, _Failure(*rejected)))
                    continue
                read.out += 1
                wall, cpu = time.monotonic(), time.thread_time()
                result = chain.run(item)
                wall, cpu = time.monotonic() - wall, time.thread_time() - cpu
                _note_slowest(slowest, item.offset, wall, cpu)
                if isinstance(result, StageFailure):
                    dead.add(_record_dead_row(item, result.stage, result))
                elif isinstance(result, DocumentRow):
                    self._write_document(item, result, documents, dead, funnel, images)
        documents.close()
        dead.close()
        progress.done()
        return {
            "input": warc_input.name,
            "location": warc_input.location,
            "records_read": read.in_,
            "documents_written": documents.rows_written,
            "dead_letter": dead.rows_written,
            "funnel": funnel.to_list(),
            "images": dict(sorted(images.items())),
            "digests": gate.counts,
            "seconds": round(time.monotonic() - started, 3),
            "slowest_record": slowest,
        }

    @staticmethod
    def _write_document(
        record: WarcRecord,
        result: DocumentRow,
        documents: ShardWriter,
        dead: ShardWriter,
        funnel: Funnel,
        images: Counter,
    ) -> None:
        """Add the row, or dead-letter it when it breaks the interleaving invariant.

        A bad row is an extraction bug; it must cost one record, not the whole input, and the
        funnel must still close: the extraction stage's output becomes an error.
        """
        row = result.row
        row["general_metadata"]["block_digest_ok"] = _digest_flag(record.block_digest)
        row["general_metadata"]["payload_digest_ok"] = _digest_flag(record.payload_digest)
        try:
            check_document_row(row)
        except ValueError as error:
            stage = funnel.stage(EXTRACTION_STAGE)
            stage.out -= 1
            stage.errors += 1
            failure = _Failure("invalid_document", f"interleaving invariant broken: {error}")
            dead.add(_record_dead_row(record, EXTRACTION_STAGE, failure))
            return
        documents.add(row)
        images["placed"] += sum(1 for url in row["images"] if url is not None)
        images.update({f"dropped.{k}": v for k, v in result.dropped_images.items()})


def _note_slowest(slowest: dict, offset: int, wall: float, cpu: float) -> None:
    """Keep the slowest record of the input in its manifest (a budget check, not stats).

    CPU seconds of this thread are kept beside wall seconds: on a shared machine the wall
    clock also counts other processes' time, the CPU time only this record's work.
    """
    if wall > slowest["seconds"]:
        slowest["offset"], slowest["seconds"] = offset, round(wall, 3)
    slowest["cpu_seconds"] = max(slowest["cpu_seconds"], round(cpu, 3))


def _record_dead_row(record: WarcRecord, stage: str, failure) -> dict:
    return _dead_row(
        record.source, record.offset, record.record_id, record.target_uri, stage, failure
    )


def _dead_row(source, offset, record_id, url, stage, failure) -> dict:
    return {
        "source_file": source,
        "record_offset": offset,
        "record_id": record_id,
        "url": url,
        "stage": stage,
        "error_type": failure.error_type,
        "message": failure.message,
    }


@contextlib.contextmanager
def _local_copy(warc_input: WarcInput, cc_config: dict) -> Iterator[str]:
    """Yield a location ``open_warc_stream`` can read: URLs are downloaded to a temp file."""
    if not is_url(warc_input.location):
        yield warc_input.location
        return
    with tempfile.TemporaryDirectory(prefix="webweave-") as folder:
        path = os.path.join(folder, "input.warc.gz")
        commoncrawl.download(
            warc_input.location,
            path,
            timeout=cc_config["timeout_seconds"],
            retries=cc_config["retries"],
        )
        yield path


class _Heartbeat:
    """Writes ``_progress/PREFIX.json`` every few seconds so the CLI can show live progress."""

    def __init__(self, output_dir: str, warc_input: WarcInput, enabled: bool):
        self.enabled = enabled
        self.path = join(output_dir, PROGRESS, f"{warc_input.shard_prefix}.json")
        self.name = warc_input.name
        self.last = time.monotonic()

    def tick(self, records: int) -> None:
        if self.enabled and time.monotonic() - self.last >= HEARTBEAT_SECONDS:
            self.last = time.monotonic()
            _write_json(self.path, {"input": self.name, "records_read": records})

    def done(self) -> None:
        if self.enabled and FileSystems.exists(self.path):
            FileSystems.delete([self.path])


def _write_json(path: str, data: dict) -> None:
    folder = os.path.dirname(path) if "://" not in path else None
    if folder:
        os.makedirs(folder, exist_ok=True)
    temporary = f"{path}.tmp"
    with FileSystems.create(temporary) as handle:
        handle.write(json.dumps(data, indent=1, sort_keys=False).encode())
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([temporary], [path])


def _publish_counters(report: dict) -> None:
    """Mirror the input's funnel into Beam counters (visible live in the Dataflow UI)."""
    for stage in report["funnel"]:
        name = stage["stage"]
        Metrics.counter("funnel", f"{name}.in").inc(stage["in"])
        Metrics.counter("funnel", f"{name}.out").inc(stage["out"])
        Metrics.counter("funnel", f"{name}.errors").inc(stage["errors"])
        for reason, count in stage["dropped"].items():
            Metrics.counter("funnel", f"{name}.dropped.{reason}").inc(count)
    Metrics.counter("run", "inputs_done").inc()


class MergeReports(beam.CombineFn):
    """Merges per-input reports into the run's ``stats.json`` content."""

    def create_accumulator(self) -> dict:
        return _empty_stats()

    def add_input(self, accumulator: dict, report: dict) -> dict:
        return _merge_stats(accumulator, _report_as_stats(report))

    def merge_accumulators(self, accumulators) -> dict:
        merged = _empty_stats()
        for accumulator in accumulators:
            merged = _merge_stats(merged, accumulator)
        return merged

    def extract_output(self, accumulator: dict) -> dict:
        return accumulator


def _empty_stats() -> dict:
    return {
        "inputs": 0,
        "records_read": 0,
        "documents_written": 0,
        "dead_letter": 0,
        "funnel": [],
        "images": {},
        "digests": empty_counts(),
    }


def _report_as_stats(report: dict) -> dict:
    return {
        "inputs": 1,
        "records_read": report["records_read"],
        "documents_written": report["documents_written"],
        "dead_letter": report["dead_letter"],
        "funnel": report["funnel"],
        "images": report["images"],
        "digests": report.get("digests") or empty_counts(),  # manifests older than issue #6
    }


def _merge_stats(left: dict, right: dict) -> dict:
    funnel = Funnel.from_list(left["funnel"]).merge(Funnel.from_list(right["funnel"]))
    images = Counter(left["images"])
    images.update(right["images"])
    return {
        "inputs": left["inputs"] + right["inputs"],
        "records_read": left["records_read"] + right["records_read"],
        "documents_written": left["documents_written"] + right["documents_written"],
        "dead_letter": left["dead_letter"] + right["dead_letter"],
        "funnel": funnel.to_list(),
        "images": dict(sorted(images.items())),
        "digests": merge_digest_counts(left["digests"], right["digests"]),
    }


def merge_digest_counts(left: dict, right: dict) -> dict:
    """Add two ``digests`` sections (per kind, per status)."""
    merged = empty_counts()
    for section in (left, right):
        for kind, counts in section.items():
            for status, count in counts.items():
                merged.setdefault(kind, {}).setdefault(status, 0)
                merged[kind][status] += count
    return merged


def finalize_stats(stats: dict) -> dict:
    """Order the funnel canonically and record whether it closes."""
    funnel = Funnel.from_list(stats["funnel"])
    problems = funnel.closure_problems(stats["records_read"], stats["documents_written"])
    errors = sum(stage.errors for stage in funnel.stages)
    if errors != stats["dead_letter"]:
        problems.append(f"{errors} stage errors but {stats['dead_letter']} dead-letter rows")
    return {**stats, "funnel_closes": not problems, "funnel_problems": problems}


class WriteRunStats(beam.DoFn):
    def __init__(self, output_dir: str):
        self.output_dir = output_dir

    def process(self, stats: dict) -> Iterator[str]:
        path = join(self.output_dir, STATS)
        _write_json(path, finalize_stats(stats))
        _remove_leftovers(self.output_dir)
        yield path


def _remove_leftovers(output_dir: str) -> None:
    """Every input is done once stats are written: heartbeats and temporary files of killed
    attempts are stale, and would make ``webweave verify`` (and the progress line) wrong."""
    patterns = [
        join(output_dir, PROGRESS, "*.json"),
        join(output_dir, PROGRESS, "*.tmp"),
        join(output_dir, MANIFESTS, "*.tmp"),
        join(output_dir, DOCUMENTS, ".*.tmp"),
        join(output_dir, DEAD_LETTER, ".*.tmp"),
        join(output_dir, f"{STATS}.tmp"),
    ]
    paths = [m.path for result in FileSystems.match(patterns) for m in result.metadata_list]
    if paths:
        FileSystems.delete(paths)


class WriteConfig(beam.DoFn):
    def __init__(self, output_dir: str):
        self.output_dir = output_dir

    def process(self, config: dict) -> Iterator[str]:
        path = join(self.output_dir, CONFIG)
        with FileSystems.create(path) as handle:
            handle.write(dump_config(config).encode())
        yield path


class ExpandInputs(beam.DoFn):
    """Pattern → WARC inputs, matched on a worker so that gs:// globs need no local access."""

    def process(self, pattern: str | WarcInput) -> Iterator[WarcInput]:
        if isinstance(pattern, WarcInput):
            yield pattern
        else:
            yield from expand_pattern(pattern)


def build_run_pipeline(
    pipeline: beam.Pipeline, inputs: list[str | WarcInput], output_dir: str, config: dict
) -> beam.PCollection:
    """Add the run job to ``pipeline``; returns the PCollection of the stats.json path."""
    reports = (
        pipeline
        | "Inputs" >> beam.Create(inputs)
        | "ExpandInputs" >> beam.ParDo(ExpandInputs())
        | "SpreadInputs" >> beam.Reshuffle()
        | "ProcessWarcInput" >> beam.ParDo(ProcessWarcInput(output_dir, config))
    )
    _ = (
        pipeline
        | "EffectiveConfig" >> beam.Create([config])
        | "WriteConfig" >> beam.ParDo(WriteConfig(output_dir))
    )
    return (
        reports
        | "MergeReports" >> beam.CombineGlobally(MergeReports())
        | "WriteStats" >> beam.ParDo(WriteRunStats(output_dir))
    )

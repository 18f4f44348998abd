"""Step 1 of ``webweave run``: one WARC file → its ``extracted/`` shards and one report.

``ProcessWarcInput`` streams a WARC through the stage chain

    read → selection → decoding → extraction → paragraph_filter → document_filter

and writes every document with content to ``extracted/PREFIX-NNNNN.parquet`` (rows in record
order; documents the text filters drop are kept there with their ``drop_reason`` and scores, so
thresholds can be re-applied later). Nothing is shuffled: a worker holds one record and one
shard buffer, whatever the size of the WARC. When the input is done, an atomic manifest in
``_manifest/`` records its report; a re-run skips inputs with a manifest (resume).
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from webweave.filters.decoding import PageDecoder
from webweave.filters.extraction_stage import DocumentBuilder, DocumentRow
from webweave.filters.record_digest import MISMATCH, OK, STATS_NAMES, empty_counts
from webweave.filters.record_selection import RecordSelector
from webweave.filters.warc_record import WarcConfig
from webweave.pipelines import commoncrawl
from webweave.pipelines.commoncrawl import CommonCrawlConfig
from webweave.pipelines.config import Config
from webweave.pipelines.funnel import Funnel
from webweave.pipelines.inputs import WarcInput, is_url
from webweave.pipelines.layout import DEAD_LETTER, EXTRACTED, MANIFESTS, PROGRESS
from webweave.pipelines.parquet_shards import (
    ShardWriter,
    fresh_shard_writer,
    join,
    read_json,
    write_json_atomically,
)
from webweave.pipelines.stage_runner import (
    StageFailure,
    StageRunner,
    Where,
    failure_row,
    publish_funnel,
)
from webweave.pipelines.warc_source import (
    WarcReadError,
    WarcRecord,
    iter_warc_records,
    open_warc_stream,
)
from webweave.schemas import dead_letter as dead_letter_schema
from webweave.schemas import extracted as extracted_schema

READ_STAGE = "read"
HEARTBEAT_SECONDS = 2.0


def _digest_flag(status: str) -> bool | None:
    """general_metadata value: True verified, False mismatch, None not checkable."""
    return True if status == OK else False if status == MISMATCH else None


class _DigestGate:
    """Counts digest statuses of every record read; says which mismatches are dead-lettered."""

    def __init__(self, warc: WarcConfig):
        self.block_policy, self.payload_policy = (
            warc.block_digest_mismatch,
            warc.payload_digest_mismatch,
        )
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


# Config sections the streaming step's output depends on (dedup runs after it, every time).
STEP_SECTIONS = ("warc", "selection", "extraction", "text_filters", "run")


def step_config_digest(config: Config) -> str:
    """A fingerprint of what shapes ``extracted/``: a manifest made under another is stale."""
    relevant = {section: getattr(config, section).to_dict() for section in STEP_SECTIONS}
    text = json.dumps(relevant, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def build_stages(config: Config) -> list:
    """The per-record stage chain after reading, from the config (text filters optional)."""
    stages = [
        RecordSelector(config.selection, config.warc),
        PageDecoder(config.warc),
        DocumentBuilder(config.extraction),
    ]
    text_filters = config.text_filters
    if text_filters.enabled:
        from webweave.filters.text.language_id import LanguageIdentifier
        from webweave.filters.text.stages import DocumentFilter, ParagraphFilter, load_lists

        lists = load_lists(text_filters)
        lid = LanguageIdentifier(text_filters.language_id_model)
        stages.append(ParagraphFilter(text_filters, lid, lists))
        stages.append(DocumentFilter(text_filters, lists))
    return stages


def tune_garbage_collector() -> None:
    """Fewer, cheaper cyclic collections in a worker that allocates millions of short-lived
    objects per WARC and holds a shard's rows: what setup loaded (models, word lists, tables)
    is frozen out of every future collection, and the youngest generation is collected every
    50,000 allocations instead of 700. Reference counting still frees almost everything at once;
    measured +5-7% docs/s with and without text filters (bench/pipeline_throughput.py inputs)."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


class ProcessWarcInput(beam.DoFn):
    """One WARC file in, its ``extracted/`` shards written, one report dict out."""

    def __init__(self, output_dir: str, config: Config):
        self.output_dir = output_dir
        self.config = config
        self.heartbeat = "://" not in output_dir  # progress files only for local runs

    def setup(self) -> None:
        self.stages = build_stages(self.config)
        tune_garbage_collector()

    def process(self, warc_input: WarcInput) -> Iterator[dict]:
        manifest = join(self.output_dir, MANIFESTS, f"{warc_input.shard_prefix}.json")
        digest = step_config_digest(self.config)
        if FileSystems.exists(manifest):
            report = read_json(manifest)
            if report.get("config_digest") == digest:
                Metrics.counter("run", "inputs_skipped_done").inc()
                yield report
                return
            # Finished under another configuration: its shards are not what this run would
            # write, so the input is processed again (its old shards are replaced).
            Metrics.counter("run", "inputs_redone_config_changed").inc()
        with _local_copy(warc_input, self.config.commoncrawl) as location:
            report = self._process(warc_input, location)
        report["config_digest"] = digest
        write_json_atomically(manifest, report)
        publish_funnel(report["funnel"])
        Metrics.counter("run", "inputs_done").inc()
        yield report

    def _process(self, warc_input: WarcInput, location: str) -> dict:
        started = time.monotonic()
        prefix = warc_input.shard_prefix
        rows, compression = self.config.run.shard_rows, self.config.run.parquet_compression
        extracted = fresh_shard_writer(
            join(self.output_dir, EXTRACTED), prefix, extracted_schema.SCHEMA,
            shard_rows=rows, compression=compression,
        )  # fmt: skip
        dead = fresh_shard_writer(
            join(self.output_dir, DEAD_LETTER), prefix, dead_letter_schema.SCHEMA,
            shard_rows=rows, compression=compression,
        )  # fmt: skip
        funnel = Funnel()
        read = funnel.stage(READ_STAGE)
        runner = StageRunner(self.stages, dead.add, funnel)
        gate = _DigestGate(self.config.warc)
        tally = _Tally()
        slowest = {"offset": None, "seconds": 0.0, "cpu_seconds": 0.0}
        progress = _Heartbeat(self.output_dir, warc_input, enabled=self.heartbeat)
        warc = self.config.warc
        with open_warc_stream(location) as stream:
            for item in iter_warc_records(
                stream,
                warc_input.name,
                max_record_bytes=warc.max_record_bytes,
                verify_digests=warc.verify_digests,
            ):
                read.in_ += 1
                progress.tick(read.in_)
                if isinstance(item, WarcReadError):
                    read.errors += 1
                    failure = StageFailure(READ_STAGE, item.error_type, item.message)
                    where = Where(item.source, item.offset, item.record_id, item.url)
                    dead.add(failure_row(where, failure))
                    continue
                rejected = gate.check(item)
                if rejected is not None:
                    read.errors += 1
                    dead.add(failure_row(_where(item), StageFailure(READ_STAGE, *rejected)))
                    continue
                read.out += 1
                wall, cpu = time.monotonic(), time.thread_time()
                result = runner.run(item, _where(item))
                wall, cpu = time.monotonic() - wall, time.thread_time() - cpu
                _note_slowest(slowest, item.offset, wall, cpu)
                if isinstance(result, StageFailure):
                    continue  # the runner wrote its dead-letter row
                if isinstance(result, DocumentRow):
                    _add_extracted(item, result, None, extracted, tally)
                elif isinstance(runner.dropped_item, DocumentRow):  # dropped by a text filter
                    _add_extracted(item, runner.dropped_item, result.reason, extracted, tally)
        extracted.close()
        dead.close()
        progress.done()
        return {
            "input": warc_input.name,
            "location": warc_input.location,
            "records_read": read.in_,
            "documents_kept": funnel.stages[-1].out,
            "dead_letter": dead.rows_written,
            "funnel": funnel.to_list(),
            "images": dict(sorted(tally.images.items())),
            "paragraphs_removed": dict(sorted(tally.paragraphs.items())),
            "digests": gate.counts,
            "shards": [path.rsplit("/", 1)[-1] for path in extracted.paths],
            "extracted_rows": extracted.rows_written,
            "seconds": round(time.monotonic() - started, 3),
            "slowest_record": slowest,
        }


@dataclass
class _Tally:
    # placed / dropped.<reason> image positions of extracted documents
    images: Counter = field(default_factory=Counter)
    # paragraphs the text filters removed from kept documents, by reason
    paragraphs: Counter = field(default_factory=Counter)


def _add_extracted(
    record: WarcRecord,
    result: DocumentRow,
    drop_reason: str | None,
    extracted: ShardWriter,
    tally: _Tally,
) -> None:
    """Write the row to ``extracted/`` (``drop_reason`` null when the text filters kept it)."""
    row = result.row
    row["general_metadata"]["block_digest_ok"] = _digest_flag(record.block_digest)
    row["general_metadata"]["payload_digest_ok"] = _digest_flag(record.payload_digest)
    row["drop_reason"] = drop_reason
    extracted.add(row)
    # Image accounting is extraction's: every <img> of every extracted page is placed or
    # dropped with a reason, whatever the text filters decide later (refilter keeps it).
    tally.images["placed"] += sum(1 for url in result.row["images"] if url is not None)
    tally.images.update({f"dropped.{k}": v for k, v in result.dropped_images.items()})
    if drop_reason is None:
        removed = (row.get("paragraph_filter") or {}).get("removed") or {}
        tally.paragraphs.update(removed)


def _note_slowest(slowest: dict, offset: int, wall: float, cpu: float) -> None:
    """Keep the slowest record of the input in its manifest (a budget check, not stats).

    CPU seconds of this thread are kept beside wall seconds: on a shared machine the wall
    clock also counts other processes' time, the CPU time only this record's work.
    """
    if wall > slowest["seconds"]:
        slowest["offset"], slowest["seconds"] = offset, round(wall, 3)
    slowest["cpu_seconds"] = max(slowest["cpu_seconds"], round(cpu, 3))


def _where(record: WarcRecord) -> Where:
    return Where(record.source, record.offset, record.record_id, record.target_uri)


@contextlib.contextmanager
def _local_copy(warc_input: WarcInput, cc_config: CommonCrawlConfig) -> Iterator[str]:
    """Yield a location ``open_warc_stream`` can read: URLs are downloaded to a temp file."""
    if not is_url(warc_input.location):
        yield warc_input.location
        return
    with tempfile.TemporaryDirectory(prefix="webweave-") as folder:
        path = os.path.join(folder, "input.warc.gz")
        commoncrawl.download(
            warc_input.location,
            path,
            timeout=cc_config.timeout_seconds,
            retries=cc_config.retries,
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
            write_json_atomically(self.path, {"input": self.name, "records_read": records})

    def done(self) -> None:
        if self.enabled and FileSystems.exists(self.path):
            FileSystems.delete([self.path])

"""The ``run`` job: WARC files → ``documents/`` and the rest of the output layout (layout.py).

    Create(patterns) → ExpandInputs → Reshuffle → ProcessWarcInput ──→ extraction reports
         (step 1, warc_extraction.py: stream each WARC, write extracted/ shards)
    extraction reports → shard names → curate                       ──→ write reports
         (steps 2–3, curation.py: dedup keys → Beam shuffles → rewrite shards to documents/)
    both reports → assemble_stats → stats.json;   config → config.yaml

Documents themselves never enter a shuffle: only dedup keys (a few hundred bytes per document)
do, so a worker's memory holds one record or one shard, whatever the size of the crawl.
"""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from webweave.pipelines.config import Config, dump_config
from webweave.pipelines.curation import curate
from webweave.pipelines.dedup import DedupConfig
from webweave.pipelines.inputs import WarcInput, expand_pattern
from webweave.pipelines.layout import (
    CONFIG,
    DEAD_LETTER,
    DOCUMENTS,
    EXTRACTED,
    MANIFESTS,
    PROGRESS,
    STATS,
)
from webweave.pipelines.parquet_shards import join, write_json_atomically
from webweave.pipelines.run_stats import (
    MergeExtractionReports,
    MergeWriteReports,
    assemble_stats,
)
from webweave.pipelines.warc_extraction import ProcessWarcInput

__all__ = ["STATS", "build_run_pipeline"]


class ExpandInputs(beam.DoFn):
    """Pattern → WARC inputs, matched on a worker so that gs:// globs need no local access."""

    def process(self, pattern: str | WarcInput) -> Iterator[WarcInput]:
        if isinstance(pattern, WarcInput):
            yield pattern
        else:
            yield from expand_pattern(pattern)


class WriteConfig(beam.DoFn):
    def __init__(self, output_dir: str):
        self.output_dir = output_dir

    def process(self, config: Config) -> Iterator[str]:
        path = join(self.output_dir, CONFIG)
        with FileSystems.create(path) as handle:
            handle.write(dump_config(config).encode())
        yield path


class WriteRunStats(beam.DoFn):
    """Assembles and writes ``stats.json`` once both report streams are merged."""

    def __init__(self, output_dir: str, dedup_config: DedupConfig):
        self.output_dir = output_dir
        self.dedup_config = dedup_config

    def process(self, extraction: dict, writes: dict) -> Iterator[str]:
        path = join(self.output_dir, STATS)
        write_json_atomically(path, assemble_stats(extraction, writes, self.dedup_config))
        _remove_leftovers(self.output_dir)
        yield path


def _remove_leftovers(output_dir: str) -> None:
    """Every input is done once stats are written: heartbeats and temporary files of killed
    attempts are stale, and would make ``webweave verify`` (and the progress line) wrong."""
    patterns = [
        join(output_dir, PROGRESS, "*.json"),
        join(output_dir, PROGRESS, "*.tmp"),
        join(output_dir, MANIFESTS, "*.tmp"),
        *(join(output_dir, folder, ".*.tmp") for folder in (DOCUMENTS, EXTRACTED, DEAD_LETTER)),
        join(output_dir, f"{STATS}.tmp"),
    ]
    paths = [m.path for result in FileSystems.match(patterns) for m in result.metadata_list]
    if paths:
        FileSystems.delete(paths)


def build_run_pipeline(
    pipeline: beam.Pipeline, inputs: list[str | WarcInput], output_dir: str, config: Config
) -> beam.PCollection:
    """Add the run job to ``pipeline``; returns the PCollection of the stats.json path."""
    reports = (
        pipeline
        | "Inputs" >> beam.Create(inputs)
        | "ExpandInputs" >> beam.ParDo(ExpandInputs())
        | "SpreadInputs" >> beam.Reshuffle()
        | "ProcessWarcInput" >> beam.ParDo(ProcessWarcInput(output_dir, config))
    )
    return curate_and_report(reports, output_dir, config)


def curate_and_report(reports: beam.PCollection, output_dir: str, config: Config):
    """Steps 2–3 and the run's files (config.yaml, stats.json) from per-input reports.

    Shared by ``webweave run`` and ``webweave refilter``: both end the same way, which is
    what makes a refiltered folder equal to a full run with the new config.
    """
    pipeline = reports.pipeline
    writes = curate(reports, output_dir, config)
    _ = (
        pipeline
        | "EffectiveConfig" >> beam.Create([config])
        | "WriteConfig" >> beam.ParDo(WriteConfig(output_dir))
    )
    extraction = reports | "MergeExtraction" >> beam.CombineGlobally(MergeExtractionReports())
    write_stats = writes | "MergeWrites" >> beam.CombineGlobally(MergeWriteReports())
    return extraction | "WriteStats" >> beam.ParDo(
        WriteRunStats(output_dir, config.dedup), beam.pvalue.AsSingleton(write_stats)
    )

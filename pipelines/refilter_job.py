"""``webweave refilter DIR --config NEW.yaml --output OUT``: new thresholds, no WARC parsing.

A run stores every extracted document in ``DIR/extracted/`` with its paragraph and document
scores (kept or dropped by the text filters). Refilter re-applies the ``text_filters`` and
``dedup`` sections of NEW to those rows (``refilter_row`` reuses every score the new config
does not change) and then runs the same dedup and final write as ``webweave run``. The result
equals a full run with NEW: same ids, same shard files, same funnel.

Only ``text_filters`` and ``dedup`` may differ from the run's config: anything else (selection,
extraction, shard sizes) changes what extraction produced, which needs the WARCs again.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator
from dataclasses import fields

import apache_beam as beam
import pyarrow as pa
import yaml
from apache_beam.io.filesystems import FileSystems

from webweave.filters.text.config import LANGUAGE_ID_KEYS
from webweave.pipelines.config import Config, ConfigError, load_config
from webweave.pipelines.curation import read_extracted
from webweave.pipelines.inputs import WarcInput
from webweave.pipelines.layout import CONFIG, DEAD_LETTER, EXTRACTED, MANIFESTS
from webweave.pipelines.parquet_shards import (
    join,
    read_json,
    write_json_atomically,
    write_table_atomically,
)
from webweave.pipelines.run_job import curate_and_report
from webweave.pipelines.warc_extraction import step_config_digest
from webweave.schemas import extracted as extracted_schema

REFILTERABLE = ("text_filters", "dedup")
EXECUTION_ONLY = ("shuffle",)  # how the job runs, never what it writes: may differ freely
FILTER_STAGES = ("paragraph_filter", "document_filter")


def read_run_config(run_dir: str) -> Config:
    """The run's effective config (its ``config.yaml``), typed."""
    path = join(run_dir, CONFIG)
    if "://" in path:
        with FileSystems.open(path) as handle:
            return load_config(overrides=yaml.safe_load(handle.read()) or {})
    return load_config(path)


def check_refilterable(old: Config, new: Config) -> None:
    """ConfigError naming the first section that needs the WARCs to change."""
    for item in fields(Config):
        section = item.name
        if section in REFILTERABLE or section in EXECUTION_ONLY:
            continue
        if getattr(old, section) != getattr(new, section):
            raise ConfigError(
                f"config section {section!r} differs from the run's; refilter re-applies only "
                f"{' and '.join(REFILTERABLE)} (run `webweave run` again for the rest)"
            )
    for key in LANGUAGE_ID_KEYS:  # the stored language is reused, never re-identified
        if getattr(old.text_filters, key) != getattr(new.text_filters, key):
            raise ConfigError(f"text_filters.{key} differs from the run's; refilter reuses "
                              "languages")  # fmt: skip


class RowRefilter:
    """Re-applies one config's text filters to stored rows (Beam-free; tests call it)."""

    def __init__(self, old: Config, new: Config):
        from webweave.filters.text.language_id import LanguageIdentifier
        from webweave.filters.text.stages import DocumentFilter, ParagraphFilter, load_lists

        self.old, self.new = old.text_filters, new.text_filters
        self.enabled, self.old_enabled = self.new.enabled, self.old.enabled
        self.lists = load_lists(self.new)
        lid = LanguageIdentifier(self.new.language_id_model)
        self.paragraph_filter = ParagraphFilter(self.new, lid, self.lists)
        self.document_filter = DocumentFilter(self.new, self.lists)

    def __call__(self, row: dict) -> tuple[dict, Counter]:
        """(the row as a run with the new config would store it, paragraphs it removed)."""
        from webweave.filters.decision import Drop
        from webweave.filters.text.paragraphs import unfiltered_row
        from webweave.filters.text.refilter import refilter_row

        stored = _as_python(row)
        if stored["paragraph_filter"] is not None:
            base = unfiltered_row(stored)
        else:
            base = stored
        if not self.enabled:
            base.update(drop_reason=None, paragraph_filter=None, filter_scores=None)
            base["general_metadata"].update(language=None, language_score=None)
            return base, Counter()
        if stored["paragraph_filter"] is not None and self.old_enabled:
            out, reason, removed = refilter_row(
                stored, self.old, self.new, self.lists, self.document_filter.quality
            )
            out["drop_reason"] = reason
            return out, Counter(removed)
        self.paragraph_filter(base)
        decision = self.document_filter(base)
        base["drop_reason"] = decision.reason if isinstance(decision, Drop) else None
        return base, Counter(base["paragraph_filter"]["removed"])


def _as_python(row: dict) -> dict:
    """Undo Parquet's representation where it differs from what the stages produce."""
    row = copy.deepcopy(row)
    pf = row.get("paragraph_filter")
    if pf is not None and isinstance(pf.get("removed"), list):  # map<string, int64>
        pf["removed"] = dict(pf["removed"])
    return row


class RefilterInput(beam.DoFn):
    """One input's manifest report → its ``extracted/`` shards re-thresholded, a new report."""

    def __init__(self, run_dir: str, output_dir: str, old: Config, new: Config):
        self.run_dir, self.output_dir = run_dir, output_dir
        self.old, self.new = old, new

    def setup(self) -> None:
        self.refilter = RowRefilter(self.old, self.new)

    def process(self, report: dict) -> Iterator[dict]:
        tally = {"kept": 0, "dropped": Counter(), "removed": Counter()}
        for shard in report["shards"]:
            table = read_extracted(join(self.run_dir, EXTRACTED, shard))
            rows = [self._refilter(row, tally) for row in table.to_pylist()]
            out = pa.Table.from_pylist(rows, schema=extracted_schema.SCHEMA)
            path = join(self.output_dir, EXTRACTED, shard)
            write_table_atomically(out, path, self.new.run.parquet_compression)
        _copy_dead_letter(self.run_dir, self.output_dir, report)
        refiltered = _new_report(report, tally, self.refilter.enabled)
        refiltered["config_digest"] = step_config_digest(self.new)  # as a full run would
        yield refiltered

    def _refilter(self, row: dict, tally: dict) -> dict:
        out, removed = self.refilter(row)
        if out["drop_reason"] is None:
            tally["kept"] += 1
            tally["removed"].update(removed)
        else:
            tally["dropped"][out["drop_reason"]] += 1
        return out


def _new_report(report: dict, tally: dict, enabled: bool) -> dict:
    """The input's report with the text-filter stages recounted under the new config."""
    extraction_stages = [s for s in report["funnel"] if s["stage"] not in FILTER_STAGES]
    flowing = extraction_stages[-1]["out"]
    funnel = list(extraction_stages)
    if enabled:
        funnel.append({"stage": "paragraph_filter", "in": flowing, "out": flowing,
                       "dropped": {}, "errors": 0})  # fmt: skip
        funnel.append(
            {
                "stage": "document_filter",
                "in": flowing,
                "out": tally["kept"],
                "dropped": dict(sorted(tally["dropped"].items())),
                "errors": 0,
            }
        )
    return {
        **report,
        "documents_kept": tally["kept"] if enabled else flowing,
        "funnel": funnel,
        "paragraphs_removed": dict(sorted(tally["removed"].items())),
    }


def _input_prefix(report: dict) -> str:
    return WarcInput(report["location"], report["input"]).shard_prefix


def _copy_dead_letter(run_dir: str, output_dir: str, report: dict) -> None:
    """The input's dead-letter rows belong to the refiltered output too (the funnel counts them)."""
    pattern = join(run_dir, DEAD_LETTER, f"{_input_prefix(report)}-*.parquet")
    sources = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
    targets = [join(output_dir, DEAD_LETTER, s.rsplit("/", 1)[-1]) for s in sources]
    existing = [t for t in targets if FileSystems.exists(t)]
    if existing:
        FileSystems.delete(existing)
    if sources:
        FileSystems.copy(sources, targets)


def manifest_reports(run_dir: str) -> list[dict]:
    pattern = join(run_dir, MANIFESTS, "*.json")
    paths = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
    if not paths:
        raise FileNotFoundError(f"{run_dir} has no {MANIFESTS}/ reports: is it a webweave run?")
    return [read_json(path) for path in paths]


def build_refilter_pipeline(
    pipeline: beam.Pipeline, run_dir: str, output_dir: str, old: Config, new: Config
) -> beam.PCollection:
    """Add the refilter job to ``pipeline``; returns the PCollection of the stats.json path."""
    check_refilterable(old, new)
    reports = (
        pipeline
        | "Manifests" >> beam.Create(manifest_reports(run_dir))
        | "SpreadInputs" >> beam.Reshuffle()
        | "RefilterInput" >> beam.ParDo(RefilterInput(run_dir, output_dir, old, new))
    )
    _ = reports | "WriteManifests" >> beam.Map(_write_manifest, output_dir)
    return curate_and_report(reports, output_dir, new)


def _write_manifest(report: dict, output_dir: str) -> None:
    path = join(output_dir, MANIFESTS, f"{_input_prefix(report)}.json")
    write_json_atomically(path, report)

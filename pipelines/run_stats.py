"""``stats.json`` of a run: per-input and per-shard reports merged into one closing funnel.

Extraction reports (one per WARC) carry the funnel of ``read … document_filter``; write
reports (one per ``extracted/`` shard) carry what deduplication removed. ``assemble_stats``
appends one funnel stage per enabled dedup step, in the order the steps run, so the funnel
closes from ``records_read`` down to ``documents_written``.
"""

from __future__ import annotations

from collections import Counter

import apache_beam as beam

from webweave.filters.record_digest import empty_counts
from webweave.pipelines.dedup import STEPS, DedupConfig
from webweave.pipelines.funnel import Funnel

# Dedup steps in the order they run (pipelines/dedup), each with the reason its stage uses
# for documents it removes. image_url_frequency and paragraph_dedup remove positions, not
# documents; a document they leave empty is dropped with the "empty_after_…" reason.
DEDUP_STAGES = tuple((step.name, step.document_reason) for step in STEPS)


class MergeExtractionReports(beam.CombineFn):
    """Sums the per-input reports of ``ProcessWarcInput``."""

    def create_accumulator(self) -> dict:
        return {
            "inputs": 0,
            "records_read": 0,
            "dead_letter": 0,
            "funnel": [],
            "images": {},
            "paragraphs_removed": {},
            "digests": empty_counts(),
        }

    def add_input(self, accumulator: dict, report: dict) -> dict:
        return _merge_extraction(accumulator, report, inputs=1)

    def merge_accumulators(self, accumulators) -> dict:
        merged = self.create_accumulator()
        for accumulator in accumulators:
            merged = _merge_extraction(merged, accumulator, inputs=accumulator["inputs"])
        return merged

    def extract_output(self, accumulator: dict) -> dict:
        return accumulator


def _merge_extraction(left: dict, right: dict, inputs: int) -> dict:
    return {
        "inputs": left["inputs"] + inputs,
        "records_read": left["records_read"] + right["records_read"],
        "dead_letter": left["dead_letter"] + right["dead_letter"],
        "funnel": Funnel.from_list(left["funnel"])
        .merge(Funnel.from_list(right["funnel"]))
        .to_list(),
        "images": _add(left["images"], right["images"]),
        "paragraphs_removed": _add(left["paragraphs_removed"], right.get("paragraphs_removed", {})),
        "digests": merge_digest_counts(left["digests"], right.get("digests") or empty_counts()),
    }


class MergeWriteReports(beam.CombineFn):
    """Sums the per-shard reports of the final write (what dedup removed)."""

    def create_accumulator(self) -> dict:
        return {"in": 0, "written": 0, "dropped": {}, "images_removed": 0, "paragraphs_removed": 0}

    def add_input(self, accumulator: dict, report: dict) -> dict:
        return {
            "in": accumulator["in"] + report["in"],
            "written": accumulator["written"] + report["written"],
            "dropped": _add(accumulator["dropped"], report["dropped"]),
            "images_removed": accumulator["images_removed"] + report["images_removed"],
            "paragraphs_removed": accumulator["paragraphs_removed"] + report["paragraphs_removed"],
        }

    def merge_accumulators(self, accumulators) -> dict:
        merged = self.create_accumulator()
        for accumulator in accumulators:
            merged = self.add_input(merged, accumulator)
        return merged

    def extract_output(self, accumulator: dict) -> dict:
        return accumulator


def assemble_stats(extraction: dict, writes: dict, dedup_config: DedupConfig) -> dict:
    """The content of ``stats.json``: extraction funnel + one stage per enabled dedup step."""
    funnel = Funnel.from_list(extraction["funnel"])
    flowing = funnel.stages[-1].out if funnel.stages else 0
    dropped = Counter(writes["dropped"])
    for step, reason in DEDUP_STAGES:
        if not getattr(dedup_config, step):
            continue
        removed = dropped.pop(reason, 0)
        stage = funnel.stage(step)
        stage.in_, stage.out = flowing, flowing - removed
        stage.dropped = Counter({reason: removed} if removed else {})
        flowing = stage.out
    if dropped:  # a reason of a disabled step: keep it visible rather than lose it
        stage = funnel.stage("dedup_other")
        stage.in_, stage.dropped = flowing, dropped
        stage.out = flowing - sum(dropped.values())
    return finalize_stats(
        {
            "inputs": extraction["inputs"],
            "records_read": extraction["records_read"],
            "documents_written": writes["written"],
            "dead_letter": extraction["dead_letter"],
            "funnel": funnel.to_list(),
            "images": extraction["images"],
            "paragraphs_removed": extraction["paragraphs_removed"],
            "dedup": {
                "image_positions_removed": writes["images_removed"],
                "paragraphs_removed": writes["paragraphs_removed"],
            },
            "digests": extraction["digests"],
        }
    )


def finalize_stats(stats: dict) -> dict:
    """Record whether the funnel closes, and why not."""
    funnel = Funnel.from_list(stats["funnel"])
    problems = funnel.closure_problems(stats["records_read"], stats["documents_written"])
    errors = sum(stage.errors for stage in funnel.stages)
    if errors != stats["dead_letter"]:
        problems.append(f"{errors} stage errors but {stats['dead_letter']} dead-letter rows")
    return {**stats, "funnel_closes": not problems, "funnel_problems": problems}


def merge_digest_counts(left: dict, right: dict) -> dict:
    """Add two ``digests`` sections (per kind, per status)."""
    merged = empty_counts()
    for section in (left, right):
        for kind, counts in section.items():
            for status, count in counts.items():
                merged.setdefault(kind, {}).setdefault(status, 0)
                merged[kind][status] += count
    return merged


def _add(left: dict, right: dict) -> dict:
    total = Counter(left)
    total.update(right)
    return dict(sorted(total.items()))

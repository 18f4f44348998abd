"""What every dedup step shares: its base class, shuffle-byte counting, keep-one-per-group,
the removed-fraction guard and action statistics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

import apache_beam as beam
from apache_beam import pvalue
from apache_beam.coders import FastPrimitivesCoder
from apache_beam.metrics import Metrics

from webweave.pipelines.dedup.config import DedupConfig
from webweave.pipelines.dedup.keys import DROP_DOCUMENT, DedupAction, recency_rank, unpack
from webweave.pipelines.errors import UserError
from webweave.pipelines.grouping import BEAM_SHUFFLE, Grouping

METRICS_NAMESPACE = "dedup"


class DedupGuardTripped(UserError):
    """A step removed more than ``dedup.max_removed_fraction`` of what it looked at."""


ACTIONS_TAG = "actions"
CHECKED_TAG = "checked"  # one True/False per distinct key a flagging reducer decided on


class DedupStep(beam.PTransform):
    """A dedup step: ``name`` is its config switch, funnel stage and module; ``reason`` the
    drop reason of what it removes; ``document_reason`` the funnel's reason for a document it
    removes (a step that removes positions drops a document it leaves empty).

    In: PCollection[DedupKey]. Out: a dict with ``survivors`` (DedupKey), ``actions``
    (DedupAction), ``stats`` ((name, count)) and step-specific extras.
    """

    name: ClassVar[str]
    reason: ClassVar[str]
    document_reason: ClassVar[str]

    def __init__(self, config: DedupConfig | None = None, grouping: Grouping = BEAM_SHUFFLE):
        super().__init__()
        self.config = config or DedupConfig.default()
        self._measure = self.config.measure_shuffle_bytes
        self._max_removed_fraction = self.config.max_removed_fraction
        self._grouping = grouping

    @property
    def title(self) -> str:
        """The step's name in the graph and in guard messages: its class name."""
        return type(self).__name__


class _CountShuffleBytes(beam.DoFn):
    """Pass-through that counts what enters a shuffle, encoded with Beam's default coder.

    Counted before combiner lifting, so for CombinePerKey/Distinct it is an upper bound.
    """

    def __init__(self, step: str):
        self._step = step
        self._coder = FastPrimitivesCoder()

    def setup(self) -> None:
        self._bytes = Metrics.counter(METRICS_NAMESPACE, f"shuffle_bytes.{self._step}")
        self._elements = Metrics.counter(METRICS_NAMESPACE, f"shuffle_elements.{self._step}")

    def process(self, element):
        self._bytes.inc(len(self._coder.encode(element)))
        self._elements.inc()
        yield element


def measured(pcoll, label: str, step: str, measure: bool):
    """Insert a shuffle-byte counter in front of a shuffle when measuring."""
    if not measure:
        return pcoll
    return pcoll | f"Measure{label}" >> beam.ParDo(_CountShuffleBytes(step))


def measure_join(pcolls: tuple, step: str) -> None:
    """Count what enters a CoGroupByKey (side branches: the join itself is unchanged; no
    Flatten, which Beam's local runner would hold in memory)."""
    for index, pcoll in enumerate(pcolls):
        _ = pcoll | f"MeasureJoin{index}" >> beam.ParDo(_CountShuffleBytes(step))


def count_metric(name: str, value: int = 1) -> None:
    Metrics.counter(METRICS_NAMESPACE, name).inc(value)


def stat(name: str, value: int = 1) -> tuple[str, int]:
    return (name, value)


class KeepOnePerGroup(beam.DoFn):
    """Per group of packed keys: keep the recency-rank minimum, drop the rest with ``reason``.

    Two passes over the grouped values (re-iterable), holding only the best rank.
    """

    def __init__(self, reason: str):
        self._reason = reason

    def process(self, element) -> Iterator:
        _, members = element
        best = min(recency_rank(unpack(packed)) for packed in members)
        kept_doc_id = best[1]
        for packed in members:
            key = unpack(packed)
            if recency_rank(key) == best:
                yield key
                continue
            count_metric(self._reason)
            yield pvalue.TaggedOutput(
                ACTIONS_TAG,
                DedupAction(
                    key.shard, key.doc_id, DROP_DOCUMENT, self._reason, kept_doc_id=kept_doc_id
                ),
            )


def group_and_keep_one(keyed, reason: str, measure: bool, grouping: Grouping):
    """GroupByKey on (group key, packed DedupKey) and keep one per group."""
    results = (
        measured(keyed, "Group", reason, measure)
        | "Group" >> grouping.group_by_key()
        | "KeepOne"
        >> beam.ParDo(KeepOnePerGroup(reason)).with_outputs(ACTIONS_TAG, main="survivors")
    )
    return results.survivors, results[ACTIONS_TAG]


class _RemovedFractionGuard(beam.PTransform):
    """Fail the job when a step removes more than ``max_fraction`` of what it looked at.

    OBELICS's image-URL step once flagged every URL (a wrong object written); a step that
    removes almost everything is a bug until shown otherwise.
    """

    def __init__(self, step: str, max_fraction: float | None):
        super().__init__()
        self._step = step
        self._max_fraction = max_fraction

    def expand(self, counts):
        """``counts``: PCollection of ("removed" | "total", n)."""
        step, max_fraction = self._step, self._max_fraction
        return (
            counts
            | "Sum" >> beam.CombinePerKey(sum)
            | "ToOneKey" >> beam.Map(lambda kv: (None, kv))
            | "Together" >> beam.GroupByKey()
            | "Check" >> beam.Map(lambda kv: _check_fraction(step, dict(kv[1]), max_fraction))
        )


def _check_fraction(step: str, sums: dict[str, int], max_fraction: float | None) -> dict:
    removed, total = sums.get("removed", 0), sums.get("total", 0)
    if max_fraction is not None and total and removed / total > max_fraction:
        raise DedupGuardTripped(
            f"dedup step {step} removed {removed} of {total} (> {max_fraction:.0%}); this "
            "looks like a bug: if it is your data, raise dedup.max_removed_fraction (null: off)"
        )
    return {"step": step, "removed": removed, "total": total}


def guard(step: str, removed, total, max_fraction: float | None):
    """Attach a removed-fraction guard; returns its (tiny) PCollection of check results.

    Each side is counted before the Flatten, so only two numbers are flattened (Beam's local
    runner holds a Flatten's inputs in memory)."""
    counts = (
        removed | f"{step}CountRemoved" >> _CountAs("removed"),
        total | f"{step}CountTotal" >> _CountAs("total"),
    ) | f"{step}GuardCounts" >> beam.Flatten()
    return counts | f"{step}Guard" >> _RemovedFractionGuard(step, max_fraction)


class _CountAs(beam.PTransform):
    """PCollection → one (name, count) element."""

    def __init__(self, name: str):
        super().__init__()
        self._name = name

    def expand(self, pcoll):
        name = self._name
        return (
            pcoll
            | "Count" >> beam.combiners.Count.Globally()
            | "Name" >> beam.Map(lambda count: (name, count))
        )


def guard_flags(step: str, flags, max_fraction: float | None):
    """Guard over one True/False per distinct key a flagging reducer saw (no extra shuffle)."""
    counts = flags | f"{step}FlagCounts" >> beam.FlatMap(
        lambda flagged: [("total", 1), ("removed", 1)] if flagged else [("total", 1)]
    )
    return counts | f"{step}Guard" >> _RemovedFractionGuard(step, max_fraction)


def action_stats(actions, label: str):
    """(reason.kind, count) over a PCollection of actions."""
    return (
        actions
        | f"{label}StatKeys" >> beam.Map(lambda action: stat(f"{action.reason}.{action.kind}"))
        | f"{label}StatSum" >> beam.CombinePerKey(sum)
    )

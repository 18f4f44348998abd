"""The funnel: per stage, how many items went in, came out, were dropped (by reason) or failed.

A ``Funnel`` is plain data so that each worker builds one per input and Beam merges them with
a ``CombineGlobally``; ``stats.json`` is the merged funnel. It must close exactly: every item
that enters a stage leaves it as an output, a counted drop or an error.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field

import apache_beam as beam


@dataclass
class StageCounts:
    stage: str
    in_: int = 0
    out: int = 0
    dropped: Counter = field(default_factory=Counter)
    errors: int = 0

    def closes(self) -> bool:
        return self.in_ == self.out + sum(self.dropped.values()) + self.errors

    def to_dict(self) -> dict:
        return {
            "stage": self.stage,
            "in": self.in_,
            "out": self.out,
            "dropped": dict(sorted(self.dropped.items())),
            "errors": self.errors,
        }

    @classmethod
    def from_dict(cls, data: dict) -> StageCounts:
        return cls(
            stage=data["stage"],
            in_=data["in"],
            out=data["out"],
            dropped=Counter(data.get("dropped", {})),
            errors=data.get("errors", 0),
        )


class Funnel:
    """Ordered stage counts. Stages appear in the order they are first touched."""

    def __init__(self, stages: list[StageCounts] | None = None):
        self._stages: dict[str, StageCounts] = {}
        for counts in stages or []:
            self._stages[counts.stage] = counts

    def stage(self, name: str) -> StageCounts:
        counts = self._stages.get(name)
        if counts is None:
            counts = self._stages[name] = StageCounts(name)
        return counts

    @property
    def stages(self) -> list[StageCounts]:
        return list(self._stages.values())

    def merge(self, other: Funnel) -> Funnel:
        """Add ``other``'s counts into this funnel (stage order: this one's, then new ones)."""
        for theirs in other.stages:
            mine = self.stage(theirs.stage)
            mine.in_ += theirs.in_
            mine.out += theirs.out
            mine.dropped.update(theirs.dropped)
            mine.errors += theirs.errors
        return self

    def to_list(self) -> list[dict]:
        return [counts.to_dict() for counts in self._stages.values()]

    @classmethod
    def from_list(cls, data: list[dict]) -> Funnel:
        return cls([StageCounts.from_dict(item) for item in data])

    def closure_problems(
        self, first_in: int | None = None, last_out: int | None = None
    ) -> list[str]:
        """Why the funnel does not close; empty when it does."""
        problems = [
            f"stage {c.stage!r}: in {c.in_} != out {c.out} + dropped "
            f"{sum(c.dropped.values())} + errors {c.errors}"
            for c in self._stages.values()
            if not c.closes()
        ]
        stages = self.stages
        for before, after in zip(stages, stages[1:], strict=False):
            if before.out != after.in_:
                problems.append(
                    f"stage {after.stage!r} received {after.in_} but {before.stage!r} "
                    f"emitted {before.out}"
                )
        if stages and first_in is not None and stages[0].in_ != first_in:
            problems.append(f"first stage in {stages[0].in_} != {first_in}")
        if stages and last_out is not None and stages[-1].out != last_out:
            problems.append(f"last stage out {stages[-1].out} != {last_out}")
        return problems


class MergeReports(beam.CombineFn):
    """Sums a job's report dicts: funnels (keys ending in "funnel") merge stage-wise, numbers
    add, nested dicts add (the images and CapFilt jobs' per-batch reports)."""

    def create_accumulator(self) -> dict:
        return {}

    def add_input(self, accumulator: dict, report: dict) -> dict:
        return merge_reports(accumulator, report)

    def merge_accumulators(self, accumulators) -> dict:
        merged: dict = {}
        for accumulator in accumulators:
            merged = merge_reports(merged, accumulator)
        return merged

    def extract_output(self, accumulator: dict) -> dict:
        return accumulator


def merge_reports(left: dict, right: dict) -> dict:
    merged = dict(left)
    for key, value in right.items():
        if key not in merged:
            merged[key] = copy.deepcopy(value)
        elif key.endswith("funnel"):
            merged[key] = Funnel.from_list(merged[key]).merge(Funnel.from_list(value)).to_list()
        elif isinstance(value, dict):
            merged[key] = merge_reports(merged[key], value)
        else:
            merged[key] = merged[key] + value
    return merged

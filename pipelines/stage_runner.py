"""Runs a chain of stages on one item: counts drops per reason, turns exceptions into errors.

This is the one place with per-item exception handling (design: "per-record exception handling
lives here once, not in every stage"). It is Beam-free so the same chain runs in a DoFn, a test
or a benchmark; the DoFn mirrors the funnel into Beam counters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from webweave.filters.decision import Drop, StageError
from webweave.pipelines.funnel import Funnel


@dataclass(frozen=True, slots=True)
class StageFailure:
    """An item a stage could not process: becomes one dead-letter row."""

    stage: str
    error_type: str
    message: str


def error_type_of(error: BaseException) -> str:
    """A stable name for an error: the StageError kind, else the exception class name."""
    if isinstance(error, StageError):
        return error.kind
    return type(error).__name__


class StageChain:
    """Applies stages in order; the first Drop or exception ends the item's journey."""

    def __init__(self, stages: Sequence[Callable[[Any], Any]], funnel: Funnel):
        self.stages = list(stages)
        self.funnel = funnel
        # The item the last Drop was about, as the dropping stage left it (with its scores):
        # jobs that keep dropped items for inspection (``extracted/``) read it from here.
        self.dropped_item: Any = None
        for stage in self.stages:  # register every stage so the funnel lists all of them
            funnel.stage(stage.name)

    def run(self, item: Any) -> Any | Drop | StageFailure:
        for stage in self.stages:
            counts = self.funnel.stage(stage.name)
            counts.in_ += 1
            try:
                result = stage(item)
            except Exception as error:  # noqa: BLE001 - every failure becomes a dead-letter row
                counts.errors += 1
                return StageFailure(stage.name, error_type_of(error), _message(error))
            if isinstance(result, Drop):
                counts.dropped[result.reason] += 1
                self.dropped_item = item
                return result
            counts.out += 1
            item = result
        return item


def _message(error: BaseException, limit: int = 2000) -> str:
    text = str(error) or repr(error)
    return text if len(text) <= limit else text[:limit] + "…"

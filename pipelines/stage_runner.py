"""Runs stages on items: counts drops per stage and reason, turns exceptions into dead letter.

This is the one place with per-item exception handling (design: "per-record exception handling
lives here once, not in every stage"):

- ``StageChain`` applies stages in order to one item and records the outcome in a ``Funnel``:
  the item, a ``Drop`` (stamped with the stage that made it) or a ``StageFailure``. It is
  Beam-free, so the same chain runs in a DoFn, a test or a benchmark.
- ``StageRunner`` is what a job's DoFn holds: a chain, the funnel, and the dead-letter sink;
  ``run(item, where)`` returns the kept item or the Drop, and writes a failure as one
  dead-letter row built by ``schemas.dead_letter.row`` (``Where`` says where the item came
  from). ``publish_funnel`` mirrors a funnel into Beam counters (live in the Dataflow UI).

Jobs hold the runner inside their own DoFns rather than making items PCollection elements:
``webweave run`` streams a WARC's records through a ``StageRunner`` in one DoFn (a worker
holds one record and one shard buffer; documents are never shuffled), ``webweave images``
runs its image stages the same way per fetch batch, with the fetch between its two chains.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from apache_beam.metrics import Metrics

from webweave.filters.decision import Drop, StageError
from webweave.pipelines.funnel import Funnel
from webweave.schemas import dead_letter


@dataclass(frozen=True, slots=True)
class StageFailure:
    """An item a stage could not process: becomes one dead-letter row."""

    stage: str
    error_type: str
    message: str


@dataclass(frozen=True, slots=True)
class Where:
    """Where an item came from, for its dead-letter row."""

    source_file: str
    record_offset: int | None = None
    record_id: str | None = None
    url: str | None = None


def error_type_of(error: BaseException) -> str:
    """A stable name for an error: the StageError kind, else the exception class name."""
    if isinstance(error, StageError):
        return error.kind
    return type(error).__name__


def failure_row(where: Where, failure: StageFailure) -> dict[str, Any]:
    """The dead-letter row of ``failure`` for the item found at ``where``."""
    return dead_letter.row(
        where.source_file, failure.stage, failure.error_type, failure.message,
        where.record_offset, where.record_id, where.url,
    )  # fmt: skip


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
                if result.stage is None:
                    result = dataclasses.replace(result, stage=stage.name)
                return result
            counts.out += 1
            item = result
        return item


class StageRunner:
    """A job's stages over its items: the chain, its funnel and the dead-letter sink."""

    def __init__(
        self,
        stages: Sequence[Callable[[Any], Any]],
        dead_letter_sink: Callable[[dict], None],
        funnel: Funnel | None = None,
    ):
        self.funnel = funnel if funnel is not None else Funnel()
        self.chain = StageChain(stages, self.funnel)
        self.dead_letter_sink = dead_letter_sink

    def run(self, item: Any, where: Where) -> Any | Drop | StageFailure:
        """The kept item, its Drop, or its StageFailure (already written as dead letter)."""
        result = self.chain.run(item)
        if isinstance(result, StageFailure):
            self.dead_letter_sink(failure_row(where, result))
        return result

    @property
    def dropped_item(self) -> Any:
        return self.chain.dropped_item


def publish_funnel(funnel: list[dict], namespace: str = "funnel") -> None:
    """Mirror a funnel (``Funnel.to_list()``) into Beam counters."""
    for stage in funnel:
        name = stage["stage"]
        Metrics.counter(namespace, f"{name}.in").inc(stage["in"])
        Metrics.counter(namespace, f"{name}.out").inc(stage["out"])
        Metrics.counter(namespace, f"{name}.errors").inc(stage["errors"])
        for reason, count in stage["dropped"].items():
            Metrics.counter(namespace, f"{name}.dropped.{reason}").inc(count)


def _message(error: BaseException, limit: int = 2000) -> str:
    text = str(error) or repr(error)
    return text if len(text) <= limit else text[:limit] + "…"

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
- ``ApplyStages`` is the generic Beam wrapper for jobs whose items are PCollection elements:
  kept items on the main output, dead-letter rows on ``dead_letter``, drops on ``dropped``
  (when asked), and each bundle's funnel on ``funnel`` for a ``CombineGlobally``.

``webweave run`` streams a WARC's records through a ``StageRunner`` inside one DoFn (records
never become PCollection elements: a worker holds one record and one shard buffer);
``webweave images`` runs its image stages the same way per fetch batch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from webweave.filters.decision import Drop, StageError
from webweave.pipelines.funnel import Funnel
from webweave.schemas import dead_letter

DEAD_LETTER_TAG = "dead_letter"
DROPPED_TAG = "dropped"
FUNNEL_TAG = "funnel"


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


class ApplyStages(beam.DoFn):
    """The generic Beam wrapper: a stage chain over each element of a PCollection.

    ``make_stages`` builds the stages once per worker (models load in ``setup``); ``where``
    says where an element came from. Outputs: kept items (main), dead-letter rows
    (``DEAD_LETTER_TAG``), ``(item, Drop)`` pairs (``DROPPED_TAG``, only with
    ``emit_dropped``), and one ``Funnel.to_list()`` per bundle (``FUNNEL_TAG``): merge them
    with ``MergeFunnels`` for ``stats.json``.
    """

    def __init__(
        self,
        make_stages: Callable[[], Sequence[Callable[[Any], Any]]],
        where: Callable[[Any], Where],
        emit_dropped: bool = False,
    ):
        self.make_stages = make_stages
        self.where = where
        self.emit_dropped = emit_dropped

    def setup(self) -> None:
        self.stages = list(self.make_stages())

    def start_bundle(self) -> None:
        self.rows: list[dict] = []
        self.runner = StageRunner(self.stages, self.rows.append)

    def process(self, item: Any) -> Iterator:
        result = self.runner.run(item, self.where(item))
        while self.rows:
            yield beam.pvalue.TaggedOutput(DEAD_LETTER_TAG, self.rows.pop(0))
        if isinstance(result, Drop):
            if self.emit_dropped:
                yield beam.pvalue.TaggedOutput(DROPPED_TAG, (item, result))
        elif not isinstance(result, StageFailure):
            yield result

    def finish_bundle(self) -> Iterator:
        funnel = self.runner.funnel.to_list()
        publish_funnel(funnel)
        yield beam.pvalue.TaggedOutput(FUNNEL_TAG, WindowedValue(funnel, 0, [GlobalWindow()]))


class MergeFunnels(beam.CombineFn):
    """Funnels (``Funnel.to_list()``) of many bundles → one, stage order kept."""

    def create_accumulator(self) -> list[dict]:
        return []

    def add_input(self, accumulator: list[dict], funnel: list[dict]) -> list[dict]:
        return Funnel.from_list(accumulator).merge(Funnel.from_list(funnel)).to_list()

    def merge_accumulators(self, accumulators) -> list[dict]:
        merged = Funnel()
        for accumulator in accumulators:
            merged.merge(Funnel.from_list(accumulator))
        return merged.to_list()

    def extract_output(self, accumulator: list[dict]) -> list[dict]:
        return accumulator


def _message(error: BaseException, limit: int = 2000) -> str:
    text = str(error) or repr(error)
    return text if len(text) <= limit else text[:limit] + "…"

"""The stage contract: a stage returns the item (possibly changed) or a ``Drop``.

A stage is a pure object with no I/O and no global state. The generic runner in
``webweave.pipelines.stage_runner`` counts drops per reason and turns exceptions into
dead-letter rows, so stages neither count nor catch. A Drop names the stage that made it: the
runner fills ``stage`` in, so stages need not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Drop:
    """A decision to drop an item. ``reason`` is a short, stable snake_case name; ``stage`` the
    name of the stage that decided (set by the runner when the stage leaves it out)."""

    reason: str
    scores: dict[str, Any] = field(default_factory=dict)
    stage: str | None = None


class Stage(Protocol[T]):
    """One step of a job. ``name`` appears in the funnel of ``stats.json``."""

    name: str

    def __call__(self, item: T) -> T | Drop: ...


class StageError(Exception):
    """An error a stage raises on purpose for a bad item; ``kind`` names it in dead letter."""

    kind = "stage_error"

    def __init__(self, message: str, kind: str | None = None):
        super().__init__(message)
        if kind is not None:
            self.kind = kind

"""What every tool module shares: the export context, batching, and the bad-export error.

A tool module (``labelstudio``, ``mturk``, ``groundtruth``) has four functions:
``export(ctx) -> batches`` writes the tool's import files into ``ctx.out``;
``recognises(path, head) -> bool`` says whether a file is this tool's result format;
``read(path, kind) -> ExportContents`` reads every task and answer of a result file.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from webweave.annotation.answers import RawAnswer
from webweave.annotation.config import RoundsConfig
from webweave.annotation.image_addressing import ImageAddressing
from webweave.annotation.round_dir import Round


class BadExport(ValueError):
    """An export file cannot be ingested into this round; one line for the user."""


@dataclass(frozen=True)
class ExportContents:
    """A result file: every task it names (round id, item id), answered or not, and every
    answer; ingest checks the tasks belong to the round before using any answer."""

    tasks: list[tuple[str, str]]
    answers: list[RawAnswer]


@dataclass(frozen=True)
class ExportContext:
    round: Round
    items: list[dict]  # the round's items, in the round's (random) order
    rounds: RoundsConfig
    images: ImageAddressing
    out: Path


def batches_by_assignments(items: list[dict]) -> Iterator[tuple[int, list[dict]]]:
    """Items grouped by answers asked (largest first), order kept within a group."""
    ordered = sorted(items, key=lambda item: -item["assignments"])  # stable
    for assignments, group in groupby(ordered, key=lambda item: item["assignments"]):
        yield assignments, list(group)

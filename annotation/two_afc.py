"""Evaluating a perceptual metric on a NIGHTS-layout dataset, the way DreamSim does.

``TwoAFCRows`` reads ``data.csv`` like DreamSim's ``TwoAFCDataset`` (repo
ssundaram21/dreamsim ``dataset/dataset.py``): rows with ``votes >= 6`` (its filter, "less
than 6 unanimous votes"), then by ``split`` (``test_imagenet`` / ``test_no_imagenet`` use
``is_imagenet`` within test), and each row **by position**: 0 the id, 2 the target ``p``
(``right_vote``, as float32), 4-6 the reference, left and right paths.

``two_afc_score`` is ``evaluation/score.py``'s formula: with d0 = d(ref, left), d1 = d(ref,
right), the mean of ``(d0 < d1)·(1 − p) + (d1 < d0)·p + 0.5·(d0 = d1)``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

DREAMSIM_MIN_VOTES = 6
SPLITS = ("train", "val", "test_imagenet", "test_no_imagenet")


@dataclass(frozen=True)
class TwoAFCRow:
    id: int
    p: np.float32
    ref: Path
    left: Path
    right: Path


def two_afc_rows(root: Path, split: str, min_votes: int = DREAMSIM_MIN_VOTES) -> list[TwoAFCRow]:
    """The rows DreamSim's loader yields for ``split``."""
    if split not in SPLITS:
        raise ValueError(f"Invalid split: {split}")
    with open(root / "data.csv", newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        column = {name: i for i, name in enumerate(header)}
        rows = [r for r in reader if int(float(r[column["votes"]])) >= min_votes]
    if split in ("train", "val"):
        rows = [r for r in rows if r[column["split"]] == split]
    else:
        wanted = "True" if split == "test_imagenet" else "False"
        rows = [
            r for r in rows if r[column["split"]] == "test" and r[column["is_imagenet"]] == wanted
        ]
    return [
        TwoAFCRow(int(r[0]), np.float32(r[2]), root / r[4], root / r[5], root / r[6]) for r in rows
    ]


def two_afc_score(d0: np.ndarray, d1: np.ndarray, p: np.ndarray) -> float:
    """DreamSim's 2AFC score of distances ``d0`` (ref-left) and ``d1`` (ref-right)."""
    d0, d1, p = (np.asarray(a, dtype=np.float64) for a in (d0, d1, p))
    scores = (d0 < d1) * (1.0 - p) + (d1 < d0) * p + (d0 == d1) * 0.5
    return float(scores.mean()) if len(scores) else float("nan")


def score_rows(rows: Sequence[TwoAFCRow], embed: Callable[[list[Path]], np.ndarray]) -> float:
    """The 2AFC score of the cosine distance between ``embed``'s normalised embeddings."""
    ref, left, right = (
        embed([getattr(r, side) for r in rows]) for side in ("ref", "left", "right")
    )
    d0 = 1.0 - (ref * left).sum(axis=1)
    d1 = 1.0 - (ref * right).sum(axis=1)
    return two_afc_score(d0, d1, np.array([r.p for r in rows]))

"""TImeD's aggregation of 9 ratings on the 7-point scale (paper §3.2).

- ``non_visual`` if at least 5 of 9 ratings are in {1, 2, 3};
- ``visual`` if at least 5 are in {5, 6, 7};
- ``neutral`` if the majority (at least 5) rated 4;
- ``ambiguous`` otherwise (no clear majority).

``min_agreeing`` (5) must be a strict majority of the raters, so at most one rule holds.
A rater dissents from a label when their rating is outside its range (neutral: not 4); an
ambiguous item has no range, so every rater counts as dissenting.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LOW, MID, HIGH = frozenset({1, 2, 3}), frozenset({4}), frozenset({5, 6, 7})
LABEL_RANGES = {"non_visual": LOW, "neutral": MID, "visual": HIGH}


def visualness_label(ratings: Sequence[int], min_agreeing: int = 5) -> str:
    low = sum(r in LOW for r in ratings)
    mid = sum(r in MID for r in ratings)
    high = sum(r in HIGH for r in ratings)
    if low >= min_agreeing:
        return "non_visual"
    if high >= min_agreeing:
        return "visual"
    if mid >= min_agreeing:
        return "neutral"
    return "ambiguous"


def dissenters(ratings: Sequence[int], label: str) -> int:
    accepted = LABEL_RANGES.get(label)
    if accepted is None:
        return len(ratings)
    return sum(r not in accepted for r in ratings)


def rating_summary(ratings: Sequence[int]) -> dict:
    values = np.asarray(ratings, dtype=np.float64)
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),  # population std of the 9 ratings
        "n_low": sum(r in LOW for r in ratings),
        "n_mid": sum(r in MID for r in ratings),
        "n_high": sum(r in HIGH for r in ratings),
    }

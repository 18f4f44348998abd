"""Agreement between raters: Krippendorff's alpha from per-item value counts.

Alpha only needs how often each value was given per item (``value_counts``: items × values),
not who gave it, so rounds where each item meets different raters need no sparse rater
matrix. The ``krippendorff`` package computes it (``level_of_measurement`` passed explicitly:
its default is interval; nominal for 2AFC votes, ordinal for the Likert scale). Items with
fewer than two values cannot be paired and are left out; with no pairable item, or a single
value used throughout, alpha is undefined (0/0) and reported as None.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def value_count_matrix(
    answers_per_item: Sequence[Sequence[str]], domain: Sequence[str]
) -> np.ndarray:
    """items × len(domain) counts of each value."""
    column = {value: i for i, value in enumerate(domain)}
    matrix = np.zeros((len(answers_per_item), len(domain)), dtype=np.int64)
    for row, answers in enumerate(answers_per_item):
        for answer in answers:
            matrix[row, column[answer]] += 1
    return matrix


def krippendorff_alpha(
    counts: np.ndarray, level: str, domain: Sequence
) -> tuple[float | None, int]:
    """Alpha at ``level`` and the number of pairable items it covers."""
    import krippendorff

    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) == 0 or int((pairable.sum(axis=0) > 0).sum()) < 2:
        return None, len(pairable)
    alpha = krippendorff.alpha(
        value_counts=pairable, value_domain=list(domain), level_of_measurement=level
    )
    return float(alpha), len(pairable)

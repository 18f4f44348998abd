"""Attention-check items: questions with a known answer, mixed into every open round.

- NIGHTS: a triplet whose reference is shown again as one of the two options; the only
  defensible answer is that side (``expected``). The other option is one of the triplet's own
  variations, so a check looks like any other item.
- TImeD: a sentence that instructs a score ("… select 6 …"), as the paper's 5% checks
  (App. A.3); ``expected`` is that score.

Counts are ``ceil(rate × real items)`` (TImeD: 5% of 3,620 = 181), chosen with the round's
random generator, so the same seed and round give the same checks.
"""

from __future__ import annotations

import math

import numpy as np

LIKERT_WORDS = {
    1: "strongly disagree",
    2: "disagree",
    3: "somewhat disagree",
    4: "neither agree nor disagree",
    5: "somewhat agree",
    6: "agree",
    7: "strongly agree",
}


def check_count(real_items: int, rate: float) -> int:
    return math.ceil(real_items * rate - 1e-9) if real_items else 0


def check_id(round_number: int, index: int) -> str:
    return f"c{round_number}-{index:05d}"


def nights_checks(
    real_items: list[dict], rate: float, round_number: int, rng: np.random.Generator
) -> list[dict]:
    """Check items (``schemas/nights_items.py`` rows) built from ``real_items``."""
    count = check_count(len(real_items), rate)
    if not count:
        return []
    chosen = rng.choice(len(real_items), size=count, replace=count > len(real_items))
    checks = []
    for index, position in enumerate(chosen):
        item = real_items[int(position)]
        expected = "left" if rng.integers(2) == 0 else "right"
        other = item["left_image"] if rng.integers(2) == 0 else item["right_image"]
        reference = item["ref_image"]
        checks.append(
            {
                "item_id": check_id(round_number, index),
                "triplet_id": item["triplet_id"],
                "is_check": True,
                "expected": expected,
                "ref_image": reference,
                "left_image": reference if expected == "left" else other,
                "right_image": other if expected == "left" else reference,
                "assignments": item["assignments"],
                "n_left": 0,
                "n_right": 0,
            }
        )
    return checks


def timed_check_sentence(score: int) -> str:
    return (
        "This is an attention check, not a real sentence: please select "
        f"{score} ({LIKERT_WORDS[score]}) for it."
    )


def timed_checks(
    real_items: int,
    rate: float,
    round_number: int,
    assignments: int,
    rng: np.random.Generator,
    first_index: int = 0,
) -> list[dict]:
    """Check items (``schemas/visualness_items.py`` rows) instructing a score in 1..7,
    numbered from ``first_index``."""
    checks = []
    for index in range(first_index, first_index + check_count(real_items, rate)):
        score = int(rng.integers(1, 8))
        item_id = check_id(round_number, index)
        checks.append(
            {
                "item_id": item_id,
                "sentence_id": item_id,
                "doc_id": None,
                "sentence": timed_check_sentence(score),
                "is_check": True,
                "expected": str(score),
                "assignments": assignments,
                "auto_label": None,
                "clip_sim_max": None,
                "image_ref": None,
            }
        )
    return checks


def interleaved(real: list[dict], checks: list[dict], rng: np.random.Generator) -> list[dict]:
    """Real items and checks in one random order (raters cannot tell checks by position)."""
    items = real + checks
    order = rng.permutation(len(items))
    return [items[int(i)] for i in order]

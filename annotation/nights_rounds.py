"""NIGHTS sequential rounds: a triplet continues only while all its votes agree.

After a round, each real item's valid votes are added to its earlier ones (``n_left``,
``n_right``). A triplet with votes on both sides is removed (``split_vote``); the others
continue, asking ``rounds.votes_per_round`` more votes, with fresh attention checks. The
study stops (the next round is written ``stopped``, with the survivors and nothing to ask)
after ``rounds.max_rounds`` rounds, when a round in which every triplet got votes removes
nothing (an empty or partial export never ends a study), or when no triplet is left.

Agreement is reported for round 1 only, on its votes before any filtering (reference
annotation.md §4: after unanimity filtering, agreement is 1 by construction).
"""

from __future__ import annotations

from collections import Counter

from webweave.annotation.agreement import krippendorff_alpha, value_count_matrix
from webweave.annotation.attention_checks import interleaved, nights_checks
from webweave.annotation.config import AnnotationConfig
from webweave.annotation.ingest import Advance, Judged
from webweave.annotation.round_dir import Round
from webweave.annotation.seeding import rng_for

SIDES = ("left", "right")


def advance_nights(
    round_: Round, items: list[dict], judged: list[Judged], config: AnnotationConfig
) -> Advance:
    votes: dict[str, Counter] = {}
    for entry in judged:
        if entry.status == "valid" and not entry.is_check:
            votes.setdefault(entry.raw.item_id, Counter())[entry.raw.answer] += 1
    real = [item for item in items if not item["is_check"]]
    counts = Counter(dict.fromkeys(("continued", "continued_without_votes", "split_vote"), 0))
    survivors = []
    for item in real:
        new = votes.get(item["item_id"], Counter())
        n_left, n_right = item["n_left"] + new["left"], item["n_right"] + new["right"]
        if n_left and n_right:
            counts["split_vote"] += 1
            continue
        counts["continued"] += 1
        if not new:
            counts["continued_without_votes"] += 1
        survivors.append({**item, "n_left": n_left, "n_right": n_right})
    stop_reason = _stop_reason(round_.number, config.rounds.max_rounds, survivors, counts)
    next_number = round_.number + 1
    if stop_reason is None:
        for item in survivors:
            item["assignments"] = config.rounds.votes_per_round
        checks = nights_checks(
            survivors,
            config.nights.attention_check_rate,
            next_number,
            rng_for(round_.seed, "checks", next_number),
        )
        next_items = interleaved(survivors, checks, rng_for(round_.seed, "order", next_number))
    else:
        next_items = [{**item, "assignments": 0} for item in survivors]
    return Advance(
        next_items=next_items,
        item_counts={"in": len(real), "checks": len(items) - len(real), **counts},
        stop_reason=stop_reason,
        survival_rate=len(survivors) / len(real) if real else None,
        agreement=_first_round_agreement(round_, real, votes),
        labels={},
        splits={},
    )


def _stop_reason(
    number: int, max_rounds: int, survivors: list[dict], counts: Counter
) -> str | None:
    if number >= max_rounds:
        return "max_rounds"
    if not survivors:
        return "no_items_left"
    if counts["split_vote"] == 0 and counts["continued_without_votes"] == 0:
        return "nothing_removed"  # a round that left triplets unvoted has not shown that yet
    return None


def _first_round_agreement(round_: Round, real: list[dict], votes: dict[str, Counter]) -> dict:
    if round_.number != 1:
        return {
            "krippendorff_alpha": None,
            "level": None,
            "items": 0,
            "at_most_one_dissent_share": None,
            "note": "after unanimity filtering agreement is 1 by construction; see round 1",
        }
    answers = [list(votes.get(item["item_id"], Counter()).elements()) for item in real]
    alpha, pairable = krippendorff_alpha(value_count_matrix(answers, SIDES), "nominal", SIDES)
    return {
        "krippendorff_alpha": alpha,
        "level": "nominal",
        "items": pairable,
        "at_most_one_dissent_share": None,
        "note": "round 1 votes before unanimity filtering",
    }

"""TImeD rounds: 9 valid ratings per sentence, re-queueing what discarded workers left open.

After a round, each sentence's valid ratings are added to those of earlier rounds (read back
from the chain's ``votes.parquet`` files). A sentence with ``timed.raters`` (9) ratings is
labelled by the ≥ 5-of-9 rule; ratings beyond 9 (more answers than asked) are not counted
(``beyond_raters``, first 9 by submission time kept). A sentence with fewer — because a
worker failed an attention check and all their answers were discarded, or assignments were
not finished — is re-queued in the next round asking only the missing ratings, with fresh
checks. The study stops when nothing is re-queued (``complete``) or after
``rounds.max_rounds``.

Every ingest rewrites ``labels.parquet`` with all sentences complete so far, splits (grouped by
document, visual and non-visual only, as TImeD §5) and agreement: Krippendorff's alpha
(ordinal, over the 9 ratings of every complete sentence) and the share of sentences where at
most one rater dissented from the label (TImeD: 27.1%).
"""

from __future__ import annotations

from collections import Counter, defaultdict

from webweave.annotation.agreement import krippendorff_alpha, value_count_matrix
from webweave.annotation.answers import LIKERT_VALUES
from webweave.annotation.attention_checks import interleaved, timed_checks
from webweave.annotation.config import AnnotationConfig
from webweave.annotation.ingest import Advance, Judged
from webweave.annotation.likert_labels import dissenters, rating_summary, visualness_label
from webweave.annotation.round_dir import LABELS_FILE, VOTES_FILE, Round, write_table
from webweave.annotation.seeding import rng_for
from webweave.annotation.splits import grouped_split
from webweave.schemas import round_votes, visualness_labels

SPLIT_LABELS = ("visual", "non_visual")


def earlier_ratings(rounds: list[Round]) -> dict[str, list[int]]:
    """Valid ratings of real items in every round before the last one of ``rounds``."""
    ratings: dict[str, list[int]] = defaultdict(list)
    for later in rounds[1:]:
        table = later.table(VOTES_FILE, round_votes.SCHEMA)
        for vote in table.to_pylist():
            if vote["status"] == "valid" and not vote["is_check"]:
                ratings[vote["item_id"]].append(int(vote["answer"]))
    return ratings


def advance_timed(
    round_: Round,
    rounds: list[Round],
    items: list[dict],
    judged: list[Judged],
    config: AnnotationConfig,
    folder,
) -> Advance:
    timed = config.timed
    ratings = earlier_ratings(rounds)
    for entry in judged:  # judged is in submission order
        if entry.status != "valid" or entry.is_check:
            continue
        have = ratings[entry.raw.item_id]
        if len(have) >= timed.raters:
            entry.status = "beyond_raters"
        else:
            have.append(int(entry.raw.answer))
    real = [item for item in items if not item["is_check"]]
    previous = round_.table(LABELS_FILE, visualness_labels.SCHEMA)
    labels = previous.to_pylist() if previous is not None else []
    requeued = []
    for item in real:
        have = ratings[item["item_id"]]
        if len(have) == timed.raters:
            labels.append(_label_row(item, have, round_.number, timed.min_agreeing))
        else:
            requeued.append({**item, "assignments": timed.raters - len(have)})
    _assign_splits(labels, config, round_.seed)
    write_table(folder / LABELS_FILE, labels, visualness_labels.SCHEMA)

    stop_reason = None
    if not requeued:
        stop_reason = "complete"
    elif round_.number >= config.rounds.max_rounds:
        stop_reason = "max_rounds"
    next_number = round_.number + 1
    if stop_reason is None:
        checks = _checks_per_batch(requeued, timed.attention_check_rate, next_number, round_.seed)
        next_items = interleaved(requeued, checks, rng_for(round_.seed, "order", next_number))
    else:
        next_items = [{**item, "assignments": 0} for item in requeued]
    return Advance(
        next_items=next_items,
        item_counts={
            "in": len(real),
            "checks": len(items) - len(real),
            "labelled": len(real) - len(requeued),
            "requeued": len(requeued),
            "ratings_missing": sum(i["assignments"] for i in requeued),
        },
        stop_reason=stop_reason,
        survival_rate=None,
        agreement=_agreement(labels),
        labels=dict(sorted(Counter(row["label"] for row in labels).items())),
        splits=dict(sorted(Counter(row["split"] for row in labels if row["split"]).items())),
    )


def _checks_per_batch(requeued: list[dict], rate: float, number: int, seed: int) -> list[dict]:
    """Checks for each group of items missing the same number of ratings, asking that number:
    tools publish one batch per answer count, and every batch needs its own checks."""
    rng = rng_for(seed, "checks", number)
    missing = Counter(item["assignments"] for item in requeued)
    checks: list[dict] = []
    for assignments, count in sorted(missing.items(), reverse=True):
        checks += timed_checks(count, rate, number, assignments, rng, first_index=len(checks))
    return checks


def _label_row(item: dict, ratings: list[int], round_number: int, min_agreeing: int) -> dict:
    summary = rating_summary(ratings)
    return {
        "sentence_id": item["sentence_id"],
        "doc_id": item["doc_id"],
        "sentence": item["sentence"],
        "ratings": list(ratings),
        **summary,
        "label": visualness_label(ratings, min_agreeing),
        "split": None,
        "image_ref": item["image_ref"],
        "clip_sim_max": item["clip_sim_max"],
        "auto_label": item["auto_label"],
        "round": round_number,
    }


def _assign_splits(labels: list[dict], config: AnnotationConfig, seed: int) -> None:
    eligible = [row for row in labels if row["label"] in SPLIT_LABELS]
    splits = grouped_split([row["doc_id"] for row in eligible], config.timed.split_ratios, seed)
    for row in labels:
        row["split"] = None
    for row, split in zip(eligible, splits, strict=True):
        row["split"] = split


def _agreement(labels: list[dict]) -> dict:
    answers = [[str(r) for r in row["ratings"]] for row in labels]
    alpha, items = krippendorff_alpha(
        value_count_matrix(answers, LIKERT_VALUES), "ordinal", [int(v) for v in LIKERT_VALUES]
    )
    calm = sum(dissenters(row["ratings"], row["label"]) <= 1 for row in labels)
    return {
        "krippendorff_alpha": alpha,
        "level": "ordinal",
        "items": items,
        "at_most_one_dissent_share": calm / len(labels) if labels else None,
        "note": "every sentence complete so far (9 valid ratings each)",
    }

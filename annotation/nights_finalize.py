"""``webweave nights finalize``: a study's round chain → a dataset in the NIGHTS layout.

    DATASET/ref/XXX/YYY.png            the reference of triplet XXX * 1000 + YYY
    DATASET/distort/XXX/YYY_0.png      its two variations (``_0`` / ``_1`` as at build time;
    DATASET/distort/XXX/YYY_1.png       left/right is data.csv's business, never the suffix)
    DATASET/data.csv                   NIGHTS' ten columns, unanimous triplets only
    DATASET/webweave_triplets.csv      every triplet: votes, status, seeds, image origins
    DATASET/summary.json               round-1 agreement, survival per round, vote histogram
    DATASET/stats.json                 the funnel: triplets → unanimous (split_vote, no_votes)

Votes are re-counted from every round's ``votes.parquet`` (valid answers to real items), so
the dataset is derived from the answers themselves, not from running totals. Triplets of an
open last round are included with their votes so far. Splits never share a reference.
"""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path

from PIL import Image

from webweave.annotation.config import AnnotationConfig
from webweave.annotation.csv_tables import write_csv
from webweave.annotation.round_dir import (
    REPORT_FILE,
    TRIPLETS_FILE,
    VOTES_FILE,
    Round,
    RoundError,
    chain,
    read_table,
    write_json,
)
from webweave.annotation.splits import grouped_split
from webweave.annotation.stats import write_stats
from webweave.pipelines.funnel import Funnel
from webweave.schemas import nights_dataset, nights_summary, nights_triplets, round_votes
from webweave.schemas.json_records import stamped

COMMAND = "nights finalize"
DATA_CSV, TRIPLETS_CSV, SUMMARY_FILE = "data.csv", "webweave_triplets.csv", "summary.json"


def nights_paths(triplet_id: int) -> tuple[str, str, str]:
    """``ref/XXX/YYY.png`` and its two ``distort/XXX/YYY_i.png`` (NIGHTS numbering)."""
    group, number = divmod(triplet_id, 1000)
    stem = f"{group:03d}/{number:03d}"
    return f"ref/{stem}.png", f"distort/{stem}_0.png", f"distort/{stem}_1.png"


def finalize(last: Round, config: AnnotationConfig, folder: Path) -> dict:
    """Write the dataset into ``folder``; returns the stats record."""
    if last.kind != "nights":
        raise RoundError(f"{last.folder} is a {last.kind} round, not a NIGHTS round")
    rounds = chain(last)
    if len(rounds) < 2:
        raise RoundError(f"{last.folder} is round 1: no answers ingested yet (rounds ingest)")
    root = rounds[0]
    triplets = read_table(root.folder / TRIPLETS_FILE, nights_triplets.SCHEMA).to_pylist()
    tally, last_round = _tally(rounds)
    status = {}
    for triplet in triplets:
        n_left, n_right = tally.get(triplet["triplet_id"], (0, 0))
        status[triplet["triplet_id"]] = (
            "no_votes"
            if n_left + n_right == 0
            else "split_vote"
            if n_left and n_right
            else "unanimous"
        )
    kept = [t for t in triplets if status[t["triplet_id"]] == "unanimous"]
    splits = dict(
        zip(
            (t["triplet_id"] for t in kept),
            grouped_split([t["ref_group"] for t in kept], config.nights.split_ratios, root.seed),
            strict=True,
        )
    )
    data_rows = [
        _data_row(t, tally.get(t["triplet_id"], (0, 0)), splits[t["triplet_id"]]) for t in kept
    ]
    for triplet in kept:
        _write_images(root.folder, triplet, folder)
    write_csv(folder / DATA_CSV, data_rows, nights_dataset.DATA_CSV)
    write_csv(
        folder / TRIPLETS_CSV,
        [
            _triplet_row(
                t,
                tally.get(t["triplet_id"], (0, 0)),
                status[t["triplet_id"]],
                last_round.get(t["triplet_id"], 1),
                splits.get(t["triplet_id"]),
            )
            for t in triplets
        ],  # fmt: skip
        nights_dataset.TRIPLETS_CSV,
    )
    summary = _summary(rounds, data_rows)
    write_json(folder / SUMMARY_FILE, summary)
    funnel = Funnel()
    stage = funnel.stage("unanimity")
    stage.in_ = len(triplets)
    stage.out = len(kept)
    stage.dropped.update(Counter(s for s in status.values() if s != "unanimous"))
    counts = {"triplets": len(kept), **{f"split_{k}": v for k, v in summary["splits"].items()}}
    provenance = {"root_round_id": root.round_id, "last_round_id": last.round_id}
    return write_stats(
        folder, COMMAND, funnel, counts, provenance, first_in=len(triplets), last_out=len(kept)
    )


def _tally(rounds: list[Round]) -> tuple[dict[int, tuple[int, int]], dict[int, int]]:
    """Valid votes per triplet over the chain, and the last round each triplet was voted in."""
    left: Counter = Counter()
    right: Counter = Counter()
    last_round: dict[int, int] = {}
    for later in rounds[1:]:
        votes = read_table(later.folder / VOTES_FILE, round_votes.SCHEMA).to_pylist()
        for vote in votes:
            if vote["status"] != "valid" or vote["is_check"]:
                continue
            triplet_id = int(vote["item_id"][1:])
            (left if vote["answer"] == "left" else right)[triplet_id] += 1
            last_round[triplet_id] = vote["round"]
    return {i: (left[i], right[i]) for i in set(left) | set(right)}, last_round


def _data_row(triplet: dict, votes: tuple[int, int], split: str) -> dict:
    n_left, n_right = votes
    ref, distort0, distort1 = nights_paths(triplet["triplet_id"])
    left, right = (distort0, distort1) if triplet["left_variant"] == 0 else (distort1, distort0)
    return {
        "id": triplet["triplet_id"],
        "left_vote": n_left / (n_left + n_right),
        "right_vote": n_right / (n_left + n_right),
        "votes": n_left + n_right,
        "ref_path": ref,
        "left_path": left,
        "right_path": right,
        "split": split,
        "is_imagenet": triplet["is_imagenet"],
        "prompt": triplet["prompt"],
    }


def _triplet_row(
    triplet: dict, votes: tuple[int, int], status: str, round_: int, split: str | None
) -> dict:
    left = triplet["left_variant"]
    seeds = (triplet["seed_0"], triplet["seed_1"])
    origins = (triplet["distort0_origin"], triplet["distort1_origin"])
    similarities = (triplet["similarity_0"], triplet["similarity_1"])
    return {
        "id": triplet["triplet_id"],
        "status": status,
        "round": round_,
        "n_left": votes[0],
        "n_right": votes[1],
        "unanimous": status == "unanimous",
        "split": split,
        "seed_ref": triplet["seed_ref"],
        "seed_left": seeds[left],
        "seed_right": seeds[1 - left],
        "generator": triplet["generator"],
        "source": triplet["source"],
        "ref_origin": triplet["ref_origin"],
        "left_origin": origins[left],
        "right_origin": origins[1 - left],
        "similarity_left": similarities[left],
        "similarity_right": similarities[1 - left],
    }


def _write_images(root: Path, triplet: dict, folder: Path) -> None:
    sources = (triplet["ref_image"], triplet["distort0_image"], triplet["distort1_image"])
    for source, target in zip(sources, nights_paths(triplet["triplet_id"]), strict=True):
        path = folder / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_png_bytes(root / source))


def _png_bytes(path: Path) -> bytes:
    """The image as PNG: PNG files copied byte for byte, others decoded and re-encoded
    losslessly (NIGHTS ships PNG only)."""
    data = path.read_bytes()
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return data
    with Image.open(io.BytesIO(data)) as image:
        converted = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        buffer = io.BytesIO()
        converted.save(buffer, "PNG")
    return buffer.getvalue()


def _summary(rounds: list[Round], data_rows: list[dict]) -> dict:
    reports = [r.json(REPORT_FILE) for r in rounds[1:]]
    first = reports[0]["agreement"]
    last = rounds[-1]
    return stamped(
        {
            "triplets": len(data_rows),
            "last_round": last.number,
            "last_round_status": last.info["status"],
            "stop_reason": last.info["stop_reason"],
            "first_round": {
                "krippendorff_alpha": first["krippendorff_alpha"],
                "level": first["level"] or "nominal",
                "items": first["items"],
            },
            "rounds": [
                {
                    "round": report["round"],
                    "items_in": report["items"].get("in", 0),
                    "continued": report["items"].get("continued", 0),
                    "split_vote": report["items"].get("split_vote", 0),
                    "survival_rate": report["survival_rate"],
                    "answers_valid": report["answers_valid"],
                    "workers": len(report["workers"]),
                    "workers_discarded": sum(w["discarded"] for w in report["workers"]),
                }
                for report in reports
            ],
            "votes": {str(k): v for k, v in sorted(Counter(r["votes"] for r in data_rows).items())},
            "splits": dict(sorted(Counter(r["split"] for r in data_rows).items())),
        },
        nights_summary.SCHEMA,
    )

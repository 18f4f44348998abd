"""``webweave timed manifest``: sentences sampled by auto label → round 1 of a TImeD study.

``per_label`` sentences are drawn (seeded, without replacement) from each label of
``timed.manifest_labels`` (the paper's human set used the same top-1% / bottom-5% selection:
visual and non-visual); a label with fewer sentences gives all it has, counted. Every item
asks ``timed.raters`` (9) ratings; attention checks that instruct a score are added at
``timed.attention_check_rate`` (5%), and all items are put in one random order.
"""

from __future__ import annotations

import glob
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from webweave.annotation.attention_checks import interleaved, timed_checks
from webweave.annotation.config import AnnotationConfig
from webweave.annotation.round_dir import (
    ITEMS_FILE,
    ROUND_FILE,
    round_record,
    write_config,
    write_json,
    write_table,
)
from webweave.annotation.seeding import rng_for
from webweave.annotation.stats import write_stats
from webweave.annotation.timed_auto import SENTENCES_DIR
from webweave.pipelines.funnel import Funnel
from webweave.schemas import visualness_auto, visualness_items
from webweave.schemas.registry import check_table

COMMAND = "timed manifest"
COLUMNS = ["sentence_id", "doc_id", "sentence", "label", "best_similarity", "best_image_url"]


def read_auto(folder: Path) -> pa.Table:
    files = sorted(glob.glob(str(folder / SENTENCES_DIR / "*.parquet")))
    if not files:
        raise FileNotFoundError(f"{folder} is not a `timed auto` output (no {SENTENCES_DIR}/)")
    tables = []
    for path in files:
        table = pq.read_table(path)
        check_table(table, visualness_auto.SCHEMA)
        tables.append(table.select(COLUMNS))
    return pa.concat_tables(tables).sort_by("sentence_id")


def sentence_item(row: dict, assignments: int) -> dict:
    return {
        "item_id": f"s{row['sentence_id']}",
        "sentence_id": row["sentence_id"],
        "doc_id": row["doc_id"],
        "sentence": row["sentence"],
        "is_check": False,
        "expected": None,
        "assignments": assignments,
        "auto_label": row["label"],
        "clip_sim_max": row["best_similarity"],
        "image_ref": row["best_image_url"],
    }


def build_manifest(
    auto: pa.Table, per_label: int, config: AnnotationConfig, seed: int, folder: Path, round_id: str
) -> dict:
    timed = config.timed
    funnel = Funnel()
    stage = funnel.stage("sampling")
    stage.in_ = auto.num_rows
    real = []
    counts: Counter = Counter()
    for label in timed.manifest_labels:
        pool = auto.filter(pc.equal(auto["label"], label))
        take = min(per_label, pool.num_rows)
        chosen = sorted(rng_for(seed, "sample", label).choice(pool.num_rows, take, replace=False))
        real += [sentence_item(r, timed.raters) for r in pool.take(chosen).to_pylist()]
        counts[f"sampled_{label}"] = take
        counts[f"available_{label}"] = pool.num_rows
        if take < per_label:
            counts[f"short_{label}"] = per_label - take
    stage.out = len(real)
    if auto.num_rows > len(real):
        stage.dropped["not_sampled"] = auto.num_rows - len(real)
    checks = timed_checks(
        len(real), timed.attention_check_rate, 1, timed.raters, rng_for(seed, "checks", 1)
    )
    items = interleaved(real, checks, rng_for(seed, "order", 1))
    write_table(folder / ITEMS_FILE, items, visualness_items.SCHEMA)
    write_json(
        folder / ROUND_FILE,
        round_record(
            kind="timed", round=1, round_id=round_id, parent=None,
            root={"path": ".", "round_id": round_id},
            status="open" if real else "stopped", stop_reason=None if real else "no_items_left",
            seed=seed, created_by=COMMAND, items=len(real), checks=len(checks),
            assignments=sum(i["assignments"] for i in items),
        ),
    )  # fmt: skip
    write_config(folder, config.to_dict())
    counts.update(items=len(real), checks=len(checks))
    return write_stats(folder, COMMAND, funnel, counts, {"per_label": str(per_label)},
                       first_in=auto.num_rows, last_out=len(real))  # fmt: skip

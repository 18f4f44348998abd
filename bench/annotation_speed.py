"""Annotation speed on one core: mining 100k triplets from 100k image embeddings, and ingesting
a 100k-task Label Studio export.

1. **Mining** (embeddings precomputed, as the issue asks): 100k L2-normalised 512-d vectors
   drawn around 2,000 centres (CLIP embeddings of web images cluster; uniform noise would be
   the worst case for any index) with random 64-bit pHashes. Timed: IVF neighbour search
   (``neighbours.py``), pair picking (band + pHash, ``corpus_mining.pick_pairs``), and the
   round-1 tables (triplets, items with attention checks, Parquet). Not timed: decoding and
   copying image files (I/O bound, one pass). Baseline in the same run: exact blocked matrix
   products for the first ``--exact-queries`` references, extrapolated linearly to all.
2. **Ingest**: a synthetic 100k-item NIGHTS round, its Label Studio tasks, and an export in
   Label Studio's full JSON layout with 3 annotations per task (300k answers, one rater in 20
   failing an attention check). Timed: ``ingest_round`` end to end (read, judge, unanimity,
   next round, votes/report written). Baseline in the same run: ``json.load`` of the same
   file alone, the floor any reader pays.

    .venv/bin/python bench/annotation_speed.py [--images 100000] [--exact-queries 5000]
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"  # one core, before numpy / faiss load their thread pools

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from annotation_exports import Vote, labelstudio_export  # noqa: E402

from webweave.annotation.attention_checks import interleaved, nights_checks  # noqa: E402
from webweave.annotation.config import load_annotation_config  # noqa: E402
from webweave.annotation.corpus_mining import pick_pairs  # noqa: E402
from webweave.annotation.image_addressing import under_base  # noqa: E402
from webweave.annotation.ingest import ingest_round  # noqa: E402
from webweave.annotation.neighbours import nearest_neighbours  # noqa: E402
from webweave.annotation.nights_build import real_item  # noqa: E402
from webweave.annotation.round_dir import (  # noqa: E402
    ITEMS_FILE,
    ROUND_FILE,
    TRIPLETS_FILE,
    read_round,
    round_record,
    write_config,
    write_json,
    write_table,
)
from webweave.annotation.round_export import export_round  # noqa: E402
from webweave.annotation.seeding import rng_for  # noqa: E402
from webweave.schemas import nights_items, nights_triplets  # noqa: E402


def clustered_embeddings(count: int, dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((2000, dim)).astype(np.float32)
    vectors = centres[rng.integers(0, 2000, count)]
    vectors += 0.6 * rng.standard_normal((count, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def timed(label: str, function, *args, **kwargs):
    started = time.perf_counter()
    result = function(*args, **kwargs)
    seconds = time.perf_counter() - started
    print(f"  {label:<46} {seconds:8.2f} s")
    return result, seconds


def triplet_rows(pairs, count: int, seed: int) -> list[dict]:
    orientation = rng_for(seed, "left_right")
    rows = []
    for ref in range(count):
        left_variant = int(orientation.integers(2))
        if pairs.second[ref] < 0:
            continue
        rows.append(
            {
                "triplet_id": ref, "ref_image": f"images/{ref:06d}.jpg",
                "distort0_image": f"images/{pairs.first[ref]:06d}.jpg",
                "distort1_image": f"images/{pairs.second[ref]:06d}.jpg",
                "left_variant": left_variant, "ref_group": f"{ref:06d}", "prompt": None,
                "is_imagenet": False, "seed_ref": None, "seed_0": None, "seed_1": None,
                "generator": None, "source": "corpus", "ref_origin": f"https://x.test/{ref}.jpg",
                "distort0_origin": f"https://x.test/{pairs.first[ref]}.jpg",
                "distort1_origin": f"https://x.test/{pairs.second[ref]}.jpg",
                "similarity_0": float(pairs.first_similarity[ref]),
                "similarity_1": float(pairs.second_similarity[ref]),
            }
        )  # fmt: skip
    return rows


def write_round_one(folder: Path, triplets: list[dict], config, seed: int) -> None:
    real = [real_item(t, config.rounds.first_round_votes) for t in triplets]
    checks = nights_checks(real, config.nights.attention_check_rate, 1, rng_for(seed, "checks", 1))
    items = interleaved(real, checks, rng_for(seed, "order", 1))
    write_table(folder / TRIPLETS_FILE, triplets, nights_triplets.SCHEMA)
    write_table(folder / ITEMS_FILE, items, nights_items.SCHEMA)
    write_json(
        folder / ROUND_FILE,
        round_record(
            kind="nights", round=1, round_id="bench00000000000", parent=None,
            root={"path": ".", "round_id": "bench00000000000"}, status="open", stop_reason=None,
            seed=seed, created_by="nights build", items=len(real), checks=len(checks),
            assignments=sum(i["assignments"] for i in items),
        ),
    )  # fmt: skip
    write_config(folder, config.to_dict())


def bench_mining(args, config, work: Path) -> Path:
    print(f"mining: {args.images:,} images x {args.dim}-d embeddings (precomputed), one core")
    vectors = clustered_embeddings(args.images, args.dim)
    phash = np.random.default_rng(1).integers(0, 2**63, args.images, dtype=np.uint64)
    mining = config.nights.mining.replace(similarity_min=0.3, similarity_max=0.95)
    k = mining.candidates_per_reference
    neighbours, search = timed(
        f"IVF search, k={k}, nprobe={mining.ivf_nprobe}",
        nearest_neighbours, vectors, k, "ivf", mining.ivf_nprobe,
    )  # fmt: skip
    pairs, pick = timed("pick pairs (band + pHash)", pick_pairs, neighbours, phash, mining)
    rows, tables = timed("triplet rows", triplet_rows, pairs, args.images, 0)
    folder = work / "round1"
    folder.mkdir()
    _, write = timed(
        "round 1 tables (checks, order, Parquet)", write_round_one, folder, rows, config, 0
    )
    total = search + pick + tables + write
    print(f"  => {len(rows):,} triplets in {total:.1f} s ({len(rows) / total:,.0f} triplets/s)")
    queries = min(args.exact_queries, args.images)
    started = time.perf_counter()
    for start in range(0, queries, 1024):
        scores = vectors[start : min(start + 1024, queries)] @ vectors.T
        np.argpartition(-scores, k, axis=1)[:, :k]
    seconds = time.perf_counter() - started
    extrapolated = seconds * args.images / queries
    print(
        f"  baseline: exact blocked products for {queries:,} refs  {seconds:8.2f} s => "
        f"{extrapolated:,.0f} s for all {args.images:,} (x{extrapolated / search:.0f} IVF)"
    )
    sample = np.random.default_rng(2).choice(args.images, 500, replace=False)
    scores = vectors[sample] @ vectors.T
    scores[np.arange(500), sample] = -np.inf
    truth = np.argsort(-scores, axis=1)[:, :k]
    in_band = np.take_along_axis(scores, truth, axis=1) >= mining.similarity_min
    wanted = [set(t[m]) for t, m in zip(truth, in_band, strict=True)]
    found = [set(f) for f in neighbours.indices[sample]]
    hits = sum(len(w & f) for w, f in zip(wanted, found, strict=True))
    print(f"  IVF recall of the exact in-band neighbours (cosine >= {mining.similarity_min}) "
          f"of 500 sampled references: {hits / max(1, sum(map(len, wanted))):.4f}")  # fmt: skip
    return folder


def bench_ingest(args, config, work: Path, round1: Path) -> None:
    round_ = read_round(round1)
    items = round_.items().to_pylist()
    tasks = len(items)
    print(f"ingest: Label Studio JSON export of {tasks:,} tasks x 3 annotations, one core")
    export = work / "export"
    export.mkdir()
    export_round(
        round_,
        "labelstudio",
        config.rounds,
        under_base("https://x.test", ("https://",), "labelstudio"),
        export,
    )
    votes = []
    for item in items:
        for worker in range(3):
            name = f"w{(hash(item['item_id']) + worker) % 400}"
            split = worker == 0 and hash(item["item_id"]) % 10 == 0  # 1 triplet in 10 splits
            answer = item["expected"] if item["is_check"] else ("right" if split else "left")
            if item["is_check"] and name.endswith("7"):
                answer = "right" if answer == "left" else "left"  # 1 rater in 20 fails checks
            votes.append(Vote(item["item_id"], name, answer))
    results = labelstudio_export(export, votes, work / "label-studio-export.json")
    size = results.stat().st_size
    _, floor = timed(
        f"baseline: json.load of the export ({size / 1e6:,.0f} MB)",
        lambda: json.load(open(results)),
    )
    out = work / "round2"
    out.mkdir()
    report, seconds = timed(
        "ingest_round (read, judge, unanimity, write)",
        ingest_round, round_, [results], config, out, out, "bench00000000001",
    )  # fmt: skip
    rate = report["answers_read"] / seconds
    print(
        f"  => {report['answers_read']:,} answers in {seconds:.1f} s ({rate:,.0f} answers/s, "
        f"{seconds / floor:.1f}x the JSON parse); items {report['items']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--exact-queries", type=int, default=5_000)
    args = parser.parse_args()
    config = load_annotation_config()
    with tempfile.TemporaryDirectory(prefix="webweave-bench-") as scratch:
        work = Path(scratch)
        round1 = bench_mining(args, config, work)
        bench_ingest(args, config, work, round1)


if __name__ == "__main__":
    main()

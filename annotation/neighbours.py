"""The k most similar other images of every image, by cosine of normalised embeddings.

Two indexes, one contract (``Neighbours``: similarities and row indices, best first, ties by
lower index, ``-1`` / ``-inf`` where fewer than k exist):

- ``exact``: blocked matrix products (``block`` query rows × all rows at a time) and a
  partial sort per row; memory ``block × N`` floats, time ``N² × dim``, so it is the choice up
  to a few tens of thousands of images;
- ``ivf``: faiss IVF-Flat with inner product (k-means coarse lists, ``nprobe`` lists searched
  per query), time about ``N² × dim × nprobe / nlist``: 100k images in seconds on one core
  where exact products take minutes (bench/annotation_speed.py measures both).

faiss is imported only for ``ivf``. Its k-means uses a fixed seed; results are reproducible
for a fixed thread count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FAISS_SEED = 1234
# Coarse k-means on about 40 points per list (faiss warns below 39), 10 iterations: the
# lists only route queries, and every list's points are compared exactly.
TRAIN_POINTS_PER_LIST = 40
TRAIN_ITERATIONS = 10


@dataclass(frozen=True)
class Neighbours:
    similarities: np.ndarray  # float32 [N, k], best first
    indices: np.ndarray  # int64 [N, k], -1 = no neighbour
    index: str  # exact | ivf


def choose_index(requested: str, images: int, exact_max_images: int) -> str:
    if requested != "auto":
        return requested
    return "exact" if images <= exact_max_images else "ivf"


def nearest_neighbours(
    embeddings: np.ndarray, k: int, index: str = "exact", nprobe: int = 8, block: int = 1024
) -> Neighbours:
    """Top-``k`` other rows of each row of ``embeddings`` (rows L2-normalised, float32)."""
    embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
    if index == "exact":
        return _exact(embeddings, k, block)
    if index == "ivf":
        return _ivf(embeddings, k, nprobe)
    raise ValueError(f"unknown neighbour index {index!r}")


def _exact(embeddings: np.ndarray, k: int, block: int) -> Neighbours:
    n = len(embeddings)
    take = min(k, max(n - 1, 0))
    similarities = np.full((n, k), -np.inf, dtype=np.float32)
    indices = np.full((n, k), -1, dtype=np.int64)
    for start in range(0, n, block):
        stop = min(start + block, n)
        scores = embeddings[start:stop] @ embeddings.T  # [b, N]
        rows = np.arange(stop - start)
        scores[rows, rows + start] = -np.inf  # never one's own neighbour
        if take == 0:
            continue
        part = np.argpartition(-scores, take - 1, axis=1)[:, :take]
        part_scores = np.take_along_axis(scores, part, axis=1)
        order = np.lexsort((part, -part_scores), axis=1)  # best first, ties by lower index
        indices[start:stop, :take] = np.take_along_axis(part, order, axis=1)
        similarities[start:stop, :take] = np.take_along_axis(part_scores, order, axis=1)
    return Neighbours(similarities, indices, "exact")


def _ivf(embeddings: np.ndarray, k: int, nprobe: int) -> Neighbours:
    import faiss

    n, dim = embeddings.shape
    lists = max(1, min(int(4 * math.sqrt(n)), n // 39))  # faiss wants >= 39 points per list
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, lists, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = FAISS_SEED
    index.cp.niter = TRAIN_ITERATIONS
    step = max(1, n // (lists * TRAIN_POINTS_PER_LIST))  # evenly spread training sample
    index.train(embeddings[::step])
    index.add(embeddings)
    index.nprobe = min(nprobe, lists)
    found_scores, found = index.search(embeddings, k + 1)
    # Drop each row's own entry (usually first; a duplicate image may tie with it).
    own = found == np.arange(n)[:, None]
    keep = ~own
    too_many = keep.sum(axis=1) > k  # self not among the results: drop the last one
    keep[too_many, k] = False
    similarities = found_scores[keep].reshape(n, k).astype(np.float32)
    indices = found[keep].reshape(n, k).astype(np.int64)
    similarities[indices < 0] = -np.inf
    return Neighbours(similarities, indices, "ivf")

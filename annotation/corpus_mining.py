"""Real-image triplets mined from a webweave corpus (NIGHTS has only generated ones).

For every reference image, the two nearest other images by embedding cosine that lie inside
``[similarity_min, similarity_max]``, are not pHash duplicates of the reference (within
``phash_max_distance`` bits) and not of each other. Exact duplicates never meet: images are
distinct by sha256 (``corpus_images.py``). The first neighbour is ``distort0`` (``_0``), the
second ``distort1``; the prompt is the reference's alt text (the closest thing a web image
has to a generation prompt).

Steps, each batched: embed every distinct image once (in storage order, so each
``images/`` shard is read once), search ``candidates_per_reference`` neighbours with an exact
or IVF index (``neighbours.py``), then pick the pair per reference with array operations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from webweave.annotation.clip_model import ClipEncoder
from webweave.annotation.config import MiningConfig
from webweave.annotation.corpus_images import CorpusImages, ImageStore, decoded
from webweave.annotation.neighbours import Neighbours, choose_index, nearest_neighbours
from webweave.annotation.triplet_sources import ImageRef, TripletCandidate
from webweave.filters.decision import Drop


@dataclass(frozen=True)
class CorpusEmbeddings:
    vectors: np.ndarray  # float32 [N, dim]; zero rows where unreadable
    readable: np.ndarray  # bool [N]


def embed_corpus(corpus: CorpusImages, encoder: ClipEncoder) -> CorpusEmbeddings:
    """One embedding per distinct image, decoding in storage order (one shard at a time)."""
    store = ImageStore(corpus.folder)
    order = np.lexsort((corpus.row, corpus.shard))
    vectors = np.zeros((len(corpus), encoder.dim), dtype=np.float32)
    readable = np.zeros(len(corpus), dtype=bool)
    step, side = encoder.batch_size, encoder.input_side
    for start in range(0, len(order), step):
        batch, images = [], []
        for index in order[start : start + step]:
            try:
                images.append(decoded(store.bytes_at(corpus.shard[index], corpus.row[index]), side))
            except (OSError, ValueError, SyntaxError):
                continue  # counted as unreadable_image by the caller
            batch.append(index)
        if batch:
            vectors[batch] = encoder.encode_images(images)
            readable[batch] = True
    return CorpusEmbeddings(vectors, readable)


def popcount64(values: np.ndarray) -> np.ndarray:
    """Set bits of each uint64 (numpy >= 2 has a ufunc; older: count bytes)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(values)
    as_bytes = values.astype(np.uint64).view(np.uint8).reshape(*values.shape, 8)
    return np.unpackbits(as_bytes, axis=-1).sum(axis=-1)


@dataclass(frozen=True)
class NeighbourPairs:
    first: np.ndarray  # int64 [N], -1 = none
    second: np.ndarray
    first_similarity: np.ndarray  # float32 [N]
    second_similarity: np.ndarray


def pick_pairs(neighbours: Neighbours, phash: np.ndarray, config: MiningConfig) -> NeighbourPairs:
    """The two best neighbours per row that pass the band and both duplicate tests."""
    indices, sims = neighbours.indices, neighbours.similarities
    rows = np.arange(len(indices))
    candidate_hash = phash[np.clip(indices, 0, None)]
    limit = config.phash_max_distance
    usable = (indices >= 0) & (sims >= config.similarity_min) & (sims <= config.similarity_max)
    usable &= popcount64(phash[:, None] ^ candidate_hash) > limit
    first_col = np.argmax(usable, axis=1)
    has_first = usable[rows, first_col]
    first = np.where(has_first, indices[rows, first_col], -1)
    first_hash = phash[np.clip(first, 0, None)]
    columns = np.arange(indices.shape[1])[None, :]
    usable_second = usable & (columns > first_col[:, None]) & has_first[:, None]
    usable_second &= popcount64(first_hash[:, None] ^ candidate_hash) > limit
    second_col = np.argmax(usable_second, axis=1)
    has_second = usable_second[rows, second_col]
    second = np.where(has_second, indices[rows, second_col], -1)
    return NeighbourPairs(
        first=first,
        second=second,
        first_similarity=np.where(has_first, sims[rows, first_col], np.nan).astype(np.float32),
        second_similarity=np.where(has_second, sims[rows, second_col], np.nan).astype(np.float32),
    )


def mined_triplets(
    corpus: CorpusImages,
    embeddings: CorpusEmbeddings,
    config: MiningConfig,
    seed: int,
) -> tuple[list[TripletCandidate | Drop], str]:
    """One candidate or drop per reference; returns them and the index used."""
    readable = np.flatnonzero(embeddings.readable)
    index = choose_index(config.index, len(readable), config.exact_max_images)
    neighbours = nearest_neighbours(
        embeddings.vectors[readable], config.candidates_per_reference, index, config.ivf_nprobe
    )
    local = pick_pairs(neighbours, corpus.phash[readable], config)
    # back to corpus positions
    to_corpus = np.concatenate([readable, [-1]])  # -1 maps to -1
    first = to_corpus[local.first]
    second = to_corpus[local.second]
    position_in_readable = np.full(len(corpus), -1)
    position_in_readable[readable] = np.arange(len(readable))
    references = np.arange(len(corpus))
    if config.max_references is not None and config.max_references < len(corpus):
        rng = np.random.default_rng(seed)
        references = np.sort(rng.choice(len(corpus), size=config.max_references, replace=False))
    store = ImageStore(corpus.folder)
    results: list[TripletCandidate | Drop] = []
    for ref in references:
        local_ref = position_in_readable[ref]
        if local_ref < 0:
            results.append(Drop("unreadable_image", {"url": corpus.url[ref]}))
            continue
        if second[local_ref] < 0:
            results.append(Drop("too_few_neighbours_in_band", {"url": corpus.url[ref]}))
            continue
        results.append(
            TripletCandidate(
                triplet_id=int(ref),
                ref=_stored(corpus, store, ref),
                distort0=_stored(corpus, store, int(first[local_ref])),
                distort1=_stored(corpus, store, int(second[local_ref])),
                source="corpus",
                prompt=corpus.alt_text[ref] or None,
                similarity_0=float(local.first_similarity[local_ref]),
                similarity_1=float(local.second_similarity[local_ref]),
            )
        )
    return results, index


def _stored(corpus: CorpusImages, store: ImageStore, index: int) -> ImageRef:
    shard, row = corpus.shard[index], int(corpus.row[index])
    return ImageRef(str(corpus.url[index]), lambda: store.bytes_at(shard, row), (shard, row))

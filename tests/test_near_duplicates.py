"""Near-duplicate clustering: connected components equal union-find; MinHash-LSH quality on
real fixture texts with planted near-duplicates measured against brute-force exact Jaccard."""

from __future__ import annotations

import gzip
import json
import pickle
import random
from collections import defaultdict

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from scipy import sparse
from union_find import components_by_union_find

from webweave.filters.minhash import MinHashSignature, text_shingle_hashes
from webweave.pipelines.dedup import (
    NEAR_DUPLICATE,
    ConnectedComponents,
    DedupConfig,
    DedupKey,
    NearDuplicates,
    star_edges,
)
from webweave.pipelines.grouping import BEAM_SHUFFLE

from conftest import BEAM_TEST_RUNNER, fixture_path, small_disk_grouping

TARGET_JACCARDS = (0.97, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5)


def _save(items: list, path: str) -> None:
    with open(path, "wb") as out:
        pickle.dump(items, out)


def _collect(pcoll, path, label: str):
    """Write a (small) PCollection to one pickle file: matchers run on a pickled copy."""
    return (
        pcoll
        | f"{label}List" >> beam.combiners.ToList()
        | f"{label}Save" >> beam.Map(_save, str(path))
    )


def _load(path) -> list:
    with open(path, "rb") as saved:
        return pickle.load(saved)


def _run_components(edges: list[tuple], rounds: int, tmp_path) -> tuple[dict, dict]:
    """(node -> root, counters by name) from the Beam transform."""
    with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
        result = pipeline | beam.Create(edges) | ConnectedComponents(rounds=rounds)
        _collect(result, tmp_path / "labels.pkl", "Labels")
    counters = {
        c.key.metric.name: c.committed for c in pipeline.result.metrics().query()["counters"]
    }
    return dict(_load(tmp_path / "labels.pkl")), counters


def test_star_edges_link_each_member_to_the_bucket_minimum() -> None:
    assert sorted(star_edges([5, 3, 9, 3, 7])) == [(3, 5), (3, 7), (3, 9)]
    assert list(star_edges([4])) == []


def test_components_equal_union_find_on_random_graphs(tmp_path) -> None:
    rng = random.Random(7)
    edges = []
    for graph in range(4):  # sparse, tree-like, dense and with duplicate/reversed edges
        nodes = [(-rng.randrange(10**6), f"g{graph}-doc{i:04d}") for i in range(150)]
        for _ in range((60, 140, 400, 200)[graph]):
            u, v = rng.sample(nodes, 2)
            edges += [(u, v), (v, u)] if graph == 3 else [(u, v)]
    labels, counters = _run_components(edges, rounds=12, tmp_path=tmp_path)
    assert labels == components_by_union_find(edges)
    assert counters.get("cc_not_converged", 0) == 0
    assert counters["cc_nodes_in_star"] == len(labels)


def test_components_of_a_long_shuffled_chain(tmp_path) -> None:
    """1,000 nodes in a path (ids shuffled): needs ~8 rounds, far past a 2-round guess."""
    ids = list(range(1_000))
    random.Random(3).shuffle(ids)
    chain = [(ids[i], ids[i + 1]) for i in range(len(ids) - 1)]
    labels, counters = _run_components(chain, rounds=12, tmp_path=tmp_path)
    assert labels == {node: 0 for node in ids}
    assert counters.get("cc_not_converged", 0) == 0
    assert counters["cc_nodes_in_star"] == len(ids)
    changed = [counters.get(f"cc_round_{r:02d}_large_star_changed", 0) for r in range(12)]
    print("large-star re-links per round:", changed)
    assert changed[0] > 0 and changed[-1] == 0


def test_too_few_rounds_fail_loudly(tmp_path) -> None:
    chain = [(i, i + 1) for i in range(200)]
    with pytest.raises(Exception, match="did not converge"):
        _run_components(chain, rounds=2, tmp_path=tmp_path)


# ------------------------------------------------------------------------------------------
# Quality on real texts with planted near-duplicates
# ------------------------------------------------------------------------------------------


def _real_texts() -> list[str]:
    truth = fixture_path("html/scrapinghub_aeb/ground-truth-part1.json")
    texts = [a["articleBody"] for a in json.loads(truth.read_text(encoding="utf-8")).values()]
    for path in sorted(fixture_path("text/dolma_ccnet").glob("*.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            texts += [json.loads(line)["text"] for line in lines if line.strip()]
    return [text for text in texts if len(text.split()) >= 60]


def _plant(words: list[str], target: float, kind: str, vocabulary: list[str], rng) -> list[str]:
    """A variant of ``words`` aiming at Jaccard ``target`` on word 5-gram shingles."""
    shingles = max(len(words) - 4, 1)
    if kind == "edits":  # scattered word substitutions: each kills up to 5 shingles
        count = max(1, round(shingles * (1 - target) / (5 * (1 + target))))
        variant = list(words)
        for position in rng.sample(range(len(words)), min(count, len(words))):
            variant[position] = rng.choice(vocabulary)
        return variant
    if kind == "insertion":  # one inserted block of new words
        size = max(1, round(shingles / target - shingles))
        at = rng.randrange(len(words))
        return words[:at] + rng.choices(vocabulary, k=size) + words[at:]
    # boilerplate: new header and footer (navigation, cookie banner, related links)
    size = max(2, round(shingles / target - shingles))
    header = rng.choices(vocabulary, k=size // 3)
    return header + words + rng.choices(vocabulary, k=size - len(header))


def _planted_corpus(rng) -> list[str]:
    texts = _real_texts()
    vocabulary = sorted({word for text in texts for word in text.split()})
    corpus = []
    kinds = ("edits", "insertion", "boilerplate")
    for index, text in enumerate(texts):
        words = text.split()
        corpus.append(text)
        for level, target in enumerate(TARGET_JACCARDS):
            kind = kinds[(index + level) % len(kinds)]
            corpus.append(" ".join(_plant(words, target, kind, vocabulary, rng)))
    return corpus


def _exact_jaccard(corpus: list[str]) -> sparse.coo_matrix:
    """All-pairs exact Jaccard on the same shingles (sparse: zero overlap means J = 0)."""
    sets = [np.unique(text_shingle_hashes(text)) for text in corpus]
    vocabulary, inverse = np.unique(np.concatenate(sets), return_inverse=True)
    rows = np.repeat(np.arange(len(sets)), [s.size for s in sets])
    incidence = sparse.csr_matrix(
        (np.ones(rows.size, dtype=np.int32), (rows, inverse)), shape=(len(sets), vocabulary.size)
    )
    overlap = sparse.triu(incidence @ incidence.T, k=1).tocoo()
    sizes = np.array([s.size for s in sets])
    union = sizes[overlap.row] + sizes[overlap.col] - overlap.data
    return sparse.coo_matrix((overlap.data / union, (overlap.row, overlap.col)))


@pytest.mark.parametrize("on_disk", [False, True], ids=["beam_shuffle", "disk_shuffle"])
def test_near_duplicate_quality_on_planted_corpus(tmp_path, on_disk: bool) -> None:
    rng = random.Random(2024)
    corpus = _planted_corpus(rng)
    signer = MinHashSignature()  # 14 x 8, as FineWeb
    keys = [
        DedupKey(
            doc_id=f"doc{i:05d}",
            shard=f"shard-{i % 7}",
            url=f"https://site{i}.example/{i}",
            capture_time_us=rng.randrange(10**15),
            domain=f"site{i}.example",
            image_urls=(),
            paragraph_hashes=(),
            band_keys=tuple(signer.text_band_keys(text)),
        )
        for i, text in enumerate(corpus)
    ]
    with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
        grouping = small_disk_grouping(tmp_path / "spill") if on_disk else BEAM_SHUFFLE
        step = NearDuplicates(DedupConfig.default().replace(cc_rounds=12), grouping)
        result = pipeline | beam.Create(keys) | step
        _collect(result["cluster_members"], tmp_path / "members.pkl", "Members")
        _collect(result["actions"], tmp_path / "actions.pkl", "Actions")
        _collect(result["cluster_sizes"], tmp_path / "sizes.pkl", "Sizes")
        assert_that(
            result["actions"] | beam.Map(lambda a: a.reason) | beam.Distinct(),
            equal_to([NEAR_DUPLICATE]),
            label="reasons",
        )
    members = {member.doc_id: member.cluster_id for member in _load(tmp_path / "members.pkl")}
    removed = {action.doc_id: action.kept_doc_id for action in _load(tmp_path / "actions.pkl")}
    sizes = dict(_load(tmp_path / "sizes.pkl"))
    assert sum(sizes.values()) - len(sizes) == len(removed)  # each cluster keeps exactly one
    doc_index = {key.doc_id: i for i, key in enumerate(keys)}
    jaccards = _exact_jaccard(corpus)
    cluster = [members.get(key.doc_id, key.doc_id) for key in keys]
    pair_j = defaultdict(float)
    pair_j.update(
        {
            (int(r), int(c)): float(j)
            for r, c, j in zip(jaccards.row, jaccards.col, jaccards.data, strict=True)
        }
    )

    def recall(low: float, high: float = 1.01) -> tuple[float, int]:
        pairs = [(r, c) for (r, c), j in pair_j.items() if low <= j < high]
        caught = sum(cluster[r] == cluster[c] for r, c in pairs)
        return (caught / len(pairs) if pairs else float("nan")), len(pairs)

    def removal_precision(threshold: float) -> float:
        good = 0
        for doc_id, kept in removed.items():
            a, b = sorted((doc_index[doc_id], doc_index[kept]))
            good += pair_j[(a, b)] >= threshold
        return good / len(removed)

    def justified_by_exact_jaccard(threshold: float) -> float:
        """Share of removals that exact-Jaccard clustering at ``threshold`` also makes: the
        removed and the kept document are linked by pairs that truly have J >= threshold."""
        exact = components_by_union_find((r, c) for (r, c), j in pair_j.items() if j >= threshold)
        same = sum(
            exact.get(doc_index[doc_id], -1) == exact.get(doc_index[kept], -2)
            for doc_id, kept in removed.items()
        )
        return same / len(removed)

    recall_85, pairs_85 = recall(0.85)
    recall_80, pairs_80 = recall(0.8)
    precision = justified_by_exact_jaccard(0.5)
    print(f"\ncorpus: {len(corpus)} docs, {len(removed)} removed, 14 bands x 8 rows")
    for low, high in ((0.95, 1.01), (0.9, 0.95), (0.85, 0.9), (0.8, 0.85), (0.7, 0.8), (0.6, 0.7),
                      (0.5, 0.6), (0.3, 0.5)):  # fmt: skip
        value, count = recall(low, high)
        print(f"  recall J in [{low:.2f}, {min(high, 1):.2f}): {value:.3f} over {count} pairs")
    print(
        f"recall J>=0.85: {recall_85:.3f} ({pairs_85} pairs); J>=0.8: {recall_80:.3f} ({pairs_80})"
    )
    for threshold in (0.5, 0.6, 0.7, 0.8):
        print(
            f"removals justified by exact-Jaccard components at J >= {threshold}: "
            f"{justified_by_exact_jaccard(threshold):.3f}; "
            f"with J(removed, kept) >= {threshold}: {removal_precision(threshold):.3f}"
        )
    assert pairs_85 > 300
    assert recall_85 >= 0.9
    assert precision >= 0.95
    assert set(removed.values()) <= set(cluster)  # every keeper is a cluster id
    assert not set(removed) & set(removed.values())  # a keeper is never removed


def test_near_duplicate_clusters_keep_the_latest_capture(tmp_path) -> None:
    def doc(doc_id: str, year: int, bands: tuple[bytes, ...]) -> DedupKey:
        return DedupKey(doc_id, "shard-0", f"https://s/{doc_id}", year * 10**6, "s", (), (), bands)

    a, b = doc("a", 2020, (b"k1", b"x1")), doc("b", 2023, (b"k1", b"k2"))
    c, d = doc("c", 2021, (b"y1", b"k2")), doc("d", 2022, (b"z1", b"z2"))
    with BeamTestPipeline(runner=BEAM_TEST_RUNNER) as pipeline:
        result = (
            pipeline
            | beam.Create([a, b, c, d])
            | NearDuplicates(DedupConfig.default().replace(cc_rounds=3))
        )
        assert_that(result["survivors"], equal_to([b, d]), label="survivors")
        assert_that(
            result["actions"] | beam.Map(lambda x: (x.doc_id, x.reason, x.kept_doc_id)),
            equal_to([("a", NEAR_DUPLICATE, "b"), ("c", NEAR_DUPLICATE, "b")]),
            label="actions",
        )
        assert_that(
            result["cluster_members"] | beam.Map(tuple),
            equal_to([("a", "b", "shard-0"), ("b", "b", "shard-0"), ("c", "b", "shard-0")]),
            label="members",
        )
        assert_that(result["cluster_sizes"], equal_to([("b", 3)]), label="sizes")

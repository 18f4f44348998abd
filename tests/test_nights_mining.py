"""Real-image triplets mined from a real `webweave images` output, checked against an oracle.

The corpus is the images job's output for the 20 book-cover JPEGs of a real WARC fixture
(offline: bytes come from the WARC). A tiny random open_clip model (real class, loaded by
name + local checkpoint) embeds them; the test recomputes every choice independently with
plain loops over its own embeddings and pHashes. Neighbour search, pair picking and the IVF
index are also checked on their own, with exact expected values.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from annotation_corpus import document, images_output
from tiny_models import save_tiny_open_clip_checkpoint

from webweave.annotation.config import load_annotation_config
from webweave.annotation.corpus_mining import pick_pairs, popcount64
from webweave.annotation.neighbours import Neighbours, nearest_neighbours
from webweave.pipelines.cli import main

from conftest import fixture_path

COVERS = """2cdad67c44b002e7ead0cc35693c0e8b 260c6ae16bce31c8f8c95daddd9f4a1c
3eef99c9d9adef34639f510662022830 3251cf3a3412f53f339e42cac2134093 bea5697f2534a2f86a3ef27b5a8c12a6
68339b4c9bc034267e1da611ab3b34f8 92274a95b7c251fea59a2b8a78275ab4 3d54940e57e662c4dd1f3ff00c78cc64
66883b91f6804b2323c8369331cb7dd1 5846057e28022268153beff6d352b06c bef44da28c98f905a3ebec0b87be8530
1048f63d3b5061cd2f424d20b3f9b666 5b88c52633f53cacf162c15f4f823153 94b1b8b244bce9677c2f29ccc890d4d2
81c4a973364e17d01f217e1188253d5e 54607fe8945897cdcced0044103b10b6""".split()


def cover_url(digest: str) -> str:
    return f"http://books.toscrape.com/media/cache/{digest[:2]}/{digest[2:4]}/{digest}.jpg"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """`webweave images` output: 16 book covers from the WARC fixture, one document."""
    items = []
    for digest in COVERS:
        items += [f"Cover {digest[:6]}.", cover_url(digest)]
    return images_output(
        [document("books", items, alt="book cover")],
        tmp_path_factory.mktemp("corpus"),
        [fixture_path("warc/nodewarc_books.toscrape.warc")],
        min_side=90,
    )


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    return save_tiny_open_clip_checkpoint(tmp_path_factory.mktemp("clip"), seed=3)


def oracle_embeddings(corpus_dir, name, checkpoint, config) -> dict[str, np.ndarray]:
    """sha256 → normalised embedding, computed here with open_clip directly."""
    import io

    import open_clip
    import torch
    from PIL import Image

    open_clip.add_model_config(str(config))
    model, _, preprocess = open_clip.create_model_and_transforms(name, pretrained=str(checkpoint))
    model.eval()
    store = {}
    for path in sorted(corpus_dir.glob("images/*.parquet")):
        for row in pq.read_table(path).to_pylist():
            pixels = preprocess(Image.open(io.BytesIO(row["bytes"])).convert("RGB"))[None]
            with torch.inference_mode():
                vector = model.encode_image(pixels)[0].float()
            store[row["sha256"]] = (vector / vector.norm()).numpy()
    return store


def test_mined_triplets_match_an_independent_oracle(corpus, tiny_clip, tmp_path, capsys):
    name, model_config, checkpoint = tiny_clip
    embeddings = oracle_embeddings(corpus, name, checkpoint, model_config)
    pairs = pq.read_table(corpus / "pairs").to_pylist()
    phash = {p["sha256"]: int(p["phash"], 16) for p in pairs}
    keys = sorted(embeddings)
    assert len(keys) == 16
    sims = {(a, b): float(embeddings[a] @ embeddings[b]) for a in keys for b in keys if a != b}
    low, high = np.quantile(list(sims.values()), [0.5, 0.8])
    config = tmp_path / "config.yaml"
    config.write_text(
        f"annotation_clip:\n  model: {name}\n  checkpoint: {checkpoint}\n"
        f"  model_config: {model_config}\n  batch_size: 5\n"
        f"nights:\n  mining:\n    similarity_min: {low:.6f}\n    similarity_max: {high:.6f}\n"
        "    phash_max_distance: 20\n    candidates_per_reference: 4\n"
    )
    round1 = tmp_path / "round1"
    code = main(["nights", "build", "--source", str(corpus), "--output", str(round1),
                 "--config", str(config), "--device", "cpu"])  # fmt: skip
    out = capsys.readouterr()
    assert code == 0, out.err

    # The oracle: for each reference (sha256 order = triplet id), its candidates are the four
    # most similar others; keep those inside the band and more than 20 pHash bits from the
    # reference; the first is _0, the next one more than 20 bits from it is _1.
    expected, dropped = {}, 0
    for triplet_id, ref in enumerate(keys):
        others = sorted((k for k in keys if k != ref), key=lambda k: (-sims[ref, k], keys.index(k)))
        chosen = []
        for other in others[:4]:
            if not low <= round(sims[ref, other], 6) <= high:
                continue
            if bin(phash[ref] ^ phash[other]).count("1") <= 20:
                continue
            if chosen and bin(phash[chosen[0]] ^ phash[other]).count("1") <= 20:
                continue
            chosen.append(other)
            if len(chosen) == 2:
                break
        if len(chosen) == 2:
            expected[triplet_id] = (ref, *chosen)
        else:
            dropped += 1
    assert 0 < dropped < 16  # the band is wide enough for some, not for all
    triplets = pq.read_table(round1 / "triplets.parquet").to_pylist()
    got = {
        t["triplet_id"]: tuple(t[f"{k}_image"].rsplit("/", 1)[1].split(".")[0]
                               for k in ("ref", "distort0", "distort1"))
        for t in triplets
    }  # fmt: skip
    assert got == expected
    for t in triplets:
        ref, d0, d1 = expected[t["triplet_id"]]
        assert t["similarity_0"] == pytest.approx(sims[ref, d0], abs=1e-5)
        assert t["similarity_1"] == pytest.approx(sims[ref, d1], abs=1e-5)
        assert (t["source"], t["ref_group"]) == ("corpus", ref)
        assert t["ref_origin"].startswith("http://books.toscrape.com/media/cache/")
        assert t["prompt"] == "book cover"
    stats = json.loads((round1 / "stats.json").read_text())
    assert stats["funnel"][0]["dropped"] == {"too_few_neighbours_in_band": dropped}
    assert stats["funnel_closes"]
    assert stats["provenance"]["neighbour_index"] == "exact"
    assert stats["provenance"]["model"] == name
    assert len(stats["provenance"]["checkpoint_sha256"]) == 64


def test_pairs_skip_the_band_and_phash_duplicates():
    """Row 0 is the reference (pHash 0x0) with candidates 1..5, best first:
    1 in band but 1 bit from the reference (duplicate); 2 chosen first; 3 one bit from 2
    (duplicate of the first); 4 chosen second; 5 below the band. Rows 1-5 have no candidates."""
    sims = np.zeros((6, 5), dtype=np.float32)
    sims[0] = [0.93, 0.9, 0.8, 0.7, 0.6]
    indices = -np.ones((6, 5), dtype=np.int64)
    indices[0] = [1, 2, 3, 4, 5]
    phash = np.array([0x0, 0x1, 0xFF, 0x1FF, 0xFFFF_0000, 0xFFFF_FFFF_0000], dtype=np.uint64)
    config = load_annotation_config().nights.mining.replace(
        similarity_min=0.65, similarity_max=0.95, phash_max_distance=4
    )
    pairs = pick_pairs(Neighbours(sims, indices, "exact"), phash, config)
    assert (pairs.first[0], pairs.second[0]) == (2, 4)
    assert pairs.first_similarity[0] == pytest.approx(0.9)
    assert pairs.second_similarity[0] == pytest.approx(0.7)
    assert (pairs.first[1:] == -1).all() and (pairs.second[1:] == -1).all()
    assert np.isnan(pairs.first_similarity[1:]).all()
    assert popcount64(phash).tolist() == [0, 1, 8, 9, 16, 32]


def test_exact_search_and_exhaustive_ivf_agree():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((40, 24))
    vectors = centres[rng.integers(0, 40, 2400)] + 0.3 * rng.standard_normal((2400, 24))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    exact = nearest_neighbours(vectors, 5, "exact", block=512)
    brute = np.argsort(-(vectors @ vectors.T - 10 * np.eye(2400)), axis=1, kind="stable")[:, :5]
    assert (exact.indices == brute).all()
    ivf = nearest_neighbours(vectors, 5, "ivf", nprobe=10_000)  # every list: exhaustive
    assert (ivf.indices == exact.indices).all()
    assert np.allclose(ivf.similarities, exact.similarities, atol=1e-5)
    approximate = nearest_neighbours(vectors, 5, "ivf", nprobe=4)
    pairs = zip(approximate.indices, exact.indices, strict=True)
    recall = np.mean([len(set(a) & set(b)) / 5 for a, b in pairs])
    assert recall > 0.95

"""MinHash signatures: datasketch-identical, deterministic, normalised, and banded as configured."""

from __future__ import annotations

import json

import numpy as np
import pytest
import xxhash
from datasketch import MinHash

from webweave.filters.minhash import (
    MinHashSignature,
    jaccard,
    normalize_text,
    paragraph_hash,
    paragraph_hashes,
    shingle_hashes,
    text_shingle_hashes,
    words_of,
)

from conftest import fixture_path

FOX = "The quick brown fox jumps over the lazy dog, again and again; every single morning."


def _fixture_texts(limit: int = 20) -> list[str]:
    path = fixture_path("html/scrapinghub_aeb/ground-truth-part1.json")
    articles = json.loads(path.read_text(encoding="utf-8"))
    return [article["articleBody"] for article in articles.values()][:limit]


def test_signature_equals_datasketch_affine32_on_real_texts() -> None:
    signer = MinHashSignature()
    for text in _fixture_texts():
        reference = MinHash(num_perm=signer.num_perm, seed=signer.seed, hashfunc=lambda x: x)
        reference.update_batch(text_shingle_hashes(text).tolist())
        assert np.array_equal(reference.hashvalues, signer.of_text(text))


def test_signature_is_pinned_across_runs_and_machines() -> None:
    """A golden value: any change to normalisation, hashing or permutations shows up here."""
    signature = MinHashSignature().of_text(FOX)
    assert signature.dtype == np.uint32 and signature.shape == (112,)
    assert signature[:4].tolist() == [286640258, 577341162, 537655729, 205349989]
    assert xxhash.xxh3_64_hexdigest(signature.astype("<u4").tobytes()) == "86b89e1541d195bb"
    assert MinHashSignature().text_band_keys(FOX)[0].hex() == "00003681ee9087401434"


def test_long_documents_are_chunked_without_changing_the_signature() -> None:
    words = [f"w{i}" for i in range(10_000)]
    shingles = shingle_hashes([word.encode() for word in words])
    signer = MinHashSignature()
    reference = MinHash(num_perm=112, seed=1, hashfunc=lambda x: x)
    reference.update_batch(shingles.tolist())
    assert np.array_equal(signer.of_shingles(shingles), reference.hashvalues)


def test_normalisation() -> None:
    assert normalize_text("Ｆｕｌｌ–width “quotes” café_au-lait 3.14") == (
        "full width quotes café au lait 3 14"
    )
    assert words_of("  Hello,\n\tWORLD!!  ") == [b"hello", b"world"]
    assert normalize_text("") == ""


def test_shingles_are_word_5_grams() -> None:
    words = [w.encode() for w in "a b c d e f".split()]
    assert shingle_hashes(words).size == 2
    assert shingle_hashes(words[:3]).size == 1  # short text: one shingle of all its words
    assert shingle_hashes([]).size == 0
    assert shingle_hashes(words, ngram=3).size == 4
    # Order matters inside a shingle.
    assert shingle_hashes(words[:5])[0] != shingle_hashes(words[:5][::-1])[0]


def test_formatting_changes_do_not_change_the_signature() -> None:
    signer = MinHashSignature()
    noisy = (
        "THE quick -- brown fox:   jumps over the lazy dog again, and again every single morning"
    )
    assert np.array_equal(signer.of_text(FOX), signer.of_text(noisy))


def test_empty_text_has_no_band_keys() -> None:
    signer = MinHashSignature()
    assert signer.text_band_keys("") == []
    assert signer.text_band_keys(" ... !!! ") == []


def test_band_keys_shape_and_band_separation() -> None:
    signer = MinHashSignature(bands=4, rows=2)
    keys = signer.text_band_keys(FOX)
    assert len(keys) == 4 and all(len(key) == 10 for key in keys)
    assert [int.from_bytes(key[:2], "big") for key in keys] == [0, 1, 2, 3]
    # The same row values in two bands still give two different buckets.
    same_rows = np.full(8, 7, dtype=np.uint32)
    first, second = signer.band_keys(same_rows)[:2]
    assert first != second


def test_bands_times_rows_permutations_and_s_curve() -> None:
    signer = MinHashSignature()
    assert (signer.bands, signer.rows, signer.num_perm) == (14, 8, 112)
    assert signer.candidate_probability(0.8) == pytest.approx(0.924, abs=1e-3)
    assert signer.candidate_probability(0.5) == pytest.approx(0.053, abs=1e-3)
    with pytest.raises(ValueError):
        MinHashSignature(bands=0)


def test_signature_estimates_jaccard() -> None:
    texts = _fixture_texts(5)
    signer = MinHashSignature(bands=32, rows=8)
    base = texts[0].split()
    edited = base[: len(base) * 3 // 4] + texts[1].split()[: len(base) // 4]
    a, b = text_shingle_hashes(" ".join(base)), text_shingle_hashes(" ".join(edited))
    estimate = np.mean(signer.of_shingles(a) == signer.of_shingles(b))
    assert estimate == pytest.approx(jaccard(a, b), abs=0.1)


def test_paragraph_hashes() -> None:
    assert paragraph_hash("Hello,   World!") == paragraph_hash("hello world")
    assert paragraph_hash("Hello world") != paragraph_hash("Hello world 2")
    assert paragraph_hash(" -- ") is None
    value = paragraph_hash("Hello world")
    assert -(2**63) <= value < 2**63
    hashes = paragraph_hashes(["First para.\n\nSecond para.", None, "", "First para."])
    assert len(hashes) == 3 and hashes[0] == hashes[2]

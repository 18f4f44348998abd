"""MinHash signatures, LSH band keys and paragraph hashes for near-duplicate removal.

Text normalisation (shared by shingles and paragraph hashes, so both see the same text):
Unicode NFKC (skipped when the text already is), lower-case, then every ASCII character that is
not a letter or digit and every character of the Unicode punctuation/symbol blocks listed at
``_UTF8_PUNCTUATION`` (Latin-1 symbols, General Punctuation, arrows, box drawing, dingbats, CJK
punctuation) becomes a space; words are the runs between spaces. Digits and letters of every
script are kept. This is table-driven (``bytes.translate`` plus one byte regex on non-ASCII
text) because a Unicode ``\\W`` regex alone cost more than the whole rest of the signature.

Shingles are word 5-grams (a document shorter than 5 words is one shingle of all its words; an
empty document has no shingles, no band keys and never clusters). Each word is hashed once with
xxh3-64; a 5-gram's hash is a position-weighted sum of its word hashes (wrapping uint64 with
fixed odd multipliers), of which the high 32 bits are the shingle hash. Everything is numpy
arithmetic on fixed-width integers with fixed seeds, so signatures are identical across runs,
processes and machines (no Python ``hash()``).

Permutations are datasketch 2.x's default ``affine32`` scheme, bit for bit: the 32-bit shingle
hash goes through the MurmurHash3 ``fmix32`` finaliser, then ``a_k * h + b_k mod 2^32`` with
``(a_k, b_k)`` drawn from ``numpy.random.RandomState(seed)`` exactly as datasketch draws them.
So ``datasketch.MinHash(num_perm, seed, hashfunc=identity)`` fed our shingle hashes gives the
same signature (tested); we are faster because we hash words once and never build a Python
list of per-shingle bytes.

Band keys: the signature is cut into ``bands`` rows of ``rows`` values; each band's key is
2 bytes of band index + the 8-byte xxh3-64 digest of that band's values (little-endian uint32),
so equal bands in different band positions never share a bucket.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import xxhash

SHINGLE_WORDS = 5
DEFAULT_BANDS = 14  # FineWeb / datatrove: 14 bands x 8 rows, S-curve midpoint ~0.72
DEFAULT_ROWS = 8
DEFAULT_SEED = 1  # datasketch's default seed
# UTF-8 of the Unicode punctuation/symbol blocks that become spaces: U+0080-U+00BF (Latin-1
# punctuation, NBSP, currency, ...), U+00D7, U+00F7, U+2000-U+206F (General Punctuation: dashes,
# curly quotes, ellipsis, zero-width spaces), U+2190-U+23FF (arrows, maths, technical),
# U+2500-U+27BF (box drawing, shapes, dingbats), U+2E00-U+2E7F (supplemental punctuation),
# U+3000-U+303F (CJK punctuation) and U+FE30-U+FE4F (CJK compatibility forms). Fullwidth ASCII
# (U+FF01-U+FF5E) needs no entry: NFKC has already mapped it to ASCII. Matching UTF-8 bytes is
# twice as fast as a str regex, and a 5 KB page pays this on every signature.
_UTF8_PUNCTUATION = re.compile(
    rb"\xc2[\x80-\xbf]|\xc3[\x97\xb7]"
    rb"|\xe2(?:\x80[\x80-\xbf]|\x81[\x80-\xaf]|[\x86-\x8f][\x80-\xbf]|[\x94-\x9e][\x80-\xbf]"
    rb"|[\xb8\xb9][\x80-\xbf])"
    rb"|\xe3\x80[\x80-\xbf]|\xef(?:\xb8[\xb0-\xbf]|\xb9[\x80-\x8f])"
)
# ASCII bytes that are not letters or digits become spaces; bytes >= 0x80 (UTF-8) are kept.
_ASCII_NON_ALNUM_TO_SPACE = bytes(
    byte if byte >= 0x80 or chr(byte).isalnum() else 0x20 for byte in range(256)
)
_PERMUTATION_CHUNK = 2048  # shingles per block: keeps the (num_perm x chunk) block in cache
_UINT32_MAX = np.uint32(0xFFFFFFFF)
# Odd multipliers that weight each word position of a 5-gram (fixed: part of the hash format).
_POSITION_MULTIPLIERS = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
    ],
    dtype=np.uint64,
)


def _spaced_bytes(text: str) -> bytes:
    """UTF-8 of the text with punctuation and symbols turned into spaces (see module doc)."""
    if text.isascii():
        return text.encode("ascii").lower().translate(_ASCII_NON_ALNUM_TO_SPACE)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    spaced = _UTF8_PUNCTUATION.sub(b" ", text.lower().encode("utf-8"))
    return spaced.translate(_ASCII_NON_ALNUM_TO_SPACE)


def words_of(text: str) -> list[bytes]:
    """The normalised words of ``text`` as UTF-8 bytes (encoded once, not per word)."""
    return _spaced_bytes(text).split()


def normalize_text(text: str) -> str:
    """The normalised words joined by single spaces (see module doc)."""
    return b" ".join(words_of(text)).decode("utf-8")


def word_hashes(words: Sequence[bytes]) -> np.ndarray:
    """xxh3-64 of each UTF-8 word, as uint64."""
    return np.fromiter(map(xxhash.xxh3_64_intdigest, words), dtype=np.uint64, count=len(words))


def shingle_hashes(words: Sequence[bytes], ngram: int = SHINGLE_WORDS) -> np.ndarray:
    """32-bit hashes of the word n-grams of ``words`` (uint32; empty for no words)."""
    if not words:
        return np.empty(0, dtype=np.uint32)
    hashed = word_hashes(words)
    width = min(ngram, len(hashed))
    count = len(hashed) - width + 1
    combined = np.zeros(count, dtype=np.uint64)
    for position in range(width):
        combined += hashed[position : position + count] * _POSITION_MULTIPLIERS[position]
    return (combined >> np.uint64(32)).astype(np.uint32)


def text_shingle_hashes(text: str, ngram: int = SHINGLE_WORDS) -> np.ndarray:
    """Shingle hashes of a raw text (normalised here)."""
    return shingle_hashes(words_of(text), ngram)


def fmix32(values: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser (datasketch's pre-mix), element-wise on uint32."""
    values = values ^ (values >> np.uint32(16))
    values = values * np.uint32(0x85EBCA6B)
    values = values ^ (values >> np.uint32(13))
    values = values * np.uint32(0xC2B2AE35)
    return values ^ (values >> np.uint32(16))


def affine32_permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``(a, b)`` arrays datasketch 2.x draws for scheme ``affine32`` (a odd)."""
    generator = np.random.RandomState(seed)
    a = generator.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = generator.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return a, b


def paragraph_hash(paragraph: str) -> int | None:
    """Signed 64-bit xxh3 of the normalised paragraph; None when nothing is left to hash.

    Signed so that Beam's coders write it as a varint instead of falling back to pickle.
    """
    words = words_of(paragraph)
    if not words:
        return None
    return _to_signed64(xxhash.xxh3_64_intdigest(b" ".join(words)))


def split_paragraphs(text: str) -> list[str]:
    """OBELICS's paragraph split: on blank lines (``\\n\\n``)."""
    return text.split("\n\n")


def paragraph_hashes(texts: Iterable[str | None]) -> list[int]:
    """Hashes of every non-empty paragraph of every text node, in document order."""
    hashes = []
    for text in texts:
        if not text:
            continue
        for paragraph in split_paragraphs(text):
            hashed = paragraph_hash(paragraph)
            if hashed is not None:
                hashes.append(hashed)
    return hashes


def _to_signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


@dataclass
class MinHashSignature:
    """Computes MinHash signatures and LSH band keys with explicit (bands, rows).

    ``bands * rows`` permutations; the S-curve is P(candidate) = 1 - (1 - J^rows)^bands.
    """

    bands: int = DEFAULT_BANDS
    rows: int = DEFAULT_ROWS
    seed: int = DEFAULT_SEED
    ngram: int = SHINGLE_WORDS
    _a: np.ndarray = field(init=False, repr=False)
    _b: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.bands < 1 or self.rows < 1:
            raise ValueError(f"bands and rows must be >= 1, got {self.bands} x {self.rows}")
        self._a, self._b = affine32_permutations(self.num_perm, self.seed)

    @property
    def num_perm(self) -> int:
        return self.bands * self.rows

    def candidate_probability(self, jaccard: float) -> float:
        """Probability that two documents at this Jaccard share at least one band."""
        return 1.0 - (1.0 - jaccard**self.rows) ** self.bands

    def of_shingles(self, shingles: np.ndarray) -> np.ndarray:
        """Signature (uint32[num_perm]) of 32-bit shingle hashes; all-max when empty."""
        if shingles.size == 0:
            return np.full(self.num_perm, _UINT32_MAX, dtype=np.uint32)
        mixed = fmix32(shingles.astype(np.uint32, copy=False))
        signature = np.full(self.num_perm, _UINT32_MAX, dtype=np.uint32)
        for start in range(0, mixed.size, _PERMUTATION_CHUNK):
            block = np.multiply(self._a[:, None], mixed[None, start : start + _PERMUTATION_CHUNK])
            block += self._b[:, None]  # uint32 wrap-around is the mod 2^32
            np.minimum(signature, block.min(axis=1), out=signature)
        return signature

    def of_text(self, text: str) -> np.ndarray:
        """Signature of a raw text."""
        return self.of_shingles(text_shingle_hashes(text, self.ngram))

    def of_texts(self, texts: Iterable[str]) -> np.ndarray:
        """Signatures of many texts as a (n, num_perm) uint32 array."""
        signatures = [self.of_text(text) for text in texts]
        if not signatures:
            return np.empty((0, self.num_perm), dtype=np.uint32)
        return np.stack(signatures)

    def band_keys(self, signature: np.ndarray) -> list[bytes]:
        """One 10-byte bucket key per band: band index (2 bytes) + xxh3-64 of its rows."""
        if bool((signature == _UINT32_MAX).all()):
            return []  # empty document: no shingles, never a candidate
        rows = np.ascontiguousarray(signature, dtype="<u4").reshape(self.bands, self.rows)
        return [
            band.to_bytes(2, "big") + xxhash.xxh3_64_digest(rows[band].tobytes())
            for band in range(self.bands)
        ]

    def text_band_keys(self, text: str) -> list[bytes]:
        """Band keys of a raw text."""
        return self.band_keys(self.of_text(text))


def jaccard(first: np.ndarray, second: np.ndarray) -> float:
    """Exact Jaccard similarity of two shingle-hash sets (for tests and evaluation)."""
    a, b = np.unique(first), np.unique(second)
    if a.size == 0 and b.size == 0:
        return 1.0
    intersection = np.intersect1d(a, b, assume_unique=True).size
    return intersection / (a.size + b.size - intersection)

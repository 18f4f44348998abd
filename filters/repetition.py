"""Repetition scores: OBELICS/ROOTS count ratios and Gopher (MassiveText) character fractions.

OBELICS (``web_document_filtering.py``), count-based, ROOTS style:

- ``character_repetition_ratio(text, n)``: count the character n-grams; with ``k = min(⌊√d⌋,
  d − singletons)`` (d = distinct n-grams), ratio = (sum of the k largest counts) / (all n-grams).
  0 when the text is shorter than n.
- ``word_repetition_ratio(words, n)``: (occurrences of word n-grams seen more than once) /
  (all word n-grams). 0 when there are fewer than n words.

Gopher (Rae et al. 2021, Table A1; thresholds as in datatrove ``GopherRepetitionFilter``):

- duplicate line / paragraph fraction: lines (split on runs of "\\n") or paragraphs (runs of
  ≥ 2 "\\n") that equal an earlier one, over all lines / paragraphs;
- duplicate line / paragraph character fraction: characters of those repeats over len(text);
- top n-gram character fraction, n = 2, 3, 4: characters of the most frequent word n-gram times
  its count, over all word characters; 0 when no n-gram occurs twice (a unique n-gram is not
  repetition, and without this rule a 10-word document fails the 2-gram rule by construction);
  ties go to the longer n-gram;
- duplicate n-gram character fraction, n = 5…10: characters of the words covered by any
  occurrence of an n-gram that occurs more than once, each word counted once, over all word
  characters (Gopher: "taking care not to count characters that occur in overlapping n-grams more
  than once").

Words are OBELICS words (``text_normalization.obelics_words``) and "characters" are the
characters of those words, so the Gopher fractions share the tokenisation of the other filters.
datatrove instead uses an NLTK/spaCy tokenizer and ``len(text)``; fractions here are therefore
slightly higher for texts with much punctuation or whitespace.
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np

from webweave.filters.text_normalization import TextStats, code_points

GOPHER_TOP_NGRAMS = (2, 3, 4)
GOPHER_DUP_NGRAMS = (5, 6, 7, 8, 9, 10)
_PARAGRAPH_SPLIT = re.compile(r"\n{2,}")
_LINE_SPLIT = re.compile(r"\n+")
_NUMPY_MIN_CHARS = 64  # below this a Counter of slices beats numpy's per-call overhead
_HASH_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)


def character_repetition_ratio(text: str, n: int) -> float:
    """OBELICS character n-gram repetition ratio (see module docstring)."""
    total = len(text) - n + 1
    if total <= 0:
        return 0.0
    if len(text) >= _NUMPY_MIN_CHARS:
        return _top_k_sum(_hashed_counts(text, n)) / total
    counts = Counter(map(text.__getitem__, map(slice, range(total), range(n, len(text) + 1))))
    freqs = sorted(counts.values(), reverse=True)
    singletons = len(freqs) - _first_index_of_one(freqs)
    k = min(math.isqrt(len(freqs)), len(freqs) - singletons)
    return int(sum(freqs[:k])) / total


def _top_k_sum(counts: np.ndarray) -> int:
    """Sum of the k largest counts, k = min(⌊√distinct⌋, non-singletons) (OBELICS's k).

    Only the few counts above 1 are sorted: the top k are all non-singletons.
    """
    repeated = counts[counts > 1]
    k = min(math.isqrt(len(counts)), len(repeated))
    return int(np.sort(repeated)[len(repeated) - k :].sum()) if k else 0


def _hashed_ngram_counts(text: str, n: int) -> list[int]:
    """Descending counts of character n-grams (see ``_hashed_counts``), as a list."""
    return sorted(_hashed_counts(text, n).tolist(), reverse=True)


def _hashed_counts(text: str, n: int) -> np.ndarray:
    """Descending counts of character n-grams, keyed by a 64-bit polynomial hash (numpy).

    8× faster than a Counter of slices on a 5,000-character page. Two distinct n-grams share a
    key only if their hashes collide mod 2**64, which natural text does not produce; tests
    check equality with the exact Counter path on real pages.
    """
    total = len(text) - n + 1
    codes = code_points(text).astype(np.uint64) + 1
    keys = codes[:total].copy()
    with np.errstate(over="ignore"):
        for j in range(1, n):
            keys *= _HASH_MULTIPLIER
            keys += codes[j : total + j]
    keys.sort()
    return _run_lengths(keys)


def _run_lengths(sorted_keys: np.ndarray) -> np.ndarray:
    """Counts of each distinct value of a sorted array (np.unique without its extra work)."""
    if len(sorted_keys) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
    return np.diff(np.append(starts, len(sorted_keys)))


def _first_index_of_one(desc: list[int]) -> int:
    """Index of the first 1 in a descending list of counts (its length if none)."""
    lo, hi = 0, len(desc)
    while lo < hi:
        mid = (lo + hi) // 2
        if desc[mid] > 1:
            lo = mid + 1
        else:
            hi = mid
    return lo


def word_ngram_counts(stats: TextStats, n: int) -> Counter:
    """Counter of word n-gram tuples, cached on the TextStats (shared by OBELICS and Gopher)."""
    cache = stats.word_ngram_counts
    if n not in cache:
        words = stats.words
        cache[n] = Counter(zip(*(words[i:] for i in range(n)), strict=False))
    return cache[n]


def word_repetition_ratio(stats: TextStats, n: int) -> float:
    """OBELICS word n-gram repetition ratio (see module docstring)."""
    counts = word_ngram_counts(stats, n)
    total = len(stats.words) - n + 1
    if total <= 0:
        return 0.0
    return sum(c for c in counts.values() if c > 1) / total


def duplicate_fractions(parts: list[str], text_length: int) -> tuple[float, float]:
    """(fraction of parts equal to an earlier part, their characters / text_length)."""
    if not parts or text_length == 0:
        return 0.0, 0.0
    seen: set[str] = set()
    dup_count = dup_chars = 0
    for part in parts:
        if part in seen:
            dup_count += 1
            dup_chars += len(part)
        else:
            seen.add(part)
    return dup_count / len(parts), dup_chars / text_length


class WordNgrams:
    """Word n-gram occurrence counts of one word list, in numpy, exact.

    Words become integer ids; an n-gram is the ids packed in base ``vocabulary`` when that fits
    in 63 bits, else a row of a sliding-window view compared byte-wise: either way two n-grams
    share a key only if they are equal (no hashing). ``occurrences(n)[i]`` is how often the
    n-gram starting at word i occurs in the text.
    """

    def __init__(self, words: list[str]):
        vocabulary: dict[str, int] = {}
        intern = vocabulary.setdefault
        self.ids = np.fromiter((intern(w, len(vocabulary)) for w in words), np.int64, len(words))
        self.size = max(len(vocabulary), 1)
        self.lengths = np.fromiter(map(len, words), np.int64, len(words))
        self._cache: dict[int, np.ndarray] = {}

    def occurrences(self, n: int) -> np.ndarray:
        if n not in self._cache:
            self._cache[n] = self._occurrences(n)
        return self._cache[n]

    def _occurrences(self, n: int) -> np.ndarray:
        total = len(self.ids) - n + 1
        if total <= 0:
            return np.zeros(0, dtype=np.int64)
        if self.size**n < 2**63:
            keys = self.ids[:total].copy()
            for j in range(1, n):
                keys *= self.size
                keys += self.ids[j : total + j]
        else:
            windows = np.lib.stride_tricks.sliding_window_view(self.ids, n)
            keys = np.ascontiguousarray(windows).view(np.dtype((np.void, 8 * n))).ravel()
        _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
        return counts[inverse.ravel()]

    def ngram_chars(self, n: int) -> np.ndarray:
        """Characters of the n-gram starting at each word."""
        cumulative = np.concatenate(([0], np.cumsum(self.lengths)))
        return cumulative[n:] - cumulative[:-n]


def top_ngram_char_fraction(grams: WordNgrams, n: int, word_chars: int) -> float:
    """Gopher top n-gram character fraction (see module docstring)."""
    occurrences = grams.occurrences(n)
    if word_chars == 0 or len(occurrences) == 0:
        return 0.0
    best_count = int(occurrences.max())
    if best_count < 2:
        return 0.0
    best_len = int(grams.ngram_chars(n)[occurrences == best_count].max())
    return best_count * best_len / word_chars


def duplicate_ngram_char_fractions(grams: WordNgrams, word_chars: int) -> dict[int, float]:
    """Gopher duplicate n-gram character fractions for n = 5…10.

    An n-gram can only repeat if an (n-1)-gram does, so the loop stops at the first n with
    no repeat: on ordinary text that is n = 5, and the rest cost nothing.
    """
    result = dict.fromkeys(GOPHER_DUP_NGRAMS, 0.0)
    if word_chars == 0:
        return result
    for n in GOPHER_DUP_NGRAMS:
        starts = np.flatnonzero(grams.occurrences(n) > 1)
        if len(starts) == 0:
            break
        edges = np.zeros(len(grams.ids) + 1, dtype=np.int64)
        np.add.at(edges, starts, 1)
        np.add.at(edges, starts + n, -1)
        covered = np.cumsum(edges[:-1]) > 0
        result[n] = int(grams.lengths[covered].sum()) / word_chars
    return result


def gopher_scores(stats: TextStats) -> dict[str, float]:
    """All Gopher repetition scores of one text, keyed by score name."""
    text = stats.text
    paragraphs = _PARAGRAPH_SPLIT.split(text.strip())
    lines = [line for line in _LINE_SPLIT.split(text) if line]
    para_frac, para_char_frac = duplicate_fractions(paragraphs, len(text))
    line_frac, line_char_frac = duplicate_fractions(lines, len(text))
    grams = WordNgrams(stats.words)
    word_chars = int(grams.lengths.sum())
    scores = {
        "gopher_duplicate_paragraph_fraction": para_frac,
        "gopher_duplicate_paragraph_char_fraction": para_char_frac,
        "gopher_duplicate_line_fraction": line_frac,
        "gopher_duplicate_line_char_fraction": line_char_frac,
    }
    for n in GOPHER_TOP_NGRAMS:
        scores[f"gopher_top_{n}gram_char_fraction"] = top_ngram_char_fraction(grams, n, word_chars)
    for n, value in duplicate_ngram_char_fractions(grams, word_chars).items():
        scores[f"gopher_duplicate_{n}gram_char_fraction"] = value
    return scores

"""Test oracles for the text filters: each score computed the obvious way, on one text.

Production (``webweave.filters.text``) scores all paragraphs of a document in one vectorised
pass; these are the definitions it must equal, value and type, which the tests check on real
pages. ``TextStats`` holds one text's tokenisation; the score functions read it; the record
path (``score_records`` → ``decide_records`` → ``rebuild_records``) filters paragraphs one
record at a time.
"""

from __future__ import annotations

import math
import re
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from webweave.filters.text.config import (
    GOPHER_DUPLICATE_NGRAMS as GOPHER_DUP_NGRAMS,
)
from webweave.filters.text.config import GOPHER_TOP_NGRAMS, DocumentThresholds, LevelThresholds
from webweave.filters.text.normalization import (
    END_OF_DOCUMENT_TOKEN,
    PUNCTUATION,
    SPECIAL_CHARACTERS,
    code_points,
    obelics_words,
)
from webweave.filters.text.paragraphs import split_paragraphs
from webweave.filters.text.repetition import duplicate_fractions
from webweave.filters.text.rules import paragraph_rules
from webweave.filters.text.scores import WordLists

_ASCII_SPECIAL = bytes(sorted(ord(c) for c in SPECIAL_CHARACTERS if ord(c) < 128))
_SPECIAL_TABLE = np.zeros(sys.maxunicode + 1, dtype=bool)
_SPECIAL_TABLE[[ord(c) for c in SPECIAL_CHARACTERS]] = True
_PARAGRAPH_SPLIT = re.compile(r"\n{2,}")
_LINE_SPLIT = re.compile(r"\n+")


def count_special_characters(text: str) -> int:
    """Number of code points of ``text`` that are special characters."""
    if text.isascii():
        return len(text) - len(text.encode("ascii").translate(None, _ASCII_SPECIAL))
    return int(np.count_nonzero(_SPECIAL_TABLE[code_points(text)]))


class TextStats:
    """One text's tokenisation and counts, computed lazily and at most once.

    Every score function takes a ``TextStats`` so that several filters share one split.
    """

    __slots__ = ("text", "__dict__")

    def __init__(self, text: str):
        self.text = text

    @cached_property
    def words(self) -> list[str]:
        return obelics_words(self.text)

    @cached_property
    def num_special_characters(self) -> int:
        return count_special_characters(self.text)

    @cached_property
    def word_ngram_counts(self) -> dict[int, dict[tuple[str, ...], int]]:
        """Cache of word n-gram counters, filled by the repetition scores on demand."""
        return {}


# ---------------------------------------------------------------------------------------------
# Vectorised tokenisation of many pieces at once.

# Character classes, one bit each, looked up per code point by ``classes_of``. SPACE: str.isspace;
# WORD: re's \w or "'"; STANDARDIZED: a character ``standardize_whitespace`` maps to " " (so a
# standardised text has none, and its classes fit in 4 bits).


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


_WORD_TOKENS = re.compile(r"[\w']+")

# ---------------------------------------------------------------------------------------------
# Score functions: each takes the shared TextStats of one text.


def number_words(stats: TextStats) -> int:
    """OBELICS word count."""
    return len(stats.words)


def special_character_ratio(stats: TextStats) -> float:
    """Special characters / characters; 0 for an empty text."""
    return stats.num_special_characters / len(stats.text) if stats.text else 0.0


def word_ratio(stats: TextStats, words: frozenset[str] | None) -> float | None:
    """Share of words in a list (stop, flagged or common words); None without a list."""
    if words is None:
        return None
    if not stats.words:
        return 0.0
    return sum(map(words.__contains__, stats.words)) / len(stats.words)


def flagged_word_ratio(stats: TextStats, entries: frozenset[str] | None) -> float | None:
    """Share of words inside an occurrence of an entry of a flagged-word list, an entry being
    one word or several (joined by " ") that must follow each other within one "\\n\\n"
    piece; None without a list. For one-word entries this is ``word_ratio``."""
    if entries is None:
        return None
    if not stats.words:
        return 0.0
    phrases = {tuple(entry.split(" ")) for entry in entries}
    lengths = sorted({len(phrase) for phrase in phrases})
    flagged = 0
    for piece in stats.text.split("\n\n"):
        words = obelics_words(piece)
        covered = [False] * len(words)
        for n in lengths:
            for start in range(len(words) - n + 1):
                if tuple(words[start : start + n]) in phrases:
                    covered[start : start + n] = [True] * n
        flagged += sum(covered)
    return flagged / len(stats.words)


def punctuation_counts(text: str) -> tuple[int, int]:
    """(punctuation tokens, all tokens) with OBELICS tokens ``[\\w']+`` or one of ``,;:?!.``.

    Punctuation characters never occur inside ``[\\w']+``, so each one is its own token.
    """
    punct = sum(map(text.count, PUNCTUATION))
    return punct, punct + len(_WORD_TOKENS.findall(text))


def punctuation_ratio(text: str) -> float:
    """OBELICS punctuation ratio without the short-text bypass (applied by the rule)."""
    punct, tokens = punctuation_counts(text)
    return punct / tokens if tokens else 0.0


def common_scores(
    text: str,
    lists: WordLists,
    language: str | None,
    character_repetition_length: int,
    word_repetition_length: int,
) -> dict[str, Any]:
    """The scores paragraphs and documents share, from one TextStats."""
    stats = TextStats(text)
    punct, tokens = punctuation_counts(text)
    return {
        "number_words": number_words(stats),
        "character_repetition_ratio": character_repetition_ratio(text, character_repetition_length),
        "word_repetition_ratio": word_repetition_ratio(stats, word_repetition_length),
        "special_character_ratio": special_character_ratio(stats),
        "stopword_ratio": word_ratio(stats, _for(lists.stopwords, language)),
        "flagged_word_ratio": flagged_word_ratio(stats, _for(lists.flagged_words, language)),
        "punctuation_ratio": punct / tokens if tokens else 0.0,
        "punctuation_tokens": tokens,
        "common_word_ratio": word_ratio(stats, _for(lists.common_words, language)),
        "_stats": stats,
    }


def _for(wordlist, language):
    return None if wordlist is None else wordlist.for_language(language)


def reference_document_scores(
    text: str,
    lists: WordLists,
    language: str | None,
    language_score: float | None,
    t: DocumentThresholds,
    number_images: int,
    quality: Callable[[str], float] | None = None,
) -> dict[str, Any]:
    """``document_scores`` computed the obvious way, one ``TextStats`` (tests compare both)."""
    scores = common_scores(text, lists, language,
                           t.character_repetition_length, t.word_repetition_length)  # fmt: skip
    stats = scores.pop("_stats")
    scores.update(gopher_scores(stats))
    scores["number_images"] = number_images
    scores["language"] = language
    scores["language_score"] = language_score
    scores["quality_score"] = quality(text) if quality is not None else None
    return scores


# ---------------------------------------------------------------------------------------------
# The record path: one paragraph record at a time.


@dataclass
class ParagraphRecord:
    """One paragraph of one text node: where it was, its scores, and why it was removed."""

    position: int
    index: int
    length: int
    scores: dict[str, Any]
    reason: str | None = None
    text: str | None = None


@dataclass
class FilteredNodes:
    texts: list[str | None]
    images: list[Any]
    image_metadata: list[Any]
    kept_positions: list[int]
    trace: list[ParagraphRecord]
    removed: Counter = field(default_factory=Counter)


def score_records(
    texts: list[str | None], lists: WordLists, language: str | None, t: LevelThresholds
) -> list[tuple[ParagraphRecord, str]]:
    """Every paragraph of every node, scored with ``common_scores`` (EOD token flagged)."""
    pairs = []
    for position, node in enumerate(texts):
        if node is None:
            continue
        for index, paragraph in enumerate(split_paragraphs(node)):
            scores = common_scores(paragraph, lists, language, t.character_repetition_length,
                                   t.word_repetition_length)  # fmt: skip
            del scores["_stats"]
            if paragraph == END_OF_DOCUMENT_TOKEN:
                scores["is_end_of_document_token"] = True
            pairs.append((ParagraphRecord(position, index, len(paragraph), scores), paragraph))
    return pairs


def decide_records(records: list[ParagraphRecord], t: LevelThresholds) -> Counter:
    rules = paragraph_rules(t)
    removed: Counter = Counter()
    for record in records:
        record.reason = None
        if record.scores.get("is_end_of_document_token"):
            continue
        record.reason = rules.first_failure(record.scores)
        if record.reason is not None:
            removed[record.reason] += 1
    return removed


def rebuild_records(
    texts: list, images: list, image_metadata: list, pairs: list[tuple[ParagraphRecord, str]]
) -> FilteredNodes:
    """Drop failing paragraphs, then text nodes left empty (OBELICS node-level semantics)."""
    kept: dict[int, list[str]] = {}
    for record, paragraph in pairs:
        if record.reason is None:
            kept.setdefault(record.position, []).append(paragraph)
            record.text = None
        else:
            record.text = paragraph
    out_t, out_i, out_m, positions = [], [], [], []
    for position, (text, image) in enumerate(zip(texts, images, strict=True)):
        if text is not None and position not in kept:
            continue
        out_t.append("\n\n".join(kept[position]) if text is not None else None)
        out_i.append(image)
        out_m.append(image_metadata[position] if image_metadata else None)
        positions.append(position)
    removed = Counter(r.reason for r, _ in pairs if r.reason is not None)
    return FilteredNodes(out_t, out_i, out_m, positions, [r for r, _ in pairs], removed)

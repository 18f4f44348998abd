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

Words are OBELICS words (``normalization.obelics_words``) and "characters" are the
characters of those words, so the Gopher fractions share the tokenisation of the other filters.
datatrove instead uses an NLTK/spaCy tokenizer and ``len(text)``; fractions here are therefore
slightly higher for texts with much punctuation or whitespace.

The production path scores every piece of a document in one numpy pass:
``span_character_repetition`` (character n-grams of many spans of one text, one sort),
``piece_word_repetition`` (word n-grams of many pieces, one sort) and ``NgramCounts`` (word
n-grams of one document for the word-repetition ratio and every Gopher n-gram score, each n
sorted once). Word n-grams are exact (packed integer word ids, or dense ranks of the
(n-1)-grams when packing would overflow); character n-grams use a 64-bit polynomial hash
(from prefix sums: ``normalization.window_hashes``). ``tests/text_oracles.py`` scores one text
the obvious way (the definitions above); the tests compare both on real pages.
"""

from __future__ import annotations

import math
import re

import numpy as np

from webweave.filters.text.config import GOPHER_DUPLICATE_NGRAMS as GOPHER_DUP_NGRAMS
from webweave.filters.text.config import GOPHER_TOP_NGRAMS
from webweave.filters.text.normalization import text_codes, window_hashes

_PARAGRAPH_SPLIT = re.compile(r"\n{2,}")
_LINE_SPLIT = re.compile(r"\n+")


def duplicate_fractions(parts: list[str], text_length: int) -> tuple[float, float]:
    """(fraction of parts equal to an earlier part, their characters / text_length).

    Each distinct part counts once as the original; every other occurrence is a duplicate.
    """
    if not parts or text_length == 0:
        return 0.0, 0.0
    distinct = set(parts)
    dup_count = len(parts) - len(distinct)
    dup_chars = sum(map(len, parts)) - sum(map(len, distinct))
    return dup_count / len(parts), dup_chars / text_length


# ---------------------------------------------------------------------------------------------
# Batch implementations: every piece of a document in one numpy pass.


def _isqrt(values: np.ndarray) -> np.ndarray:
    """Exact floor square roots of non-negative int64 values (float sqrt, then corrected)."""
    roots = np.sqrt(values).astype(np.int64)
    roots -= roots * roots > values
    roots += (roots + 1) * (roots + 1) <= values
    return roots


def char_ngram_hashes(text: str, n: int, codes: np.ndarray | None = None) -> np.ndarray:
    """A 64-bit hash of the character n-gram at every start of ``text`` (n ≤ len(text)).

    Polynomial in the code points, from prefix sums (``normalization.window_hashes``):
    6 array passes whatever n. ``codes``: ``text_codes(text)`` if the caller has it.
    """
    return window_hashes(text_codes(text) if codes is None else codes, n)


_SPREAD = np.uint64(0xFF51AFD7ED558CCD)  # odd: multiplying by it is a bijection mod 2**64


def span_character_repetition(
    text: str, starts: np.ndarray, lengths: np.ndarray, n: int, codes: np.ndarray | None = None
) -> np.ndarray:
    """``character_repetition_ratio`` of every span ``text[start : start + length]`` at once.

    One hash pass over ``text`` and one sort. With several spans the span index replaces the
    low b bits of each key (2**b spans), after the hash is multiplied by an odd constant: the
    hashes of two n-grams that differ by one in the character of weight 1 differ by one, and
    the multiplication moves such differences into the kept high bits. N-grams of different
    spans never share a key, and each repeated key names its span. ``codes``: ``text_codes``
    of ``text``, if the caller has it.
    """
    count = len(starts)
    totals = np.maximum(lengths - (n - 1), 0)
    ratios = np.zeros(count, dtype=np.float64)
    total = int(totals.sum())
    if total == 0:
        return ratios
    hashes = char_ngram_hashes(text, n, codes)
    low_bits = (1 << (count - 1).bit_length()) - 1
    if count == 1:
        keys = hashes[int(starts[0]) : int(starts[0]) + total]
    else:
        offsets = totals.cumsum() - totals
        positions = (starts - offsets).repeat(totals)
        positions += np.arange(total)
        keys = hashes.take(positions)
        keys *= _SPREAD  # array arithmetic wraps mod 2**64 without a warning
        keys &= np.uint64(((1 << 64) - 1) ^ low_bits)  # clear the low bits
        keys |= np.arange(count, dtype=np.uint64).repeat(totals)
    keys.sort()
    # Repeated n-grams are few: work on the sorted positions equal to their predecessor.
    dup = (keys[1:] == keys[:-1]).nonzero()[0]
    if len(dup) == 0:
        return ratios
    dup_span = (keys.take(dup) & np.uint64(low_bits)).astype(np.int64)
    new_run = np.empty(len(dup), dtype=bool)
    new_run[0] = True
    np.not_equal(dup[1:], dup[:-1] + 1, out=new_run[1:])
    extra = np.bincount(dup_span, minlength=count)  # sum of (count - 1) over repeated n-grams
    runs = np.bincount(dup_span[new_run], minlength=count)  # repeated n-grams
    distinct = totals - extra
    # OBELICS sums the k = min(isqrt(distinct), runs) largest counts: all runs, unless
    # runs > isqrt(distinct), i.e. runs² > distinct.
    sums = extra + runs
    partial = distinct < runs * runs
    if partial.any():
        sums = _top_k_sums(dup_span, new_run, distinct, runs, count)
    np.divide(sums, totals, out=ratios, where=totals > 0)
    return ratios


def _top_k_sums(
    dup_span: np.ndarray, new_run: np.ndarray, distinct: np.ndarray, runs: np.ndarray, count: int
) -> np.ndarray:
    """Per span, the sum of its k = min(isqrt(distinct), runs) largest repeated-n-gram counts
    (``span_character_repetition``'s runs, any k)."""
    rep_counts = np.bincount(new_run.cumsum() - 1) + 1
    rep_span = dup_span[new_run]
    top_k = np.minimum(_isqrt(distinct), runs)
    # Rank each repeated run within its span by descending count; sum the top k counts.
    order = np.argsort(rep_span * (int(rep_counts.max()) + 1) - rep_counts, kind="stable")
    rep_span, rep_counts = rep_span[order], rep_counts[order]
    rank = np.arange(len(rep_span)) - rep_span.searchsorted(rep_span)
    chosen = rank < top_k[rep_span]
    return np.bincount(rep_span[chosen], weights=rep_counts[chosen], minlength=count).astype(
        np.int64
    )


def text_character_repetition(text: str, n: int, codes: np.ndarray | None = None) -> float:
    """``character_repetition_ratio`` of one whole text (``span_character_repetition`` with one
    span, without the span bookkeeping)."""
    total = len(text) - n + 1
    if total <= 0:
        return 0.0
    keys = char_ngram_hashes(text, n, codes)
    keys.sort()
    dup = (keys[1:] == keys[:-1]).nonzero()[0]
    if len(dup) == 0:
        return 0.0
    new_run = np.empty(len(dup), dtype=bool)
    new_run[0] = True
    np.not_equal(dup[1:], dup[:-1] + 1, out=new_run[1:])
    runs = int(np.count_nonzero(new_run))
    distinct = total - len(dup)
    if distinct >= runs * runs:  # k = runs: every repeated n-gram counts
        return (len(dup) + runs) / total
    rep_counts = np.bincount(new_run.cumsum() - 1) + 1
    rep_counts.sort()
    return int(rep_counts[runs - math.isqrt(distinct) :].sum()) / total


def dense_rank(values: np.ndarray) -> tuple[np.ndarray, int]:
    """(rank of each value among the distinct values, number of distinct values)."""
    order = values.argsort()
    ordered = values[order]
    new = np.empty(len(values), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[order] = new.cumsum() - 1
    return ranks, int(new.sum())


def ngram_codes(ids: np.ndarray, space: int, n: int) -> tuple[np.ndarray, int]:
    """Exact integer code of the word n-gram at each start, and a bound on the codes.

    Word ids are < ``space``; codes pack them in base ``space`` while that fits in 63 bits,
    else pack the dense rank of the (n-1)-gram with the last word id.
    """
    total = len(ids) - n + 1
    if total <= 0:
        return np.zeros(0, dtype=np.int64), 1
    if space**n < 2**63:
        codes = ids[:total].copy()
        for j in range(1, n):
            codes *= space
            codes += ids[j : total + j]
        return codes, space**n
    previous, _ = ngram_codes(ids, space, n - 1)
    ranks, distinct = dense_rank(previous)
    return ranks[:total] * space + ids[n - 1 :], distinct * space


def piece_word_repetition(
    ids: np.ndarray, space: int, word_piece: np.ndarray, number_words: np.ndarray, n: int
) -> np.ndarray:
    """``word_repetition_ratio`` of every piece at once (n-grams never cross pieces)."""
    count = len(number_words)
    totals = np.maximum(number_words - n + 1, 0)
    ratios = np.zeros(count, dtype=np.float64)
    if not totals.any():
        return ratios
    codes, bound = ngram_codes(ids, space, n)
    inside = word_piece[: len(codes)] == word_piece[n - 1 :]
    codes, piece = codes[inside], word_piece[: len(codes)][inside]
    if bound * count >= 2**63:
        codes, bound = dense_rank(codes)
    keys = codes * count + piece
    keys.sort()
    same = keys[1:] == keys[:-1]
    repeated = np.zeros(len(keys), dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    counts = np.bincount(keys[repeated] % count, minlength=count)
    np.divide(counts, totals, out=ratios, where=totals > 0)
    return ratios


_NO_STARTS = np.zeros(0, dtype=np.int64)


class _Level:
    """Word n-grams of one n: the starts that hold a repeated n-gram, and the top count."""

    __slots__ = ("starts", "keys", "bound", "repeated", "repeated_keys", "runs", "best",
                 "best_chars")  # fmt: skip

    def __init__(self, starts: np.ndarray | None, keys: np.ndarray, bound: int):
        self.starts = starts  # the candidate starts, sorted (None: every start)
        self.keys, self.bound = keys, bound  # exact code of each candidate's n-gram, < bound
        self.repeated = self.repeated_keys = _NO_STARTS  # sorted starts of repeated n-grams
        self.runs: tuple | None = None  # (order, dup) of the count, until ``best`` is computed
        self.best, self.best_chars = int(len(keys) > 0), 0


class NgramCounts:
    """Word n-gram statistics of one document's word ids, n = 1, 2, 3 … built incrementally.

    ``ids`` are exact word ids below ``space``; ``lengths`` the words' characters. An n-gram
    can only occur twice if both its (n-1)-grams do, so level n only codes and sorts the starts
    whose two (n-1)-grams repeat: after n = 2 that is a small part of the text. Codes are exact:
    the (n-1)-gram code (or its dense rank among the candidates, when packing would pass 63
    bits) times ``space`` plus the last word id.
    """

    def __init__(self, ids: np.ndarray, space: int, lengths: np.ndarray):
        self.ids, self.space, self.lengths = ids, space, lengths
        self._levels: dict[int, _Level] = {}
        self._cumulative: np.ndarray | None = None

    def level(self, n: int) -> _Level:
        level = self._levels.get(n)
        if level is None:
            level = self._levels[n] = self._build(n)
        return level

    def _build(self, n: int) -> _Level:
        ids, space = self.ids, self.space
        if len(ids) < n:
            return _Level(_NO_STARTS, _NO_STARTS, 1)
        if n == 1:
            level = _Level(None, ids, space)
        elif n == 2:
            keys = ids[:-1] * space
            keys += ids[1:]
            level = _Level(None, keys, space * space)
        else:
            previous = self.level(n - 1)
            repeated = previous.repeated
            follows = repeated[1:] == repeated[:-1] + 1  # starts s and s + 1 both repeated
            starts = repeated[:-1][follows]
            if len(starts) < 2:  # an n-gram needs two starts to repeat
                return _Level(starts, _NO_STARTS, 1)
            keys, bound = previous.repeated_keys[:-1][follows], previous.bound
            if bound * space >= 2**63:
                keys, bound = dense_rank(keys)
            keys = keys * space
            keys += ids.take(starts + (n - 1))
            level = _Level(starts, keys, bound * space)
        self._count(level)
        return level

    @staticmethod
    def _count(level: _Level) -> None:
        """Find the repeated n-grams: sort the codes, keep the runs of equal ones."""
        keys = level.keys
        order = keys.argsort()
        ordered = keys.take(order)
        same = ordered[1:] == ordered[:-1]
        dup = same.nonzero()[0]
        if len(dup) == 0:
            return
        in_run = np.zeros(len(ordered), dtype=bool)
        in_run[1:] = same
        in_run[:-1] |= same
        members = order[in_run]
        members.sort()
        level.repeated = members if level.starts is None else level.starts.take(members)
        level.repeated_keys = keys.take(members)
        level.runs = (order, dup)  # the top count only when asked (``_best``)

    def _best(self, level: _Level, n: int) -> _Level:
        """Set ``level.best`` / ``best_chars`` from the runs ``_count`` left (once)."""
        if level.runs is None:
            return level
        order, dup = level.runs
        level.runs = None
        new_run = np.empty(len(dup), dtype=bool)
        new_run[0] = True
        np.not_equal(dup[1:], dup[:-1] + 1, out=new_run[1:])
        run_starts = new_run.nonzero()[0]
        counts = np.empty_like(run_starts)  # each run: count - 1 equal neighbours
        counts[:-1] = run_starts[1:]
        counts[-1] = len(dup)
        counts -= run_starts
        best = int(counts.max())
        level.best = best + 1
        # Every occurrence of an n-gram has the same characters: one start per best run.
        best_starts = order.take(dup.take(run_starts[counts == best]))
        if level.starts is not None:
            best_starts = level.starts.take(best_starts)
        if self._cumulative is None:
            self._cumulative = np.zeros(len(self.lengths) + 1, dtype=np.int64)
            self.lengths.cumsum(out=self._cumulative[1:])
        chars = self._cumulative.take(best_starts + n)
        chars -= self._cumulative.take(best_starts)
        level.best_chars = int(chars.max())
        return level

    def repetition_ratio(self, n: int) -> float:
        """``word_repetition_ratio``: occurrences of repeated n-grams / all n-grams."""
        total = len(self.ids) - n + 1
        if total <= 0:
            return 0.0
        return len(self.level(n).repeated) / total

    def top_ngram_char_fraction(self, n: int, word_chars: int) -> float:
        """Gopher top n-gram character fraction (``top_ngram_char_fraction``)."""
        if word_chars == 0 or len(self.ids) < n:
            return 0.0
        level = self._best(self.level(n), n)
        return 0.0 if level.best < 2 else level.best * level.best_chars / word_chars

    def duplicate_ngram_char_fractions(self, word_chars: int) -> dict[int, float]:
        """Gopher duplicate n-gram character fractions, n = 5…10 (stops at the first n with no
        repeated n-gram, as ``duplicate_ngram_char_fractions``)."""
        result = dict.fromkeys(GOPHER_DUP_NGRAMS, 0.0)
        size = len(self.ids)
        if word_chars == 0:
            return result
        for n in GOPHER_DUP_NGRAMS:
            if size < n:
                break
            starts = self.level(n).repeated
            if len(starts) == 0:
                break
            edges = np.bincount(starts, minlength=size + 1)
            edges -= np.bincount(starts + n, minlength=size + 1)
            covered = edges[:size].cumsum() > 0
            result[n] = int(self.lengths[covered].sum()) / word_chars
        return result


def gopher_text_scores(text: str) -> dict[str, float]:
    """The four Gopher duplicate line / paragraph scores of one text."""
    stripped = text.strip()
    # Without a run of three newlines every separator is exactly "\n\n": str.split is equal.
    if "\n\n\n" in stripped:
        paragraphs = _PARAGRAPH_SPLIT.split(stripped)
    else:
        paragraphs = stripped.split("\n\n")
    para_frac, para_char_frac = duplicate_fractions(paragraphs, len(text))
    if (
        len(stripped) == len(text)
        and "\n\n\n" not in text
        and text.count("\n") == 2 * (len(paragraphs) - 1)
    ):  # no newline but the "\n\n" separators: the non-empty lines are the paragraphs
        line_frac, line_char_frac = para_frac, para_char_frac
        return _gopher_text_dict(para_frac, para_char_frac, line_frac, line_char_frac)
    # Lines: the non-empty parts of ``text.split("\n")`` (= of ``_LINE_SPLIT``), without a copy.
    lines = text.split("\n")
    distinct = set(lines)
    empty = lines.count("")
    count = len(lines) - empty
    if count == 0 or not text:
        line_frac = line_char_frac = 0.0
    else:
        dup_count = count - (len(distinct) - ("" in distinct))
        line_frac = dup_count / count
        line_char_frac = (sum(map(len, lines)) - sum(map(len, distinct))) / len(text)
    return _gopher_text_dict(para_frac, para_char_frac, line_frac, line_char_frac)


def _gopher_text_dict(
    para_frac: float, para_char_frac: float, line_frac: float, line_char_frac: float
) -> dict[str, float]:
    return {
        "gopher_duplicate_paragraph_fraction": para_frac,
        "gopher_duplicate_paragraph_char_fraction": para_char_frac,
        "gopher_duplicate_line_fraction": line_frac,
        "gopher_duplicate_line_char_fraction": line_char_frac,
    }


_TOP_KEYS = {n: f"gopher_top_{n}gram_char_fraction" for n in GOPHER_TOP_NGRAMS}
_DUPLICATE_KEYS = {n: f"gopher_duplicate_{n}gram_char_fraction" for n in GOPHER_DUP_NGRAMS}


def gopher_batch_scores(text: str, grams: NgramCounts) -> dict[str, float]:
    """``gopher_scores`` from a document's ``NgramCounts`` (same keys, same values)."""
    word_chars = int(grams.lengths.sum())
    scores = gopher_text_scores(text)
    for n, key in _TOP_KEYS.items():
        scores[key] = grams.top_ngram_char_fraction(n, word_chars)
    for n, value in grams.duplicate_ngram_char_fractions(word_chars).items():
        scores[_DUPLICATE_KEYS[n]] = value
    return scores

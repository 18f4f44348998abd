"""Text-filter scores: every paragraph of a document in one numpy pass, and the document's.

Scores once, thresholds late: scores are plain dicts (``filter_scores`` of a document, the
``scores`` of each paragraph in its trace) and ``rules.RuleSet`` decides from them, so
``refilter`` re-applies new thresholds to stored scores. The score keys are the ``score`` names
of ``rules.RULES`` plus ``punctuation_tokens`` (the bypass needs it) and, at document level,
``language``.

A score that cannot be computed (no stop-word or flagged-word list for the document's language,
no common-word list, no quality model) is ``None``. Flagged words count the words inside
occurrences of the list's entries, which may be several words long (``wordlists``). The
tokenisation is ``normalization.Pieces`` (one vectorised pass); ``tests/text_oracles.py`` holds
the obvious one-text implementations the tests compare against, value and type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from webweave.filters.text.config import DocumentThresholds, LevelThresholds
from webweave.filters.text.normalization import Pieces
from webweave.filters.text.repetition import (
    NgramCounts,
    gopher_batch_scores,
    piece_word_repetition,
    span_character_repetition,
    text_character_repetition,
)
from webweave.filters.text.wordlists import WordList


@dataclass(frozen=True)
class WordLists:
    """The lists the word-ratio scores use; each may be None (score None, rule skipped)."""

    stopwords: WordList | None = None
    flagged_words: WordList | None = None
    common_words: WordList | None = None


def _for(wordlist: WordList | None, language: str | None) -> frozenset[str] | None:
    return None if wordlist is None else wordlist.for_language(language)


def _list_counters(
    pieces: Pieces, lists: WordLists, language: str | None
) -> list[tuple[frozenset[str] | None, Callable[[frozenset[str]], np.ndarray]]]:
    """(the language's list or None, how to count its words per piece) for the stop, flagged
    and common words, in that order: flagged-word entries may be phrases (``wordlists``)."""
    return [
        (_for(lists.stopwords, language), pieces.list_counts),
        (_for(lists.flagged_words, language), pieces.phrase_counts),
        (_for(lists.common_words, language), pieces.list_counts),
    ]


# The paragraph score keys, in the order every scores dict (and so the stored trace) has them.
PARAGRAPH_SCORE_KEYS = (
    "number_words",
    "character_repetition_ratio",
    "word_repetition_ratio",
    "special_character_ratio",
    "stopword_ratio",
    "flagged_word_ratio",
    "punctuation_ratio",
    "punctuation_tokens",
    "common_word_ratio",
)


def _ratios(numerators: np.ndarray, denominators: np.ndarray) -> np.ndarray:
    """numerator / denominator elementwise (int / int, correctly rounded), 0.0 where it is 0."""
    out = np.zeros(numerators.shape, dtype=np.float64)
    np.divide(numerators, denominators, out=out, where=denominators > 0)
    return out


def paragraph_score_columns(
    pieces: Pieces, lists: WordLists, language: str | None, t: LevelThresholds
) -> dict[str, np.ndarray | None]:
    """``common_scores`` of every piece as columns, one per ``PARAGRAPH_SCORE_KEYS`` key, from
    one ``Pieces`` analysis: the same values as numpy int64 / float64 (None: no word list, the
    score is None for every piece)."""
    number_words = pieces.number_words
    tokens = pieces.punctuation + pieces.word_tokens
    # Every count ratio in one division: special characters, punctuation, then the lists.
    numerators, denominators = [pieces.special, pieces.punctuation], [pieces.lengths, tokens]
    listed = []
    for words, count in _list_counters(pieces, lists, language):
        listed.append(words is not None)
        if words is not None:
            numerators.append(count(words))
            denominators.append(number_words)
    ratios = iter(_ratios(np.array(numerators), np.array(denominators)))
    special, punctuation = next(ratios), next(ratios)
    stop, flagged, common = (next(ratios) if present else None for present in listed)
    return {
        "number_words": number_words,
        "character_repetition_ratio": span_character_repetition(
            pieces.text, pieces.starts, pieces.lengths, t.character_repetition_length,
            pieces.codes),
        "word_repetition_ratio": piece_word_repetition(
            pieces.ids, pieces.id_space, pieces.word_piece, number_words,
            t.word_repetition_length),
        "special_character_ratio": special,
        "stopword_ratio": stop,
        "flagged_word_ratio": flagged,
        "punctuation_ratio": punctuation,
        "punctuation_tokens": tokens,
        "common_word_ratio": common,
    }  # fmt: skip


def paragraph_scores(
    pieces: Pieces, lists: WordLists, language: str | None, t: LevelThresholds
) -> list[dict[str, Any]]:
    """One scores dict per piece (``PARAGRAPH_SCORE_KEYS``, Python int / float / None), built
    straight from the score columns in one comprehension: per-paragraph Python steps cost
    about as much as the numpy scoring."""
    columns = paragraph_score_columns(pieces, lists, language, t)
    count = len(columns["number_words"])
    values = [
        [None] * count if column is None else column.tolist()
        for column in (columns[key] for key in PARAGRAPH_SCORE_KEYS)
    ]
    return [
        {"number_words": a, "character_repetition_ratio": b, "word_repetition_ratio": c,
         "special_character_ratio": d, "stopword_ratio": e, "flagged_word_ratio": f,
         "punctuation_ratio": g, "punctuation_tokens": h, "common_word_ratio": i}
        for a, b, c, d, e, f, g, h, i in zip(*values, strict=True)
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Document level.


def document_scores(
    text: str,
    lists: WordLists,
    language: str | None,
    language_score: float | None,
    t: DocumentThresholds,
    number_images: int,
    quality: Callable[[str], float] | None = None,
    pieces: Pieces | None = None,
    kept: np.ndarray | None = None,
) -> dict[str, Any]:
    """Every doc-level score of the joined text (OBELICS rows, Gopher, language, quality).

    ``pieces``/``kept``: an analysis whose ``kept`` pieces, joined with "\\n\\n", are exactly
    ``text`` (``ParagraphFilter`` leaves one for its row); without it the text is analysed here.
    Either way the scores equal the one-text reference (``tests/text_oracles.py``).
    """
    if pieces is None:
        pieces, kept = Pieces(text.split("\n\n"), text), None
    scores = _document_common_scores(text, pieces, kept, lists, language, t)
    scores["number_images"] = number_images
    scores["language"] = language
    scores["language_score"] = language_score
    scores["quality_score"] = quality(text) if quality is not None else None
    return scores


def _document_common_scores(
    text: str,
    pieces: Pieces,
    kept: np.ndarray | None,
    lists: WordLists,
    language: str | None,
    t: DocumentThresholds,
) -> dict[str, Any]:
    """The shared and Gopher scores of the join of the ``kept`` pieces (all: None).

    Tokens never span a "\\n\\n" join, so the text's words are the pieces' words in order
    and its counts are sums over the pieces; each join adds two special characters ("\\n").
    """
    if kept is None:
        kept = np.arange(len(pieces.pieces))
        ids, lengths = pieces.ids, pieces.word_lengths
    else:
        words_kept = np.zeros(len(pieces.pieces), dtype=bool)
        words_kept[kept] = True
        words_kept = words_kept.take(pieces.word_piece)
        ids, lengths = pieces.ids[words_kept], pieces.word_lengths[words_kept]
    number_words = len(ids)
    joins = max(len(kept) - 1, 0)
    # The kept pieces' counts, all summed at once: special, punctuation, [\w']+ tokens, then
    # the words of each list there is.
    counters = _list_counters(pieces, lists, language)
    word_lists = [words for words, _ in counters]
    counts = [pieces.special, pieces.punctuation, pieces.word_tokens]
    counts += [count(words) for words, count in counters if words is not None]
    sums = iter(np.array(counts).take(kept, axis=1).sum(axis=1).tolist())
    special, punct = next(sums) + 2 * joins, next(sums)
    tokens = punct + next(sums)
    stop, flagged, common = (
        None if words is None else (next(sums) / number_words if number_words else 0.0)
        for words in word_lists
    )
    grams = NgramCounts(ids, pieces.id_space, lengths)
    scores = {
        "number_words": number_words,
        "character_repetition_ratio": text_character_repetition(
            text, t.character_repetition_length),
        "word_repetition_ratio": grams.repetition_ratio(t.word_repetition_length),
        "special_character_ratio": special / len(text) if text else 0.0,
        "stopword_ratio": stop,
        "flagged_word_ratio": flagged,
        "punctuation_ratio": punct / tokens if tokens else 0.0,
        "punctuation_tokens": tokens,
        "common_word_ratio": common,
    }  # fmt: skip
    scores.update(gopher_batch_scores(text, grams))
    return scores

"""OBELICS paragraph- and document-level text filters, Gopher repetition rules, language rule.

Scores once, thresholds late: every score is computed into a plain dict (``filter_scores``) and a
pure ``first_failure(scores, rules)`` decides, so ``refilter`` can re-apply new thresholds to
stored scores. Rules run in OBELICS order; the first failing rule names the drop.

Reasons (stable snake_case; paragraph and document level share them):
``number_images``, ``word_count``, ``character_repetition``, ``word_repetition``,
``special_characters``, ``stopwords``, ``flagged_words``, ``punctuation``, ``common_words``,
``language``, ``gopher_duplicate_paragraphs``, ``gopher_duplicate_paragraph_chars``,
``gopher_duplicate_lines``, ``gopher_duplicate_line_chars``, ``gopher_top_{2,3,4}gram``,
``gopher_duplicate_{5..10}gram``.

A score that cannot be computed (no stop-word list for the document's language, no common-word
list) is ``None`` and its rule passes. Language is identified once, on the extracted text (its
first ``language_id_max_chars`` characters) before paragraph filtering (OBELICS: after), so
that paragraph filters can use the document's language for their word lists with a single
model call, and so that refilter never re-runs it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from functools import lru_cache
from itertools import repeat
from typing import Any

import numpy as np

from webweave.filters.language_id import to_lid176_code
from webweave.filters.repetition import (
    GOPHER_DUP_NGRAMS,
    GOPHER_TOP_NGRAMS,
    NgramCounts,
    character_repetition_ratio,
    gopher_batch_scores,
    gopher_scores,
    piece_word_repetition,
    span_character_repetition,
    text_character_repetition,
    word_repetition_ratio,
)
from webweave.filters.text_normalization import (
    END_OF_DOCUMENT_TOKEN,
    PUNCTUATION,
    Pieces,
    TextStats,
    standardize_whitespace,
)
from webweave.filters.wordlists import WordList

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


# ---------------------------------------------------------------------------------------------
# Rules and thresholds.


@dataclass(frozen=True)
class Rule:
    """``reason`` fails when ``scores[key]`` is below ``low`` or above ``high`` (None: open)."""

    reason: str
    key: str
    low: float | None = None
    high: float | None = None

    def fails(self, scores: dict[str, Any]) -> bool:
        value = scores.get(self.key)
        if value is None:
            return False
        return (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        )


def first_failure(scores: dict[str, Any], rules: Iterable[Rule]) -> str | None:
    """The reason of the first failing rule, or None when all pass."""
    for rule in rules:
        if rule.fails(scores):
            return rule.reason
    return None


def _from_config(cls, section: dict | None):
    """Build a frozen thresholds dataclass from a config section; unknown keys are errors."""
    section = dict(section or {})
    names = {f.name for f in fields(cls)}
    unknown = set(section) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} keys: {sorted(unknown)}")
    for key, value in section.items():
        if isinstance(value, list):
            section[key] = tuple(value)
    return cls(**section)


@dataclass(frozen=True)
class ParagraphThresholds:
    """OBELICS node-level cutoffs (``config_filter_web_documents.yaml``), each with a switch."""

    check_number_words: bool = True
    number_words_min: int = 4
    number_words_max: int = 1000
    check_character_repetition: bool = True
    character_repetition_length: int = 10
    character_repetition_max: float = 0.1
    check_word_repetition: bool = True
    word_repetition_length: int = 5
    word_repetition_max: float = 0.1
    check_special_characters: bool = True
    special_character_ratio_max: float = 0.3
    check_stopwords: bool = True
    stopword_ratio_min: float = 0.3
    check_flagged_words: bool = True
    flagged_word_ratio_max: float = 0.01
    check_punctuation: bool = True
    punctuation_ratio_min: float = 0.001
    punctuation_min_tokens: int = 12
    check_common_words: bool = False
    common_word_ratio_min: float = 0.8

    from_config = classmethod(_from_config)

    def rules(self) -> list[Rule]:
        return _common_rules(self)


@dataclass(frozen=True)
class DocumentThresholds:
    """OBELICS doc-level cutoffs plus Gopher repetition and the quality classifier."""

    check_number_images: bool = False  # OBELICS checks 1–30 after image download
    number_images_min: int = 1
    number_images_max: int = 30
    check_number_words: bool = True
    number_words_min: int = 10
    number_words_max: int = 2000
    check_character_repetition: bool = True
    character_repetition_length: int = 10
    character_repetition_max: float = 0.1
    check_word_repetition: bool = True
    word_repetition_length: int = 5
    word_repetition_max: float = 0.2
    check_special_characters: bool = True
    special_character_ratio_max: float = 0.275
    check_stopwords: bool = True
    stopword_ratio_min: float = 0.35
    check_flagged_words: bool = True
    flagged_word_ratio_max: float = 0.01
    check_punctuation: bool = True
    punctuation_ratio_min: float = 0.03
    punctuation_min_tokens: int = 0  # no bypass at document level
    check_common_words: bool = False
    common_word_ratio_min: float = 0.9
    check_language: bool = True
    languages: tuple[str, ...] = ("en",)
    language_score_min: float = 0.8
    check_gopher_repetition: bool = True
    gopher_duplicate_paragraph_fraction_max: float = 0.30
    gopher_duplicate_paragraph_char_fraction_max: float = 0.20
    gopher_duplicate_line_fraction_max: float = 0.30
    gopher_duplicate_line_char_fraction_max: float = 0.20
    gopher_top_ngram_char_fraction_max: tuple[float, ...] = (0.20, 0.18, 0.16)  # n = 2, 3, 4
    gopher_duplicate_ngram_char_fraction_max: tuple[float, ...] = (
        0.15,
        0.14,
        0.13,
        0.12,
        0.11,
        0.10,
    )  # n = 5 … 10
    check_quality: bool = True  # skipped when no quality model is configured
    quality_score_min: float = 0.5

    from_config = classmethod(_from_config)

    def __post_init__(self) -> None:
        """Spell ``languages`` as lid.176 does ("eng" → "en", "nb" → "no"): see language_id."""
        object.__setattr__(self, "languages", tuple(map(to_lid176_code, self.languages)))

    def rules(self) -> list[Rule]:
        rules = []
        if self.check_number_images:
            rules.append(
                Rule(
                    "number_images", "number_images", self.number_images_min, self.number_images_max
                )
            )
        rules += _common_rules(self)
        if self.check_language:
            rules.append(Rule("language", "language_ok", low=1))
        if self.check_gopher_repetition:
            rules += self._gopher_rules()
        if self.check_quality:
            rules.append(Rule("quality", "quality_score", low=self.quality_score_min))
        return rules

    def _gopher_rules(self) -> list[Rule]:
        rules = [
            Rule("gopher_duplicate_paragraphs", "gopher_duplicate_paragraph_fraction",
                 high=self.gopher_duplicate_paragraph_fraction_max),
            Rule("gopher_duplicate_paragraph_chars", "gopher_duplicate_paragraph_char_fraction",
                 high=self.gopher_duplicate_paragraph_char_fraction_max),
            Rule("gopher_duplicate_lines", "gopher_duplicate_line_fraction",
                 high=self.gopher_duplicate_line_fraction_max),
            Rule("gopher_duplicate_line_chars", "gopher_duplicate_line_char_fraction",
                 high=self.gopher_duplicate_line_char_fraction_max),
        ]  # fmt: skip
        for n, cut in zip(GOPHER_TOP_NGRAMS, self.gopher_top_ngram_char_fraction_max, strict=True):
            rules.append(Rule(f"gopher_top_{n}gram", f"gopher_top_{n}gram_char_fraction", high=cut))
        cuts = self.gopher_duplicate_ngram_char_fraction_max
        for n, cut in zip(GOPHER_DUP_NGRAMS, cuts, strict=True):
            key = f"gopher_duplicate_{n}gram_char_fraction"
            rules.append(Rule(f"gopher_duplicate_{n}gram", key, high=cut))
        return rules

    def language_ok(self, language: str | None, score: float | None) -> int:
        """1 when the language is accepted with enough confidence, else 0.

        A row without a language (language ID never ran on it, or its text was empty) fails:
        the rule exists to keep only documents known to be in ``languages``, so "unknown" can
        not pass it the way a missing word list lets a word-ratio rule pass.
        """
        if language is None or score is None:
            return 0
        return int(language in self.languages and score >= self.language_score_min)


def _common_rules(t: ParagraphThresholds | DocumentThresholds) -> list[Rule]:
    """The rows both levels share, in OBELICS order."""
    rules = []
    if t.check_number_words:
        rules.append(Rule("word_count", "number_words", t.number_words_min, t.number_words_max))
    if t.check_character_repetition:
        rules.append(Rule("character_repetition", "character_repetition_ratio",
                          high=t.character_repetition_max))  # fmt: skip
    if t.check_word_repetition:
        rules.append(Rule("word_repetition", "word_repetition_ratio", high=t.word_repetition_max))
    if t.check_special_characters:
        rules.append(Rule("special_characters", "special_character_ratio",
                          high=t.special_character_ratio_max))  # fmt: skip
    if t.check_stopwords:
        rules.append(Rule("stopwords", "stopword_ratio", low=t.stopword_ratio_min))
    if t.check_flagged_words:
        rules.append(Rule("flagged_words", "flagged_word_ratio", high=t.flagged_word_ratio_max))
    if t.check_punctuation:
        rules.append(Rule("punctuation", "punctuation_ratio_checked", low=t.punctuation_ratio_min))
    if t.check_common_words:
        rules.append(Rule("common_words", "common_word_ratio", low=t.common_word_ratio_min))
    return rules


# ---------------------------------------------------------------------------------------------
# Scoring.


@dataclass(frozen=True)
class WordLists:
    """The lists the word-ratio scores use; each may be None (score None, rule skipped)."""

    stopwords: WordList | None = None
    flagged_words: WordList | None = None
    common_words: WordList | None = None


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
        "flagged_word_ratio": word_ratio(stats, _for(lists.flagged_words, language)),
        "punctuation_ratio": punct / tokens if tokens else 0.0,
        "punctuation_tokens": tokens,
        "common_word_ratio": word_ratio(stats, _for(lists.common_words, language)),
        "_stats": stats,
    }


def _for(wordlist: WordList | None, language: str | None) -> frozenset[str] | None:
    return None if wordlist is None else wordlist.for_language(language)


def with_punctuation_bypass(scores: dict[str, Any], min_tokens: int) -> dict[str, Any]:
    """OBELICS: below ``min_tokens`` (but > 0) tokens the punctuation ratio counts as 1.0."""
    tokens = scores["punctuation_tokens"]
    checked = 1.0 if 0 < tokens < min_tokens else scores["punctuation_ratio"]
    return {**scores, "punctuation_ratio_checked": checked}


# ---------------------------------------------------------------------------------------------
# Paragraph level.


@dataclass
class ParagraphRecord:
    """One paragraph of one text node: where it was, its scores, and why it was removed."""

    position: int  # index in the document's original texts/images lists
    index: int  # paragraph index within the node (after whitespace standardisation)
    length: int  # characters, to cut kept paragraphs back out of the kept node text
    scores: dict[str, Any]
    reason: str | None = None  # None: kept
    text: str | None = None  # kept only for removed paragraphs


def split_paragraphs(text: str) -> list[str]:
    """OBELICS: standardise whitespace, split the node on "\\n\\n"."""
    return standardize_whitespace(text).split("\n\n")


def score_paragraphs(
    texts: list[str | None], lists: WordLists, language: str | None, t: ParagraphThresholds
) -> list[tuple[ParagraphRecord, str]]:
    """Score every paragraph of every text node; returns (record, paragraph text) pairs."""
    return score_paragraph_batch(texts, lists, language, t)[0]


def score_paragraph_batch(
    texts: list[str | None], lists: WordLists, language: str | None, t: ParagraphThresholds
) -> tuple[list[tuple[ParagraphRecord, str]], Pieces]:
    """``score_paragraphs`` and the ``Pieces`` analysis of all paragraphs (one numpy pass)."""
    where: list[tuple[int, int]] = []
    paragraphs: list[str] = []
    for position, node in enumerate(texts):
        if node is not None:
            split = split_paragraphs(node)
            where += zip(repeat(position), range(len(split)))
            paragraphs += split
    pieces = Pieces(paragraphs)
    scores = piece_scores(pieces, lists, language, t.character_repetition_length,
                          t.word_repetition_length)  # fmt: skip
    pairs = [
        (ParagraphRecord(position, index, len(paragraph), paragraph_scores), paragraph)
        for (position, index), paragraph, paragraph_scores in zip(
            where, paragraphs, scores, strict=True
        )
    ]
    return pairs, pieces


def _ratios(numerators: np.ndarray, denominators: np.ndarray) -> list[float]:
    """numerator / denominator per piece (int / int, correctly rounded), 0.0 where it is 0."""
    out = np.zeros(len(numerators), dtype=np.float64)
    np.divide(numerators, denominators, out=out, where=denominators > 0)
    return out.tolist()


def piece_scores(
    pieces: Pieces,
    lists: WordLists,
    language: str | None,
    character_repetition_length: int,
    word_repetition_length: int,
) -> list[dict[str, Any]]:
    """``common_scores`` of every piece, from one ``Pieces`` analysis (same keys and values)."""
    count = len(pieces.pieces)
    number_words = pieces.number_words
    tokens = pieces.punctuation + pieces.word_tokens

    def list_ratio(wordlist: WordList | None) -> list[float | None]:
        words = _for(wordlist, language)
        if words is None:
            return [None] * count
        return _ratios(pieces.list_counts(words), number_words)

    columns = (
        number_words.tolist(),
        span_character_repetition(
            pieces.text, pieces.starts, pieces.lengths, character_repetition_length
        ).tolist(),  # fmt: skip
        piece_word_repetition(
            pieces.ids, pieces.id_space, pieces.word_piece, number_words, word_repetition_length
        ).tolist(),  # fmt: skip
        _ratios(pieces.special, pieces.lengths),
        list_ratio(lists.stopwords),
        list_ratio(lists.flagged_words),
        _ratios(pieces.punctuation, tokens),
        tokens.tolist(),
        list_ratio(lists.common_words),
    )
    return [
        {"number_words": a, "character_repetition_ratio": b, "word_repetition_ratio": c,
         "special_character_ratio": d, "stopword_ratio": e, "flagged_word_ratio": f,
         "punctuation_ratio": g, "punctuation_tokens": h, "common_word_ratio": i}
        for a, b, c, d, e, f, g, h, i in zip(*columns, strict=True)
    ]  # fmt: skip


@lru_cache(maxsize=64)
def _compiled_rules(thresholds: ParagraphThresholds | DocumentThresholds) -> tuple:
    """``thresholds.rules()`` as (reason, key, low, high) tuples, built once per thresholds."""
    return tuple((rule.reason, rule.key, rule.low, rule.high) for rule in thresholds.rules())


def _first_failing(scores: dict[str, Any], rules: tuple, min_tokens: int, language_ok=None):
    """``first_failure(with_punctuation_bypass(scores, min_tokens) | language_ok, rules)``
    without copying ``scores``."""
    for reason, key, low, high in rules:
        if key == "punctuation_ratio_checked":
            tokens = scores["punctuation_tokens"]
            value = 1.0 if 0 < tokens < min_tokens else scores["punctuation_ratio"]
        elif key == "language_ok":
            value = language_ok
        else:
            value = scores.get(key)
        if value is not None and (
            (low is not None and value < low) or (high is not None and value > high)
        ):
            return reason
    return None


def decide_paragraphs(records: list[ParagraphRecord], thresholds: ParagraphThresholds) -> Counter:
    """Set ``reason`` on each record from its stored scores; returns removals per reason."""
    rules, min_tokens = _compiled_rules(thresholds), thresholds.punctuation_min_tokens
    removed: Counter = Counter()
    for record in records:
        record.reason = None
        if record.scores.get("is_end_of_document_token"):
            continue
        record.reason = _first_failing(record.scores, rules, min_tokens)
        if record.reason is not None:
            removed[record.reason] += 1
    return removed


@dataclass
class FilteredNodes:
    """A document's lists after paragraph filtering, with the trace refilter needs."""

    texts: list[str | None]
    images: list[Any]
    image_metadata: list[Any]
    kept_positions: list[int]  # original position of each output element
    trace: list[ParagraphRecord]
    removed: Counter = field(default_factory=Counter)


def rebuild_nodes(
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


def restore_pairs(texts: list, trace: list[ParagraphRecord], kept_positions: list[int]):
    """Inverse of ``rebuild_nodes`` for the paragraphs: (record, text) pairs from a trace."""
    out_index = {pos: i for i, pos in enumerate(kept_positions)}
    cursors: dict[int, int] = {}
    pairs = []
    for record in trace:
        if record.text is not None:
            pairs.append((record, record.text))
            continue
        node = texts[out_index[record.position]]
        start = cursors.get(record.position, 0)
        pairs.append((record, node[start : start + record.length]))
        cursors[record.position] = start + record.length + 2  # the "\n\n" separator
    return pairs


def mark_end_of_document_tokens(pairs: list[tuple[ParagraphRecord, str]]) -> None:
    """OBELICS exempts a paragraph equal to the end-of-document token from every rule."""
    for record, paragraph in pairs:
        if paragraph == END_OF_DOCUMENT_TOKEN:
            record.scores["is_end_of_document_token"] = True


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
    Either way the scores equal ``reference_document_scores``.
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
    """``common_scores`` and ``gopher_scores`` of the join of the ``kept`` pieces (all: None).

    Tokens never span a "\\n\\n" join, so the text's words are the pieces' words in order
    and its counts are sums over the pieces; each join adds two special characters ("\\n").
    """
    if kept is None:
        kept = np.arange(len(pieces.pieces))
        ids, lengths = pieces.ids, pieces.word_lengths
    else:
        in_kept = np.zeros(len(pieces.pieces), dtype=bool)
        in_kept[kept] = True
        words_kept = in_kept[pieces.word_piece]
        ids, lengths = pieces.ids[words_kept], pieces.word_lengths[words_kept]
    number_words = len(ids)
    joins = max(len(kept) - 1, 0)
    special = int(pieces.special[kept].sum()) + 2 * joins
    punct = int(pieces.punctuation[kept].sum())
    tokens = punct + int(pieces.word_tokens[kept].sum())
    grams = NgramCounts(ids, pieces.id_space, lengths)

    def list_ratio(wordlist: WordList | None) -> float | None:
        words = _for(wordlist, language)
        if words is None:
            return None
        return int(pieces.list_counts(words)[kept].sum()) / number_words if number_words else 0.0

    scores = {
        "number_words": number_words,
        "character_repetition_ratio": text_character_repetition(
            text, t.character_repetition_length),
        "word_repetition_ratio": grams.repetition_ratio(t.word_repetition_length),
        "special_character_ratio": special / len(text) if text else 0.0,
        "stopword_ratio": list_ratio(lists.stopwords),
        "flagged_word_ratio": list_ratio(lists.flagged_words),
        "punctuation_ratio": punct / tokens if tokens else 0.0,
        "punctuation_tokens": tokens,
        "common_word_ratio": list_ratio(lists.common_words),
    }  # fmt: skip
    scores.update(gopher_batch_scores(text, grams))
    return scores


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


def decide_document(scores: dict[str, Any], thresholds: DocumentThresholds) -> str | None:
    """The first failing doc-level rule's reason, or None (pure: refilter calls it too)."""
    language_ok = thresholds.language_ok(scores["language"], scores["language_score"])
    return _first_failing(scores, _compiled_rules(thresholds), thresholds.punctuation_min_tokens,
                          language_ok)  # fmt: skip

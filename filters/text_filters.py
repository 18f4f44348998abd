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

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from functools import lru_cache
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
    standardized_codes,
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


def node_pieces(texts: list[str | None], joined: str | None = None) -> tuple[Pieces, list[int]]:
    """The ``Pieces`` analysis of ``split_paragraphs`` of every text node, concatenated, and the
    number of paragraphs of each node that is not None.

    ``joined`` is the "\\n\\n"-join of the nodes that are not None, if the caller has it.
    Standardisation maps single characters to " " and never touches "\\n", so the paragraphs'
    join is the standardised ``joined``; without a run of three newlines in it every "\\n\\n" is
    either a join or inside one node, so one split of it splits every node where
    ``split_paragraphs`` would (a node ending in "\\n" makes such a run: split node by node).
    """
    present = [node for node in texts if node is not None]
    text, codes, classes = standardized_codes("\n\n".join(present) if joined is None else joined)
    if not present:
        return Pieces([], text, codes, classes), []
    if "\n\n\n" not in text:
        paragraphs = text.split("\n\n")
        if len(paragraphs) == len(present):  # every node is one paragraph
            counts = [1] * len(present)
        else:
            counts = [node.count("\n\n") + 1 for node in present]
    else:
        per_node = [split_paragraphs(node) for node in present]
        paragraphs = [paragraph for split in per_node for paragraph in split]
        counts = [len(split) for split in per_node]
    return Pieces(paragraphs, text, codes, classes), counts


def score_paragraphs(
    texts: list[str | None], lists: WordLists, language: str | None, t: ParagraphThresholds
) -> list[tuple[ParagraphRecord, str]]:
    """Score every paragraph of every text node; returns (record, paragraph text) pairs."""
    return score_paragraph_batch(texts, lists, language, t)[0]


def score_paragraph_batch(
    texts: list[str | None], lists: WordLists, language: str | None, t: ParagraphThresholds
) -> tuple[list[tuple[ParagraphRecord, str]], Pieces]:
    """``score_paragraphs`` and the ``Pieces`` analysis of all paragraphs (one numpy pass)."""
    pieces, counts = node_pieces(texts)
    scores = _score_dicts(_score_lists(paragraph_score_columns(pieces, lists, language, t)))
    positions, indices = _paragraph_places(texts, counts)
    pairs = [
        (ParagraphRecord(position, index, len(paragraph), paragraph_scores), paragraph)
        for position, index, paragraph, paragraph_scores in zip(
            positions, indices, pieces.pieces, scores, strict=True
        )
    ]
    return pairs, pieces


def _node_positions(texts: list[str | None]) -> list[int]:
    return [position for position, node in enumerate(texts) if node is not None]


def _ratios(numerators: np.ndarray, denominators: np.ndarray) -> np.ndarray:
    """numerator / denominator elementwise (int / int, correctly rounded), 0.0 where it is 0."""
    out = np.zeros(numerators.shape, dtype=np.float64)
    np.divide(numerators, denominators, out=out, where=denominators > 0)
    return out


def paragraph_score_columns(
    pieces: Pieces, lists: WordLists, language: str | None, t: ParagraphThresholds
) -> dict[str, np.ndarray | None]:
    """``common_scores`` of every piece as columns, one per ``PARAGRAPH_SCORE_KEYS`` key, from
    one ``Pieces`` analysis: the same values as numpy int64 / float64 (None: no word list, the
    score is None for every piece)."""
    number_words = pieces.number_words
    tokens = pieces.punctuation + pieces.word_tokens
    # Every count ratio in one division: special characters, punctuation, then the lists.
    numerators, denominators = [pieces.special, pieces.punctuation], [pieces.lengths, tokens]
    listed = []
    for wordlist in (lists.stopwords, lists.flagged_words, lists.common_words):
        words = _for(wordlist, language)
        listed.append(words is not None)
        if words is not None:
            numerators.append(pieces.list_counts(words))
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


def _score_lists(columns: dict[str, np.ndarray | None]) -> list[list]:
    """The score columns as Python lists (int / float / None), in ``PARAGRAPH_SCORE_KEYS``
    order."""
    count = len(columns["number_words"])
    return [
        [None] * count if column is None else column.tolist()
        for column in (columns[key] for key in PARAGRAPH_SCORE_KEYS)
    ]


def _score_dicts(values: list[list]) -> list[dict[str, Any]]:
    """One scores dict per piece from ``_score_lists``."""
    return [
        {"number_words": a, "character_repetition_ratio": b, "word_repetition_ratio": c,
         "special_character_ratio": d, "stopword_ratio": e, "flagged_word_ratio": f,
         "punctuation_ratio": g, "punctuation_tokens": h, "common_word_ratio": i}
        for a, b, c, d, e, f, g, h, i in zip(*values, strict=True)
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
    out_t, out_i, out_m, positions = _kept_nodes(texts, images, image_metadata, kept)
    removed = Counter(r.reason for r, _ in pairs if r.reason is not None)
    return FilteredNodes(out_t, out_i, out_m, positions, [r for r, _ in pairs], removed)


def _kept_nodes(
    texts: list, images: list, image_metadata: list, kept: dict[int, list[str]]
) -> tuple[list, list, list, list[int]]:
    """(texts, images, image metadata, original positions) of the elements that stay: every
    image slot, and each text node with a kept paragraph, rejoined from them."""
    out_t, out_i, out_m, positions = [], [], [], []
    for position, (text, image) in enumerate(zip(texts, images, strict=True)):
        if text is not None and position not in kept:
            continue
        out_t.append("\n\n".join(kept[position]) if text is not None else None)
        out_i.append(image)
        out_m.append(image_metadata[position] if image_metadata else None)
        positions.append(position)
    return out_t, out_i, out_m, positions


@dataclass
class ParagraphPass:
    """``filter_paragraphs``' result: a document's lists after paragraph filtering, as
    ``FilteredNodes``, but with the trace as the dicts a stored ``paragraph_filter.trace``
    holds (``ParagraphRecord`` fields); and the analysis of every paragraph (``pieces``), with
    the indices of the kept ones in it (``kept``)."""

    texts: list[str | None]
    images: list[Any]
    image_metadata: list[Any]
    kept_positions: list[int]
    trace: list[dict[str, Any]]
    removed: Counter
    pieces: Pieces
    kept: np.ndarray


def filter_paragraphs(
    texts: list[str | None],
    images: list,
    image_metadata: list,
    lists: WordLists,
    language: str | None,
    t: ParagraphThresholds,
    joined: str | None = None,
) -> ParagraphPass:
    """Score, decide and rebuild in one pass: what ``score_paragraph_batch``,
    ``mark_end_of_document_tokens``, ``decide_paragraphs`` and ``rebuild_nodes`` give, without
    their intermediate records: the scores, decisions and trace dicts are built straight from
    the score columns, each in one comprehension (per-paragraph Python steps cost about as much
    as the numpy scoring). ``joined``: the "\\n\\n"-join of the nodes, if the caller has it."""
    pieces, counts = node_pieces(texts, joined)
    paragraphs = pieces.pieces
    columns = paragraph_score_columns(pieces, lists, language, t)
    values = _score_lists(columns)
    scores = _score_dicts(values)
    rules = _row_rules(t)
    checked = _checked_punctuation(columns, t)
    reasons = [_row_reason(row, rules) for row in zip(*values, checked, strict=True)]
    if END_OF_DOCUMENT_TOKEN in pieces.text:  # OBELICS exempts it from every rule
        for index, paragraph in enumerate(paragraphs):
            if paragraph == END_OF_DOCUMENT_TOKEN:
                scores[index]["is_end_of_document_token"] = True
                reasons[index] = None
    positions, indices = _paragraph_places(texts, counts)
    trace = [
        {"position": position, "index": index, "length": length, "scores": paragraph_scores,
         "reason": reason, "text": None if reason is None else paragraph}
        for position, index, length, paragraph_scores, reason, paragraph in zip(
            positions, indices, pieces.lengths.tolist(), scores, reasons, paragraphs,
            strict=True)
    ]  # fmt: skip
    kept: dict[int, list[str]] = {}
    for position, reason, paragraph in zip(positions, reasons, paragraphs, strict=True):
        if reason is None:
            if position in kept:
                kept[position].append(paragraph)
            else:
                kept[position] = [paragraph]
    kept_indices = [index for index, reason in enumerate(reasons) if reason is None]
    return ParagraphPass(
        *_kept_nodes(texts, images, image_metadata, kept),
        trace=trace,
        removed=Counter(reason for reason in reasons if reason is not None),
        pieces=pieces,
        kept=np.array(kept_indices, dtype=np.int64),
    )


def _paragraph_places(texts: list[str | None], counts: list[int]) -> tuple[list[int], list[int]]:
    """(position of its node, index within the node) of every paragraph, given the number of
    paragraphs of each node that is not None."""
    nodes = _node_positions(texts)
    if len(counts) == sum(counts):  # one paragraph per node
        return nodes, [0] * len(nodes)
    positions = [
        position for position, count in zip(nodes, counts, strict=True) for _ in range(count)
    ]
    indices = [index for count in counts for index in range(count)]
    return positions, indices


def _row_reason(row: tuple, rules: tuple[tuple[int, float, float, str], ...]) -> str | None:
    """``_first_failing`` on a row of score values (``_row_rules``): the same comparisons, as a
    value is never below -inf nor above inf, on a tuple instead of a dict."""
    for column, low, high, reason in rules:
        value = row[column]
        if value is not None and (value < low or value > high):
            return reason
    return None


def _checked_punctuation(columns: dict[str, np.ndarray | None], t: ParagraphThresholds) -> list:
    """The punctuation ratio the rule checks (``with_punctuation_bypass``), per piece."""
    tokens = columns["punctuation_tokens"]
    bypass = (tokens > 0) & (tokens < t.punctuation_min_tokens)
    return np.where(bypass, 1.0, columns["punctuation_ratio"]).tolist()


@lru_cache(maxsize=64)
def _row_rules(t: ParagraphThresholds) -> tuple[tuple[int, float, float, str], ...]:
    """``_compiled_rules(t)`` as (index in a row, low, high, reason), an open bound as an
    infinite one (a row: the scores in ``PARAGRAPH_SCORE_KEYS`` order, then the checked
    punctuation ratio), so that a rule is two comparisons."""
    index = {key: i for i, key in enumerate(PARAGRAPH_SCORE_KEYS)}
    index["punctuation_ratio_checked"] = len(PARAGRAPH_SCORE_KEYS)
    return tuple(
        (index[key], -math.inf if low is None else low, math.inf if high is None else high,
         reason)
        for reason, key, low, high in _compiled_rules(t)
    )  # fmt: skip


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
        words_kept = np.zeros(len(pieces.pieces), dtype=bool)
        words_kept[kept] = True
        words_kept = words_kept.take(pieces.word_piece)
        ids, lengths = pieces.ids[words_kept], pieces.word_lengths[words_kept]
    number_words = len(ids)
    joins = max(len(kept) - 1, 0)
    # The kept pieces' counts, all summed at once: special, punctuation, [\w']+ tokens, then
    # the words of each list there is.
    word_lists = [_for(wordlist, language) for wordlist in
                  (lists.stopwords, lists.flagged_words, lists.common_words)]  # fmt: skip
    counts = [pieces.special, pieces.punctuation, pieces.word_tokens]
    counts += [pieces.list_counts(words) for words in word_lists if words is not None]
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

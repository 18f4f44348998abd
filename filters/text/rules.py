"""The text-filter rule table and its one evaluator.

Every rule is declared once, in ``RULES``, in the order OBELICS applies them: the drop reason
(a stable column value), the score it reads, the threshold keys bounding it and the switch key
turning it on (fields of ``config.ParagraphThresholds`` / ``DocumentThresholds``, whose defaults
are in ``default_config.yaml``), the levels it applies to and its source. The paragraph and
document stages, ``refilter``, ``webweave report`` and the tests all derive from this table
through ``RuleSet``; nothing else restates a rule.

Scores are computed once and stored; ``RuleSet.first_failure`` applies thresholds late:
a rule fails when its compared value is below its low bound or above its high bound. A score
that could not be computed (``None``: no word list for the language, no quality model) passes,
except for the language rule, which exists to keep only documents *known* to be in the accepted
languages. Two rules compare something other than the raw score, each declared by a flag:

- the punctuation rule skips short texts (OBELICS): below ``punctuation_min_tokens`` tokens
  (but more than 0) the ratio counts as 1.0 (``punctuation_checked``);
- the language rule also needs ``language`` to be one of ``languages``.

Reasons (stable snake_case; paragraph and document level share them): see ``RULES``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from webweave.filters.text.config import (
    GOPHER_DUPLICATE_NGRAMS,
    GOPHER_TOP_NGRAMS,
    DocumentThresholds,
    LevelThresholds,
)

PARAGRAPH, DOCUMENT = "paragraph", "document"
BOTH = (PARAGRAPH, DOCUMENT)
OBELICS = "OBELICS config_filter_web_documents.yaml"
GOPHER = "Gopher (Rae et al. 2021) Table A1, via datatrove GopherRepetitionFilter"


@dataclass(frozen=True)
class Rule:
    """One filter rule. Keys name fields of the level's thresholds section."""

    reason: str  # the drop reason
    score: str  # the score it reads (a key of filter_scores / the paragraph trace)
    switch: str  # thresholds key turning the rule on
    low: str | None = None  # thresholds key of the lower bound
    high: str | None = None  # thresholds key of the upper bound
    index: int | None = None  # element of a list-valued bound (Gopher n-gram cuts)
    levels: tuple[str, ...] = BOTH
    source: str = OBELICS
    short_text_bypass: bool = False  # punctuation: see punctuation_checked
    language_rule: bool = False  # also needs ``language`` in ``languages``; null fails

    def bound(self, thresholds: LevelThresholds, key: str | None) -> float | None:
        """The value of bound ``key`` in ``thresholds`` (None: open)."""
        if key is None:
            return None
        value = getattr(thresholds, key)
        return value[self.index] if self.index is not None else value


def _gopher_rules() -> tuple[Rule, ...]:
    fractions = [
        ("gopher_duplicate_paragraphs", "gopher_duplicate_paragraph_fraction"),
        ("gopher_duplicate_paragraph_chars", "gopher_duplicate_paragraph_char_fraction"),
        ("gopher_duplicate_lines", "gopher_duplicate_line_fraction"),
        ("gopher_duplicate_line_chars", "gopher_duplicate_line_char_fraction"),
    ]
    rules = [Rule(reason, score, "check_gopher_repetition", high=f"{score}_max",
                  levels=(DOCUMENT,), source=GOPHER) for reason, score in fractions]  # fmt: skip
    for kind, sizes in (("top", GOPHER_TOP_NGRAMS), ("duplicate", GOPHER_DUPLICATE_NGRAMS)):
        for i, n in enumerate(sizes):
            score = f"gopher_{kind}_{n}gram_char_fraction"
            bound = f"gopher_{kind}_ngram_char_fraction_max"
            rules.append(Rule(f"gopher_{kind}_{n}gram", score, "check_gopher_repetition",
                              high=bound, index=i, levels=(DOCUMENT,), source=GOPHER))  # fmt: skip
    return tuple(rules)


RULES: tuple[Rule, ...] = (
    Rule("number_images", "number_images", "check_number_images", "number_images_min",
         "number_images_max", levels=(DOCUMENT,)),
    Rule("word_count", "number_words", "check_number_words", "number_words_min",
         "number_words_max"),
    Rule("character_repetition", "character_repetition_ratio", "check_character_repetition",
         high="character_repetition_max"),
    Rule("word_repetition", "word_repetition_ratio", "check_word_repetition",
         high="word_repetition_max"),
    Rule("special_characters", "special_character_ratio", "check_special_characters",
         high="special_character_ratio_max"),
    Rule("stopwords", "stopword_ratio", "check_stopwords", low="stopword_ratio_min"),
    Rule("flagged_words", "flagged_word_ratio", "check_flagged_words",
         high="flagged_word_ratio_max"),
    Rule("punctuation", "punctuation_ratio", "check_punctuation", low="punctuation_ratio_min",
         short_text_bypass=True),
    Rule("common_words", "common_word_ratio", "check_common_words",
         low="common_word_ratio_min"),
    Rule("language", "language_score", "check_language", low="language_score_min",
         levels=(DOCUMENT,), language_rule=True),
    *_gopher_rules(),
    Rule("quality", "quality_score", "check_quality", low="quality_score_min",
         levels=(DOCUMENT,), source="webweave convention (webweave quality train)"),
)  # fmt: skip


def rules_of(level: str) -> tuple[Rule, ...]:
    return tuple(rule for rule in RULES if level in rule.levels)


def punctuation_checked(ratio: Any, tokens: Any, min_tokens: int) -> Any:
    """What the punctuation rule compares (OBELICS): 1.0 for a text with 1..min_tokens-1
    tokens, else the ratio. Numbers or numpy arrays (the report's histograms) alike."""
    if isinstance(tokens, np.ndarray):
        return np.where((tokens > 0) & (tokens < min_tokens), 1.0, ratio)
    return 1.0 if 0 < tokens < min_tokens else ratio


@dataclass(frozen=True)
class Check:
    """An enabled rule with its bounds' values, ready to compare (open bound: infinite)."""

    rule: Rule
    low: float
    high: float


class RuleSet:
    """The rules of one level under one thresholds section: the one evaluator."""

    def __init__(self, level: str, thresholds: LevelThresholds):
        self.level = level
        self.thresholds = thresholds
        self.min_tokens = thresholds.punctuation_min_tokens
        self.languages = frozenset(getattr(thresholds, "languages", ()))
        self.rules = rules_of(level)
        self.checks = tuple(
            Check(rule, _or(rule.bound(thresholds, rule.low), -math.inf),
                  _or(rule.bound(thresholds, rule.high), math.inf))
            for rule in self.rules if getattr(thresholds, rule.switch)
        )  # fmt: skip
        # (reason, score, low, high, kind): the loop below reads tuples, not attributes.
        self._compiled = tuple(
            (c.rule.reason, c.rule.score, c.low, c.high,
             2 if c.rule.language_rule else 1 if c.rule.short_text_bypass else 0)
            for c in self.checks
        )  # fmt: skip

    def first_failure(self, scores: Mapping[str, Any]) -> str | None:
        """The reason of the first failing enabled rule, or None when all pass."""
        for reason, score, low, high, kind in self._compiled:
            value = scores.get(score)
            if kind == 1 and value is not None:
                value = punctuation_checked(value, scores["punctuation_tokens"], self.min_tokens)
            elif kind == 2:
                if value is None or scores.get("language") not in self.languages:
                    return reason
            if value is not None and (value < low or value > high):
                return reason
        return None

    def compared(self, rule: Rule, scores: Mapping[str, Any]) -> Any:
        """The value ``rule`` compares for ``scores`` (numbers or arrays): the report's view."""
        value = scores[rule.score]
        if rule.short_text_bypass:
            return punctuation_checked(value, scores["punctuation_tokens"], self.min_tokens)
        return value

    def enabled(self, rule: Rule) -> bool:
        return bool(getattr(self.thresholds, rule.switch))


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


@lru_cache(maxsize=64)
def rule_set(level: str, thresholds: LevelThresholds) -> RuleSet:
    """The ``RuleSet`` of ``thresholds``, built once per (frozen, hashable) section."""
    return RuleSet(level, thresholds)


def document_rules(thresholds: DocumentThresholds) -> RuleSet:
    return rule_set(DOCUMENT, thresholds)


def paragraph_rules(thresholds: LevelThresholds) -> RuleSet:
    return rule_set(PARAGRAPH, thresholds)

"""The ``text_filters:`` config section, typed (values and their sources: default_config.yaml).

Threshold fields are named after the rule table's keys (``rules.py``): ``check_<x>`` switches
a rule on, ``<score>_min`` / ``<score>_max`` bound it. Scoring parameters (n-gram lengths, word
lists, the quality model) are here too, since changing them changes the scores themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from webweave.filters.text.language_id import to_lid176_code
from webweave.schemas.config import Between, Count, NonEmpty, PositiveInt, Ratio, Section

Share = Annotated[float, Between(0.0, 1.0)]
GOPHER_TOP_NGRAMS = (2, 3, 4)
GOPHER_DUPLICATE_NGRAMS = (5, 6, 7, 8, 9, 10)
# The keys the stored language depends on: refilter reuses it only when they are unchanged.
LANGUAGE_ID_KEYS = ("language_id_model", "language_id_max_chars")


@dataclass(frozen=True)
class WordListSource(Section):
    """Where a word list comes from (``wordlists.load_wordlist``) and its licence."""

    source: str
    licence: str | None


@dataclass(frozen=True)
class QualityModel(Section):
    """The quality classifier trained by ``webweave quality train``; null = rule skipped."""

    model: str | None


@dataclass(frozen=True)
class LevelThresholds(Section):
    """The rules paragraphs and documents share (OBELICS node- and doc-level rows)."""

    check_number_words: bool
    number_words_min: Count
    number_words_max: Count
    check_character_repetition: bool
    character_repetition_length: PositiveInt
    character_repetition_max: Ratio
    check_word_repetition: bool
    word_repetition_length: PositiveInt
    word_repetition_max: Ratio
    check_special_characters: bool
    special_character_ratio_max: Ratio
    check_stopwords: bool
    stopword_ratio_min: Ratio
    check_flagged_words: bool
    flagged_word_ratio_max: Ratio
    check_punctuation: bool
    punctuation_ratio_min: Ratio
    punctuation_min_tokens: Count
    check_common_words: bool
    common_word_ratio_min: Ratio

    def check(self) -> str | None:
        if self.number_words_min > self.number_words_max:
            return "number_words_min is above number_words_max"
        return None


@dataclass(frozen=True)
class ParagraphThresholds(LevelThresholds):
    """``text_filters.paragraph``: OBELICS node-level cutoffs, each with a switch."""

    yaml_name = "text_filters.paragraph"


@dataclass(frozen=True)
class DocumentThresholds(LevelThresholds):
    """``text_filters.document``: OBELICS doc-level cutoffs, Gopher repetition, quality."""

    yaml_name = "text_filters.document"

    check_number_images: bool
    number_images_min: Count
    number_images_max: Count
    check_language: bool
    languages: Annotated[tuple[str, ...], NonEmpty()]
    language_score_min: Ratio
    check_gopher_repetition: bool
    gopher_duplicate_paragraph_fraction_max: Share
    gopher_duplicate_paragraph_char_fraction_max: Share
    gopher_duplicate_line_fraction_max: Share
    gopher_duplicate_line_char_fraction_max: Share
    gopher_top_ngram_char_fraction_max: tuple[Share, ...]  # n = 2, 3, 4
    gopher_duplicate_ngram_char_fraction_max: tuple[Share, ...]  # n = 5 … 10
    check_quality: bool
    quality_score_min: Ratio

    def __post_init__(self) -> None:
        """Spell ``languages`` as lid.176 does ("eng" → "en", "nb" → "no"): see language_id."""
        object.__setattr__(self, "languages", tuple(map(to_lid176_code, self.languages)))

    def check(self) -> str | None:
        if self.number_images_min > self.number_images_max:
            return "number_images_min is above number_images_max"
        for key, sizes in (
            ("gopher_top_ngram_char_fraction_max", GOPHER_TOP_NGRAMS),
            ("gopher_duplicate_ngram_char_fraction_max", GOPHER_DUPLICATE_NGRAMS),
        ):
            if len(getattr(self, key)) != len(sizes):
                return f"{key} needs {len(sizes)} values, one per n in {list(sizes)}"
        return super().check()


@dataclass(frozen=True)
class TextFilterConfig(Section):
    """``text_filters``: paragraph- then document-level filters (issue #3)."""

    yaml_name = "text_filters"

    enabled: bool
    # The fastText LID model file (None: the packaged lid.176.ftz); labels of any format are
    # normalised to lid.176's codes (language_id.py).
    language_id_model: str | None
    # Language ID reads the first this-many characters of the joined text (None: all of it).
    language_id_max_chars: PositiveInt | None
    stopwords: WordListSource | None
    flagged_words: WordListSource | None
    common_words: WordListSource | None
    quality: QualityModel
    paragraph: ParagraphThresholds
    document: DocumentThresholds

    @property
    def quality_model(self) -> str | None:
        return self.quality.model

    def paragraph_scoring(self) -> tuple:
        """What paragraph scores depend on besides the text: equal → stored scores reusable."""
        p = self.paragraph
        return (p.character_repetition_length, p.word_repetition_length, self.stopwords,
                self.flagged_words, self.common_words)  # fmt: skip

    def document_scoring(self) -> tuple:
        """What document scores depend on besides the kept text (and its language)."""
        d = self.document
        return (d.character_repetition_length, d.word_repetition_length, self.stopwords,
                self.flagged_words, self.common_words, self.quality.model)  # fmt: skip

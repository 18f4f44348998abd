"""The two text-filter stages of ``webweave run``: ``paragraph_filter`` and ``document_filter``.

Both follow the stage contract of ``decision.py``: a pure callable with a ``name`` that takes a
row (a dict shaped like ``schemas.documents``, or any object with a ``.row`` dict such as
``DocumentRow``) and returns it, or ``Drop(reason, scores)``. What they add to the row:

- ``general_metadata.language`` / ``language_score``: the language ID model's top-1
  (``language_id_model``, lid.176 by default; codes as lid.176 spells them) on the first
  ``language_id_max_chars`` characters of the extracted text;
- ``paragraph_filter``: removals per reason, kept positions and the trace (``paragraphs.py``);
- ``filter_scores``: every doc-level score (``scores.document_scores``), also in the Drop.

Language is identified once, on the extracted text before paragraph filtering (OBELICS: after),
so that paragraph filters can use the document's language for their word lists with a single
model call, and so that refilter never re-runs it.

Cost: ``ParagraphFilter`` scores all paragraphs in one numpy pass and leaves that analysis, with
the kept paragraphs, in a one-entry per-thread memo; ``DocumentFilter`` combines the kept
paragraphs' counts from it when the row's texts are still the ones ``ParagraphFilter`` produced
(compared by value), and analyses the joined text itself otherwise. Both ways give the same
scores; the memo only saves re-tokenising. ``bench/text_filters_speed.py`` measures them.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from webweave.filters.decision import Drop
from webweave.filters.text.config import TextFilterConfig, WordListSource
from webweave.filters.text.normalization import Pieces
from webweave.filters.text.paragraphs import filter_paragraphs, score_paragraphs, store_pass
from webweave.filters.text.rules import document_rules, paragraph_rules
from webweave.filters.text.scores import WordLists, document_scores
from webweave.filters.text.wordlists import WordList, load_wordlist

log = logging.getLogger(__name__)

PARAGRAPH_STAGE = "paragraph_filter"
DOCUMENT_STAGE = "document_filter"


def load_lists(config: TextFilterConfig) -> WordLists:
    """The stop, flagged and common word lists the config names (None where unset); flagged
    words match multi-word entries as word sequences (``wordlists``)."""

    def load(spec: WordListSource | None, phrases: bool = False) -> WordList | None:
        return None if spec is None else load_wordlist(spec.source, spec.licence, phrases)

    lists = WordLists(load(config.stopwords), load(config.flagged_words, phrases=True),
                      load(config.common_words))  # fmt: skip
    if lists.flagged_words is None:
        log.info("text_filters: flagged words off (text_filters.flagged_words is null)")
    else:
        flagged = lists.flagged_words.describe()
        skipped = sum(flagged.get("unmatchable", {}).values())
        log.info("text_filters: flagged words %s (%s), %d languages, %d entries skipped as "
                 "unmatchable", flagged["source"], flagged.get("tarball_sha256", "file"),
                 len(flagged["sizes"]), skipped)  # fmt: skip
    return lists


def _row(item: Any) -> dict:
    return item.row if hasattr(item, "row") else item


class ParagraphFilter:
    """Language ID on the text's first characters, then OBELICS node-level rules on every
    paragraph."""

    name = PARAGRAPH_STAGE

    def __init__(
        self, config: TextFilterConfig, language_identifier, lists: WordLists | None = None
    ):
        self.config = config
        self.lid = language_identifier
        self.lists = lists if lists is not None else load_lists(config)
        self.rules = paragraph_rules(config.paragraph)

    def __call__(self, item: Any) -> Any:
        row = _row(item)
        texts = row["texts"]
        full = "\n\n".join(t for t in texts if t is not None)
        has_text = full and not full.isspace()  # = full.strip(), without the copy
        language, score = self.lid(language_id_text(full, self.config)) if has_text else (
            None, None)  # fmt: skip
        metadata = row.setdefault("general_metadata", {})
        metadata["language"], metadata["language_score"] = language, score
        scored = score_paragraphs(texts, self.lists, language, self.config.paragraph, full)
        result = filter_paragraphs(texts, row["images"], row.get("image_metadata") or [],
                                   scored, self.rules)  # fmt: skip
        _remember(result.texts, result.pieces, result.kept)
        store_pass(row, result)
        return item


def language_id_text(text: str, config: TextFilterConfig) -> str:
    """What language ID reads: the first ``language_id_max_chars`` characters of ``text``
    after leading whitespace (which fastText skips anyway)."""
    limit = config.language_id_max_chars
    return text if limit is None else text.lstrip(" \t\n\r\v\f")[:limit]


# The last row's paragraph analysis, per thread: (kept texts, Pieces, kept paragraph indices).
_MEMO = threading.local()


def _remember(texts: list, pieces: Pieces | None, kept: np.ndarray) -> None:
    _MEMO.last = (texts, pieces, kept)


def _recall(texts: list) -> tuple[Pieces | None, np.ndarray | None]:
    """The analysis ``ParagraphFilter`` left for exactly these texts, else (None, None).

    Equal texts mean an equal joined text, which is then exactly the "\\n\\n"-join of the
    kept paragraphs: the scores combined from them are the scores of the text.
    """
    last = getattr(_MEMO, "last", None)
    if last is not None and last[1] is not None and last[0] == texts:
        return last[1], last[2]
    return None, None


def load_quality(config: TextFilterConfig):
    """The configured quality model, loaded now so a bad path fails at start, not per row."""
    if not config.document.check_quality:
        return None
    if config.quality.model is None:
        log.info(
            "text_filters: quality filter skipped (no text_filters.quality.model configured; "
            "train one with `webweave quality train`)"
        )
        return None
    from webweave.filters.text.quality_classifier import QualityClassifier

    model = QualityClassifier.load(config.quality.model)
    auc = model.metadata.get("roc_auc_held_out")
    log.info("text_filters: quality model %s (held-out ROC AUC %s)", config.quality.model, auc)
    return model


class DocumentFilter:
    """OBELICS doc-level rules, Gopher repetition, language and quality on the joined text."""

    name = DOCUMENT_STAGE

    def __init__(self, config: TextFilterConfig, lists: WordLists | None = None, quality=None):
        self.config = config
        self.lists = lists if lists is not None else load_lists(config)
        self.quality = quality if quality is not None else load_quality(config)
        self.rules = document_rules(config.document)

    def __call__(self, item: Any) -> Any:
        row = _row(item)
        scores = self.score(row)
        row["filter_scores"] = scores
        reason = self.rules.first_failure(scores)
        return item if reason is None else Drop(reason, scores)

    def score(self, row: dict) -> dict[str, Any]:
        metadata = row.get("general_metadata") or {}
        text = "\n\n".join(t for t in row["texts"] if t is not None)
        number_images = len(row["images"]) - row["images"].count(None)
        pieces, kept = _recall(row["texts"])
        return document_scores(text, self.lists, metadata.get("language"),
                               metadata.get("language_score"), self.config.document,
                               number_images, self.quality, pieces, kept)  # fmt: skip

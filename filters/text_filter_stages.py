"""The text-filter stages on documents-table rows, and the exact refilter of a stored row.

``ParagraphFilter`` and ``DocumentFilter`` follow the stage contract of ``decision.py``: a pure
callable with a ``name`` that takes a row (a dict shaped like ``schemas.documents``, or any
object with a ``.row`` dict such as ``DocumentRow``) and returns it, or ``Drop(reason, scores)``.

What they add to the row:

- ``general_metadata.language`` / ``language_score``: lid.176 top-1 on the first
  ``language_id_max_chars`` characters of the extracted text (see ``TextFilterConfig``);
- ``filter_scores``: every doc-level score (``text_filters.document_scores``), also in the Drop;
- ``paragraph_filter``: ``{"removed": {reason: n}, "kept_positions": [...], "trace": [...]}``,
  where the trace holds every paragraph's scores and the text of the removed ones. With it,
  ``refilter_row`` rebuilds the unfiltered document exactly and re-applies new thresholds
  without re-scoring anything that the new config does not change.

Cost: ``ParagraphFilter`` scores, decides and rebuilds all paragraphs of a row in one pass
(``text_filters.filter_paragraphs``: one numpy analysis of every paragraph, the trace dicts
built straight from its score columns; refilter's record-by-record path gives the same) and
leaves that analysis, with the kept paragraphs, in a one-entry per-thread memo;
``DocumentFilter`` combines the kept paragraphs' counts from it when the row's texts are still
the ones ``ParagraphFilter`` produced (compared by value), and analyses the joined text itself
otherwise. Both ways give the same scores; the memo only saves re-tokenising.
``bench/text_filters_speed.py`` measures the stages next to extraction.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from webweave.filters.decision import Drop
from webweave.filters.text_filters import (
    DocumentThresholds,
    FilteredNodes,
    ParagraphPass,
    ParagraphRecord,
    ParagraphThresholds,
    WordLists,
    decide_document,
    decide_paragraphs,
    document_scores,
    filter_paragraphs,
    mark_end_of_document_tokens,
    rebuild_nodes,
    restore_pairs,
    score_paragraphs,
)
from webweave.filters.text_normalization import Pieces
from webweave.filters.wordlists import load_wordlist

log = logging.getLogger(__name__)


LANGUAGE_ID_MAX_CHARS = 2500


@dataclass(frozen=True)
class TextFilterConfig:
    """The ``text_filters`` config section: thresholds per level, word lists, models."""

    paragraph: ParagraphThresholds = ParagraphThresholds()
    document: DocumentThresholds = DocumentThresholds()
    stopwords: dict | None = None  # {"source": ..., "licence": ...}
    flagged_words: dict | None = None
    common_words: dict | None = None
    quality_model: str | None = None
    # Language ID reads the first this-many characters of the joined text (None: all of it).
    # lid.176 costs ~0.1 ms per 1,000 characters; 2,500 gives the whole-text label on every
    # fixture text (91 + 110 extracted pages, 123 langid.py texts; 2,000 changes 2 of them).
    language_id_max_chars: int | None = LANGUAGE_ID_MAX_CHARS

    @classmethod
    def from_config(cls, section: dict | None) -> TextFilterConfig:
        section = dict(section or {})
        return cls(
            paragraph=ParagraphThresholds.from_config(section.pop("paragraph", None)),
            document=DocumentThresholds.from_config(section.pop("document", None)),
            stopwords=section.pop("stopwords", {"source": "package:stopwordsiso"}),
            flagged_words=section.pop("flagged_words", None),
            common_words=section.pop("common_words", None),
            quality_model=(section.pop("quality", None) or {}).get("model"),
            language_id_max_chars=section.pop("language_id_max_chars", LANGUAGE_ID_MAX_CHARS),
            **_no_unknown(section),
        )

    def load_lists(self) -> WordLists:
        return WordLists(*(load_wordlist(**(spec or {"source": None})) for spec in (
            self.stopwords, self.flagged_words, self.common_words)))  # fmt: skip


def _no_unknown(section: dict) -> dict:
    if section:
        raise ValueError(f"unknown text_filters keys: {sorted(section)}")
    return {}


def _row(item: Any) -> dict:
    return item.row if hasattr(item, "row") else item


class ParagraphFilter:
    """Language ID on the text's first characters, then OBELICS node-level rules on every
    paragraph."""

    name = "paragraph_filter"

    def __init__(
        self, config: TextFilterConfig, language_identifier, lists: WordLists | None = None
    ):
        self.config = config
        self.lid = language_identifier
        self.lists = lists if lists is not None else config.load_lists()

    def __call__(self, item: Any) -> Any:
        row = _row(item)
        texts = row["texts"]
        full = "\n\n".join(t for t in texts if t is not None)
        has_text = full and not full.isspace()  # = full.strip(), without the copy
        language, score = self.lid(language_id_text(full, self.config)) if has_text else (
            None, None)  # fmt: skip
        metadata = row.setdefault("general_metadata", {})
        metadata["language"], metadata["language_score"] = language, score
        result = filter_paragraphs(texts, row["images"], row.get("image_metadata") or [],
                                   self.lists, language, self.config.paragraph, full)  # fmt: skip
        _remember(result.texts, result.pieces, result.kept)
        _store_nodes(row, result)
        return item


def language_id_text(text: str, config: TextFilterConfig) -> str:
    """What language ID reads: the first ``language_id_max_chars`` characters of ``text``
    after leading whitespace (which fastText skips anyway)."""
    limit = config.language_id_max_chars
    return text if limit is None else text.lstrip(" \t\n\r\v\f")[:limit]


# The last row's paragraph analysis, per thread: (kept texts, Pieces, kept paragraph indices).
_MEMO = threading.local()


def _remember(texts: list, pieces: Pieces, kept: np.ndarray) -> None:
    _MEMO.last = (texts, pieces, kept)


def _recall(texts: list) -> tuple[Pieces | None, np.ndarray | None]:
    """The analysis ``ParagraphFilter`` left for exactly these texts, else (None, None).

    Equal texts mean an equal joined text, which is then exactly the "\\n\\n"-join of the
    kept paragraphs: the scores combined from them are the scores of the text.
    """
    last = getattr(_MEMO, "last", None)
    if last is not None and last[0] == texts:
        return last[1], last[2]
    return None, None


def _record_dict(record: ParagraphRecord) -> dict:
    """dataclasses.asdict deep-copies every score; this shallow copy is 10× cheaper."""
    return {
        "position": record.position,
        "index": record.index,
        "length": record.length,
        "scores": record.scores,
        "reason": record.reason,
        "text": record.text,
    }


def _store_nodes(row: dict, nodes: FilteredNodes | ParagraphPass) -> None:
    row["texts"], row["images"] = nodes.texts, nodes.images
    if row.get("image_metadata") is not None:
        row["image_metadata"] = nodes.image_metadata
    trace = nodes.trace
    row["paragraph_filter"] = {
        "removed": dict(nodes.removed),
        "kept_positions": nodes.kept_positions,
        "trace": trace if isinstance(nodes, ParagraphPass) else [_record_dict(r) for r in trace],
    }


def _load_quality(config: TextFilterConfig):
    """The configured quality model, loaded now so a bad path fails at start, not per row."""
    if not config.document.check_quality:
        return None
    if config.quality_model is None:
        log.info(
            "text_filters: quality filter skipped (no text_filters.quality.model configured; "
            "train one with `webweave quality train`)"
        )
        return None
    from webweave.filters.quality_classifier import QualityClassifier

    model = QualityClassifier.load(config.quality_model)
    auc = model.metadata.get("roc_auc_held_out")
    log.info("text_filters: quality model %s (held-out ROC AUC %s)", config.quality_model, auc)
    return model


class DocumentFilter:
    """OBELICS doc-level rules, Gopher repetition, language and quality on the joined text."""

    name = "document_filter"

    def __init__(self, config: TextFilterConfig, lists: WordLists | None = None, quality=None):
        self.config = config
        self.lists = lists if lists is not None else config.load_lists()
        self.quality = quality if quality is not None else _load_quality(config)

    def __call__(self, item: Any) -> Any:
        row = _row(item)
        scores = self.score(row)
        row["filter_scores"] = scores
        reason = decide_document(scores, self.config.document)
        return item if reason is None else Drop(reason, scores)

    def score(self, row: dict) -> dict[str, Any]:
        metadata = row.get("general_metadata") or {}
        text = "\n\n".join(t for t in row["texts"] if t is not None)
        number_images = len(row["images"]) - row["images"].count(None)
        pieces, kept = _recall(row["texts"])
        return document_scores(text, self.lists, metadata.get("language"),
                               metadata.get("language_score"), self.config.document,
                               number_images, self.quality, pieces, kept)  # fmt: skip


def unfiltered_row(row: dict) -> dict:
    """The row as it was before ``ParagraphFilter`` (texts, images, metadata), from its trace."""
    pf = row["paragraph_filter"]
    trace = [ParagraphRecord(**r) for r in pf["trace"]]
    pairs = restore_pairs(row["texts"], trace, pf["kept_positions"])
    size = max([*pf["kept_positions"], *(r.position for r in trace), -1]) + 1
    texts: list = [None] * size
    images: list = [None] * size
    meta: list = [None] * size
    for out, pos in enumerate(pf["kept_positions"]):
        images[pos] = row["images"][out]
        if row.get("image_metadata") is not None:
            meta[pos] = row["image_metadata"][out]
    nodes: dict[int, list[str]] = {}
    for record, paragraph in pairs:
        nodes.setdefault(record.position, []).append(paragraph)
    for pos, paragraphs in nodes.items():
        texts[pos] = "\n\n".join(paragraphs)
    return {**row, "texts": texts, "images": images, "image_metadata": meta}


def refilter_row(
    row: dict, old: TextFilterConfig, new: TextFilterConfig, lists: WordLists, quality=None
) -> tuple[dict | None, str | None, Counter]:
    """Re-apply ``new`` thresholds to a filtered (or dropped) row; returns (row, reason, removed).

    Paragraph scores are reused unless a scoring parameter changed (n-gram lengths, lists);
    doc scores are reused when the kept paragraphs and scoring parameters are unchanged. The
    result equals running the stages with ``new`` on the original document. Language ID is
    never re-run, so ``language_id_max_chars`` cannot change here (ValueError).
    """
    if old.language_id_max_chars != new.language_id_max_chars:
        raise ValueError(
            "text_filters.language_id_max_chars differs between the run and the new config; "
            "refilter reuses the stored language, so changing it needs a full run"
        )
    base = unfiltered_row(row)
    trace = [ParagraphRecord(**r) for r in row["paragraph_filter"]["trace"]]
    pairs = restore_pairs(row["texts"], trace, row["paragraph_filter"]["kept_positions"])
    old_kept = [r.reason is None for r, _ in pairs]
    if _paragraph_scoring(old) != _paragraph_scoring(new):
        language = base["general_metadata"].get("language")
        pairs = score_paragraphs(base["texts"], lists, language, new.paragraph)
        mark_end_of_document_tokens(pairs)
    removed = decide_paragraphs([r for r, _ in pairs], new.paragraph)
    nodes = rebuild_nodes(base["texts"], base["images"], base["image_metadata"], pairs)
    out = dict(base)
    _store_nodes(out, nodes)
    same_text = old_kept == [r.reason is None for r, _ in pairs]
    if same_text and _document_scoring(old) == _document_scoring(new) and row.get("filter_scores"):
        scores = row["filter_scores"]
    else:
        scores = DocumentFilter(new, lists, quality).score(out)
    out["filter_scores"] = scores
    return out, decide_document(scores, new.document), removed


def _paragraph_scoring(config: TextFilterConfig) -> tuple:
    p = config.paragraph
    return (p.character_repetition_length, p.word_repetition_length, config.stopwords,
            config.flagged_words, config.common_words)  # fmt: skip


def _document_scoring(config: TextFilterConfig) -> tuple:
    d = config.document
    return (d.character_repetition_length, d.word_repetition_length, config.stopwords,
            config.flagged_words, config.common_words, config.quality_model)  # fmt: skip


def with_thresholds(config: TextFilterConfig, **changes: Any) -> TextFilterConfig:
    """A copy of ``config`` with ``paragraph=`` / ``document=`` fields changed (for tuning)."""
    paragraph = replace(config.paragraph, **changes.pop("paragraph", {}))
    document = replace(config.document, **changes.pop("document", {}))
    return replace(config, paragraph=paragraph, document=document, **changes)

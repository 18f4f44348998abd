"""Re-apply new text-filter thresholds to a stored row, exactly as a full run would decide.

A row in ``extracted/`` holds every paragraph's scores in its trace and every document score.
``refilter_row`` reuses them unless a scoring parameter changed (n-gram lengths, word lists,
the quality model), re-decides the paragraphs with the same ``filter_paragraphs`` the stage
uses, and re-scores the document only when its kept text or scoring changed. The result equals
running the stages with the new config on the original document. Language ID is never re-run,
so ``language_id_model`` and ``language_id_max_chars`` cannot change here.
"""

from __future__ import annotations

from collections import Counter

from webweave.filters.text.config import LANGUAGE_ID_KEYS, TextFilterConfig
from webweave.filters.text.paragraphs import (
    filter_paragraphs,
    score_paragraphs,
    store_pass,
    stored_paragraphs,
    unfiltered_row,
)
from webweave.filters.text.rules import document_rules, paragraph_rules
from webweave.filters.text.scores import WordLists
from webweave.filters.text.stages import DocumentFilter


class LanguageIdChanged(ValueError):
    """The new config identifies languages otherwise (model or prefix): the stored language
    is stale."""


def refilter_row(
    row: dict,
    old: TextFilterConfig,
    new: TextFilterConfig,
    lists: WordLists,
    quality=None,
) -> tuple[dict, str | None, Counter]:
    """Re-apply ``new`` to a filtered (or dropped) row; returns (row, drop reason, removed)."""
    for key in LANGUAGE_ID_KEYS:
        if getattr(old, key) != getattr(new, key):
            raise LanguageIdChanged(
                f"text_filters.{key} differs between the run and the new config; "
                "refilter reuses the stored language, so changing it needs a full run"
            )
    stored = stored_paragraphs(row)
    base = unfiltered_row(row, stored)
    if old.paragraph_scoring() != new.paragraph_scoring():
        language = base["general_metadata"].get("language")
        scored = score_paragraphs(base["texts"], lists, language, new.paragraph)
    else:
        scored = stored
    old_kept = [r["reason"] is None for r in row["paragraph_filter"]["trace"]]
    result = filter_paragraphs(base["texts"], base["images"], base["image_metadata"], scored,
                               paragraph_rules(new.paragraph))  # fmt: skip
    out = dict(base)
    store_pass(out, result)
    same_text = old_kept == [r["reason"] is None for r in result.trace]
    if same_text and old.document_scoring() == new.document_scoring() and row.get("filter_scores"):
        scores = row["filter_scores"]
    else:
        scores = DocumentFilter(new, lists, quality).score(out)
    out["filter_scores"] = scores
    return out, document_rules(new.document).first_failure(scores), result.removed

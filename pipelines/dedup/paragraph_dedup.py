"""Step ``paragraph_dedup``: paragraphs repeated within a domain are removed (OBELICS 09)."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam import pvalue

from webweave.pipelines.dedup.keys import REMOVE_PARAGRAPH, DedupAction
from webweave.pipelines.dedup.step import (
    CHECKED_TAG,
    DedupStep,
    action_stats,
    count_metric,
    guard_flags,
    measured,
)

PARAGRAPH_DUPLICATE_IN_DOMAIN = "paragraph_duplicate_in_domain"


class _FlagDomainParagraph(beam.DoFn):
    """Per (domain, paragraph hash): in >= ``min_documents`` documents -> remove from all."""

    def __init__(self, min_documents: int):
        self._min_documents = min_documents

    def process(self, element) -> Iterator:
        (_, paragraph), holders = element
        count = sum(1 for _ in holders)
        yield pvalue.TaggedOutput(CHECKED_TAG, count >= self._min_documents)
        if count < self._min_documents:
            return
        count_metric("paragraphs_flagged")
        yield pvalue.TaggedOutput("flagged", paragraph)
        for doc_id, shard in holders:
            yield DedupAction(
                shard,
                doc_id,
                REMOVE_PARAGRAPH,
                PARAGRAPH_DUPLICATE_IN_DOMAIN,
                paragraph_hash=paragraph,
            )


class ParagraphDedup(DedupStep):
    """A paragraph (normalised hash) in >= ``dedup.min_paragraph_documents`` documents of one
    registered domain is removed from every one of them (no first copy kept, as OBELICS).

    In: PCollection[DedupKey]. Out: dict ``survivors`` (the input: no document is dropped and
    no later step reads paragraph hashes), ``actions`` (REMOVE_PARAGRAPH per document and
    hash), ``stats``.
    """

    name = "paragraph_dedup"
    reason = PARAGRAPH_DUPLICATE_IN_DOMAIN
    document_reason = "empty_after_paragraph_removal"

    def expand(self, keys):
        step = self.reason
        pairs = keys | "DomainParagraphs" >> beam.FlatMap(
            lambda key: (
                ((key.domain, paragraph), (key.doc_id, key.shard))
                for paragraph in dict.fromkeys(key.paragraph_hashes)
            )
        )
        flagged = (
            measured(pairs, "ByDomainParagraph", step, self._measure)
            | "ByDomainParagraph" >> self._grouping.group_by_key()
            | "Flag"
            >> beam.ParDo(_FlagDomainParagraph(self.config.min_paragraph_documents)).with_outputs(
                "flagged", CHECKED_TAG, main="actions"
            )
        )
        guard_flags(self.title, flagged[CHECKED_TAG], self._max_removed_fraction)
        return {
            "survivors": keys,
            "actions": flagged.actions,
            "stats": action_stats(flagged.actions, self.title),
        }

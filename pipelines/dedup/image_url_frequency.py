"""Step ``image_url_frequency``: image URLs in too many documents are removed (OBELICS 06)."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam import pvalue

from webweave.pipelines.dedup.keys import REMOVE_IMAGE, DedupAction, pack, unpack
from webweave.pipelines.dedup.step import (
    ACTIONS_TAG,
    CHECKED_TAG,
    DedupStep,
    action_stats,
    count_metric,
    guard_flags,
    measure_join,
    measured,
)

IMAGE_URL_TOO_FREQUENT = "image_url_too_frequent"


class _FlagFrequentImage(beam.DoFn):
    """Per image URL: if it is in more than ``max_documents`` documents, emit (doc_id, url)."""

    def __init__(self, max_documents: int):
        self._max_documents = max_documents

    def process(self, element) -> Iterator:
        url, doc_ids = element
        count = sum(1 for _ in doc_ids)
        yield pvalue.TaggedOutput(CHECKED_TAG, count > self._max_documents)
        if count <= self._max_documents:
            return
        count_metric("image_urls_flagged")
        yield pvalue.TaggedOutput("flagged", url)
        for doc_id in doc_ids:
            yield (doc_id, url)


def _apply_image_removals(element) -> Iterator:
    """Join of one document's key with the image URLs flagged in it."""
    _, joined = element
    for packed in joined["key"]:
        key = unpack(packed)
        removed = set(joined["removed"])
        if not removed:
            yield key
            continue
        remaining = tuple(url for url in key.image_urls if url not in removed)
        count_metric("image_positions_removed", len(key.image_urls) - len(remaining))
        yield key._replace(image_urls=remaining)
        for url in sorted(removed):
            yield pvalue.TaggedOutput(
                ACTIONS_TAG,
                DedupAction(key.shard, key.doc_id, REMOVE_IMAGE, IMAGE_URL_TOO_FREQUENT, url),
            )


class ImageUrlFrequency(DedupStep):
    """An image URL found in more than ``dedup.max_image_documents`` documents is removed from
    all of them.

    Counts documents, not positions (a URL twice in one page counts once). In:
    PCollection[DedupKey]. Out: dict ``survivors`` (image_urls without the removed URLs),
    ``actions`` (REMOVE_IMAGE per document and URL), ``stats`` (incl. positions removed),
    ``flagged_urls`` (str).
    """

    name = "image_url_frequency"
    reason = IMAGE_URL_TOO_FREQUENT
    document_reason = "empty_after_image_removal"

    def expand(self, keys):
        step = self.reason
        pairs = keys | "UrlDocPairs" >> beam.FlatMap(
            lambda key: ((url, key.doc_id) for url in dict.fromkeys(key.image_urls))
        )
        flagged = (
            measured(pairs, "ByImageUrl", step, self._measure)
            | "ByImageUrl" >> self._grouping.group_by_key()
            | "Flag"
            >> beam.ParDo(_FlagFrequentImage(self.config.max_image_documents)).with_outputs(
                "flagged", CHECKED_TAG, main="removals"
            )
        )
        by_doc = keys | "KeyByDoc" >> beam.Map(lambda key: (key.doc_id, pack(key)))
        joined = {
            "key": by_doc,
            "removed": flagged.removals,
        } | "JoinDocs" >> self._grouping.co_group_by_key()
        if self._measure:
            measure_join((by_doc, flagged.removals), f"{step}.join")
        applied = joined | "Apply" >> beam.FlatMap(_apply_image_removals).with_outputs(
            ACTIONS_TAG, main="survivors"
        )
        guard_flags(self.title, flagged[CHECKED_TAG], self._max_removed_fraction)
        return {
            "survivors": applied.survivors,
            "actions": applied[ACTIONS_TAG],
            "stats": action_stats(applied[ACTIONS_TAG], self.title),
            "flagged_urls": flagged.flagged,
        }

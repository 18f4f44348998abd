"""Step ``image_set_dedup``: one document per identical set of image URLs (OBELICS 11)."""

from __future__ import annotations

from collections.abc import Iterable

import apache_beam as beam
import xxhash

from webweave.pipelines.dedup.config import DedupConfig
from webweave.pipelines.dedup.keys import pack
from webweave.pipelines.dedup.step import DedupStep, action_stats, group_and_keep_one, guard
from webweave.pipelines.grouping import BEAM_SHUFFLE, Grouping

IMAGE_SET_DUPLICATE = "image_set_duplicate"


def image_set_key(image_urls: Iterable[str]) -> bytes:
    """128-bit digest of the sorted, unique image URLs, NUL-delimited (OBELICS lesson 9)."""
    return xxhash.xxh3_128_digest("\x00".join(sorted(set(image_urls))).encode("utf-8"))


class ImageSetDedup(DedupStep):
    """Documents with the same non-empty set of image URLs keep one (the keeper rule).

    In: PCollection[DedupKey]. Out: dict ``survivors``, ``actions`` (image_set_duplicate),
    ``stats``. Documents without images pass through without a shuffle. ``survivors=False``
    (the last step of the job, whose survivors nobody reads) leaves out the survivors' Flatten.
    """

    name = "image_set_dedup"
    reason = document_reason = IMAGE_SET_DUPLICATE

    def __init__(
        self,
        config: DedupConfig | None = None,
        grouping: Grouping = BEAM_SHUFFLE,
        survivors: bool = True,
    ):
        super().__init__(config, grouping)
        self._survivors = survivors

    def expand(self, keys):
        with_images, without_images = keys | "SplitByImages" >> beam.Partition(
            lambda key, _: 0 if key.image_urls else 1, 2
        )
        keyed = with_images | "BySet" >> beam.Map(
            lambda key: (image_set_key(key.image_urls), pack(key))
        )
        kept, actions = group_and_keep_one(keyed, self.reason, self._measure, self._grouping)
        guard(self.title, actions, with_images, self._max_removed_fraction)
        result = {"actions": actions, "stats": action_stats(actions, self.title)}
        if self._survivors:
            result["survivors"] = (kept, without_images) | "Survivors" >> beam.Flatten()
        return result

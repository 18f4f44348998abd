"""Step ``url_dedup``: one document per normalised URL, the latest capture (OBELICS 08)."""

from __future__ import annotations

import apache_beam as beam

from webweave.pipelines.dedup.keys import pack
from webweave.pipelines.dedup.step import DedupStep, action_stats, group_and_keep_one, guard

URL_DUPLICATE = "url_duplicate"


class UrlDedup(DedupStep):
    """One document per normalised URL: the latest capture, then the smallest doc_id.

    Out: ``survivors``, ``actions`` (DROP_DOCUMENT / url_duplicate), ``stats``.
    """

    name = "url_dedup"
    reason = document_reason = URL_DUPLICATE

    def expand(self, keys):
        keyed = keys | "ByUrl" >> beam.Map(lambda key: (key.url, pack(key)))
        survivors, actions = group_and_keep_one(keyed, self.reason, self._measure, self._grouping)
        guard(self.title, actions, keys, self._max_removed_fraction)
        return {
            "survivors": survivors,
            "actions": actions,
            "stats": action_stats(actions, self.title),
        }

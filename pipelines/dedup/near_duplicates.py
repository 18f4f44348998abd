"""Step ``near_duplicates``: MinHash-LSH candidates, clustered, one document kept per cluster
(FineWeb / datatrove recipe: 14 bands x 8 rows over word 5-grams)."""

from __future__ import annotations

from collections.abc import Iterator

import apache_beam as beam
from apache_beam import pvalue

from webweave.pipelines.dedup.connected_components import ConnectedComponents, star_edges
from webweave.pipelines.dedup.keys import (
    DROP_DOCUMENT,
    ClusterMember,
    DedupAction,
    DedupKey,
    pack,
    recency_rank,
    unpack,
)
from webweave.pipelines.dedup.step import (
    ACTIONS_TAG,
    DedupStep,
    action_stats,
    count_metric,
    guard,
    measure_join,
    measured,
)

NEAR_DUPLICATE = "near_duplicate"


def _bucket_entries(key: DedupKey) -> Iterator[tuple]:
    rank = recency_rank(key)
    for band_key in key.band_keys:
        yield (band_key, rank)


def _bucket_star_edges(element) -> Iterator[tuple]:
    _, members = element
    yield from star_edges(members)


def _apply_cluster_labels(element) -> Iterator:
    """Join of one document's key with its cluster root (if any): keep or drop it; every
    clustered document (the keeper too) is also a ``members`` output."""
    _, joined = element
    roots = list(joined["root"])
    for packed in joined["key"]:
        key = unpack(packed)
        if roots:
            yield pvalue.TaggedOutput("members", ClusterMember(key.doc_id, roots[0][1], key.shard))
        if not roots or roots[0] == recency_rank(key):
            yield key
            continue
        count_metric(NEAR_DUPLICATE)
        yield pvalue.TaggedOutput(
            ACTIONS_TAG,
            DedupAction(
                key.shard, key.doc_id, DROP_DOCUMENT, NEAR_DUPLICATE, kept_doc_id=roots[0][1]
            ),
        )


class NearDuplicates(DedupStep):
    """MinHash-LSH near-duplicate removal: one document per connected cluster of candidates.

    Band keys -> GroupByKey per bucket -> star edges to the bucket's minimum rank -> connected
    components (``ConnectedComponents``) over node ids = ``recency_rank`` so that each
    component's root *is* its keeper (latest capture, then smallest doc_id).
    In: PCollection[DedupKey]. Out: dict ``survivors``, ``actions`` (near_duplicate, with
    ``kept_doc_id``), ``stats``, ``cluster_members`` (ClusterMember, every clustered doc incl.
    the keeper), ``cluster_sizes`` ((cluster_id, size)).
    """

    name = "near_duplicates"
    reason = document_reason = NEAR_DUPLICATE

    def expand(self, keys):
        step, grouping = self.reason, self._grouping
        entries = keys | "BandEntries" >> beam.FlatMap(_bucket_entries)
        edges = (
            measured(entries, "Buckets", f"{step}.buckets", self._measure)
            | "Buckets" >> grouping.group_by_key()
            | "StarEdges" >> beam.FlatMap(_bucket_star_edges)
        )
        components = ConnectedComponents(self.config.cc_rounds, self._measure, grouping)
        labels = edges | "Components" >> components
        by_doc = keys | "KeyByDoc" >> beam.Map(lambda key: (key.doc_id, pack(key)))
        roots = labels | "RootByDoc" >> beam.Map(lambda kv: (kv[0][1], kv[1]))
        if self._measure:
            measure_join((by_doc, roots), f"{step}.join")
        applied = (
            {"key": by_doc, "root": roots}
            | "JoinDocs" >> grouping.co_group_by_key()
            | "Apply"
            >> beam.FlatMap(_apply_cluster_labels).with_outputs(
                ACTIONS_TAG, "members", main="survivors"
            )
        )
        members = applied.members
        sizes = (
            members
            | "ClusterIds" >> beam.Map(lambda member: (member.cluster_id, 1))
            | "ClusterSizes" >> grouping.sum_per_key()
        )
        guard(self.title, applied[ACTIONS_TAG], keys, self._max_removed_fraction)
        return {
            "survivors": applied.survivors,
            "actions": applied[ACTIONS_TAG],
            "stats": action_stats(applied[ACTIONS_TAG], self.title),
            "cluster_members": members,
            "cluster_sizes": sizes,
        }

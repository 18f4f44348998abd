"""Steps 2 and 3 of ``webweave run``: deduplicate the extracted documents, write the final ones.

Documents never go through a shuffle; only small keys do:

    extracted shard names ─→ DedupKeysOfShard ─→ Deduplicate (pipelines/dedup) ─→ actions
           │                                                                           │
           └───────────── CoGroupByKey(shard) ←── ActionsByShard ←─────────────────────┘
                                 │
                          WriteFinalShard: extracted/NAME → documents/NAME

``WriteFinalShard`` reads one ``extracted/`` shard, keeps the rows the text filters kept,
applies the shard's dedup actions (drop documents, remove frequent image URLs and repeated
paragraphs) and writes ``documents/`` under the same file name, so final shards stay
deterministic and one shard is all a worker holds.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from webweave.filters.dedup_actions import is_empty, remove_images, remove_paragraphs
from webweave.pipelines.config import Config
from webweave.pipelines.dedup import (
    ActionsByShard,
    DedupConfig,
    Deduplicate,
    ShardActions,
    make_dedup_key,
)
from webweave.pipelines.dedup.keys import UrlOptions
from webweave.pipelines.grouping import Grouping, grouping_for
from webweave.pipelines.layout import DEDUP_CLUSTERS, DOCUMENTS, EXTRACTED
from webweave.pipelines.parquet_shards import join, write_table_atomically
from webweave.schemas import documents as documents_schema
from webweave.schemas import extracted as extracted_schema

KEY_COLUMNS = ["id", "texts", "images", "general_metadata", "drop_reason"]

CLUSTERS_SCHEMA = pa.schema(
    [
        pa.field("doc_id", pa.string()),
        pa.field("cluster_id", pa.string()),  # the id of the document kept for the cluster
        pa.field("cluster_size", pa.int64()),
    ]
)


def read_extracted(path: str, columns: list[str] | None = None) -> pa.Table:
    with FileSystems.open(path) as handle:
        return pq.read_table(handle, columns=columns, schema=extracted_schema.SCHEMA)


class DedupKeysOfShard(beam.DoFn):
    """One extracted shard name → the ``DedupKey`` of each document the text filters kept."""

    def __init__(self, output_dir: str, dedup: DedupConfig):
        self.output_dir = output_dir
        self.dedup = dedup

    def setup(self) -> None:
        self.signer, self.url_options = self.dedup.signer(), UrlOptions.of(self.dedup)

    def process(self, shard: str) -> Iterator[tuple]:
        table = read_extracted(join(self.output_dir, EXTRACTED, shard), KEY_COLUMNS)
        for row in table.to_pylist():
            if row["drop_reason"] is not None:
                continue
            meta = row["general_metadata"]
            warc_date = meta["warc_date"].isoformat() if meta["warc_date"] else ""
            key = make_dedup_key(
                row["id"], shard, meta["url"] or "", warc_date, row["texts"], row["images"],
                self.signer, self.url_options,
            )  # fmt: skip
            yield key


class WriteFinalShard(beam.DoFn):
    """(shard, ShardActions or none) → ``documents/shard`` written, one write report out."""

    def __init__(self, output_dir: str, compression: str):
        self.output_dir = output_dir
        self.compression = compression

    def process(self, element) -> Iterator[dict]:
        shard, grouped = element
        actions = next(iter(grouped["actions"]), None) or ShardActions({}, {}, {})
        # Only the columns documents/ keeps: paragraph traces are the bulk of extracted rows.
        columns = [*documents_schema.SCHEMA.names, "drop_reason"]
        table = read_extracted(join(self.output_dir, EXTRACTED, shard), columns)
        report = {"in": 0, "written": 0, "dropped": Counter(), "images_removed": 0,
                  "paragraphs_removed": 0}  # fmt: skip
        rows = []
        for row in table.to_pylist():
            if row["drop_reason"] is not None:
                continue
            report["in"] += 1
            reason = _apply(row, actions, report)
            if reason is not None:
                report["dropped"][reason] += 1
                continue
            rows.append({name: row[name] for name in documents_schema.SCHEMA.names})
        path = join(self.output_dir, DOCUMENTS, shard)
        if rows:
            final = pa.Table.from_pylist(rows, schema=documents_schema.SCHEMA)
            write_table_atomically(final, path, self.compression)
        elif FileSystems.exists(path):
            FileSystems.delete([path])  # a stale shard of an earlier run with another config
        report["written"] = len(rows)
        report["dropped"] = dict(report["dropped"])
        yield report


def _apply(row: dict, actions: ShardActions, report: dict) -> str | None:
    """Apply one document's actions; the drop reason, or None when the document stays."""
    doc_id = row["id"]
    if doc_id in actions.dropped:
        return actions.dropped[doc_id]
    report["images_removed"] += remove_images(row, actions.removed_images.get(doc_id, ()))
    if is_empty(row):
        return "empty_after_image_removal"
    report["paragraphs_removed"] += remove_paragraphs(
        row, actions.removed_paragraphs.get(doc_id, ())
    )
    if is_empty(row):
        return "empty_after_paragraph_removal"
    return None


class WriteShardClusters(beam.DoFn):
    """(shard, {"shard", "rows": [(doc_id, cluster_id, size)]}) → ``dedup_clusters/shard``:
    the clustered documents of one extracted shard, so a file is bounded by a shard. A shard
    without clustered documents has no file (a stale one of an earlier run is deleted)."""

    def __init__(self, output_dir: str, compression: str):
        self.output_dir = output_dir
        self.compression = compression

    def process(self, element) -> Iterator[str]:
        shard, grouped = element
        rows = [
            {"doc_id": d, "cluster_id": c, "cluster_size": n} for d, c, n in sorted(grouped["rows"])
        ]
        path = join(self.output_dir, DEDUP_CLUSTERS, shard)
        if rows:
            table = pa.Table.from_pylist(rows, schema=CLUSTERS_SCHEMA)
            write_table_atomically(table, path, self.compression)
            yield path
        elif FileSystems.exists(path):
            FileSystems.delete([path])


def _cluster_rows(element) -> Iterator[tuple]:
    """(cluster_id, {"members": [(doc_id, shard)], "size": [n]}) → (shard, row)."""
    cluster_id, grouped = element
    size = next(iter(grouped["size"]), 0)
    for doc_id, shard in grouped["members"]:
        yield (shard, (doc_id, cluster_id, size))


def curate(reports, output_dir: str, config: Config):
    """Add dedup and the final write to the graph; returns the PCollection of write reports.

    ``reports``: the per-input reports of ``ProcessWarcInput`` (their ``shards`` lists).
    """
    compression = config.run.parquet_compression
    shards = (
        reports
        | "ShardNames" >> beam.FlatMap(lambda report: report["shards"])
        | "SpreadShards" >> beam.Reshuffle()
    )
    grouping = grouping_for(shards.pipeline, output_dir, config.shuffle)
    markers = shards | "ShardMarkers" >> beam.Map(lambda s: (s, None))
    dedup_config = config.dedup
    if dedup_config.any_step():
        keys = shards | "DedupKeys" >> beam.ParDo(DedupKeysOfShard(output_dir, dedup_config))
        dedup = keys | "Deduplicate" >> Deduplicate(dedup_config, grouping, combined=False)
        by_shard = dedup["actions"] | "ActionsByShard" >> ActionsByShard(grouping)
        cluster_rows = _cluster_rows_by_shard(dedup, grouping)
    else:  # every step off: no keys to compute, nothing to shuffle
        by_shard = shards.pipeline | "NoActions" >> beam.Create([])
        cluster_rows = shards.pipeline | "NoClusters" >> beam.Create([])
    _ = (
        {"shard": markers, "rows": cluster_rows}
        | "JoinClusterRows" >> grouping.co_group_by_key()
        | "WriteShardClusters" >> beam.ParDo(WriteShardClusters(output_dir, compression))
    )
    return (
        {"shard": markers, "actions": by_shard}
        | "JoinActions" >> grouping.co_group_by_key()
        | "WriteFinalShard" >> beam.ParDo(WriteFinalShard(output_dir, compression))
    )


def _cluster_rows_by_shard(dedup: dict, grouping: Grouping):
    """(shard, (doc_id, cluster_id, cluster_size)) for every clustered document."""
    members = dedup["cluster_members"] | "MembersByCluster" >> beam.Map(
        lambda member: (member.cluster_id, (member.doc_id, member.shard))
    )
    return (
        {"members": members, "size": dedup["cluster_sizes"]}
        | "JoinClusterSizes" >> grouping.co_group_by_key()
        | "ClusterRows" >> beam.FlatMap(_cluster_rows)
    )

"""Deterministic, atomic Parquet shards: ``{folder}/{prefix}-{n:05d}.parquet``.

Each input WARC owns the prefix of its shards, so re-running an input rewrites exactly its own
files (idempotent, resumable) and nothing else. Files are written under a temporary name and
renamed when complete, so a killed worker never leaves a half-written shard behind.
"""

from __future__ import annotations

import json
import os
import posixpath
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from webweave.schemas.config import PositiveInt, Section

# Parquet codecs pyarrow writes (webweave writes zstd by default, issue #2).
Compression = Literal["zstd", "snappy", "gzip", "brotli", "lz4", "none"]


@dataclass(frozen=True)
class RunConfig(Section):
    """``run:``: how the run's Parquet shards are cut and compressed."""

    yaml_name = "run"

    shard_rows: PositiveInt
    parquet_compression: Compression


def join(folder: str, *parts: str) -> str:
    """Join path parts for local folders and gs:// or s3:// URLs alike."""
    if "://" in folder:
        return posixpath.join(folder, *parts)
    return FileSystems.join(folder, *parts)


def write_table_atomically(table: pa.Table, path: str, compression: str) -> None:
    """Write ``table`` to ``path`` through a temporary file and a rename."""
    folder, name = posixpath.split(path) if "://" in path else FileSystems.split(path)
    temporary = join(folder, f".{name}.{uuid.uuid4().hex}.tmp")
    with FileSystems.create(temporary) as handle:
        pq.write_table(
            table,
            handle,
            compression=compression,
            use_compliant_nested_type=True,
            write_statistics=True,
        )
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([temporary], [path])


def write_json_atomically(path: str, data: dict) -> None:
    """Write ``data`` as JSON through a temporary file and a rename (manifests, stats)."""
    if "://" not in path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.tmp"
    with FileSystems.create(temporary) as handle:
        handle.write(json.dumps(data, indent=1).encode())
    if FileSystems.exists(path):
        FileSystems.delete([path])
    FileSystems.rename([temporary], [path])


def read_json(path: str) -> dict:
    with FileSystems.open(path) as handle:
        return json.loads(handle.read())


def delete_shards(folder: str, prefix: str) -> int:
    """Remove every shard (and leftover temporary file) of ``prefix``; returns how many."""
    patterns = [join(folder, f"{prefix}-*.parquet"), join(folder, f".{prefix}-*.tmp")]
    paths = [m.path for result in FileSystems.match(patterns) for m in result.metadata_list]
    if paths:
        FileSystems.delete(paths)
    return len(paths)


class ShardWriter:
    """Buffers rows and writes one Parquet file per ``shard_rows`` rows."""

    def __init__(
        self,
        folder: str,
        prefix: str,
        schema: pa.Schema,
        *,
        shard_rows: int,
        compression: str = "zstd",
        check_row: Callable[[dict], None] | None = None,
    ):
        self.folder = folder
        self.prefix = prefix
        self.schema = schema
        self.shard_rows = shard_rows
        self.compression = compression
        self.check_row = check_row
        self.rows: list[dict] = []
        self.paths: list[str] = []
        self.rows_written = 0

    def add(self, row: dict) -> None:
        if self.check_row is not None:
            self.check_row(row)
        self.rows.append(row)
        if len(self.rows) >= self.shard_rows:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        path = join(self.folder, f"{self.prefix}-{len(self.paths):05d}.parquet")
        table = pa.Table.from_pylist(self.rows, schema=self.schema)
        write_table_atomically(table, path, self.compression)
        self.paths.append(path)
        self.rows_written += len(self.rows)
        self.rows = []

    def close(self) -> list[str]:
        self.flush()
        return self.paths


def fresh_shard_writer(
    folder: str, prefix: str, schema: pa.Schema, *, shard_rows: int, compression: str
) -> ShardWriter:
    """A writer for ``prefix`` after deleting that prefix's leftovers of an earlier attempt.

    Every per-input writer starts this way: shard names are deterministic, so a re-run must
    never leave a stale higher-numbered shard of the previous attempt behind.
    """
    delete_shards(folder, prefix)
    return ShardWriter(folder, prefix, schema, shard_rows=shard_rows, compression=compression)

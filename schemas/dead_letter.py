"""The ``dead_letter`` table: one row per item a job could not process, with the error."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "dead_letter"
VERSION = 1

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("source_file", pa.string(), nullable=False),
            pa.field("record_offset", pa.int64()),  # byte offset of the WARC record, if known
            pa.field("record_id", pa.string()),  # WARC-Record-ID or document id, if known
            pa.field("url", pa.string()),
            pa.field("stage", pa.string(), nullable=False),
            pa.field("error_type", pa.string(), nullable=False),
            pa.field("message", pa.string()),
        ]
    ),
    NAME,
    VERSION,
)


def row(
    source_file: str,
    stage: str,
    error_type: str,
    message: str,
    record_offset: int | None = None,
    record_id: str | None = None,
    url: str | None = None,
) -> dict[str, Any]:
    """One dead-letter row: every job builds its rows here, so they all have one shape."""
    return {
        "source_file": source_file,
        "record_offset": record_offset,
        "record_id": record_id,
        "url": url,
        "stage": stage,
        "error_type": error_type,
        "message": message,
    }

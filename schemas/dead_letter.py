"""The ``dead_letter`` table: one row per item a job could not process, with the error."""

from __future__ import annotations

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

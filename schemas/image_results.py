"""The ``image_results`` table: one row per distinct image URL with its final outcome.

It is the images job's memory: ``webweave images retry OUT`` reads it, re-fetches only the
URLs whose status is ``failed`` with a retryable reason, and reuses every other row as is.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "image_results"
VERSION = 1

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("image_url", pa.string(), nullable=False),
            pa.field("status", pa.string(), nullable=False),  # see schemas/image_documents.py
            pa.field("status_reason", pa.string()),
            pa.field("stage", pa.string()),  # funnel stage that decided (null when kept)
            pa.field("detail", pa.string()),
            pa.field("width", pa.int32()),
            pa.field("height", pa.int32()),
            pa.field("format", pa.string()),
            pa.field("sha256", pa.string()),
            pa.field("phash", pa.string()),
            pa.field("source", pa.string()),
            pa.field("image_shard", pa.string()),
            pa.field("image_row", pa.int64()),
            pa.field("attempt", pa.int32()),
        ]
    ),
    NAME,
    VERSION,
)

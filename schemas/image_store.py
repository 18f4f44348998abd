"""The ``images`` table: the bytes of each kept image, once per distinct URL.

Written by the images job in bounded shards (rows and bytes per file capped by
``images.store_shard_rows`` / ``images.store_shard_bytes``); ``pairs`` rows reference a shard
and a row. Bytes are the original bytes as served (no re-encoding, OBELICS lesson 13).
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "images"
VERSION = 1

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("image_url", pa.string(), nullable=False),
            pa.field("sha256", pa.string(), nullable=False),
            pa.field("format", pa.string()),
            pa.field("width", pa.int32()),
            pa.field("height", pa.int32()),
            pa.field("bytes", pa.binary(), nullable=False),
        ]
    ),
    NAME,
    VERSION,
)

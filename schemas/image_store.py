"""The ``images`` table: the bytes of each kept image, once per distinct URL.

Written by the images job in bounded shards (rows and bytes per file capped by
``images.store_shard_rows`` / ``images.store_shard_bytes``); ``pairs`` rows reference a shard
and a row. Bytes are the original bytes as served (no re-encoding, OBELICS lesson 13), with one
opt-in exception: with ``images.gif_first_frame`` a GIF is stored as the PNG of its first frame
(``converted_from`` = ``gif`` in ``image_results``/``image_documents``; ``format`` says png).
``image_url`` is the image as the documents name it; ``image_results.fetched_url`` says which
candidate URL or archived record the bytes came from.
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

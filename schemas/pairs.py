"""The ``pairs`` table: one row per kept image occurrence, with its nearest text context.

Image bytes are not in this table: ``image_shard`` (a path relative to the images job's
output folder) and ``image_row`` point at the row of ``images/*.parquet`` holding them. Bytes
are stored once per distinct image URL, so an image used by many documents is not copied,
and pair files stay small whatever the images weigh (see ``schemas/image_store.py``).
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "pairs"
VERSION = 1

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("pair_id", pa.string(), nullable=False),  # sha256(doc_id \\0 position)[:32]
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("position", pa.int32(), nullable=False),  # index in the document's lists
            pa.field("image_url", pa.string(), nullable=False),
            pa.field("image_shard", pa.string()),  # images/….parquet, relative to OUT
            pa.field("image_row", pa.int64()),  # row index inside image_shard
            pa.field("alt_text", pa.string()),
            pa.field("text_before", pa.string()),  # nearest preceding paragraph
            pa.field("text_after", pa.string()),  # nearest following paragraph
            pa.field("width", pa.int32()),
            pa.field("height", pa.int32()),
            pa.field("format", pa.string()),  # sniffed from the bytes: jpeg, png, webp
            pa.field("sha256", pa.string()),  # of the bytes as served
            pa.field("phash", pa.string()),  # 64-bit DCT perceptual hash, 16 hex digits
            pa.field("source", pa.string()),  # network | warc
        ]
    ),
    NAME,
    VERSION,
)

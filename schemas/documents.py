"""The ``documents`` table: one row per interleaved document (output of ``webweave run``).

Columns follow OBELICS (``texts``/``images`` parallel lists) but with real Arrow types
instead of JSON strings. ``export-obelics`` converts to the published string layout.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "documents"
VERSION = 2  # 2: image_metadata.caption; general_metadata.block_digest_ok, payload_digest_ok

IMAGE_METADATA = pa.struct(
    [
        pa.field("alt_text", pa.string()),
        pa.field("caption", pa.string()),  # text of the <figcaption> of the image's <figure>
        pa.field("width_attr", pa.int32()),  # rendered width from the HTML attribute
        pa.field("height_attr", pa.int32()),
        pa.field("original_src", pa.string()),  # the attribute value as written
        pa.field("source_attribute", pa.string()),  # src, srcset, data-src, ...
    ]
)

GENERAL_METADATA = pa.struct(
    [
        pa.field("url", pa.string()),
        pa.field("warc_filename", pa.string()),
        pa.field("warc_record_offset", pa.int64()),
        pa.field("warc_record_length", pa.int64()),
        pa.field("warc_date", pa.timestamp("us", tz="UTC")),
        pa.field("warc_record_id", pa.string()),
        pa.field("content_type", pa.string()),
        pa.field("charset", pa.string()),
        pa.field("charset_source", pa.string()),  # http_header, meta, bom, detected, default
        pa.field("http_status", pa.int32()),
        pa.field("warc_truncated", pa.string()),  # WARC-Truncated reason, null when whole
        pa.field("title", pa.string()),
        # WARC-Block-Digest / WARC-Payload-Digest verified (true), mismatched (false), or not
        # checkable (null: absent, unsupported algorithm, revisit). Added in version 2.
        pa.field("block_digest_ok", pa.bool_()),
        pa.field("payload_digest_ok", pa.bool_()),
    ]
)

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("id", pa.string(), nullable=False),
            pa.field("texts", pa.list_(pa.string())),
            pa.field("images", pa.list_(pa.string())),
            pa.field("image_metadata", pa.list_(IMAGE_METADATA)),
            pa.field("general_metadata", GENERAL_METADATA),
        ]
    ),
    NAME,
    VERSION,
)

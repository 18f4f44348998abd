"""The ``image_results`` table: one row per distinct image URL with its final outcome.

It is the images job's memory: ``webweave images retry OUT`` reads it, re-fetches only the
URLs whose status is ``failed`` with a retryable reason, and reuses every other row as is.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "image_results"

# Where an image's bytes came from (issue #17); also in image_documents' image_metadata.
PROVENANCE = [
    pa.field("fetched_url", pa.string()),  # the candidate URL or archived URI of the bytes
    pa.field("candidate_index", pa.int32()),  # 0: the preferred candidate (the image URL)
    # How the WARC lookup found it (exact, canonical, scheme_insensitive, other_candidate,
    # via_revisit, via_redirect) or not (not_captured, captured_without_image); null: no
    # --from-warc. Counted per WARC in stats.json's warc_lookup.
    pa.field("warc_lookup", pa.string()),
    pa.field("warc_filename", pa.string()),  # the record that held the payload
    pa.field("warc_record_offset", pa.int64()),
    pa.field("converted_from", pa.string()),  # "gif": bytes are the GIF's first frame as PNG
]
VERSION = 2  # 2: where the bytes came from (candidate, archive record) and GIF conversion

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
            *PROVENANCE,
        ]
    ),
    NAME,
    VERSION,
)

"""The ``documents`` table: one row per interleaved document (output of ``webweave run``).

Columns follow OBELICS (``texts``/``images`` parallel lists) but with real Arrow types
instead of JSON strings. ``export-obelics`` converts to the published string layout.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import upgraded, versioned

NAME = "documents"
# 2: caption, digest flags, language, filter_scores (issues #3, #6)
# 3: image_metadata.candidates, every URL an image could load (issue #17)
VERSION = 3
# Files of version 2 are still read: ``upgrade_table`` gives them null candidates.
OLDEST_READABLE_VERSION = 2

# One URL an <img> could load; filters/image_sources.py documents the order of preference.
IMAGE_CANDIDATE = pa.struct(
    [
        pa.field("url", pa.string()),  # absolute; candidates[0].url is the document's image URL
        pa.field("original_src", pa.string()),  # the value as written
        pa.field("attribute", pa.string()),  # src, srcset, data-src, data-srcset, ...
        pa.field("descriptor_width", pa.int32()),  # srcset "480w"
        pa.field("descriptor_density", pa.float64()),  # srcset "2x"; both null: none (1x)
    ]
)

IMAGE_METADATA = pa.struct(
    [
        pa.field("alt_text", pa.string()),
        pa.field("caption", pa.string()),  # text of the <figcaption> of the image's <figure>
        pa.field("width_attr", pa.int32()),  # rendered width from the HTML attribute
        pa.field("height_attr", pa.int32()),
        pa.field("original_src", pa.string()),  # the attribute value as written
        pa.field("source_attribute", pa.string()),  # src, srcset, data-src, ...
        # Every candidate, preferred first; null in files written before version 3.
        pa.field("candidates", pa.list_(IMAGE_CANDIDATE)),
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
        # fastText lid.176 top-1 label and probability on the whole extracted text (issue #3).
        pa.field("language", pa.string()),
        pa.field("language_score", pa.float64()),
    ]
)

# Scores every paragraph-level filter computes (OBELICS node-level rows); null = not computed
# (e.g. no word list for the document's language). Names are the filters' score names.
PARAGRAPH_SCORES = pa.struct(
    [
        pa.field("number_words", pa.int64()),
        pa.field("character_repetition_ratio", pa.float64()),
        pa.field("word_repetition_ratio", pa.float64()),
        pa.field("special_character_ratio", pa.float64()),
        pa.field("stopword_ratio", pa.float64()),
        pa.field("flagged_word_ratio", pa.float64()),
        pa.field("punctuation_ratio", pa.float64()),
        pa.field("punctuation_tokens", pa.int64()),
        pa.field("common_word_ratio", pa.float64()),
    ]
)

# Document-level scores, computed once on the text left after paragraph filtering; thresholds
# are applied to these values (``webweave refilter`` re-applies new ones without re-parsing).
FILTER_SCORES = pa.struct(
    [
        *PARAGRAPH_SCORES,
        *(
            pa.field(f"gopher_{name}", pa.float64())
            for name in (
                "duplicate_paragraph_fraction",
                "duplicate_paragraph_char_fraction",
                "duplicate_line_fraction",
                "duplicate_line_char_fraction",
                *(f"top_{n}gram_char_fraction" for n in (2, 3, 4)),
                *(f"duplicate_{n}gram_char_fraction" for n in range(5, 11)),
            )
        ),
        pa.field("number_images", pa.int64()),
        pa.field("language", pa.string()),
        pa.field("language_score", pa.float64()),
        pa.field("quality_score", pa.float64()),
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
            pa.field("filter_scores", FILTER_SCORES),  # null when text filters are off
        ]
    ),
    NAME,
    VERSION,
)


def upgrade_table(table: pa.Table) -> pa.Table:
    """A documents table of any readable version in this version's schema (fields added since
    are null); raises ``SchemaMismatch`` for anything else."""
    return upgraded(table, SCHEMA, OLDEST_READABLE_VERSION)

"""The ``extracted`` table: every document extraction produced, before deduplication.

One row per document with content, kept or not by the text filters: the ``documents`` columns
plus ``drop_reason`` (the failing filter, null when kept) and ``paragraph_filter`` (each
paragraph's scores, and the text of removed paragraphs). It is what ``webweave refilter``
re-thresholds without re-parsing WARCs, what ``webweave report`` samples dropped documents
from, and the input of the dedup and final-write steps of ``webweave run``.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas import documents
from webweave.schemas.registry import upgraded, versioned

NAME = "extracted"
VERSION = 2  # 2: the documents columns of documents version 3 (image candidates, issue #17)
# Files of version 1 are still read: ``upgrade_table`` gives them null image candidates.
OLDEST_READABLE_VERSION = 1

PARAGRAPH_RECORD = pa.struct(
    [
        pa.field("position", pa.int32()),  # position in the unfiltered texts/images lists
        pa.field("index", pa.int32()),  # paragraph index within that text node
        pa.field("length", pa.int32()),
        pa.field("scores", documents.PARAGRAPH_SCORES),
        pa.field("reason", pa.string()),  # the failing paragraph filter, null when kept
        pa.field("text", pa.string()),  # set only for removed paragraphs
    ]
)

PARAGRAPH_FILTER = pa.struct(
    [
        pa.field("removed", pa.map_(pa.string(), pa.int64())),
        pa.field("kept_positions", pa.list_(pa.int32())),
        pa.field("trace", pa.list_(PARAGRAPH_RECORD)),
    ]
)

SCHEMA = versioned(
    pa.schema(
        [
            *documents.SCHEMA,
            pa.field("drop_reason", pa.string()),
            pa.field("paragraph_filter", PARAGRAPH_FILTER),
        ]
    ),
    NAME,
    VERSION,
)


def upgrade_table(table: pa.Table) -> pa.Table:
    """An extracted table of any readable version in this version's schema (fields added since
    are null); raises ``SchemaMismatch`` for anything else."""
    return upgraded(table, SCHEMA, OLDEST_READABLE_VERSION)

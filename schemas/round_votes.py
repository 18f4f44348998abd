"""``votes.parquet``: every answer an ingest read, one row each, with what became of it.

Written into the round that ``rounds ingest`` creates; it holds the answers of the parent
round. Nothing is silent: an answer is ``valid`` or has the reason it was not counted
(``worker_failed_check``, ``worker_failed_earlier``, ``invalid_answer``, ``cancelled``,
``rejected``, ``repeat_by_worker``, ``beyond_raters``). Duplicates of an answer already read
(the same export given twice) are counted in the report, not repeated here.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "round_votes"
VERSION = 1

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("round", pa.int32(), nullable=False),  # the round the answer belongs to
            pa.field("item_id", pa.string(), nullable=False),
            pa.field("is_check", pa.bool_(), nullable=False),
            pa.field("worker_id", pa.string(), nullable=False),  # tool-prefixed: ls:3, mturk:A1…
            pa.field("tool", pa.string(), nullable=False),  # labelstudio | mturk | groundtruth
            pa.field("answer_id", pa.string(), nullable=False),  # unique within the tool
            pa.field("answer", pa.string()),  # left | right | 1..7 (null: unreadable)
            pa.field("submitted_at", pa.string()),  # as the tool wrote it
            pa.field("status", pa.string(), nullable=False),  # valid | the reason it was not
            pa.field("correct", pa.bool_()),  # checks: answer == expected
            pa.field("source_file", pa.string(), nullable=False),  # export file name
        ]
    ),
    NAME,
    VERSION,
)

"""``report.json`` of an ingested round (written into the round ``rounds ingest`` creates).

- ``exports``: each file read, its tool, sha256 and the answers it held;
- ``answers``: read = valid + not counted (by status) + duplicates (the same answer id seen
  again, e.g. an export ingested twice); the funnel closes exactly;
- ``workers``: per worker, answers and attention checks (answered, correct, accuracy) and
  whether every answer of theirs was discarded;
- ``items``: counts of the round's items by outcome (NIGHTS: continued, split_vote; TImeD:
  labelled, requeued) and ``survival_rate`` (NIGHTS: share of real items still unanimous);
- ``agreement``: Krippendorff's alpha (NIGHTS: nominal, first round only; TImeD: ordinal over
  every complete sentence so far) and TImeD's share of items with at most one dissenting rater;
- ``labels`` / ``splits``: TImeD label and split counts so far (empty for NIGHTS);
- ``next``: the round this ingest created and whether the study stops there.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "round_report"
VERSION = 1

COUNTS = pa.map_(pa.string(), pa.int64())

EXPORT = pa.struct(
    [
        pa.field("file", pa.string(), nullable=False),
        pa.field("tool", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("tasks", pa.int64(), nullable=False),
        pa.field("answers", pa.int64(), nullable=False),
    ]
)

WORKER = pa.struct(
    [
        pa.field("worker_id", pa.string(), nullable=False),
        pa.field("answers", pa.int64(), nullable=False),
        pa.field("checks_answered", pa.int64(), nullable=False),
        pa.field("checks_correct", pa.int64(), nullable=False),
        pa.field("check_accuracy", pa.float64()),  # null: saw no check
        pa.field("discarded", pa.bool_(), nullable=False),
        pa.field("discard_reason", pa.string()),  # failed_check | failed_earlier
    ]
)

AGREEMENT = pa.struct(
    [
        pa.field("krippendorff_alpha", pa.float64()),  # null when not computed or undefined
        pa.field("level", pa.string()),  # nominal | ordinal
        pa.field("items", pa.int64(), nullable=False),  # items the coefficient covers
        pa.field("at_most_one_dissent_share", pa.float64()),  # TImeD only
        pa.field("note", pa.string()),
    ]
)

NEXT = pa.struct(
    [
        pa.field("round", pa.int32(), nullable=False),
        pa.field("round_id", pa.string(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("stop_reason", pa.string()),
        pa.field("items", pa.int64(), nullable=False),
        pa.field("checks", pa.int64(), nullable=False),
    ]
)

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("kind", pa.string(), nullable=False),
            pa.field("round", pa.int32(), nullable=False),  # the ingested round
            pa.field("round_id", pa.string(), nullable=False),
            pa.field("exports", pa.list_(EXPORT), nullable=False),
            pa.field("answers_read", pa.int64(), nullable=False),
            pa.field("answers_duplicate", pa.int64(), nullable=False),
            pa.field("answers_valid", pa.int64(), nullable=False),
            pa.field("answers_not_counted", COUNTS, nullable=False),
            pa.field("answers_funnel_closes", pa.bool_(), nullable=False),
            pa.field("workers", pa.list_(WORKER), nullable=False),
            pa.field("items", COUNTS, nullable=False),
            pa.field("survival_rate", pa.float64()),
            pa.field("agreement", AGREEMENT, nullable=False),
            pa.field("labels", COUNTS, nullable=False),
            pa.field("splits", COUNTS, nullable=False),
            pa.field("next", NEXT, nullable=False),
        ]
    ),
    NAME,
    VERSION,
)

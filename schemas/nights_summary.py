"""``summary.json`` of a finalized NIGHTS-style dataset: agreement and the rounds behind it.

``first_round`` is the agreement of round 1's votes before unanimity filtering (the only
round where it means something); ``rounds`` the unanimity survival of every ingested round;
``votes`` the histogram of unanimous votes in ``data.csv`` (DreamSim keeps ``votes >= 6``).
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "nights_summary"
VERSION = 1

COUNTS = pa.map_(pa.string(), pa.int64())

ROUND = pa.struct(
    [
        pa.field("round", pa.int32(), nullable=False),
        pa.field("items_in", pa.int64(), nullable=False),
        pa.field("continued", pa.int64(), nullable=False),
        pa.field("split_vote", pa.int64(), nullable=False),
        pa.field("survival_rate", pa.float64()),
        pa.field("answers_valid", pa.int64(), nullable=False),
        pa.field("workers", pa.int64(), nullable=False),
        pa.field("workers_discarded", pa.int64(), nullable=False),
    ]
)

FIRST_ROUND = pa.struct(
    [
        pa.field("krippendorff_alpha", pa.float64()),
        pa.field("level", pa.string(), nullable=False),
        pa.field("items", pa.int64(), nullable=False),
    ]
)

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("triplets", pa.int64(), nullable=False),  # rows of data.csv
            pa.field("last_round", pa.int32(), nullable=False),
            pa.field("last_round_status", pa.string(), nullable=False),  # open | stopped
            pa.field("stop_reason", pa.string()),
            pa.field("first_round", FIRST_ROUND, nullable=False),
            pa.field("rounds", pa.list_(ROUND), nullable=False),
            pa.field("votes", COUNTS, nullable=False),
            pa.field("splits", COUNTS, nullable=False),
        ]
    ),
    NAME,
    VERSION,
)

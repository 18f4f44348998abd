"""``round.json``: one annotation round's identity, place in the chain and state.

Every round folder (``nights build``, ``timed manifest``, ``rounds ingest`` outputs) has one.
``parent`` points at the round whose answers produced this one and ``root`` at round 1 (which
holds the study's static tables and images); both as paths relative to this folder plus the
``round_id`` they must have, so a moved or swapped folder is detected, not silently read.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "annotation_round"
VERSION = 1

LINK = pa.struct(
    [
        pa.field("path", pa.string(), nullable=False),  # relative to this round's folder
        pa.field("round_id", pa.string(), nullable=False),
    ]
)

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("kind", pa.string(), nullable=False),  # nights | timed
            pa.field("round", pa.int32(), nullable=False),  # 1 for the first round
            pa.field("round_id", pa.string(), nullable=False),  # 16 hex digits of the fingerprint
            pa.field("parent", LINK),  # null for round 1
            pa.field("root", LINK, nullable=False),  # round 1 ("." in round 1 itself)
            pa.field("status", pa.string(), nullable=False),  # open | stopped
            pa.field("stop_reason", pa.string()),  # max_rounds | nothing_removed | ...
            pa.field("seed", pa.int64(), nullable=False),
            pa.field("created_by", pa.string(), nullable=False),  # the command
            pa.field("items", pa.int64(), nullable=False),  # items to annotate, checks excluded
            pa.field("checks", pa.int64(), nullable=False),  # attention-check items
            pa.field("assignments", pa.int64(), nullable=False),  # answers asked, checks included
        ]
    ),
    NAME,
    VERSION,
)

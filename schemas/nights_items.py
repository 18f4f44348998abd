"""``items.parquet`` of a NIGHTS round: what raters see in this round, in order.

A real item is a triplet still unanimous so far (``n_left`` / ``n_right``: its valid votes of
earlier rounds). An attention check (``is_check``) shows a triplet's reference as one of the
two options; ``expected`` is that side. Image paths are relative to round 1's folder.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "nights_items"
VERSION = 1

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("item_id", pa.string(), nullable=False),  # t<triplet_id> | c<round>-<n>
            pa.field("triplet_id", pa.int64(), nullable=False),  # a check: the triplet it reuses
            pa.field("is_check", pa.bool_(), nullable=False),
            pa.field("expected", pa.string()),  # checks: left | right
            pa.field("ref_image", pa.string(), nullable=False),
            pa.field("left_image", pa.string(), nullable=False),
            pa.field("right_image", pa.string(), nullable=False),
            pa.field("assignments", pa.int32(), nullable=False),  # votes asked in this round
            pa.field("n_left", pa.int32(), nullable=False),  # valid votes of earlier rounds
            pa.field("n_right", pa.int32(), nullable=False),
        ]
    ),
    NAME,
    VERSION,
)

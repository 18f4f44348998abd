"""The files of a finalized NIGHTS-style dataset (``webweave nights finalize``).

``data.csv`` has exactly NIGHTS' ten columns in NIGHTS' order, so DreamSim's
``TwoAFCDataset`` reads it unchanged (it indexes columns by position: 0 id, 2 right_vote as
the target, 4-6 paths; by name: votes, split, is_imagenet). Only unanimous triplets are in it;
``votes`` counts their unanimous votes (``left_vote`` / ``right_vote`` are then 1.0 / 0.0).

``webweave_triplets.csv`` lists every triplet of the study (like NIGHTS' unfiltered
``nights_raw.csv``): the id, the webweave columns that reference annotation.md §5 proposes to
append (round, n_left, n_right, unanimous, seeds, generator), and where each image came from.
Both are CSV; these Arrow schemas fix column order and types, and readers check them.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

DATA_NAME, TRIPLETS_NAME = "nights_data_csv", "nights_triplets_csv"
VERSION = 1

DATA_CSV = versioned(
    pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("left_vote", pa.float64(), nullable=False),
            pa.field("right_vote", pa.float64(), nullable=False),  # the 2AFC target p
            pa.field("votes", pa.int64(), nullable=False),  # unanimous votes
            pa.field("ref_path", pa.string(), nullable=False),  # ref/XXX/YYY.png
            pa.field("left_path", pa.string(), nullable=False),  # distort/XXX/YYY_0|1.png
            pa.field("right_path", pa.string(), nullable=False),
            pa.field("split", pa.string(), nullable=False),  # train | val | test
            pa.field("is_imagenet", pa.bool_(), nullable=False),
            pa.field("prompt", pa.string()),
        ]
    ),
    DATA_NAME,
    VERSION,
)

TRIPLETS_CSV = versioned(
    pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("status", pa.string(), nullable=False),  # unanimous | split_vote | no_votes
            pa.field("round", pa.int64(), nullable=False),  # last round it was asked in
            pa.field("n_left", pa.int64(), nullable=False),
            pa.field("n_right", pa.int64(), nullable=False),
            pa.field("unanimous", pa.bool_(), nullable=False),
            pa.field("split", pa.string()),  # null unless in data.csv
            pa.field("seed_ref", pa.int64()),
            pa.field("seed_left", pa.int64()),
            pa.field("seed_right", pa.int64()),
            pa.field("generator", pa.string()),
            pa.field("source", pa.string(), nullable=False),
            pa.field("ref_origin", pa.string(), nullable=False),
            pa.field("left_origin", pa.string(), nullable=False),
            pa.field("right_origin", pa.string(), nullable=False),
            pa.field("similarity_left", pa.float64()),
            pa.field("similarity_right", pa.float64()),
        ]
    ),
    TRIPLETS_NAME,
    VERSION,
)

"""``labels.parquet`` of a TImeD study: every sentence with its 9 valid ratings, labelled.

Columns follow reference annotation.md §5 (webweave's proposal). ``label`` is TImeD's rule
(``annotation/likert_labels.py``): ``visual`` / ``non_visual`` (at least 5 of 9 ratings in
{5,6,7} / {1,2,3}), ``neutral`` (at least 5 rated 4) or ``ambiguous``. ``split`` (train / val /
test, grouped by document) is set for visual and non-visual sentences only, as the paper's
splits exclude the others. ``round`` is the round whose ingest completed the sentence.
Attention checks are not in this table (their answers are in ``votes.parquet``).
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "visualness_labels"
VERSION = 1

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("sentence_id", pa.string(), nullable=False),
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("sentence", pa.string(), nullable=False),
            pa.field("ratings", pa.list_(pa.int8()), nullable=False),  # 9 values in 1..7
            pa.field("mean", pa.float64(), nullable=False),
            pa.field("std", pa.float64(), nullable=False),
            pa.field("n_low", pa.int8(), nullable=False),  # ratings in {1,2,3}
            pa.field("n_mid", pa.int8(), nullable=False),  # ratings of 4
            pa.field("n_high", pa.int8(), nullable=False),  # ratings in {5,6,7}
            pa.field("label", pa.string(), nullable=False),
            pa.field("split", pa.string()),
            pa.field("image_ref", pa.string()),  # the auto label's most similar image
            pa.field("clip_sim_max", pa.float32()),
            pa.field("auto_label", pa.string()),
            pa.field("round", pa.int32(), nullable=False),
        ]
    ),
    NAME,
    VERSION,
)

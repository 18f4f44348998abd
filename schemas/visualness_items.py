"""``items.parquet`` of a TImeD round: the sentences raters score on the 7-point scale.

A real item is a sentence sampled by auto label (``timed manifest``) or re-queued because
answers of discarded workers were removed (``assignments`` = ratings still missing). An
attention check (``is_check``) is a sentence that instructs a score; ``expected`` is it.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "visualness_items"
VERSION = 1

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("item_id", pa.string(), nullable=False),  # s<sentence_id> | c<round>-<n>
            pa.field("sentence_id", pa.string(), nullable=False),  # checks: c<round>-<n>
            pa.field("doc_id", pa.string()),  # null for checks
            pa.field("sentence", pa.string(), nullable=False),
            pa.field("is_check", pa.bool_(), nullable=False),
            pa.field("expected", pa.string()),  # checks: "1".."7"
            pa.field("assignments", pa.int32(), nullable=False),  # ratings asked in this round
            pa.field("auto_label", pa.string()),  # visual | non_visual | unlabelled
            pa.field("clip_sim_max", pa.float32()),
            pa.field("image_ref", pa.string()),  # URL of the most similar image
        ]
    ),
    NAME,
    VERSION,
)

"""``triplets.parquet`` of a NIGHTS study's first round: every candidate triplet, once.

Rounds refer to triplets by ``triplet_id``; ``nights finalize`` reads the static facts from
here. Images are files of the study (``images/…`` relative to round 1's folder). ``distort0``
and ``distort1`` are the NIGHTS ``_0`` / ``_1`` files; ``left_variant`` says which one the
raters see on the left (randomised with the seed), so ``left_path`` can be ``…_1.png``.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "nights_triplets"
VERSION = 1

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("triplet_id", pa.int64(), nullable=False),  # NIGHTS id: XXX * 1000 + YYY
            pa.field("ref_image", pa.string(), nullable=False),  # images/… in round 1
            pa.field("distort0_image", pa.string(), nullable=False),
            pa.field("distort1_image", pa.string(), nullable=False),
            pa.field("left_variant", pa.int8(), nullable=False),  # 0 or 1: shown on the left
            pa.field("ref_group", pa.string(), nullable=False),  # splits never share a group
            pa.field("prompt", pa.string()),
            pa.field("is_imagenet", pa.bool_(), nullable=False),
            pa.field("seed_ref", pa.int64()),  # generator seeds (table sources)
            pa.field("seed_0", pa.int64()),
            pa.field("seed_1", pa.int64()),
            pa.field("generator", pa.string()),
            pa.field("source", pa.string(), nullable=False),  # nights_folder | table | corpus
            pa.field("ref_origin", pa.string(), nullable=False),  # source path or image URL
            pa.field("distort0_origin", pa.string(), nullable=False),
            pa.field("distort1_origin", pa.string(), nullable=False),
            pa.field("similarity_0", pa.float32()),  # corpus: cosine(ref, distort0)
            pa.field("similarity_1", pa.float32()),
        ]
    ),
    NAME,
    VERSION,
)

"""``stats.json`` of the annotation commands that transform data (``nights build``,
``nights finalize``, ``timed auto``, ``timed manifest``): the funnel, closing exactly as the
jobs' funnels do (every input is an output or a counted drop), plus provenance and counts.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "annotation_stats"
VERSION = 1

STAGE = pa.struct(
    [
        pa.field("stage", pa.string(), nullable=False),
        pa.field("in", pa.int64(), nullable=False),
        pa.field("out", pa.int64(), nullable=False),
        pa.field("dropped", pa.map_(pa.string(), pa.int64()), nullable=False),
        pa.field("errors", pa.int64(), nullable=False),
    ]
)

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("command", pa.string(), nullable=False),
            pa.field("funnel", pa.list_(STAGE), nullable=False),
            pa.field("funnel_closes", pa.bool_(), nullable=False),
            pa.field("funnel_problems", pa.list_(pa.string()), nullable=False),
            pa.field("counts", pa.map_(pa.string(), pa.int64()), nullable=False),
            pa.field("provenance", pa.map_(pa.string(), pa.string()), nullable=False),
        ]
    ),
    NAME,
    VERSION,
)

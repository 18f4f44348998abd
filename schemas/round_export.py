"""``export.json``: what ``rounds export`` wrote for one tool, and how to load it there.

``batches`` groups items by the number of answers they need (a Ground Truth job and an MTurk
batch ask the same number of workers for every item; TImeD re-queued items need fewer), one
file per group. ``storage_path`` is the folder a Label Studio local-files storage must point
at for the images to be served (null when images are URLs).
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "round_export"
VERSION = 1

BATCH = pa.struct(
    [
        pa.field("file", pa.string(), nullable=False),
        pa.field("assignments", pa.int64(), nullable=False),  # answers asked per item
        pa.field("items", pa.int64(), nullable=False),  # checks included
        pa.field("tasks", pa.int64(), nullable=False),  # rows/lines/tasks in the file
    ]
)

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("tool", pa.string(), nullable=False),  # labelstudio | mturk | groundtruth
            pa.field("kind", pa.string(), nullable=False),  # nights | timed
            pa.field("round", pa.int32(), nullable=False),
            pa.field("round_id", pa.string(), nullable=False),
            pa.field("items", pa.int64(), nullable=False),  # real items
            pa.field("checks", pa.int64(), nullable=False),
            pa.field("batches", pa.list_(BATCH), nullable=False),
            pa.field("files", pa.list_(pa.string()), nullable=False),  # every file written
            pa.field("images", pa.string(), nullable=False),  # local-files | url | none
            pa.field("document_root", pa.string()),
            pa.field("storage_path", pa.string()),
        ]
    ),
    NAME,
    VERSION,
)

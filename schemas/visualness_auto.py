"""``sentences/*.parquet`` of ``webweave timed auto``: every sentence of the documents, with
its CLIP similarity to every image of its document and the TImeD auto label.

``label`` is ``visual`` (best similarity > ``timed.t_pos``), ``non_visual`` (every
similarity < ``timed.t_neg``) or ``unlabelled`` with ``unlabelled_reason``:
``between_thresholds``, ``no_images`` (the document has none), ``images_unavailable`` (it has
some, but no bytes in the image store), ``too_short``. ``image_urls`` and ``similarities`` are
parallel lists (the document's scored images, in document order). ``model`` names the open_clip
model and checkpoint hash, ``splitter`` the sentence splitter and its version.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "visualness_auto"
VERSION = 1

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("sentence_id", pa.string(), nullable=False),  # blake2b(doc, position, k)
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("position", pa.int32(), nullable=False),  # index in the texts/images lists
            pa.field("sentence_index", pa.int32(), nullable=False),  # index in the document
            pa.field("sentence", pa.string(), nullable=False),
            pa.field("language", pa.string(), nullable=False),  # the splitter's language
            pa.field("image_urls", pa.list_(pa.string()), nullable=False),
            pa.field("similarities", pa.list_(pa.float32()), nullable=False),
            pa.field("best_image_url", pa.string()),
            pa.field("best_similarity", pa.float32()),
            pa.field("label", pa.string(), nullable=False),  # visual | non_visual | unlabelled
            pa.field("unlabelled_reason", pa.string()),
            pa.field("model", pa.string(), nullable=False),  # NAME@sha256:<12 hex>
            pa.field("splitter", pa.string(), nullable=False),  # e.g. pysbd 0.3.4
        ]
    ),
    NAME,
    VERSION,
)

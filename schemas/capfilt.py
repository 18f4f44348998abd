"""The ``capfilt`` table: one row per image-text pair after BLIP CapFilt (``OUT/capfilt/``).

Every score is stored; the kept flags, ``kept_texts`` and ``kept_sources`` are decided from
them by ``filters/capfilt/decisions.py`` (``webweave capfilt refilter`` re-decides with new
thresholds, no model run). Scores are float32, as computed; decisions compare these stored
values, so a re-application reproduces a run exactly.

- ``web_text_source``: the ``pairs`` column the web text came from (``alt_text``,
  ``text_after``, ``text_before``) or ``none`` (no web text; ``web_text`` null).
- ``*_itm_score``: BLIP ITM p(match) (mode blip; null in blip2). ``*_rank_score``: the
  ranker's cosine similarity (mode blip2; null in blip).
- ``captions``: the K synthetic captions in sampling order (caption k used generator
  ``(seed, pair_id, k)``).
- ``kept_texts`` / ``kept_sources``: parallel lists, sources ``web`` | ``synthetic``.
- ``provenance``: what made the captions and scores (models and the hash of their weight
  files, library versions, device, precision, decoding parameters, seed).
- ``pairs_shard`` / ``image_shard`` / ``image_row``: where the pair and its bytes are in the
  images job's output folder (exports read the bytes there).
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas.registry import versioned

NAME = "capfilt"
VERSION = 1

CAPTION = pa.struct(
    [
        pa.field("text", pa.string()),
        pa.field("itm_score", pa.float32()),
        pa.field("rank_score", pa.float32()),
        pa.field("kept", pa.bool_()),
    ]
)

DECODING = pa.struct(
    [
        pa.field("prompt", pa.string()),
        pa.field("top_k", pa.int32()),
        pa.field("top_p", pa.float64()),
        pa.field("repetition_penalty", pa.float64()),
        pa.field("max_length", pa.int32()),
        pa.field("min_length", pa.int32()),
        pa.field("captions_per_image", pa.int32()),
    ]
)

PROVENANCE = pa.struct(
    [
        pa.field("mode", pa.string()),  # blip | blip2
        pa.field("captioner", pa.string()),  # hub id or path, as configured
        pa.field("captioner_sha256", pa.string()),  # of its weight files
        pa.field("filter", pa.string()),  # null in blip2
        pa.field("filter_sha256", pa.string()),
        pa.field("ranker", pa.string()),  # null in blip
        pa.field("ranker_sha256", pa.string()),
        pa.field("transformers_version", pa.string()),
        pa.field("torch_version", pa.string()),
        pa.field("open_clip_version", pa.string()),  # null in blip
        pa.field("device", pa.string()),  # cpu | cuda
        pa.field("precision", pa.string()),  # fp32 | bf16
        pa.field("attention", pa.string()),  # sdpa | eager (BLIP vision towers)
        pa.field("decoding", DECODING),
        pa.field("seed", pa.int64()),
        pa.field("itm_max_tokens", pa.int32()),
        pa.field("itm_first_token", pa.string()),  # cls | enc
    ]
)

# What `webweave capfilt --write-documents` adds to the images job's image_metadata
# (schemas/image_documents.py): the kept synthetic captions ([] when none was kept, null when
# CapFilt did not run on the image) and their provenance. Web texts are never changed.
DOCUMENT_FIELDS = [
    pa.field("synthetic_captions", pa.list_(pa.string())),
    pa.field("synthetic_caption_provenance", PROVENANCE),
]

SCHEMA = versioned(
    pa.schema(
        [
            pa.field("pair_id", pa.string(), nullable=False),
            pa.field("doc_id", pa.string(), nullable=False),
            pa.field("position", pa.int32(), nullable=False),
            pa.field("image_url", pa.string(), nullable=False),
            pa.field("sha256", pa.string()),
            pa.field("format", pa.string()),  # jpeg | png | webp (sniffed by the images job)
            pa.field("pairs_shard", pa.string()),  # pairs/….parquet, relative to the images output
            pa.field("image_shard", pa.string()),  # images/….parquet, relative to the images output
            pa.field("image_row", pa.int64()),
            pa.field("web_text", pa.string()),
            pa.field("web_text_source", pa.string()),
            pa.field("web_itm_score", pa.float32()),
            pa.field("web_rank_score", pa.float32()),
            pa.field("web_kept", pa.bool_()),
            pa.field("captions", pa.list_(CAPTION)),
            pa.field("kept_texts", pa.list_(pa.string())),
            pa.field("kept_sources", pa.list_(pa.string())),
            pa.field("provenance", PROVENANCE),
        ]
    ),
    NAME,
    VERSION,
)

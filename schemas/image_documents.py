"""The images job's ``documents`` table: the run's documents with each image's outcome.

Same columns as ``schemas/documents.py``; ``image_metadata`` gains the fetch and filter
outcome. Image URLs stay as published, every image position stays (a failed image is not a
silent gap): consumers keep positions whose ``status`` is ``ok``.

``status`` values: ``ok`` (kept; bytes in ``images/``), ``refused`` (address policy, never
requested or stopped at a redirect hop), ``failed`` (download failed: HTTP status, timeout,
byte cap, robots), ``invalid`` (bytes are not a whole image: not_an_image, truncated_image,
decompression_bomb), ``filtered`` (OBELICS filters: url_word, unsupported_format, too_small,
too_large, bad_aspect_ratio), ``error`` (a stage raised; see dead_letter). ``status_reason``
is the snake_case reason counted in ``stats.json``.
"""

from __future__ import annotations

import pyarrow as pa

from webweave.schemas import capfilt, documents, image_results
from webweave.schemas.registry import versioned

NAME = "image_documents"
# 2: image_metadata carries the documents' candidates and where the bytes came from (#17)
# 3: the kept synthetic captions of `webweave capfilt --write-documents` and their provenance
#    (#13; null when CapFilt did not run on the image)
VERSION = 3

IMAGE_METADATA = pa.struct(
    list(documents.IMAGE_METADATA)
    + [
        pa.field("status", pa.string()),
        pa.field("status_reason", pa.string()),
        pa.field("width", pa.int32()),  # decoded size of the bytes
        pa.field("height", pa.int32()),
        pa.field("format", pa.string()),
        pa.field("sha256", pa.string()),
        pa.field("phash", pa.string()),
        pa.field("source", pa.string()),  # network | warc
        *image_results.PROVENANCE,
        *capfilt.DOCUMENT_FIELDS,
    ]
)

SCHEMA = versioned(
    pa.schema(
        [  # the documents columns, with image_metadata extended by the fetch results
            pa.field("image_metadata", pa.list_(IMAGE_METADATA))
            if field.name == "image_metadata"
            else field
            for field in documents.SCHEMA
        ]
    ),
    NAME,
    VERSION,
)

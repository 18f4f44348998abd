"""The extraction stage: a decoded page becomes one row of the ``documents`` table."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

from webweave.filters.decision import Drop, StageError
from webweave.filters.decoding import Page
from webweave.filters.document import Document
from webweave.filters.extraction import ExtractionOptions, extract


def document_id(warc_filename: str, record_offset: int) -> str:
    """Stable id from the WARC file's name and the record's byte offset in it.

    Same input, same id, on any machine and in any run; 96 bits of blake2b make collisions
    across a whole crawl (billions of records) negligible.
    """
    digest = hashlib.blake2b(f"{warc_filename}\0{record_offset}".encode(), digest_size=12)
    return digest.hexdigest()


@dataclass(slots=True)
class DocumentRow:
    """A documents-table row plus the image positions extraction chose not to place."""

    row: dict
    dropped_images: Counter


class DocumentBuilder:
    """Page → DocumentRow, or Drop("no_content") when nothing is left of the page."""

    name = "extraction"

    def __init__(self, options: ExtractionOptions):
        self.options = options

    def __call__(self, page: Page) -> DocumentRow | Drop:
        document = extract(page.html, page.url or "", options=self.options)
        if len(document) == 0:
            return Drop("no_content")
        try:  # an extraction bug must cost one record, not the shard
            document.check_interleaving()
        except ValueError as error:
            raise StageError(
                f"interleaving invariant broken: {error}", "invalid_document"
            ) from error
        return DocumentRow(to_row(page, document), document.dropped_images)


def to_row(page: Page, document: Document) -> dict:
    """The row in the shape of ``webweave.schemas.documents.SCHEMA``."""
    return {
        "id": document_id(page.source, page.offset),
        "texts": document.texts,
        "images": document.images,
        "image_metadata": [m.to_row() if m is not None else None for m in document.image_metadata],
        "general_metadata": {
            "url": page.url,
            "warc_filename": page.source,
            "warc_record_offset": page.offset,
            "warc_record_length": page.length,
            "warc_date": page.warc_date,
            "warc_record_id": page.record_id,
            "content_type": page.content_type,
            "charset": page.charset,
            "charset_source": page.charset_source,
            "http_status": page.http_status,
            "warc_truncated": page.warc_truncated,
            "title": document.title,
            "language": None,  # set by the text filters
            "language_score": None,
        },
        "filter_scores": None,
    }

"""The images job's documents/ and pairs/: each input documents file rewritten with its
images' outcomes, and one pair per kept image with its nearest text."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import apache_beam as beam

from webweave.pipelines.funnel import Funnel
from webweave.pipelines.images.batch import PROVENANCE_FIELDS
from webweave.pipelines.images.config import ImagesConfig
from webweave.pipelines.images.references import read_documents
from webweave.pipelines.layout import DOCUMENTS, PAIRS
from webweave.pipelines.parquet_shards import fresh_shard_writer, join
from webweave.schemas import image_documents, pairs


def nearest_paragraphs(texts: list, position: int) -> tuple[str | None, str | None]:
    """The last paragraph of the nearest text before ``position`` and the first after it."""
    before = after = None
    for index in range(position - 1, -1, -1):
        if texts[index]:
            paragraphs = [p for p in texts[index].split("\n\n") if p.strip()]
            before = paragraphs[-1] if paragraphs else None
            break
    for index in range(position + 1, len(texts)):
        if texts[index]:
            paragraphs = [p for p in texts[index].split("\n\n") if p.strip()]
            after = paragraphs[0] if paragraphs else None
            break
    return before, after


def pair_id(doc_id: str, position: int) -> str:
    return hashlib.sha256(f"{doc_id}\0{position}".encode()).hexdigest()[:32]


_RESULT_FIELDS = (
    "status",
    "status_reason",
    "width",
    "height",
    "format",
    "sha256",
    "phash",
    "source",
    *PROVENANCE_FIELDS,
)


def _page_warc_images(row: dict, by_url: dict) -> Iterator[tuple[str, str, str]]:
    """(WARC the page came from, image URL, lookup kind) for each image of one document."""
    warc = (row.get("general_metadata") or {}).get("warc_filename") or "unknown"
    for url in row["images"] or []:
        if url is not None:
            kind = (by_url.get(url) or {}).get("warc_lookup") or "not_looked_up"
            yield warc, url, kind


class WriteDocumentFile(beam.DoFn):
    """One input documents file + its URLs' results → documents/ and pairs/ shards, and
    (page WARC, url, lookup kind) tagged "page_warcs"."""

    def __init__(self, output_dir: str, config: ImagesConfig):
        self.output_dir = output_dir
        self.config = config

    def process(self, element) -> Iterator[dict]:
        path, results = element
        by_url = {r["image_url"]: r for r in results if r is not None}
        prefix = os.path.splitext(os.path.basename(path))[0]
        writers = {}
        for key, folder, schema in (
            ("docs", DOCUMENTS, image_documents.SCHEMA),
            ("pairs", PAIRS, pairs.SCHEMA),
        ):
            target = join(self.output_dir, folder)
            writers[key] = fresh_shard_writer(
                target,
                prefix,
                schema,
                shard_rows=self.config.shard_rows,
                compression=self.config.parquet_compression,
            )
        funnel = Funnel()
        counts = funnel.stage("image_count")
        text_only = 0
        page_warcs: set[tuple[str, str, str]] = set()
        for row in read_documents(path):
            counts.in_ += 1
            page_warcs.update(_page_warc_images(row, by_url))
            document, doc_pairs, kept = self._attach(row, by_url)
            reason = self._document_rule(row, kept)
            if reason is not None:
                counts.dropped[reason] += 1
                continue
            counts.out += 1
            text_only += kept == 0
            writers["docs"].add(document)
            for pair in doc_pairs:
                writers["pairs"].add(pair)
        for writer in writers.values():
            writer.close()
        yield from (beam.pvalue.TaggedOutput("page_warcs", entry) for entry in sorted(page_warcs))
        yield {
            "documents_funnel": funnel.to_list(),
            "documents_read": counts.in_,
            "documents_written": writers["docs"].rows_written,
            "text_only": text_only,
            "pairs": writers["pairs"].rows_written,
        }

    def _document_rule(self, row: dict, kept: int) -> str | None:
        if kept > self.config.max_images_per_document:
            return "too_many_images"
        if kept < self.config.min_images_per_document:
            if self.config.no_image_documents == "keep_text_only":
                return None
            has_images = any(url is not None for url in row["images"] or [])
            return "all_images_failed" if has_images else "no_images"
        return None

    def _attach(self, row: dict, by_url: dict) -> tuple[dict, list[dict], int]:
        metadata, doc_pairs = [], []
        texts = row["texts"] or []
        for position, (url, meta) in enumerate(
            zip(row["images"] or [], row["image_metadata"] or [], strict=False)
        ):
            if url is None:
                metadata.append(None)
                continue
            result = by_url.get(url) or {"status": "error", "status_reason": "no_result"}
            extended = dict(meta or {})
            extended.update({k: result.get(k) for k in _RESULT_FIELDS})
            metadata.append(extended)
            if result["status"] == "ok":
                before, after = nearest_paragraphs(texts, position)
                doc_pairs.append(
                    {
                        "pair_id": pair_id(row["id"], position),
                        "doc_id": row["id"],
                        "position": position,
                        "image_url": url,
                        "image_shard": result.get("image_shard"),
                        "image_row": result.get("image_row"),
                        "alt_text": (meta or {}).get("alt_text"),
                        "text_before": before,
                        "text_after": after,
                        **{
                            k: result.get(k)
                            for k in ("width", "height", "format", "sha256", "phash", "source")
                        },
                    }
                )
        document = {**row, "image_metadata": metadata}
        return document, doc_pairs, len(doc_pairs)

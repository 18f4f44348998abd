"""``webweave export-obelics``: our typed documents → the published OBELICS column layout.

The HuggingFaceM4/OBELICS release stores ``images`` and ``texts`` as ``list<string>`` and
``metadata``/``general_metadata`` as JSON strings (card HuggingFaceM4/OBELICS; repo
huggingface/OBELICS ``web_document_extractor.py``). Existing OBELICS loaders read this output
unchanged. Fields OBELICS filled after downloading images (original size, format,
formatted_filename) are null until the images job provides them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from webweave.pipelines.parquet_shards import join, write_table_atomically
from webweave.schemas import documents as documents_schema

OBELICS_SCHEMA = pa.schema(
    [
        pa.field("images", pa.list_(pa.string())),
        pa.field("metadata", pa.string()),
        pa.field("general_metadata", pa.string()),
        pa.field("texts", pa.list_(pa.string())),
    ]
)


def obelics_image_metadata(url: str, page_url: str | None, meta: dict) -> dict:
    return {
        "document_url": page_url,
        "unformatted_src": meta["original_src"],
        "src": url,
        "formatted_filename": None,
        "alt_text": meta["alt_text"] or "",
        "original_width": None,
        "original_height": None,
        "format": None,
        "rendered_width": meta["width_attr"],
        "rendered_height": meta["height_attr"],
    }


def to_obelics_row(row: dict) -> dict:
    general = row["general_metadata"]
    metadata = [
        obelics_image_metadata(url, general["url"], meta) if url is not None else None
        for url, meta in zip(row["images"], row["image_metadata"], strict=True)
    ]
    return {
        "images": row["images"],
        "metadata": json.dumps(metadata, ensure_ascii=False),
        "general_metadata": json.dumps(
            {
                "url": general["url"],
                "warc_filename": general["warc_filename"],
                "warc_record_offset": general["warc_record_offset"],
                "warc_record_length": general["warc_record_length"],
            },
            ensure_ascii=False,
        ),
        "texts": row["texts"],
    }


def document_files(run_dir: str) -> list[str]:
    pattern = join(run_dir, "documents", "*.parquet")
    return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)


def iter_rows(path: str, batch_rows: int = 1000) -> Iterator[dict]:
    with FileSystems.open(path) as handle:
        parquet = pq.ParquetFile(handle)
        documents_schema.upgrade_table(parquet.schema_arrow.empty_table())  # older too
        for batch in parquet.iter_batches(batch_size=batch_rows):
            yield from batch.to_pylist()


def export_obelics(run_dir: str, out_dir: str, compression: str = "zstd") -> int:
    """Convert every documents shard of ``run_dir``; one output file per input file."""
    total = 0
    for path in document_files(run_dir):
        rows = [to_obelics_row(row) for row in iter_rows(path)]
        name = path.rsplit("/", 1)[-1]
        table = pa.Table.from_pylist(rows, schema=OBELICS_SCHEMA)
        write_table_atomically(table, join(out_dir, name), compression)
        total += len(rows)
    return total

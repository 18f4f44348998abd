"""A real `webweave images` output for annotation tests, built offline from WARC fixtures.

Documents (the ``documents`` schema) are written as a run's output; the images job reads
their image URLs' bytes from the given WARCs (``fetch_missing`` off: nothing is fetched).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from webweave.schemas import documents as documents_schema

from conftest import BEAM_TEST_RUNNER

try:  # the images job's entry points, wherever the package layout puts them
    from webweave.pipelines.images import images_config
    from webweave.pipelines.images.job import run_images_job
except ImportError:  # pragma: no cover - before the images package split
    from webweave.pipelines.images_job import images_config, run_images_job


def document(doc_id: str, items: list[str], alt: str | None = None) -> dict:
    """A document from text nodes and image URLs (``http…`` items), in order."""
    texts, images, meta = [], [], []
    for item in items:
        is_image = item.startswith("http")
        texts.append(None if is_image else item)
        images.append(item if is_image else None)
        meta.append(
            {"alt_text": alt, "width_attr": None, "height_attr": None, "original_src": item,
             "source_attribute": "src"} if is_image else None
        )  # fmt: skip
    return {"id": doc_id, "texts": texts, "images": images, "image_metadata": meta,
            "general_metadata": None}  # fmt: skip


def images_output(documents: list[dict], root: Path, warcs: list[Path], **settings) -> Path:
    """``root/run`` (the documents) → ``root/images`` (the images job's output)."""
    (root / "run" / "documents").mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pylist(documents, schema=documents_schema.SCHEMA),
        root / "run" / "documents" / "input-00000.parquet",
    )
    job = {
        "run_dir": str(root / "run"),
        "output": str(root / "images"),
        "from_warc": [str(w) for w in warcs],
        "config": images_config({"fetch_missing": False, **settings}),
        "attempt": 1,
    }
    assert run_images_job(job, [f"--runner={BEAM_TEST_RUNNER}"]) == 0
    return root / "images"

"""The distinct images of a webweave corpus (the output of ``webweave images``).

``pairs/`` has one row per image occurrence with its pHash and a reference into ``images/``
(bytes stored once per URL, ``schemas/image_store.py``). An image is identified by the sha256
of its bytes: the same bytes under two URLs are one image (exact duplicates never become a
triplet's two sides). Each distinct image keeps its first occurrence in (doc_id, position)
order, so the listing is deterministic.
"""

from __future__ import annotations

import glob
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
from PIL import Image

from webweave.schemas import image_store, pairs
from webweave.schemas.registry import check_table

PAIRS_DIR = "pairs"
IMAGES_DIR = "images"
DOCUMENTS_DIR = "documents"


class NotACorpus(ValueError):
    """The folder is not an output of ``webweave images``; one line for the user."""


@dataclass(frozen=True)
class CorpusImages:
    """Column arrays, one entry per distinct image, sorted by sha256."""

    folder: Path
    sha256: np.ndarray  # str
    url: np.ndarray  # str
    shard: np.ndarray  # str, relative to folder
    row: np.ndarray  # int64
    phash: np.ndarray  # uint64
    alt_text: np.ndarray  # str or None
    occurrences: int  # pair rows read

    def __len__(self) -> int:
        return len(self.sha256)


def is_images_output(folder: str | Path) -> bool:
    folder = Path(folder)
    return (folder / PAIRS_DIR).is_dir() and (folder / IMAGES_DIR).is_dir()


def read_corpus_images(folder: str | Path) -> CorpusImages:
    folder = Path(folder)
    if not is_images_output(folder):
        raise NotACorpus(f"{folder} is not a `webweave images` output (no pairs/ and images/)")
    files = sorted(glob.glob(str(folder / PAIRS_DIR / "*.parquet")))
    columns = ["doc_id", "position", "image_url", "image_shard", "image_row", "sha256", "phash"]
    tables = []
    for path in files:
        table = pq.read_table(path)
        check_table(table, pairs.SCHEMA)
        tables.append(table.select([*columns, "alt_text"]))
    if not tables:
        raise NotACorpus(f"{folder}/pairs has no Parquet files")
    import pyarrow as pa

    table = pa.concat_tables(tables)
    occurrences = table.num_rows
    table = table.filter(pc.is_valid(table["image_shard"]))
    table = table.sort_by(
        [("sha256", "ascending"), ("doc_id", "ascending"), ("position", "ascending")]
    )
    sha = table["sha256"].to_numpy(zero_copy_only=False)
    first = np.ones(len(sha), dtype=bool)
    first[1:] = sha[1:] != sha[:-1]
    keep = table.filter(pa.array(first))
    return CorpusImages(
        folder=folder,
        sha256=keep["sha256"].to_numpy(zero_copy_only=False),
        url=keep["image_url"].to_numpy(zero_copy_only=False),
        shard=keep["image_shard"].to_numpy(zero_copy_only=False),
        row=keep["image_row"].to_numpy(zero_copy_only=False).astype(np.int64),
        phash=np.array([int(h, 16) for h in keep["phash"].to_pylist()], dtype=np.uint64),
        alt_text=keep["alt_text"].to_numpy(zero_copy_only=False),
        occurrences=occurrences,
    )


class ImageStore:
    """Reads image bytes from ``images/`` shards, one shard in memory at a time."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._shard: str | None = None
        self._bytes: list = []
        self._urls: dict[str, tuple[str, int]] | None = None

    def bytes_at(self, shard: str, row: int) -> bytes:
        if shard != self._shard:
            table = pq.read_table(self.folder / shard)
            check_table(table, image_store.SCHEMA)
            self._bytes = table["bytes"].to_pylist()
            self._shard = shard
        return self._bytes[row]

    def location_of(self, url: str) -> tuple[str, int] | None:
        """Where the bytes of ``url`` are stored, or None (not fetched, or not kept)."""
        if self._urls is None:
            self._urls = {}
            for path in sorted(glob.glob(str(self.folder / IMAGES_DIR / "*.parquet"))):
                shard = os.path.relpath(path, self.folder)
                urls = pq.read_table(path, columns=["image_url"])["image_url"].to_pylist()
                for row, stored_url in enumerate(urls):
                    self._urls.setdefault(stored_url, (shard, row))
        return self._urls.get(url)


def decoded(data: bytes, at_least: int | None = None) -> Image.Image:
    """The image in ``data``, fully decoded (raises on truncated or non-image bytes).

    With ``at_least`` (a model's input side), JPEGs are decoded at the smallest DCT scale that
    keeps both sides >= 2x that (``Image.draft``): the model resizes them down anyway, and
    decoding at 1/2-1/8 scale is several times cheaper.
    """
    image = Image.open(io.BytesIO(data))
    if at_least is not None and image.format == "JPEG":
        image.draft("RGB", (2 * at_least, 2 * at_least))
    image.load()
    return image

"""Triplet candidates from generated variations: a NIGHTS-layout folder or a table.

- **NIGHTS folder**: ``ref/XXX/YYY.png`` with ``distort/XXX/YYY_0.png`` and ``_1.png``; the
  triplet id is ``XXX * 1000 + YYY`` (NIGHTS' own numbering, gaps allowed). A ``data.csv`` in
  the folder (the NIGHTS file itself) supplies ``prompt`` and ``is_imagenet`` by id.
- **table** (CSV or Parquet): columns ``reference, variant_0, variant_1`` (paths relative to
  the table's folder) and optionally ``id, prompt, seed_ref, seed_0, seed_1, generator,
  is_imagenet``.

A reference whose variant files are missing is a counted drop (``missing_image``), never a
silent gap. Corpus mining (``corpus_mining.py``) yields the same ``TripletCandidate``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from webweave.filters.decision import Drop

TABLE_REQUIRED = ("reference", "variant_0", "variant_1")
TABLE_OPTIONAL = ("id", "prompt", "seed_ref", "seed_0", "seed_1", "generator", "is_imagenet")
_REF_NAME = re.compile(r"^(\d{3})$")
_IMAGE_NAME = re.compile(r"^(\d{3})\.png$")


class BadSource(ValueError):
    """The source is neither a NIGHTS folder, a table, nor a corpus; one line for the user."""


@dataclass(frozen=True)
class ImageRef:
    """An image of a candidate: where it came from, how to read its bytes, and a key that
    orders reads cheaply (store shard and row; file path)."""

    origin: str
    read: Callable[[], bytes]
    read_order: tuple = ()


def file_image(path: Path) -> ImageRef:
    return ImageRef(str(path), path.read_bytes, (str(path),))


@dataclass(frozen=True)
class TripletCandidate:
    """A reference and its two variations, before ids, copies and left/right order."""

    triplet_id: int | None
    ref: ImageRef
    distort0: ImageRef
    distort1: ImageRef
    source: str
    prompt: str | None = None
    is_imagenet: bool = False
    seed_ref: int | None = None
    seed_0: int | None = None
    seed_1: int | None = None
    generator: str | None = None
    similarity_0: float | None = None
    similarity_1: float | None = None


def is_nights_folder(path: Path) -> bool:
    return (path / "ref").is_dir() and (path / "distort").is_dir()


def nights_folder_candidates(folder: Path) -> Iterator[TripletCandidate | Drop]:
    """Every ``ref/XXX/YYY.png`` of a NIGHTS-layout folder, in id order."""
    extras = _nights_csv_extras(folder / "data.csv")
    for group in sorted(p for p in (folder / "ref").iterdir() if _REF_NAME.match(p.name)):
        for ref in sorted(p for p in group.iterdir() if _IMAGE_NAME.match(p.name)):
            triplet_id = int(group.name) * 1000 + int(ref.stem)
            stem = folder / "distort" / group.name / ref.stem
            variants = [stem.with_name(f"{ref.stem}_{i}.png") for i in (0, 1)]
            missing = [str(v.relative_to(folder)) for v in variants if not v.is_file()]
            if missing:
                yield Drop("missing_image", {"triplet_id": triplet_id, "missing": missing})
                continue
            prompt, is_imagenet = extras.get(triplet_id, (None, False))
            yield TripletCandidate(
                triplet_id=triplet_id,
                ref=file_image(ref),
                distort0=file_image(variants[0]),
                distort1=file_image(variants[1]),
                source="nights_folder",
                prompt=prompt,
                is_imagenet=is_imagenet,
            )


def _nights_csv_extras(path: Path) -> dict[int, tuple[str | None, bool]]:
    """``prompt`` and ``is_imagenet`` by id from a NIGHTS ``data.csv`` (read by header name)."""
    if not path.is_file():
        return {}
    extras = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            extras[int(float(row["id"]))] = (
                row.get("prompt") or None,
                str(row.get("is_imagenet", "")).strip().lower() in ("true", "1"),
            )
    return extras


def table_candidates(path: Path) -> Iterator[TripletCandidate | Drop]:
    """One candidate per row of a CSV or Parquet table (see the module docstring)."""
    rows = _read_table_rows(path)
    base = path.parent
    for index, row in enumerate(rows):
        images = [base / str(row[name]) for name in TABLE_REQUIRED]
        missing = [str(p) for p in images if not p.is_file()]
        triplet_id = _int_or_none(row.get("id"))
        triplet_id = index if triplet_id is None else triplet_id
        if missing:
            yield Drop("missing_image", {"row": index, "missing": missing})
            continue
        yield TripletCandidate(
            triplet_id=triplet_id,
            ref=file_image(images[0]),
            distort0=file_image(images[1]),
            distort1=file_image(images[2]),
            source="table",
            prompt=row.get("prompt") or None,
            is_imagenet=str(row.get("is_imagenet", "")).strip().lower() in ("true", "1"),
            seed_ref=_int_or_none(row.get("seed_ref")),
            seed_0=_int_or_none(row.get("seed_0")),
            seed_1=_int_or_none(row.get("seed_1")),
            generator=row.get("generator") or None,
        )


def _read_table_rows(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        table = pq.read_table(path)
    elif path.suffix in (".csv", ".tsv"):
        options = pacsv.ParseOptions(delimiter="\t" if path.suffix == ".tsv" else ",")
        convert = pacsv.ConvertOptions(strings_can_be_null=True)
        table = pacsv.read_csv(path, parse_options=options, convert_options=convert)
    else:
        raise BadSource(f"{path}: a triplet table must be .csv, .tsv or .parquet")
    missing = [c for c in TABLE_REQUIRED if c not in table.column_names]
    if missing:
        raise BadSource(f"{path}: missing column(s) {', '.join(missing)}")
    unknown = sorted(set(table.column_names) - set(TABLE_REQUIRED) - set(TABLE_OPTIONAL))
    if unknown:
        raise BadSource(f"{path}: unknown column(s) {', '.join(unknown)}")
    return table.to_pylist()


def _int_or_none(value) -> int | None:
    if value is None or value == "":
        return None
    return int(value)

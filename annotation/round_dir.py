"""A round folder and the chain of rounds it belongs to.

Layout of a round folder (schemas in ``schemas/``):

    round.json        identity, parent and root links, open/stopped (annotation_round)
    items.parquet     what raters see in this round (nights_items | visualness_items)
    config.yaml       the annotation config the round was made with
    votes.parquet     (rounds 2+) every answer of the parent round and what became of it
    report.json       (rounds 2+) the parent round's report (round_report)
    triplets.parquet  (NIGHTS round 1) every triplet, once (nights_triplets)
    images/           (NIGHTS round 1) the study's image files
    labels.parquet    (TImeD rounds 2+) labels of every sentence complete so far

Round 1 is the root; every later round is written by ``rounds ingest`` from its parent. The
chain is read back from any round by following ``parent`` links (paths relative to the
folder, checked against the recorded ``round_id``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from webweave.schemas import annotation_round, nights_items, visualness_items
from webweave.schemas.json_records import check_record, stamped
from webweave.schemas.registry import SchemaMismatch, check_table

ROUND_FILE = "round.json"
ITEMS_FILE = "items.parquet"
VOTES_FILE = "votes.parquet"
REPORT_FILE = "report.json"
CONFIG_FILE = "config.yaml"
TRIPLETS_FILE = "triplets.parquet"
LABELS_FILE = "labels.parquet"
IMAGES_DIR = "images"

ITEM_SCHEMAS = {"nights": nights_items.SCHEMA, "timed": visualness_items.SCHEMA}


class RoundError(ValueError):
    """A folder is not a readable round (or not the one its chain expects); one line."""


def round_id_of(fingerprint: str) -> str:
    """The short id a round is known by (first 16 hex digits of its output fingerprint)."""
    return fingerprint[:16]


@dataclass(frozen=True)
class Round:
    """One round folder, read lazily; ``info`` is its validated ``round.json``."""

    folder: Path
    info: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.info["kind"]

    @property
    def number(self) -> int:
        return self.info["round"]

    @property
    def round_id(self) -> str:
        return self.info["round_id"]

    @property
    def is_open(self) -> bool:
        return self.info["status"] == "open"

    @property
    def seed(self) -> int:
        return self.info["seed"]

    def items(self) -> pa.Table:
        return read_table(self.folder / ITEMS_FILE, ITEM_SCHEMAS[self.kind])

    def table(self, name: str, schema: pa.Schema) -> pa.Table | None:
        path = self.folder / name
        return read_table(path, schema) if path.exists() else None

    def json(self, name: str) -> dict | None:
        path = self.folder / name
        if not path.exists():
            return None
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)

    def root(self) -> Round:
        return self._linked("root")

    def parent(self) -> Round | None:
        return None if self.info["parent"] is None else self._linked("parent")

    def _linked(self, key: str) -> Round:
        link = self.info[key]
        if link["path"] == ".":
            return self
        linked = read_round((self.folder / link["path"]).resolve())
        if linked.round_id != link["round_id"]:
            raise RoundError(
                f"{self.folder}: its {key} {linked.folder} is round {linked.round_id}, expected "
                f"{link['round_id']} (was a round folder moved or replaced?)"
            )
        return linked


def read_round(folder: str | Path) -> Round:
    folder = Path(folder)
    path = folder / ROUND_FILE
    if not path.is_file():
        raise RoundError(f"{folder} is not a round folder (no {ROUND_FILE})")
    with open(path, encoding="utf-8") as handle:
        info = json.load(handle)
    try:
        check_record(info, annotation_round.SCHEMA)
    except SchemaMismatch as error:
        raise RoundError(f"{path}: {error}") from error
    return Round(folder.absolute(), info)


def chain(last: Round) -> list[Round]:
    """Every round from the root to ``last``, in order (each link's id checked)."""
    rounds = [last]
    while (parent := rounds[-1].parent()) is not None:
        if len(rounds) > 10_000:
            raise RoundError(f"{last.folder}: the parent links form a loop")
        rounds.append(parent)
    rounds.reverse()
    if rounds[0].round_id != last.root().round_id:
        raise RoundError(f"{last.folder}: its parent chain does not end at its root")
    return rounds


def link(from_folder: Path, to: Round) -> dict[str, str]:
    """A ``parent``/``root`` link from a folder being written (at its final place) to ``to``."""
    relative = Path(_relpath(to.folder, from_folder))
    return {"path": relative.as_posix(), "round_id": to.round_id}


def _relpath(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target, start)


def round_record(**fields: Any) -> dict[str, Any]:
    """A ``round.json`` record, validated (keys and types as schemas/annotation_round.py)."""
    return stamped(fields, annotation_round.SCHEMA)


def write_json(path: Path, record: dict[str, Any]) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=1, ensure_ascii=False)
        handle.write("\n")


def write_config(folder: Path, config: dict[str, Any]) -> None:
    with open(folder / CONFIG_FILE, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle, sort_keys=False, allow_unicode=True)


def write_table(path: Path, rows: list[dict] | pa.Table, schema: pa.Schema) -> None:
    """One Parquet file in ``schema`` (rows checked by Arrow's conversion)."""
    table = rows if isinstance(rows, pa.Table) else pa.Table.from_pylist(rows, schema=schema)
    check_table(table, schema)
    pq.write_table(table.replace_schema_metadata(schema.metadata), path, compression="zstd")


def read_table(path: Path, schema: pa.Schema) -> pa.Table:
    if not path.is_file():
        raise RoundError(f"{path} is missing")
    table = pq.read_table(path)
    try:
        check_table(table, schema)
    except SchemaMismatch as error:
        raise RoundError(f"{path}: {error}") from error
    return table

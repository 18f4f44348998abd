"""``webweave verify DIR``: re-read a run's output folder and check that it is whole.

A run can be killed, resumed, re-run with other inputs or copied around; this command is the
independent check that what is on disk is still one consistent output:

* schema: every ``documents/``, ``extracted/`` and ``dead_letter/`` file matches its versioned
  schema, and every ``documents/`` shard has the ``extracted/`` shard it was written from;
* interleaving: in every document exactly one of ``texts[i]``, ``images[i]`` is set and
  ``image_metadata[i]`` is set exactly at images;
* ids: unique across all shards;
* funnel: ``stats.json`` closes (first stage ``in`` = ``records_read``, every stage
  ``in = out + dropped + errors``, last ``out`` = ``documents_written``, errors = dead-letter
  rows) and its counts equal the row counts of the files;
* manifests: each ``_manifest/PREFIX.json`` matches the ``extracted/`` and ``dead_letter/``
  shards of ``PREFIX`` (rows, rows the text filters kept, contiguous shard numbers), no shard
  lacks a manifest, and the manifests add up to ``stats.json`` (inputs, records, dead letter,
  digest counts);
* leftovers: no temporary file and no ``_progress/`` heartbeat (a run still going or killed);
* ownership: a finished folder's ``_webweave.json`` lists exactly the files its table folders
  hold (``pipelines/output_folder.py``; folders written before the record existed have none).

Memory: rows are streamed in record batches; only the set of document ids is kept (about 100
bytes per id, so some hundreds of MB for a few million documents; a crawl-sized folder should
be verified per input prefix or with a sort-merge over ids instead).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow.parquet as pq
from apache_beam.io.filesystems import FileSystems

from webweave.filters.document import check_interleaving
from webweave.pipelines.funnel import Funnel
from webweave.pipelines.layout import (
    DEAD_LETTER,
    DOCUMENTS,
    EXTRACTED,
    MANIFESTS,
    PROGRESS,
    STATS,
)
from webweave.pipelines.output_folder import listed_files
from webweave.pipelines.parquet_shards import join
from webweave.schemas import SchemaMismatch, check_table
from webweave.schemas import dead_letter as dead_letter_schema
from webweave.schemas import documents as documents_schema
from webweave.schemas import extracted as extracted_schema

BATCH_ROWS = 1000
MAX_ROW_PROBLEMS = 20  # per file: enough to see the pattern without flooding the terminal
KEPT = "kept"  # pseudo-table: extracted rows the text filters kept
_SHARD = re.compile(r"^(?P<prefix>.+)-(?P<number>\d{5})\.parquet$")


@dataclass
class Verification:
    """What ``verify_output`` found: problems (empty when the folder is whole) and counts."""

    problems: list[str] = field(default_factory=list)
    documents: int = 0
    dead_letter: int = 0
    inputs: int = 0
    # prefix -> rows, for each table
    rows_by_prefix: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    shard_numbers: dict[str, dict[str, list[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    document_shards: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (
            f"OK: {self.inputs} input(s), {self.documents:,} documents, "
            f"{self.dead_letter:,} dead-letter rows; schema, interleaving, unique ids, "
            "funnel and manifests check out"
        )


def verify_output(output_dir: str) -> Verification:
    """Run every check on ``output_dir`` (local, gs:// or s3://); never raises on bad data."""
    result = Verification()
    _check_documents(output_dir, result)
    _check_extracted(output_dir, result)
    _check_dead_letter(output_dir, result)
    stats = _load_json(join(output_dir, STATS), result, "stats.json")
    if stats is not None:
        _check_stats(stats, result)
    manifests = _load_manifests(output_dir, result)
    _check_manifests(manifests, result)
    if stats is not None:
        _check_manifests_add_up(manifests, stats, result)
    _check_leftovers(output_dir, result)
    _check_ownership(output_dir, result)
    return result


# --- files ----------------------------------------------------------------------------------


def _match(pattern: str) -> list[str]:
    return sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)


def _basename(path: str) -> str:
    return posixpath.basename(path) if "://" in path else path.replace("\\", "/").split("/")[-1]


def _open_parquet(path: str, schema, result: Verification) -> pq.ParquetFile | None:
    """The file, when its schema is ``schema`` (a schema module's ``upgrade_table`` also admits
    the older versions that module still reads); None, with the problem noted, otherwise."""
    try:
        parquet = pq.ParquetFile(FileSystems.open(path))
        empty = parquet.schema_arrow.empty_table()
        if callable(schema):
            schema(empty)
        else:
            check_table(empty, schema)
    except SchemaMismatch as error:
        result.problems.append(f"{path}: {error}")
        return None
    except Exception as error:  # noqa: BLE001 - an unreadable file is a finding, not a crash
        result.problems.append(f"{path}: unreadable Parquet file ({type(error).__name__}: {error})")
        return None
    return parquet


def _note_shard(path: str, table: str, rows: int, result: Verification) -> None:
    match = _SHARD.match(_basename(path))
    if match is None:
        result.problems.append(f"{path}: not a shard name PREFIX-NNNNN.parquet")
        return
    prefix = match["prefix"]
    result.rows_by_prefix[prefix][table] += rows
    result.shard_numbers[prefix][table].append(int(match["number"]))


def _check_documents(output_dir: str, result: Verification) -> None:
    seen_ids: set[str] = set()
    for path in _match(join(output_dir, DOCUMENTS, "*.parquet")):
        parquet = _open_parquet(path, documents_schema.upgrade_table, result)
        if parquet is None:
            continue
        rows = 0
        problems: list[str] = []
        for row in _rows(parquet, ["id", "texts", "images", "image_metadata"]):
            rows += 1
            problems.extend(_row_problems(row, seen_ids))
        _report_row_problems(path, problems, result)
        result.documents += rows
        result.document_shards.add(_basename(path))


def _check_extracted(output_dir: str, result: Verification) -> None:
    """Every extracted shard has the schema; documents/ shards come from extracted ones."""
    names = set()
    for path in _match(join(output_dir, EXTRACTED, "*.parquet")):
        names.add(_basename(path))
        parquet = _open_parquet(path, extracted_schema.upgrade_table, result)
        if parquet is None:
            continue
        kept = sum(r["drop_reason"] is None for r in _rows(parquet, ["drop_reason"]))
        result.rows_by_prefix[_prefix(path)][KEPT] += kept
        _note_shard(path, EXTRACTED, parquet.metadata.num_rows, result)
    for name in sorted(result.document_shards - names):
        result.problems.append(f"documents/{name} has no extracted/{name} it was written from")


def _prefix(path: str) -> str:
    match = _SHARD.match(_basename(path))
    return match["prefix"] if match else _basename(path)


def _rows(parquet: pq.ParquetFile, columns: list[str]) -> Iterator[dict]:
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns):
        yield from batch.to_pylist()


def _row_problems(row: dict, seen_ids: set[str]) -> list[str]:
    problems = []
    identifier = row["id"]
    if identifier in seen_ids:
        problems.append(f"duplicate document id {identifier}")
    seen_ids.add(identifier)
    try:
        check_interleaving(row["texts"] or [], row["images"] or [], row["image_metadata"] or [])
    except ValueError as error:
        problems.append(f"document {identifier}: {error}")
    if not row["texts"]:
        problems.append(f"document {identifier} is empty")
    return problems


def _report_row_problems(path: str, problems: list[str], result: Verification) -> None:
    for problem in problems[:MAX_ROW_PROBLEMS]:
        result.problems.append(f"{path}: {problem}")
    if len(problems) > MAX_ROW_PROBLEMS:
        result.problems.append(f"{path}: ... and {len(problems) - MAX_ROW_PROBLEMS} more")


def _check_dead_letter(output_dir: str, result: Verification) -> None:
    for path in _match(join(output_dir, DEAD_LETTER, "*.parquet")):
        parquet = _open_parquet(path, dead_letter_schema.SCHEMA, result)
        if parquet is None:
            continue
        rows = parquet.metadata.num_rows
        result.dead_letter += rows
        _note_shard(path, DEAD_LETTER, rows, result)


# --- stats.json -----------------------------------------------------------------------------


def _load_json(path: str, result: Verification, what: str) -> dict | None:
    if not FileSystems.exists(path):
        result.problems.append(f"{what} is missing ({path}): the run did not finish")
        return None
    try:
        with FileSystems.open(path) as handle:
            return json.loads(handle.read())
    except (ValueError, OSError) as error:
        result.problems.append(f"{path}: not valid JSON ({error})")
        return None


def _check_stats(stats: dict, result: Verification) -> None:
    try:
        funnel = Funnel.from_list(stats["funnel"])
        records, documents, dead = (
            stats["records_read"],
            stats["documents_written"],
            stats["dead_letter"],
        )
    except (KeyError, TypeError) as error:
        result.problems.append(f"stats.json lacks a key or has a wrong type: {error}")
        return
    for problem in funnel.closure_problems(records, documents):
        result.problems.append(f"stats.json funnel does not close: {problem}")
    errors = sum(stage.errors for stage in funnel.stages)
    if errors != dead:
        result.problems.append(f"stats.json: {errors} stage errors but dead_letter = {dead}")
    if not stats.get("funnel_closes"):
        result.problems.append("stats.json says funnel_closes is false")
    if documents != result.documents:
        result.problems.append(
            f"stats.json documents_written = {documents} but documents/ holds {result.documents}"
        )
    if dead != result.dead_letter:
        result.problems.append(
            f"stats.json dead_letter = {dead} but dead_letter/ holds {result.dead_letter}"
        )


# --- manifests ------------------------------------------------------------------------------


def _load_manifests(output_dir: str, result: Verification) -> dict[str, dict]:
    manifests = {}
    for path in _match(join(output_dir, MANIFESTS, "*.json")):
        report = _load_json(path, result, "manifest")
        if report is not None:
            manifests[_basename(path)[: -len(".json")]] = report
    result.inputs = len(manifests)
    return manifests


def _check_manifests(manifests: dict[str, dict], result: Verification) -> None:
    for prefix, report in manifests.items():
        rows = result.rows_by_prefix.get(prefix, Counter())
        tables = (
            (EXTRACTED, "extracted_rows"),
            (KEPT, "documents_kept"),
            (DEAD_LETTER, "dead_letter"),
        )
        for table, key in tables:
            if rows[table] != report.get(key):
                result.problems.append(
                    f"manifest {prefix}: {key} = {report.get(key)} but {table}/ holds "
                    f"{rows[table]} rows of this input"
                )
    for prefix, tables in result.shard_numbers.items():
        if prefix not in manifests:
            result.problems.append(
                f"shards of {prefix} have no manifest (an input that did not finish)"
            )
        for table, numbers in tables.items():
            if sorted(numbers) != list(range(len(numbers))):
                result.problems.append(
                    f"{table}/ shards of {prefix} are not numbered 00000..{len(numbers) - 1:05d}"
                )


def _check_manifests_add_up(manifests: dict[str, dict], stats: dict, result: Verification) -> None:
    totals: Counter = Counter()
    digests: Counter = Counter()
    for report in manifests.values():
        totals["inputs"] += 1
        for key in ("records_read", "dead_letter"):
            totals[key] += report.get(key, 0)
        for kind, counts in (report.get("digests") or {}).items():
            digests.update({(kind, status): n for status, n in counts.items()})
    for key in ("inputs", "records_read", "dead_letter"):
        if stats.get(key) != totals[key]:
            result.problems.append(
                f"stats.json {key} = {stats.get(key)} but the manifests add up to {totals[key]}"
            )
    stated = Counter(
        {
            (kind, status): n
            for kind, counts in (stats.get("digests") or {}).items()
            for status, n in counts.items()
        }
    )
    if +stated != +digests:
        result.problems.append("stats.json digest counts differ from the manifests' sum")


def _check_leftovers(output_dir: str, result: Verification) -> None:
    patterns = [
        join(output_dir, DOCUMENTS, ".*.tmp"),
        join(output_dir, EXTRACTED, ".*.tmp"),
        join(output_dir, DEAD_LETTER, ".*.tmp"),
        join(output_dir, MANIFESTS, "*.tmp"),
        join(output_dir, "*.tmp"),
    ]
    for pattern in patterns:
        for path in _match(pattern):
            result.problems.append(f"{path}: leftover temporary file of an interrupted write")
    for path in _match(join(output_dir, PROGRESS, "*.json")):
        result.problems.append(f"{path}: progress heartbeat of a run still going or killed")


def _check_ownership(output_dir: str, result: Verification) -> None:
    listed = listed_files(output_dir)
    if listed is None:
        return
    for table, names in sorted(listed.items()):
        present = {_basename(p) for p in _match(join(output_dir, table, "*"))}
        present = {name for name in present if not name.startswith(".")}
        for name in sorted(present - set(names)):
            result.problems.append(f"{table}/{name}: not listed in the folder's record (stale?)")
        for name in sorted(set(names) - present):
            result.problems.append(f"{table}/{name}: listed in the folder's record but missing")

"""CSV files with a versioned Arrow schema: written in its column order, checked on read.

Values are written the way pandas writes and reads them (``1.0`` for floats, ``True`` /
``False`` for booleans, an empty cell for null), since the NIGHTS ``data.csv`` is read by
pandas in DreamSim's loader.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from webweave.schemas.registry import SchemaMismatch, schema_id


def write_csv(path: Path, rows: list[dict], schema: pa.Schema) -> None:
    names = schema.names
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(names)
        for row in rows:
            if set(row) != set(names):
                raise SchemaMismatch(f"{path.name}: row keys {sorted(row)} != {names}")
            writer.writerow([_cell(row[name], schema.field(name)) for name in names])


def _cell(value, field: pa.Field) -> str:
    if value is None:
        if not field.nullable:
            raise SchemaMismatch(f"column {field.name!r} must not be empty")
        return ""
    if pa.types.is_floating(field.type):
        return repr(float(value))
    if pa.types.is_boolean(field.type):
        return "True" if value else "False"
    return str(value)


def read_csv(path: Path, schema: pa.Schema) -> pa.Table:
    """The file as an Arrow table of ``schema`` (columns, order and types checked)."""
    convert = pacsv.ConvertOptions(
        column_types=schema,
        true_values=["True"],
        false_values=["False"],
        strings_can_be_null=True,
    )
    try:
        table = pacsv.read_csv(path, convert_options=convert)
    except pa.ArrowInvalid as error:
        raise SchemaMismatch(f"{path.name}: {error}") from error
    if table.column_names != schema.names:
        name, _ = schema_id(schema)
        raise SchemaMismatch(
            f"{path.name}: columns {table.column_names} are not {name}'s {schema.names}"
        )
    return table

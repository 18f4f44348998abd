"""Versioned Arrow schemas: each table's schema carries its name and version in metadata.

Writers attach ``webweave.schema`` = ``NAME/VERSION`` to every Parquet file; readers call
``check_table`` and refuse a file written for another table or a newer version.
"""

from __future__ import annotations

import pyarrow as pa

METADATA_KEY = b"webweave.schema"


class SchemaMismatch(ValueError):
    """A table does not match the schema it claims or is expected to have."""


def versioned(schema: pa.Schema, name: str, version: int) -> pa.Schema:
    return schema.with_metadata({METADATA_KEY: f"{name}/{version}".encode()})


def schema_id(schema: pa.Schema) -> tuple[str, int] | None:
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        return None
    name, _, version = raw.decode().partition("/")
    return name, int(version)


def check_table(table: pa.Table, expected: pa.Schema) -> None:
    """Raise SchemaMismatch unless ``table`` has exactly the expected fields and id."""
    want = schema_id(expected)
    got = schema_id(table.schema)
    if got is not None and want is not None:
        if got[0] != want[0]:
            raise SchemaMismatch(f"table is a {got[0]!r} table, expected {want[0]!r}")
        if got[1] > want[1]:
            raise SchemaMismatch(
                f"{got[0]} schema version {got[1]} is newer than this reader ({want[1]})"
            )
    if not table.schema.equals(expected, check_metadata=False):
        diff = _describe_difference(table.schema, expected)
        raise SchemaMismatch(f"schema mismatch: {diff}")


def upgraded(table: pa.Table, expected: pa.Schema, oldest_version: int) -> pa.Table:
    """``table`` in the ``expected`` schema when it is the same table at a version from
    ``oldest_version`` on: every version change since then only added nullable fields, which
    Arrow's cast fills with nulls. Anything else must match exactly (``check_table``)."""
    got, want = schema_id(table.schema), schema_id(expected)
    if got is not None and want is not None and got[0] == want[0]:
        if got[1] < oldest_version:
            raise SchemaMismatch(
                f"{got[0]} schema version {got[1]} is older than this reader reads "
                f"({oldest_version} to {want[1]})"
            )
        if got[1] < want[1]:
            try:
                table = table.cast(expected)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError, ValueError) as error:
                raise SchemaMismatch(f"cannot read {got[0]} version {got[1]}: {error}") from None
    check_table(table, expected)
    return table


def _describe_difference(got: pa.Schema, want: pa.Schema) -> str:
    got_fields = {f.name: f for f in got}
    want_fields = {f.name: f for f in want}
    problems = [f"missing column {n!r}" for n in want_fields if n not in got_fields]
    problems += [f"unexpected column {n!r}" for n in got_fields if n not in want_fields]
    for name, field in want_fields.items():
        if name in got_fields and not got_fields[name].type.equals(field.type):
            problems.append(f"column {name!r} is {got_fields[name].type}, expected {field.type}")
    if not problems and got.names != want.names:
        problems.append(f"column order {got.names} != {want.names}")
    return "; ".join(problems) or "field nullability or order differs"

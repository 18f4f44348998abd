"""JSON manifests described by versioned Arrow schemas, like the Parquet tables.

A JSON manifest (``round.json``, ``report.json``) carries ``"schema": "NAME/VERSION"``; its
other keys are exactly the schema's fields, recursively, with values of the fields' types and
no null where a field is not nullable. ``check_record`` enforces that on write and on read, so
a manifest is validated by the same kind of schema as a table.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from webweave.schemas.registry import SchemaMismatch, schema_id

SCHEMA_KEY = "schema"


def stamped(record: dict[str, Any], schema: pa.Schema) -> dict[str, Any]:
    """``record`` with its ``schema`` key first, checked against ``schema``."""
    name, version = schema_id(schema)
    out = {SCHEMA_KEY: f"{name}/{version}", **record}
    check_record(out, schema)
    return out


def check_record(record: dict[str, Any], schema: pa.Schema) -> None:
    """Raise SchemaMismatch unless ``record`` is a manifest of exactly ``schema``."""
    name, version = schema_id(schema)
    stamp = record.get(SCHEMA_KEY)
    if not isinstance(stamp, str) or "/" not in stamp:
        raise SchemaMismatch(f"manifest has no {SCHEMA_KEY!r} key (expected {name}/{version})")
    got_name, _, got_version = stamp.partition("/")
    if got_name != name:
        raise SchemaMismatch(f"manifest is a {got_name!r} manifest, expected {name!r}")
    if not got_version.isdigit() or int(got_version) > version:
        raise SchemaMismatch(f"{name} manifest version {got_version} is not readable ({version})")
    body = {k: v for k, v in record.items() if k != SCHEMA_KEY}
    _check_struct(body, list(schema), name)
    try:
        pa.Table.from_pylist([body], schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError) as error:
        raise SchemaMismatch(f"{name} manifest: {error}") from error


def _check_struct(value: dict[str, Any], fields: list[pa.Field], where: str) -> None:
    if not isinstance(value, dict):
        raise SchemaMismatch(f"{where}: expected an object, got {type(value).__name__}")
    names = [f.name for f in fields]
    unknown = sorted(set(value) - set(names))
    missing = [n for n in names if n not in value]
    if unknown or missing:
        raise SchemaMismatch(f"{where}: unexpected keys {unknown}, missing keys {missing}")
    for field in fields:
        _check_value(value[field.name], field, f"{where}.{field.name}")


def _check_value(value: Any, field: pa.Field, where: str) -> None:
    if value is None:
        if not field.nullable:
            raise SchemaMismatch(f"{where} must not be null")
        return
    kind = field.type
    if pa.types.is_struct(kind):
        _check_struct(value, list(kind), where)
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        if not isinstance(value, list):
            raise SchemaMismatch(f"{where}: expected a list")
        for i, item in enumerate(value):
            _check_value(item, kind.value_field, f"{where}[{i}]")
    elif pa.types.is_map(kind):
        if not isinstance(value, dict):
            raise SchemaMismatch(f"{where}: expected an object")
        for key, item in value.items():
            _check_value(item, kind.item_field, f"{where}[{key!r}]")

"""Output folders of the annotation commands: written whole or not at all, never mixed.

A command writes into a sibling temporary folder and renames it into place when everything is
written, so a crash never leaves a half round behind. The folder's ``_webweave.json``
(``schemas/ownership.py``, the record every webweave output carries) says which command made it
and the fingerprint of its inputs and config:

- the folder does not exist or is empty: the command writes it;
- it holds a finished output of the same command with the same fingerprint: nothing to do
  (re-running is idempotent, e.g. re-ingesting the same export);
- anything else is refused in one line, unless ``overwrite``, which swaps the new folder in
  atomically (the old one is removed only after the new one is in place).

The record and the refusal are the project's (``schemas/ownership.py``); what is particular
here is that an annotation output is always written whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webweave.schemas import ownership


class OutputExists(Exception):
    """The output folder holds something else; the message is one line for the user."""


@dataclass
class OutputPlan:
    """Where to write (``folder``), or ``up_to_date`` when the finished output is already there."""

    final: Path
    folder: Path
    up_to_date: bool


def fingerprint(command: str, inputs: list[str], settings: dict[str, Any]) -> str:
    """sha256 of the command, its inputs' fingerprints and its settings (JSON, sorted keys)."""
    payload = json.dumps(
        {"command": command, "inputs": inputs, "settings": settings},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def file_fingerprint(path: str | Path) -> str:
    """sha256 of a file's bytes (exports, tables)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def folder_fingerprint(path: str | Path) -> str:
    """A webweave output's recorded fingerprint, else the names, sizes and mtimes of its files."""
    done = ownership.read_local(path)
    if done is not None and done.get("config_fingerprint"):
        return done["config_fingerprint"]
    digest = hashlib.sha256()
    root = Path(path)
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        stat = file.stat()
        digest.update(f"{file.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


@contextlib.contextmanager
def output_folder(
    final: str | Path, command: str, input_fingerprint: str, overwrite: bool
) -> Iterator[OutputPlan]:
    """Plan and commit one output folder (see the module docstring).

    ``input_fingerprint`` identifies this invocation (``fingerprint``). The body writes into
    ``plan.folder`` unless ``plan.up_to_date``; on success the folder is marked done and moved
    into place, on an exception the temporary folder is removed and ``final`` is left as it was.
    """
    final = Path(final).absolute()
    found = ownership.read_local(final) if final.is_dir() else None
    if ownership.same_job(found, command, [], input_fingerprint) and (
        found.get("state") == ownership.FINISHED
    ):
        yield OutputPlan(final, final, up_to_date=True)
        return
    if final.exists() and not (final.is_dir() and not any(final.iterdir())) and not overwrite:
        if final.is_file():
            raise OutputExists(f"{final} is a file, not a folder: choose another --output")
        raise OutputExists(ownership.refusal(str(final), found, command, []))
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex[:8]}"
    temporary.mkdir()
    try:
        yield OutputPlan(final, temporary, up_to_date=False)
        ownership.write_local(
            temporary, ownership.record(command, [], input_fingerprint, ownership.FINISHED)
        )
        ownership.swap_local(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise

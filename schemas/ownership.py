"""``_webweave.json``: the record that says which job an output folder belongs to.

Every folder a webweave command writes carries it: the command, its inputs, a fingerprint of
the configuration that shapes the output, the state (``running``, ``finished``) and, once
finished, the files of its tables. The rules that read it are the same for every command
(``pipelines/output_folder.py`` for the Beam jobs, ``annotation/output_folder.py`` for the
annotation commands): a folder of the same command with the same inputs and fingerprint is
the job's own; anything else that is not empty is refused with ``refusal``'s one line unless
the user asks to overwrite, and an overwrite is built beside the old folder and swapped in.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

RECORD = "_webweave.json"
VERSION = 1
RUNNING, FINISHED = "running", "finished"


def record(command: str, inputs: list[str], fingerprint: str, state: str, **more: Any) -> dict:
    """The record's content (``inputs`` sorted by the caller when order does not matter)."""
    return {
        "version": VERSION,
        "command": command,
        "inputs": list(inputs),
        "config_fingerprint": fingerprint,
        "state": state,
        **more,
    }


def same_job(found: dict | None, command: str, inputs: list[str], fingerprint: str) -> bool:
    return (
        found is not None
        and found.get("command") == command
        and found.get("inputs") == list(inputs)
        and found.get("config_fingerprint") == fingerprint
    )


def refusal(path: str, found: dict | None, command: str, inputs: list[str]) -> str:
    """The one line that refuses a folder holding something else."""
    if found is None:
        why = "is not empty and was not written by webweave"
    elif found.get("command") != command:
        why = f"holds the output of `webweave {found.get('command')}`"
    elif found.get("inputs") != list(inputs):
        why = f"holds a {command} of other inputs ({_short(found.get('inputs') or [])})"
    else:
        why = "was written with another output-changing configuration"
    return (
        f"{path} {why}; choose another --output, or pass --overwrite to replace it "
        "(the old content is removed when the new job succeeds)"
    )


def _short(items: list[str], limit: int = 3) -> str:
    names = [os.path.basename(str(item).rstrip("/")) or str(item) for item in items[:limit]]
    more = f", … {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(names) + more


def read_local(folder: str | Path) -> dict | None:
    """The record of a local folder (None when it has none or it is unreadable)."""
    try:
        with open(Path(folder) / RECORD, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def write_local(folder: str | Path, content: dict) -> None:
    """Write the record of a local folder atomically."""
    path = Path(folder) / RECORD
    temporary = path.with_name(f"{RECORD}.tmp")
    temporary.write_text(json.dumps(content, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(temporary, path)


def swap_local(staging: str | Path, path: str | Path) -> None:
    """Replace ``path`` by ``staging``: two renames, the old folder deleted afterwards."""
    staging, path = Path(staging), Path(path)
    old = None
    if path.exists():
        old = path.with_name(f".{path.name}.old-{uuid.uuid4().hex[:8]}")
        os.rename(path, old)
    os.rename(staging, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

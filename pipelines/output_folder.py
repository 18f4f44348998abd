"""Output folders are owned by one job: same inputs and config resume, anything else is refused.

A job claims its folder by writing ``OUT/_webweave.json`` (``schemas/ownership.py``): the
command, its inputs, a fingerprint of the config sections that shape its output, and (once
finished) the files it wrote. Before any work:

- a missing or empty folder is claimed;
- a folder claimed by the same command with the same inputs and fingerprint is resumed (the
  job's own manifests say which inputs are already done);
- anything else (another job's output, other inputs, an output-changing config, a regular
  file, a folder that is not writable) is refused with one line, unless ``--overwrite``;
- ``--overwrite`` runs the job in a fresh sibling folder and swaps it in when the job
  succeeds, so nothing of the old output survives and an interrupted overwrite leaves the old
  output untouched (remote ``gs://``/``s3://`` folders cannot be swapped: there the old
  content is deleted first, and the runbook says so).

``finish`` records the files of the job's table folders in the record, so a finished folder
holds exactly the shards its record lists (``webweave verify`` checks it). Since a folder
only ever holds one job's output under one configuration, no file in it is stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from apache_beam.io.filesystems import FileSystems

from webweave.pipelines.errors import OutputFolderError
from webweave.schemas import ownership

RECORD = ownership.RECORD
STAGING_MARK = ".webweave-staging-"


def config_fingerprint(sections: dict[str, Any]) -> str:
    """A short, stable hash of the config sections that shape a job's output."""
    text = json.dumps(sections, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@dataclass
class OutputFolder:
    """A job's claim on its output folder (see the module docstring)."""

    path: str  # where the user asked for the output
    command: str
    inputs: list[str]
    fingerprint: str
    work_path: str = ""  # where the job writes: ``path``, or a staging sibling for --overwrite
    resumed: bool = False
    tables: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        self.work_path = self.work_path or self.path

    @property
    def staged(self) -> bool:
        return self.work_path != self.path

    def finish(self, extra: dict[str, Any] | None = None) -> None:
        """Record the files written and swap a staging folder in place of the old output."""
        files = _files(self.work_path, self.tables)
        record = self._record(ownership.FINISHED, files=files, **(extra or {}))
        _write_record(self.work_path, record)
        if self.staged:
            ownership.swap_local(self.work_path, self.path)

    def _record(self, state: str = ownership.RUNNING, **more: Any) -> dict[str, Any]:
        return ownership.record(self.command, self.inputs, self.fingerprint, state, **more)


def claim(
    path: str,
    command: str,
    inputs: Iterable[str],
    fingerprint: str,
    *,
    overwrite: bool = False,
    tables: Sequence[str] = (),
    adopt: bool = False,
) -> OutputFolder:
    """Claim ``path`` for ``command`` (see the module docstring); OutputFolderError if not.

    ``adopt``: a non-empty folder without a record (written before records existed) is taken
    over when the caller has checked it holds this job's own output.
    """
    folder = OutputFolder(path, command, sorted(inputs), fingerprint, tables=tuple(tables))
    remote = "://" in path
    if not remote:
        _check_local(path)
    _remove_stale_staging(path)
    record = _read_record(path)
    if record is None and _is_empty(path):
        _write_record(path, folder._record())
        return folder
    if ownership.same_job(record, command, folder.inputs, fingerprint):
        folder.resumed = True
        return folder
    if record is None and adopt:
        folder.resumed = True
        _write_record(path, folder._record())
        return folder
    if not overwrite:
        raise OutputFolderError(ownership.refusal(path, record, command, folder.inputs))
    if remote:
        _delete_remote(path)
        _write_record(path, folder._record())
        return folder
    staging = f"{path.rstrip('/')}{STAGING_MARK}{uuid.uuid4().hex[:8]}"
    os.makedirs(staging)
    folder.work_path = staging
    _write_record(staging, folder._record())
    return folder


def _check_local(path: str) -> None:
    if os.path.exists(path) and not os.path.isdir(path):
        raise OutputFolderError(f"{path} is a file, not a folder: choose another --output")
    parent = os.path.dirname(os.path.abspath(path)) or "."
    target = path if os.path.isdir(path) else parent
    while not os.path.exists(target):
        target = os.path.dirname(target)
    if not os.access(target, os.W_OK | os.X_OK):
        raise OutputFolderError(f"{target} is not writable: choose another --output")


def _is_empty(path: str) -> bool:
    if "://" in path:
        return not FileSystems.match([path.rstrip("/") + "/**"])[0].metadata_list
    return not os.path.exists(path) or not os.listdir(path)


def _read_record(path: str) -> dict | None:
    location = _join(path, RECORD)
    try:
        if not FileSystems.exists(location):
            return None
        with FileSystems.open(location) as handle:
            return json.loads(handle.read())
    except (OSError, ValueError):
        return None


def _write_record(path: str, record: dict) -> None:
    if "://" not in path:
        os.makedirs(path, exist_ok=True)
    location = _join(path, RECORD)
    temporary = f"{location}.tmp"
    with FileSystems.create(temporary) as handle:
        handle.write(json.dumps(record, indent=1, sort_keys=True).encode())
    if FileSystems.exists(location):
        FileSystems.delete([location])
    FileSystems.rename([temporary], [location])


def read_record(path: str) -> dict | None:
    """The ownership record of a folder (None when it has none)."""
    return _read_record(path)


def _files(path: str, tables: Sequence[str]) -> dict[str, list[str]]:
    """The files of each table folder, sorted (what the record lists)."""
    out = {}
    for table in tables:
        pattern = _join(path, table, "*")
        names = sorted(
            m.path.rsplit("/", 1)[-1] for m in FileSystems.match([pattern])[0].metadata_list
        )
        out[table] = [name for name in names if not name.startswith(".")]
    return out


def listed_files(path: str) -> dict[str, list[str]] | None:
    record = _read_record(path)
    return None if record is None else record.get("files")


def _remove_stale_staging(path: str) -> None:
    """Staging folders of interrupted --overwrite runs (never the output itself)."""
    if "://" in path:
        return
    parent = os.path.dirname(os.path.abspath(path)) or "."
    prefix = os.path.basename(path.rstrip("/")) + STAGING_MARK
    if not os.path.isdir(parent):
        return
    for name in os.listdir(parent):
        if name.startswith(prefix):
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)


def _delete_remote(path: str) -> None:
    matches = FileSystems.match([path.rstrip("/") + "/**"])[0].metadata_list
    if matches:
        FileSystems.delete([m.path for m in matches])


def _join(folder: str, *parts: str) -> str:
    if "://" in folder:
        return "/".join([folder.rstrip("/"), *parts])
    return os.path.join(folder, *parts)

"""Which WARC files a run reads, and the stable name each one is recorded under.

``location`` is where the bytes are (local path, ``gs://``, ``s3://`` or an ``https://`` URL);
``name`` is what documents record as ``warc_filename`` and what ids and shard names derive
from. For Common Crawl files the name is the crawl-relative path (``crawl-data/CC-MAIN-…``),
the same on S3, HTTPS or a local copy; for anything else it is the file's base name, so moving
a folder does not change ids.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
from dataclasses import dataclass

from apache_beam.io.filesystems import FileSystems

WARC_SUFFIXES = (".warc.gz", ".warc", ".arc.gz", ".arc")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class WarcInput:
    location: str
    name: str

    @property
    def shard_prefix(self) -> str:
        """File-name prefix of every output of this input: readable stem + 8 hex of the name."""
        stem = posixpath.basename(self.name)
        for suffix in WARC_SUFFIXES:
            if stem.endswith(suffix):
                stem = stem[: -len(suffix)]
                break
        stem = _UNSAFE.sub("_", stem)[:80] or "warc"
        digest = hashlib.blake2b(self.name.encode(), digest_size=4).hexdigest()
        return f"{stem}-{digest}"


def warc_name(location: str) -> str:
    """The stable name of a WARC file (see module docstring)."""
    path = location.split("?", 1)[0]
    marker = path.find("crawl-data/")
    if marker >= 0:
        return path[marker:]
    return posixpath.basename(path.rstrip("/")) or path


def is_url(location: str) -> bool:
    return location.startswith(("http://", "https://"))


def expand_pattern(pattern: str) -> list[WarcInput]:
    """The WARC files a path, glob or URL stands for, sorted; raises if a pattern matches none."""
    if is_url(pattern):
        return [WarcInput(pattern, warc_name(pattern))]
    matches = FileSystems.match([pattern])[0].metadata_list
    paths = sorted(m.path for m in matches)
    if not paths:
        raise FileNotFoundError(f"no file matches input {pattern!r}")
    return [WarcInput(path, warc_name(path)) for path in paths]


def expand_input(pattern: str) -> list[WarcInput]:
    """``expand_pattern``, plus: a local folder means every WARC file inside it, recursively,
    in sorted path order (what users expect of ``--input DIR``)."""
    if "://" not in pattern and os.path.isdir(pattern):
        paths = sorted(
            os.path.join(root, name)
            for root, _, names in os.walk(pattern)
            for name in names
            if name.endswith(WARC_SUFFIXES)
        )
        if not paths:
            raise FileNotFoundError(
                f"no WARC files ({', '.join(WARC_SUFFIXES)}) under the folder {pattern!r}"
            )
        return [WarcInput(path, warc_name(path)) for path in paths]
    return expand_pattern(pattern)

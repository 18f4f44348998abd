"""Fetch the real-data fixtures the tests and benchmarks read, verified by sha256 (stdlib only).

    python tests/fetch_fixtures.py [DEST] [--mirror URL_OR_DIR]

``DEST`` defaults to ``<repo>/.fixtures`` (gitignored). Every file listed in
``tests/fixtures/MANIFEST.tsv`` is downloaded from its public source at a pinned commit or
release, rebuilt by its recipe where the fixture is not a byte copy (``fixture_recipes.py``),
checked against its size and sha256, and written atomically. Files already present and verified
are not downloaded again. A mirror (a folder or ``file://`` / ``http://`` URL holding the same
tree as DEST, such as ``../shared/fixtures``) is tried first for every file; the upstream source
is the fallback. Each file that could not be fetched gets one line saying from where and why; the
exit status is then 1.

Manifest columns (tab-separated, one row per fixture file):

==============  ================================================================================
path            where the file lies under the fixtures folder
bytes, sha256   size and sha256 of the fixture file (from ``../shared/fixtures/MANIFEST.tsv``)
url             the upstream download (raw.githubusercontent.com at a commit, a PyPI file);
                empty for files built only from other fixtures
member          the file inside the downloaded archive (wheel, sdist), or empty
recipe          how the fixture is made from the upstream bytes (``copy``, ``gzip:MTIME``, ...)
source_sha256   sha256 of the upstream bytes where it differs from ``sha256`` and is known
license         licence of the source
==============  ================================================================================
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import http.client
import io
import os
import socket
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit

import fixture_recipes as recipes

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
MANIFEST = HERE / "fixtures" / "MANIFEST.tsv"
DEFAULT_DEST = REPO_ROOT / ".fixtures"
RETRYABLE_HTTP = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Entry:
    """One row of the manifest."""

    path: str
    size: int
    sha256: str
    url: str
    member: str
    recipe: str
    source_sha256: str
    license: str

    @property
    def upstream_name(self) -> str:
        """Base name of the upstream file (the name a gzip header records)."""
        return PurePosixPath(self.member or unquote(urlsplit(self.url).path)).name


@dataclass
class Report:
    """What one fetch did: paths downloaded, paths already there, and one line per failure."""

    fetched: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class FetchError(Exception):
    """One source could not deliver a verified file (the message is the reason, one line)."""


def load_manifest(path: Path = MANIFEST) -> list[Entry]:
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [
        Entry(
            path=row["path"],
            size=int(row["bytes"]),
            sha256=row["sha256"],
            url=row["url"],
            member=row["member"],
            recipe=row["recipe"],
            source_sha256=row["source_sha256"],
            license=row["license"],
        )
        for row in rows
    ]


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def matches(entry: Entry, data: bytes) -> bool:
    """Whether ``data`` is the fixture: its size and sha256, or, for a file gzipped by a gzip
    other than GNU gzip, the sha256 of its decompressed content."""
    if len(data) == entry.size and sha256_of(data) == entry.sha256:
        return True
    return (
        entry.recipe.startswith("gzip:")
        and bool(entry.source_sha256)
        and recipes.gunzipped_sha256(data) == entry.source_sha256
    )


def is_verified(entry: Entry, dest: Path) -> bool:
    file = dest / entry.path
    return file.is_file() and matches(entry, file.read_bytes())


def mirror_base(mirror: str) -> str:
    """A mirror given as a folder becomes a ``file://`` URL; URLs are kept."""
    if urlsplit(mirror).scheme in {"http", "https", "file"}:
        return mirror.rstrip("/")
    return Path(mirror).resolve().as_uri()


class Fetcher:
    """Downloads (with retries), rebuilds and verifies the manifest's files into ``dest``."""

    def __init__(
        self,
        dest: Path,
        entries: Sequence[Entry],
        mirror: str | None = None,
        retries: int = 3,
        backoff_s: float = 1.0,
        timeout_s: float = 60.0,
    ) -> None:
        self.dest = dest
        self.entries = list(entries)
        self.mirror = mirror_base(mirror) if mirror else None
        self.retries = max(1, retries)
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.manifest_paths = frozenset(e.path for e in self.entries)
        self._archives: dict[str, bytes] = {}
        self._archive_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._dead_hosts: dict[str, str] = {}

    def run(self, jobs: int = 8) -> Report:
        report = Report()
        verified = {e.path for e in self.entries if is_verified(e, self.dest)}
        report.present = [e.path for e in self.entries if e.path in verified]
        missing = [e for e in self.entries if e.path not in verified]
        downloads = [e for e in missing if recipes.needs_upstream(e.recipe)]
        built = [e for e in missing if not recipes.needs_upstream(e.recipe)]
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            results = list(pool.map(self._fetch_one, downloads))
        results += [self._fetch_one(entry) for entry in built]  # they read the downloads
        for entry, failure in zip(downloads + built, results, strict=True):
            if failure:
                report.failures.append(failure)
            else:
                report.fetched.append(entry.path)
        return report

    def _fetch_one(self, entry: Entry) -> str | None:
        """None when the file is in place and verified, else the one-line failure."""
        attempts = []
        for source, produce in self._sources(entry):
            try:
                data = produce()
                if not matches(entry, data):
                    raise FetchError(
                        f"sha256 mismatch (got {sha256_of(data)}, {len(data)} bytes;"
                        f" want {entry.sha256}, {entry.size} bytes)"
                    )
            except (FetchError, recipes.RecipeError) as error:
                attempts.append(f"{source}: {error}")
                continue
            self._write(entry, data)
            return None
        return f"cannot fetch {entry.path} -- " + "; ".join(attempts)

    def _sources(self, entry: Entry):
        """(where, how to get the bytes) in the order they are tried."""
        if self.mirror:
            url = f"{self.mirror}/{quote(entry.path)}"
            yield url, lambda: self._download(url)
        if entry.url:
            yield entry.url, lambda: self._rebuild(entry, self._upstream(entry))
        elif not recipes.needs_upstream(entry.recipe):
            yield f"recipe {entry.recipe}", lambda: self._rebuild(entry, None)
        else:
            yield "manifest", _no_source

    def _upstream(self, entry: Entry) -> bytes:
        if not entry.member:
            return self._download(entry.url)
        return _archive_member(self._archive(entry.url), entry.member)

    def _rebuild(self, entry: Entry, upstream: bytes | None) -> bytes:
        for needed in recipes.inputs_of(entry.recipe):
            if not (self.dest / needed).is_file():
                raise FetchError(f"needs {needed}, which is not in {self.dest}")
        context = recipes.Context(self.dest, self.manifest_paths, entry.upstream_name)
        return recipes.apply(entry.recipe, upstream, context)

    def _archive(self, url: str) -> bytes:
        """A downloaded archive, fetched once however many members are read from it."""
        with self._lock:
            lock = self._archive_locks.setdefault(url, threading.Lock())
        with lock:
            if url not in self._archives:
                self._archives[url] = self._download(url)
            return self._archives[url]

    def _download(self, url: str) -> bytes:
        """The bytes at ``url``; transient failures are retried with a growing pause, and a host
        that stays unreachable is not asked again for the other files."""
        host = urlsplit(url).netloc
        for attempt in range(1, self.retries + 1):
            if host in self._dead_hosts:
                raise FetchError(f"{self._dead_hosts[host]} (gave up on this host)")
            try:
                with urllib.request.urlopen(url, timeout=self.timeout_s) as response:
                    return response.read()
            except urllib.error.HTTPError as error:
                reason, transient, unreachable = _http_reason(error)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
                reason, transient, unreachable = _network_reason(error)
            if not transient or attempt == self.retries:
                if unreachable and host:
                    with self._lock:
                        self._dead_hosts.setdefault(host, reason)
                raise FetchError(reason)
            time.sleep(self.backoff_s * attempt)
        raise AssertionError("the loop returns or raises")

    def _write(self, entry: Entry, data: bytes) -> None:
        target = self.dest / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        partial.write_bytes(data)
        os.replace(partial, target)


def _no_source() -> bytes:
    raise FetchError("no url and no recipe that builds it")


def _archive_member(archive: bytes, member: str) -> bytes:
    try:
        if zipfile.is_zipfile(io.BytesIO(archive)):
            with zipfile.ZipFile(io.BytesIO(archive)) as wheel:
                return wheel.read(member)
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            extracted = tar.extractfile(member)
            if extracted is None:
                raise FetchError(f"{member} is not a file in the archive")
            return extracted.read()
    except (KeyError, tarfile.TarError, zipfile.BadZipFile) as error:
        raise FetchError(f"no member {member} in the archive ({error})") from None


def _http_reason(error: urllib.error.HTTPError) -> tuple[str, bool, bool]:
    """(reason, worth retrying, host unreachable) for an HTTP error status."""
    return f"HTTP {error.code} {error.reason}", error.code in RETRYABLE_HTTP, False


def _network_reason(error: BaseException) -> tuple[str, bool, bool]:
    """(reason, worth retrying, host unreachable) for a failure below HTTP."""
    cause = getattr(error, "reason", error)
    if isinstance(cause, FileNotFoundError):
        return "no such file", False, False
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused", True, True
    if isinstance(cause, socket.gaierror):
        return f"host not found ({cause.strerror})", True, True
    if isinstance(cause, TimeoutError):
        return "timed out", True, True
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower(), True, True
    return str(cause) or type(cause).__name__, True, False


def fetch(
    dest: Path = DEFAULT_DEST,
    mirror: str | None = None,
    manifest: Path = MANIFEST,
    jobs: int = 8,
    retries: int = 3,
    backoff_s: float = 1.0,
    timeout_s: float = 60.0,
) -> Report:
    """Make ``dest`` hold every manifest file, verified; the report names what failed."""
    fetcher = Fetcher(dest, load_manifest(manifest), mirror, retries, backoff_s, timeout_s)
    return fetcher.run(jobs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dest", nargs="?", type=Path, default=DEFAULT_DEST, help="target folder")
    parser.add_argument("--mirror", help="folder or file:// / http:// URL with the same tree")
    parser.add_argument("--manifest", type=Path, default=MANIFEST, help="manifest to fetch")
    parser.add_argument("--jobs", type=int, default=8, help="parallel downloads")
    parser.add_argument("--retries", type=int, default=3, help="tries per source")
    args = parser.parse_args(argv)
    report = fetch(args.dest, args.mirror, args.manifest, args.jobs, args.retries)
    for line in report.failures:
        print(line, file=sys.stderr)
    print(
        f"{len(report.fetched)} fetched, {len(report.present)} already present,"
        f" {len(report.failures)} failed -> {args.dest}"
    )
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())

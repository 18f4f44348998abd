#!/usr/bin/env python3
"""Build webweave's embedded sample WARC from the real-data fixtures, byte for byte.

The sample (``pipelines/data/sample.warc.gz``, package data) lets a newcomer run the local chain
offline. It holds only records of the MIT- and Apache-2.0-licensed WARC files among the
fixtures (pinned source and licence from ``tests/fixtures/MANIFEST.tsv``), picked in
``tools/sample_records.tsv`` by source file and record offset and checked against their
``WARC-Record-ID``. The records' bytes are the originals; only the container is new:

- a record of a per-record-gzip source is its gzip member, copied as is;
- a record of an uncompressed source is gzipped here as one member (deflate level 9, mtime 0,
  no file name, OS "unknown"), so the sample is per-record gzip like Common Crawl's files.

The same fixtures give the same bytes (the test compares the sha256; zlib's deflate output at a
fixed level is what makes the re-gzipped members repeatable). The script also writes the
sample's section of ``NOTICE`` (source repository, path, commit, licence of every record), and
leaves the other sections of that file alone.

    python tools/build_sample.py            # write the sample and its NOTICE section
    python tools/build_sample.py --check    # rebuild in memory; exit 1 if either differs

Fixtures: ``--fixtures DIR``, else ``$WEBWEAVE_FIXTURES``, else ``../shared/fixtures``, else
``.fixtures`` (where the test suite fetches them on a fresh clone).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PICKS = REPO_ROOT / "tools" / "sample_records.tsv"
SAMPLE = REPO_ROOT / "pipelines" / "data" / "sample.warc.gz"
NOTICE = REPO_ROOT / "NOTICE"
# Where each fixture comes from (pinned URL, sha256, licence): the manifest the test suite
# fetches fixtures with on a fresh clone, so it is there whenever the fixtures are.
MANIFEST = REPO_ROOT / "tests" / "fixtures" / "MANIFEST.tsv"
RAW_GITHUB_URL = re.compile(
    r"https://raw\.githubusercontent\.com/"
    r"(?P<repository>[^/]+/[^/]+)/(?P<commit>[0-9a-f]{40})/(?P<path>.+)"
)
ALLOWED_LICENCES = ("MIT", "Apache-2.0")
MAX_SAMPLE_BYTES = 2 * 1024 * 1024

# The sample's section of NOTICE lies between these two lines; the rest of NOTICE is kept.
SECTION_BEGIN = "---- begin: embedded sample WARC (written by tools/build_sample.py) ----"
SECTION_END = "---- end: embedded sample WARC ----"

# gzip member header (RFC 1952): deflate, no flags, mtime 0, XFL 2 (level 9), OS 255 (unknown).
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"


class SampleError(Exception):
    """A pick, a fixture or the manifest is not what the sample expects."""


@dataclass(frozen=True)
class Pick:
    """One line of sample_records.tsv: a record chosen by file and offset, checked by id."""

    source: str  # fixture path, e.g. warc/dolma_sample-0000.warc.gz
    offset: int  # of the record (its gzip member) in the source file
    record_id: str  # WARC-Record-ID, as written in the record
    what: str  # what the record is, for readers of the table and of NOTICE


@dataclass(frozen=True)
class Provenance:
    """A fixture's public origin, from the fixtures manifest."""

    path: str
    sha256: str
    repository: str
    repository_path: str
    commit: str
    licence: str


@dataclass(frozen=True)
class RecordHead:
    """The WARC header fields the sample checks and NOTICE lists."""

    warc_type: str
    record_id: str
    target_uri: str
    length: int  # header + block + the CRLFs that end the record


@dataclass(frozen=True)
class Entry:
    """One record of the built sample."""

    pick: Pick
    head: RecordHead
    sample_offset: int


@dataclass(frozen=True)
class Sample:
    data: bytes
    entries: list[Entry]
    sources: dict[str, Provenance]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


# ---------------------------------------------------------------- inputs


def default_fixtures() -> Path:
    """Where the tests find them: $WEBWEAVE_FIXTURES, ../shared/fixtures, else .fixtures."""
    if os.environ.get("WEBWEAVE_FIXTURES"):
        return Path(os.environ["WEBWEAVE_FIXTURES"])
    shared = REPO_ROOT.parent / "shared" / "fixtures"
    return shared if shared.is_dir() else REPO_ROOT / ".fixtures"


def read_picks(path: Path = PICKS) -> list[Pick]:
    with path.open(newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return [
            Pick(row["source"], int(row["offset"]), row["warc_record_id"], row["what"])
            for row in rows
        ]


def read_manifest(path: Path = MANIFEST) -> dict[str, dict[str, str]]:
    """The project's fixtures manifest: path → its row (url, sha256, license, ...)."""
    with path.open(newline="") as handle:
        return {row["path"]: row for row in csv.DictReader(handle, delimiter="\t")}


def provenance_of(row: dict[str, str]) -> Provenance:
    """Repository, commit and path from the row's pinned raw.githubusercontent.com URL."""
    match = RAW_GITHUB_URL.fullmatch(row["url"])
    if match is None:
        raise SampleError(f"{row['path']}: no pinned GitHub URL in the manifest ({row['url']})")
    return Provenance(
        path=row["path"],
        sha256=row["sha256"],
        repository=match["repository"],
        repository_path=match["path"],
        commit=match["commit"],
        licence=row["license"],
    )


def read_source(fixtures: Path, provenance: Provenance) -> bytes:
    """The fixture's bytes, refused unless its licence is allowed and its sha256 matches."""
    if provenance.licence not in ALLOWED_LICENCES:
        raise SampleError(f"{provenance.path}: licence {provenance.licence!r} is not allowed")
    data = (fixtures / provenance.path).read_bytes()
    if hashlib.sha256(data).hexdigest() != provenance.sha256:
        raise SampleError(f"{provenance.path}: sha256 differs from the fixtures manifest")
    return data


# ---------------------------------------------------------------- records


def is_gzip(data: bytes) -> bool:
    return data[:2] == b"\x1f\x8b"


def gzip_member_at(data: bytes, offset: int) -> tuple[bytes, bytes]:
    """(the gzip member starting at offset, its decompressed content)."""
    inflater = zlib.decompressobj(wbits=31)
    content = inflater.decompress(data[offset:])
    if not inflater.eof:
        raise SampleError(f"gzip member at {offset} is truncated")
    end = len(data) - len(inflater.unused_data)
    return data[offset:end], content


def record_head(data: bytes, offset: int = 0) -> RecordHead:
    """Parse the WARC header at offset (WARC/1.0 or 1.1)."""
    header_end = data.find(b"\r\n\r\n", offset)
    if header_end < 0 or not data.startswith(b"WARC/", offset):
        raise SampleError(f"no WARC record at {offset}")
    try:
        lines = data[offset:header_end].decode("utf-8").split("\r\n")[1:]
    except UnicodeDecodeError as error:
        raise SampleError(f"WARC header at {offset} is not UTF-8: {error}") from None
    fields = {}
    for line in lines:
        name, _, value = line.partition(":")
        fields[name.strip().lower()] = value.strip()
    block_end = header_end + 4 + int(fields["content-length"])
    if data.startswith(b"\r\n\r\n", block_end):
        end = block_end + 4
    elif data.startswith(b"\r\n", block_end):
        end = block_end + 2  # node-warc ends its records with one CRLF; kept as written
    else:
        raise SampleError(f"record at {offset} does not end with CRLF")
    return RecordHead(
        warc_type=fields.get("warc-type", ""),
        record_id=fields.get("warc-record-id", ""),
        target_uri=fields.get("warc-target-uri", "").strip("<>"),
        length=end - offset,
    )


def record_offsets(data: bytes) -> list[int]:
    """Where each record (gzip member) of a source starts; a truncated tail counts as one."""
    offsets, offset = [], 0
    while offset < len(data):
        offsets.append(offset)
        if is_gzip(data):
            try:
                member, _ = gzip_member_at(data, offset)
            except (SampleError, zlib.error):
                break
            offset += len(member)
        else:
            try:
                offset += record_head(data, offset).length
            except (SampleError, KeyError, ValueError):
                break
    return offsets


def gzip_member(record: bytes) -> bytes:
    """One gzip member holding the record, the same bytes for the same record every time."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS, 9, zlib.Z_DEFAULT_STRATEGY)
    body = deflater.compress(record) + deflater.flush()
    trailer = struct.pack("<II", zlib.crc32(record), len(record) & 0xFFFFFFFF)
    return GZIP_HEADER + body + trailer


def take(data: bytes, pick: Pick) -> tuple[bytes, RecordHead]:
    """(the record's gzip member for the sample, its header) — exactly one record, the pick's."""
    if is_gzip(data):
        member, record = gzip_member_at(data, pick.offset)
    else:
        head = record_head(data, pick.offset)
        record = data[pick.offset : pick.offset + head.length]
        member = gzip_member(record)
    head = record_head(record)
    if head.length != len(record):
        raise SampleError(f"{pick.source}@{pick.offset}: the member holds more than one record")
    if head.record_id != pick.record_id:
        raise SampleError(
            f"{pick.source}@{pick.offset}: record id {head.record_id}, expected {pick.record_id}"
        )
    return member, head


# ---------------------------------------------------------------- the sample


def build(fixtures: Path, picks: list[Pick] | None = None) -> Sample:
    picks = read_picks() if picks is None else picks
    manifest = read_manifest()
    sources: dict[str, Provenance] = {}
    source_data: dict[str, bytes] = {}
    members, entries, offset = [], [], 0
    for pick in picks:
        if pick.source not in source_data:
            if pick.source not in manifest:
                raise SampleError(f"{pick.source} is not in {MANIFEST.name}")
            sources[pick.source] = provenance_of(manifest[pick.source])
            source_data[pick.source] = read_source(fixtures, sources[pick.source])
        member, head = take(source_data[pick.source], pick)
        members.append(member)
        entries.append(Entry(pick, head, offset))
        offset += len(member)
    _check_no_whole_file(picks, source_data)
    data = b"".join(members)
    if len(data) > MAX_SAMPLE_BYTES:
        raise SampleError(f"sample is {len(data)} bytes, more than {MAX_SAMPLE_BYTES}")
    return Sample(data, entries, sources)


def _check_no_whole_file(picks: list[Pick], source_data: dict[str, bytes]) -> None:
    """The fixtures' rule: records of a file, never the whole file; and no record twice."""
    for source, data in source_data.items():
        chosen = [p.offset for p in picks if p.source == source]
        if len(set(chosen)) != len(chosen):
            raise SampleError(f"{source}: a record is picked twice")
        offsets = record_offsets(data)
        if not set(chosen) <= set(offsets):
            raise SampleError(
                f"{source}: offsets {sorted(set(chosen) - set(offsets))} are not records"
            )
        if set(chosen) == set(offsets):
            raise SampleError(f"{source}: every record is picked (a whole-file copy)")


# ---------------------------------------------------------------- NOTICE


def notice_section(sample: Sample) -> str:
    """The sample's part of NOTICE: where every record comes from, under which licence."""
    lines = [
        SECTION_BEGIN,
        "",
        "Embedded sample WARC: pipelines/data/sample.warc.gz",
        f"  {len(sample.data)} bytes, sha256 {sample.sha256}, {len(sample.entries)} records",
        "",
        "Every record is copied byte for byte from a WARC file published in the repository",
        "below, at the pinned commit (records of an uncompressed file are gzipped, one gzip",
        "member per record; the records' bytes are unchanged). Rebuild and check it with",
        "tools/build_sample.py; the records are chosen in tools/sample_records.tsv.",
        "The licence named is the licence of the repository that publishes the WARC file.",
        "The pages and images inside the records are third-party web content captured by those",
        "crawls; that licence covers the repository, not the pages: their rights stay with",
        "their authors.",
    ]
    for source, provenance in sample.sources.items():
        lines += [
            "",
            f"Source: {source}",
            f"  repository: {_repository_url(provenance.repository)}",
            f"  path:       {provenance.repository_path}",
            f"  commit:     {provenance.commit}",
            f"  licence:    {provenance.licence}",
            f"  sha256:     {provenance.sha256}",
            "  records (offset in the sample, offset in the source, WARC-Type, WARC-Record-ID,",
            "  target URI):",
        ]
        for entry in sample.entries:
            if entry.pick.source == source:
                lines.append(
                    f"    {entry.sample_offset:>7} {entry.pick.offset:>7} "
                    f"{entry.head.warc_type:<8} {entry.head.record_id} {entry.head.target_uri}"
                )
    lines += ["", SECTION_END]
    return "\n".join(lines) + "\n"


def _repository_url(repository: str) -> str:
    return f"https://github.com/{repository}"


def with_section(notice: str, section: str) -> str:
    """NOTICE with the sample's section replaced (or appended), every other line kept."""
    begin, end = notice.find(SECTION_BEGIN), notice.find(SECTION_END)
    if begin < 0 or end < 0:
        return notice.rstrip("\n") + "\n\n" + section
    return notice[:begin] + section + notice[end + len(SECTION_END) + 1 :]


def current_section(notice: str) -> str | None:
    begin, end = notice.find(SECTION_BEGIN), notice.find(SECTION_END)
    if begin < 0 or end < 0:
        return None
    return notice[begin : end + len(SECTION_END)] + "\n"


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=None, help="the fixtures folder")
    parser.add_argument("--check", action="store_true", help="compare, write nothing")
    args = parser.parse_args(argv)
    fixtures = args.fixtures or default_fixtures()
    try:
        sample = build(fixtures)
    except (SampleError, OSError) as error:
        print(f"build_sample: error: {error}", file=sys.stderr)
        return 2
    notice = NOTICE.read_text() if NOTICE.exists() else ""
    section = notice_section(sample)
    if args.check:
        return _check(sample, section, notice)
    SAMPLE.parent.mkdir(parents=True, exist_ok=True)
    SAMPLE.write_bytes(sample.data)
    NOTICE.write_text(with_section(notice, section))
    print(f"{SAMPLE.relative_to(REPO_ROOT)}: {len(sample.entries)} records, "
          f"{len(sample.data)} bytes, sha256 {sample.sha256}")  # fmt: skip
    return 0


def _check(sample: Sample, section: str, notice: str) -> int:
    problems = []
    committed = SAMPLE.read_bytes() if SAMPLE.exists() else b""
    if hashlib.sha256(committed).hexdigest() != sample.sha256:
        problems.append(f"{SAMPLE.name} differs from the rebuild ({sample.sha256})")
    if current_section(notice) != section:
        problems.append("NOTICE's sample section differs from the rebuild")
    for problem in problems:
        print(f"build_sample: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

"""Streaming WARC reader: one ``WarcRecord`` or one ``WarcReadError`` per stored record.

Beam-free core; the lead wires it into a DoFn. Reads WARC/0.17 to WARC/1.1, per-record gzip
(``.warc.gz``, Common Crawl layout) and uncompressed ``.warc``, and never holds more than
one record block (at most ``max_record_bytes``) plus a 64 KiB read buffer in memory.

Why not ``warcio.ArchiveIterator`` for framing (decided deliberately):

* after ``ArchiveLoadFailed`` the iterator is dead, so one bad record would lose the rest
  of the file; we need per-record resync;
* it skips garbage lines between records with a message on stderr only, i.e. silently for
  the pipeline; we must report every damaged span as a ``WarcReadError``;
* by default it decodes chunked/gzip HTTP bodies for us; we want the bytes as stored and decode
  them ourselves (``webweave.filters.http_payload``). ``arc2warc`` is irrelevant (no ARC
  input) and ``ensure_http_headers`` would invent headers we then could not tell from real
  ones.

So framing (gzip member boundaries, Content-Length, resync) is done here with ``zlib``, and
warcio's ``StatusAndHeadersParser`` parses the WARC header block (continuation lines,
non-ASCII header encodings). ``offset``/``length`` are positions in the file as stored: for
``.warc.gz`` the gzip member, which is what a Common Crawl index row and a ranged GET use.

Decisions:

* A gzip member holding several records (whole-file gzip) yields all of them, each with the
  member's offset and length.
* A record whose HTTP block is malformed (bad status line, no header terminator) is still a
  ``WarcRecord``, with ``http_status=None, http_headers=None`` and ``body`` = the whole
  block; the record selector drops it as ``no_http_headers``.
* ``WarcReadError.error_type`` values: ``record_too_large``, ``malformed_warc_header``,
  ``garbage_between_records``, ``truncated_record`` (Content-Length runs past the end of
  the member or file), ``gzip_error`` (corrupt or truncated gzip member).
* ``malformed_warc_header`` also covers a header line without ``Name: value`` (warcio would
  drop it silently) and a non-repeatable field seen twice (a record cut short whose header
  block runs into the next record's).
* Digests (issue #6): each block is hashed while it is read (``record_digest``), and
  ``WarcRecord.block_digest``/``payload_digest`` say ``ok``, ``mismatch``, ``absent`` or
  ``unsupported``; what a mismatch costs is the caller's policy. In an uncompressed WARC a
  block-digest mismatch also sends the reader back to look for the next ``WARC/x.y`` line
  inside the block: nothing but Content-Length bounds a plain record, so a wrong length
  would otherwise swallow the record after it (gzip members bound themselves).
* Plain-WARC resync looks for a ``WARC/x.y`` version line anywhere after the damaged
  record's first byte, not only after a newline, so a damaged separator hides nothing.
"""

from __future__ import annotations

import io
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from warcio.statusandheaders import StatusAndHeadersParser, StatusAndHeadersParserException

from webweave.filters.record_digest import ABSENT, MISMATCH, BlockDigester
from webweave.filters.warc_record import WarcReadError, WarcRecord

CHUNK = 65536
MAX_HEADER_BYTES = 65536  # a WARC or HTTP header block larger than this is malformed
GZIP_MAGIC = b"\x1f\x8b\x08"
WARC_VERSIONS = ["WARC/1.1", "WARC/1.0", "WARC/0.18", "WARC/0.17"]
HTTP_BLOCK_TYPES = frozenset({"response", "revisit"})  # requests keep their block as body
_STATUS_LINE = re.compile(rb"^HTTP/\d(?:\.\d)?[ \t]+(\d{3})(?:[ \t]|\r?$)")
_WARC_VERSION_LINE = re.compile(rb"WARC/[01]\.\d{1,2}\r?\n")
_GZIP_MAGIC = re.compile(re.escape(GZIP_MAGIC))
# Fields WARC 1.1 does not allow twice in one record.
_SINGLE_HEADERS = frozenset(
    "warc-type warc-record-id warc-date content-length warc-block-digest warc-payload-digest "
    "warc-target-uri".split()
)
HISTORY_CAP = 64 * 1024 * 1024  # replay buffer for resync on non-seekable streams


class NotAWarcFile(ValueError):
    """The file does not start with a WARC record (plain or gzip-compressed)."""

    def __init__(self, path: str, detail: str = ""):
        message = f"{path} is not a WARC file (expected 'WARC/' or a gzip member of a WARC)"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.path = path


class _ReadFailure(Exception):
    """Internal: a record could not be read; carries the error type for ``WarcReadError``."""

    def __init__(self, error_type: str, message: str):
        super().__init__(message)
        self.error_type = error_type


# ----------------------------------------------------------------------------- byte sources


class _RawReader:
    """Buffered reader over the stored bytes that knows its absolute position.

    ``mark``/``rewind`` let resync go back to just after a damaged record's start: by seeking
    when the stream can, else from a bounded history of the bytes read since the mark.
    """

    def __init__(self, stream: BinaryIO):
        self._stream = stream
        self._buf = bytearray()
        self._pos = 0  # absolute position of self._buf[0]
        seekable = getattr(stream, "seekable", None)
        self._origin = stream.tell() if seekable is not None and seekable() else None
        self._mark = 0
        self._history: bytearray | None = None

    @property
    def pos(self) -> int:
        return self._pos

    def mark(self) -> None:
        self._mark = self._pos
        self._history = bytearray() if self._origin is None else None

    def rewind(self, target: int) -> bool:
        """Go back to absolute ``target`` (>= the mark); False when that is impossible."""
        if target >= self._pos:
            self.read(target - self._pos)
            return True
        if self._origin is not None:
            self._stream.seek(self._origin + target)
            self._buf, self._pos = bytearray(), target
            return True
        if self._history is None or target < self._mark:
            return False
        cut = target - self._mark
        self._buf[:0] = self._history[cut:]
        del self._history[cut:]
        self._pos = target
        return True

    def fill(self, size: int) -> bool:
        """Try to buffer at least ``size`` bytes; False at end of file."""
        while len(self._buf) < size:
            data = self._stream.read(max(CHUNK, size - len(self._buf)))
            if not data:
                return False
            self._buf += data
        return True

    def peek(self, size: int) -> bytes:
        self.fill(size)
        return bytes(self._buf[:size])

    def read(self, size: int) -> bytes:
        self.fill(size)
        data = bytes(self._buf[:size])
        del self._buf[:size]
        self._pos += len(data)
        if self._history is not None:
            self._history += data
            if len(self._history) > HISTORY_CAP:
                self._history = None
        return data

    def readline(self, limit: int) -> bytes:
        while True:
            end = self._buf.find(b"\n", 0, limit)
            if end >= 0:
                return self.read(end + 1)
            if len(self._buf) >= limit or not self.fill(len(self._buf) + 1):
                return self.read(limit)

    def take_chunk(self) -> bytes:
        """Everything buffered (or one fresh chunk); empty at end of file."""
        if not self._buf:
            self.fill(1)
        return self.read(len(self._buf))

    def unread(self, data: bytes) -> None:
        """Put back the tail of what was just read (a gzip member's unused data)."""
        self._buf[:0] = data
        self._pos -= len(data)
        if self._history is not None and data:
            del self._history[-len(data) :]

    def skip(self, size: int) -> int:
        return _skip(self, size)

    def find_from(self, pattern: re.Pattern[bytes], start: int) -> int | None:
        """Move to the next match of ``pattern`` at or after ``start``; its position or None."""
        self.rewind(start)
        while True:
            match = pattern.search(self._buf)
            if match is not None:
                self.read(match.start())
                return self._pos
            self.read(max(0, len(self._buf) - 16))
            if not self.fill(len(self._buf) + CHUNK):
                match = pattern.search(self._buf)
                if match is not None:
                    self.read(match.start())
                    return self._pos
                self.read(len(self._buf))
                return None


class _MemberReader:
    """Decompresses one gzip member lazily, with bounded output per read."""

    def __init__(self, raw: _RawReader):
        self._raw = raw
        self._zlib = zlib.decompressobj(wbits=31)
        self._pending = b""  # compressed input not yet fed
        self._out = bytearray()
        self.eof = False
        self.produced = 0

    def _pump(self, want: int) -> None:
        while len(self._out) < want and not self.eof:
            if not self._pending:
                self._pending = self._raw.take_chunk()
                if not self._pending:
                    raise _ReadFailure(
                        "gzip_error",
                        f"gzip member truncated by end of file after {self.produced} "
                        "decompressed bytes",
                    )
            try:
                out = self._zlib.decompress(self._pending, max(want - len(self._out), CHUNK))
            except zlib.error as exc:
                raise _ReadFailure("gzip_error", f"corrupt gzip member: {exc}") from None
            self._pending = self._zlib.unconsumed_tail
            self._out += out
            self.produced += len(out)
            if self._zlib.eof:
                self.eof = True
                # at the end, unused_data is the truth (unconsumed_tail may repeat it)
                self._raw.unread(self._zlib.unused_data)
                self._pending = b""

    def read(self, size: int) -> bytes:
        self._pump(size)
        data = bytes(self._out[:size])
        del self._out[:size]
        return data

    def readline(self, limit: int) -> bytes:
        while True:
            end = self._out.find(b"\n", 0, limit)
            if end >= 0:
                return self.read(end + 1)
            if len(self._out) >= limit or self.eof:
                return self.read(limit)
            self._pump(len(self._out) + 1)

    def skip(self, size: int) -> int:
        return _skip(self, size)

    def at_end(self) -> bool:
        """True when only whitespace remains in the member (consumes that whitespace)."""
        while True:
            self._pump(1)
            stripped = self._out.lstrip(b"\r\n \t")
            if stripped:
                self._out = stripped
                return False
            self._out = bytearray()
            if self.eof:
                return True

    def drain(self) -> None:
        """Consume the rest of the member in bounded chunks (never holds it)."""
        while not self.eof:
            self._out = bytearray()
            self._pump(CHUNK)
        self._out = bytearray()


# ----------------------------------------------------------------------------- record parsing


def _skip(reader: _RawReader | _MemberReader, size: int) -> int:
    """Read and discard up to ``size`` bytes in chunks (a too-large record is never held)."""
    skipped = 0
    while skipped < size:
        got = len(reader.read(min(CHUNK, size - skipped)))
        if not got:
            break
        skipped += got
    return skipped


def _read_warc_headers(reader: _RawReader | _MemberReader) -> dict[str, str]:
    """Read the header block up to its blank line; the first line must be ``WARC/x.y``."""
    first = reader.readline(MAX_HEADER_BYTES)
    if not first.startswith(b"WARC/"):
        raise _ReadFailure("garbage_between_records", f"expected 'WARC/', found {first[:40]!r}")
    lines = [first]
    size = len(first)
    while True:
        line = reader.readline(MAX_HEADER_BYTES)
        size += len(line)
        if not line:
            raise _ReadFailure("truncated_record", "end of input inside the WARC header block")
        if line in (b"\r\n", b"\n"):
            break
        if size > MAX_HEADER_BYTES or not line.endswith(b"\n"):
            raise _ReadFailure("malformed_warc_header", "WARC header block over 64 KiB")
        if b":" not in line and line[:1] not in (b" ", b"\t"):
            # warcio's parser would silently drop it; a line we cannot read is damage
            raise _ReadFailure(
                "malformed_warc_header", f"WARC header line without 'Name: value': {line[:60]!r}"
            )
        lines.append(line)
    return _parse_warc_headers(b"".join(lines) + b"\r\n")


def _parse_warc_headers(block: bytes) -> dict[str, str]:
    parser = StatusAndHeadersParser(WARC_VERSIONS, verify=True)
    try:
        parsed = parser.parse(io.BytesIO(block))
    except StatusAndHeadersParserException as exc:
        raise _ReadFailure("malformed_warc_header", f"bad WARC version line: {exc}") from None
    headers: dict[str, str] = {}
    for name, value in parsed.headers:
        if name.lower() in _SINGLE_HEADERS and _header(headers, name) is not None:
            # e.g. a record cut short whose header block runs into the next record's
            raise _ReadFailure("malformed_warc_header", f"WARC header {name} appears twice")
        headers.setdefault(name, value)
    if not all(_valid_header_name(name) for name in headers):
        raise _ReadFailure("malformed_warc_header", "WARC header line without 'Name: value'")
    if _header(headers, "WARC-Type") is None:
        raise _ReadFailure("malformed_warc_header", "WARC header block has no WARC-Type")
    return headers


def _valid_header_name(name: str) -> bool:
    return bool(name) and not any(c in name for c in " \t\r\n")


def _content_length(headers: dict[str, str]) -> int:
    value = _header(headers, "Content-Length")
    if value is None or not value.strip().isdigit():
        raise _ReadFailure("malformed_warc_header", f"missing or invalid Content-Length {value!r}")
    return int(value.strip())


def _header(headers: dict[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, item in headers.items():
        if key.lower() == lowered:
            return item
    return None


@dataclass(frozen=True, slots=True)
class _Options:
    max_record_bytes: int
    verify_digests: bool


@dataclass(slots=True)
class _Read:
    """One record as read: WARC headers, block (None when too large), declared length and the
    (block, payload) digest statuses."""

    headers: dict[str, str]
    block: bytes | None
    length: int
    digests: tuple[str, str] = (ABSENT, ABSENT)


def _digester(headers: dict[str, str]) -> BlockDigester:
    warc_type = (_header(headers, "WARC-Type") or "").strip().lower()
    return BlockDigester(
        _header(headers, "WARC-Block-Digest"),
        _header(headers, "WARC-Payload-Digest"),
        http=_is_http_block(_header(headers, "Content-Type"), headers),
        revisit=warc_type == "revisit",
    )


def _read_block(
    reader: _RawReader | _MemberReader, length: int, digester: BlockDigester | None
) -> bytes:
    """The block, read in chunks that feed the digests as they arrive (no second pass)."""
    chunks = []
    got = 0
    while got < length:
        chunk = reader.read(min(CHUNK, length - got))
        if not chunk:
            raise _ReadFailure(
                "truncated_record",
                f"record declares Content-Length {length} but only {got} bytes follow",
            )
        if digester is not None:
            digester.update(chunk)
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _split_http(block: bytes) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """Status, headers and body of an HTTP block; None when it is not a valid HTTP message."""
    head_end = block.find(b"\r\n\r\n", 0, MAX_HEADER_BYTES)
    sep = 4
    lf_end = block.find(b"\n\n", 0, MAX_HEADER_BYTES)
    if lf_end >= 0 and (head_end < 0 or lf_end < head_end):
        head_end, sep = lf_end, 2
    if head_end < 0:
        if block.endswith((b"\r\n", b"\n")) and len(block) < MAX_HEADER_BYTES:
            head_end, sep = len(block), 0  # headers only, empty body
        else:
            return None
    lines = block[:head_end].split(b"\n")
    status = _STATUS_LINE.match(lines[0])
    if status is None:
        return None
    headers: list[tuple[str, str]] = []
    for raw in lines[1:]:
        line = raw.rstrip(b"\r").decode("iso-8859-1")
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
        elif ":" in line:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
    return int(status.group(1)), headers, block[head_end + sep :]


def _make_record(
    source: str,
    offset: int,
    headers: dict[str, str],
    block: bytes,
    length: int,
    digests: tuple[str, str] = (ABSENT, ABSENT),
) -> WarcRecord:
    warc_type = (_header(headers, "WARC-Type") or "").strip().lower()
    content_type = _header(headers, "Content-Type")
    status, http_headers, body = None, None, block
    if warc_type in HTTP_BLOCK_TYPES and _is_http_block(content_type, headers):
        split = _split_http(block)
        if split is not None:
            status, http_headers, body = split
    target = _header(headers, "WARC-Target-URI")
    return WarcRecord(
        source=source,
        offset=offset,
        length=length,
        warc_type=warc_type,
        target_uri=target.strip("<> ") if target else None,
        warc_date=_header(headers, "WARC-Date"),
        record_id=_header(headers, "WARC-Record-ID"),
        warc_truncated=_header(headers, "WARC-Truncated"),
        content_type=content_type,
        http_status=status,
        http_headers=http_headers,
        body=body,
        warc_headers=headers,
        block_digest=digests[0],
        payload_digest=digests[1],
    )


def _is_http_block(content_type: str | None, headers: dict[str, str]) -> bool:
    if content_type is not None:
        return content_type.strip().lower().startswith("application/http")
    target = (_header(headers, "WARC-Target-URI") or "").lower().strip("<> ")
    return target.startswith(("http:", "https:"))


def _read_one(reader: _RawReader | _MemberReader, opts: _Options) -> _Read:
    """Header, block (None when too large: its bytes are skipped), length, digest statuses."""
    headers = _read_warc_headers(reader)
    length = _content_length(headers)
    if length > opts.max_record_bytes:
        if reader.skip(length) < length:
            raise _ReadFailure("truncated_record", f"Content-Length {length} runs past the end")
        return _Read(headers, None, length)
    digester = _digester(headers) if opts.verify_digests else None
    block = _read_block(reader, length, digester)
    return _Read(headers, block, length, digester.finish() if digester else (ABSENT, ABSENT))


def _too_large(source: str, offset: int, headers: dict[str, str], length: int, limit: int):
    uri = _header(headers, "WARC-Target-URI")
    message = f"record block of {length} bytes exceeds warc.max_record_bytes = {limit}"
    record_id = _header(headers, "WARC-Record-ID")
    return WarcReadError(source, offset, "record_too_large", message, uri, record_id)


# ----------------------------------------------------------------------------- gzip framing


def _iter_gzip(raw: _RawReader, source: str, opts: _Options):
    while raw.peek(1):
        if raw.peek(3) != GZIP_MAGIC:
            if not raw.peek(64).strip():
                raw.read(64)  # trailing whitespace or padding at end of file
                continue
            start = raw.pos
            nxt = _resync_gzip(raw, start)
            yield WarcReadError(
                source, start, "garbage_between_records", _skipped(start, nxt, "gzip member")
            )
            continue
        yield from _iter_member(raw, source, opts)


def _iter_member(raw: _RawReader, source: str, opts: _Options):
    start = raw.pos
    raw.mark()
    member = _MemberReader(raw)
    outputs: list[_Read] = []
    try:
        while True:
            outputs.append(_read_one(member, opts))
            if member.at_end():
                break
        member.drain()
    except _ReadFailure as failure:
        for read in outputs:
            yield _finished(source, start, raw.pos - start, read, opts)
        nxt = _resync_gzip(raw, start + 1)
        where = " after a record inside the member (Content-Length too short?)" if outputs else ""
        after = f"next gzip member of a WARC at {nxt}" if nxt is not None else "no WARC after it"
        message = f"{failure}{where} ({after})"
        yield WarcReadError(source, start, failure.error_type, message)
        return
    for read in outputs:
        yield _finished(source, start, raw.pos - start, read, opts)


def _finished(source: str, offset: int, stored: int, read: _Read, opts: _Options):
    if read.block is None:
        return _too_large(source, offset, read.headers, read.length, opts.max_record_bytes)
    return _make_record(source, offset, read.headers, read.block, stored, read.digests)


def _resync_gzip(raw: _RawReader, start: int) -> int | None:
    """Move to the next gzip member (at or after ``start``) that decompresses to ``WARC/``."""
    position = start
    while True:
        hit = raw.find_from(_GZIP_MAGIC, position)
        if hit is None:
            return None
        if _starts_warc_member(raw.peek(4096)):
            return hit
        position = hit + 1


def _starts_warc_member(head: bytes) -> bool:
    try:
        return zlib.decompressobj(wbits=31).decompress(head, 16).startswith(b"WARC/")
    except zlib.error:
        return False


def _skipped(start: int, nxt: int | None, what: str) -> str:
    if nxt is None:
        return f"unreadable bytes from offset {start} to the end of the file"
    return f"skipped {nxt - start} unreadable bytes from offset {start} to the next {what}"


# ----------------------------------------------------------------------------- plain framing


def _iter_plain(raw: _RawReader, source: str, opts: _Options):
    while True:
        while raw.peek(1) and raw.peek(1) in b"\r\n \t":
            raw.read(1)
        if not raw.peek(1):
            return
        start = raw.pos
        raw.mark()
        try:
            read = _read_one(raw, opts)
        except _ReadFailure as failure:
            skipped = _skipped(start, _resync_plain(raw, start), "'WARC/' line")
            yield WarcReadError(source, start, failure.error_type, f"{failure}; {skipped}")
            continue
        _consume_record_end(raw)
        yield _finished(source, start, raw.pos - start, read, opts)
        if read.digests[0] == MISMATCH:
            # Without gzip members nothing bounds a record but its Content-Length; when the
            # block digest says those bytes are wrong, the length may be too, and the block may
            # have swallowed the next record: look for the next 'WARC/' line inside it.
            _resync_plain(raw, start)


def _resync_plain(raw: _RawReader, start: int) -> int | None:
    """Move to the next WARC version line (``WARC/1.0`` CRLF) after ``start``; its position.

    Not only at a line start: damage to the separator before a record (a flipped CR or LF)
    must not hide the record that follows.
    """
    return raw.find_from(_WARC_VERSION_LINE, start + 1)


def _consume_record_end(raw: _RawReader) -> None:
    """Eat the CRLF CRLF that ends a record (tolerating LF-only and missing separators)."""
    for _ in range(2):
        if raw.peek(2) == b"\r\n":
            raw.read(2)
        elif raw.peek(1) == b"\n":
            raw.read(1)


# ----------------------------------------------------------------------------- public API


def iter_warc_records(
    stream: BinaryIO, source: str, *, max_record_bytes: int, verify_digests: bool = True
) -> Iterator[WarcRecord | WarcReadError]:
    """Yield every record of a WARC stream (gzip per record or plain), never raising on bad
    bytes: each damaged span becomes one ``WarcReadError`` and reading resumes after it.

    With ``verify_digests`` each record's block is hashed as it is read and
    ``WarcRecord.block_digest`` / ``payload_digest`` say whether the stored digests verify;
    the caller decides what a mismatch means (``webweave.filters.record_digest``)."""
    raw = _RawReader(stream)
    opts = _Options(max_record_bytes, verify_digests)
    if raw.peek(2) == GZIP_MAGIC[:2]:
        yield from _iter_gzip(raw, source, opts)
    else:
        yield from _iter_plain(raw, source, opts)


def check_is_warc(head: bytes, path: str) -> None:
    """Raise ``NotAWarcFile`` unless ``head`` (the first bytes) starts a WARC file."""
    stripped = head.lstrip(b"\r\n")
    if stripped.startswith(b"WARC/"):
        return
    if head.startswith(GZIP_MAGIC) and _starts_warc_member(head):
        return
    if head.startswith(GZIP_MAGIC):
        raise NotAWarcFile(path, "gzip data that does not decompress to a 'WARC/' line")
    raise NotAWarcFile(path, f"first bytes are {head[:16]!r}")


class _PeekedStream(io.RawIOBase):
    """A stream with already-read head bytes put back in front (for non-seekable inputs)."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            data = self._head if size < 0 else self._head[:size]
            self._head = self._head[len(data) :]
            return data
        return self._stream.read(size)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def check_warc_file(path: str) -> None:
    """Fail early with ``NotAWarcFile`` (naming ``path``) when it does not start a WARC."""
    with open_warc_stream(path):
        pass


def open_warc_stream(path: str) -> BinaryIO:
    """Open a local, ``gs://`` or ``s3://`` WARC as raw stored bytes; ``NotAWarcFile`` early.

    ``CompressionTypes.UNCOMPRESSED`` matters: Beam would otherwise gunzip ``.gz`` as one
    stream and we would lose the per-member offsets the Common Crawl index uses.
    """
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    stream = FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)
    head = stream.read(4096)
    try:
        check_is_warc(head, path)
    except NotAWarcFile:
        stream.close()
        raise
    if getattr(stream, "seekable", lambda: False)():
        stream.seek(0)
        return stream
    return _PeekedStream(head, stream)  # type: ignore[return-value]

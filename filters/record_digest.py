"""Check ``WARC-Block-Digest`` and ``WARC-Payload-Digest`` while a record's block streams by.

Why here and incremental: the reader sees every block exactly once, in chunks; hashing those
chunks as they arrive costs one SHA-1 pass over bytes already in cache and no second read of
the file (Common Crawl WARCs are read once, from object storage).

What is hashed (WARC 1.1, sections 5.8 and 5.9):

* block digest: every byte of the record block, as stored (after the WARC header block, for
  ``Content-Length`` bytes);
* payload digest: for an ``application/http`` block, the HTTP entity body *as stored* (after
  the first blank line of the HTTP message, chunked or content-encoded bytes untouched);
  for any other block, the whole block.

Accepted forms: ``LABEL:VALUE`` where ``LABEL`` names a hashlib algorithm (``sha1``, ``sha-1``,
``sha256``, ``md5``..., case-insensitive) and ``VALUE`` is base32 (Common Crawl, Heritrix,
warcio), base16/hex, or base64 of the raw digest.

Each check ends in one status: ``ok`` (the digest verifies), ``mismatch``, ``absent`` (no
header), ``unsupported`` (unknown algorithm, a value that decodes to no digest of that
algorithm, or a ``revisit`` record's payload digest, which names a payload stored elsewhere).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

OK = "ok"
MISMATCH = "mismatch"
ABSENT = "absent"
UNSUPPORTED = "unsupported"
# stats.json names the statuses by what happened to the record (verified, not "ok").
STATS_NAMES = {OK: "verified", MISMATCH: "mismatch", ABSENT: "absent", UNSUPPORTED: "unsupported"}
MAX_HTTP_HEAD = 65536  # the reader's limit for an HTTP header block (MAX_HEADER_BYTES)


@dataclass(frozen=True, slots=True)
class ExpectedDigest:
    """A digest header decoded to its hashlib algorithm and raw digest bytes."""

    algorithm: str
    digest: bytes

    def hasher(self):
        return hashlib.new(self.algorithm)


def parse_digest(value: str | None) -> ExpectedDigest | str:
    """``ExpectedDigest`` for a header value, else the status ``absent`` or ``unsupported``."""
    if value is None or not value.strip():
        return ABSENT
    label, sep, encoded = value.strip().partition(":")
    if not sep:
        return UNSUPPORTED
    algorithm = _algorithm(label)
    if algorithm is None:
        return UNSUPPORTED
    size = hashlib.new(algorithm).digest_size
    raw = _decode_value(encoded.strip(), size)
    return ExpectedDigest(algorithm, raw) if raw is not None else UNSUPPORTED


def _algorithm(label: str) -> str | None:
    name = label.strip().lower().replace("-", "").replace("_", "")
    return name if name in hashlib.algorithms_guaranteed and not name.startswith("shake") else None


def _decode_value(text: str, size: int) -> bytes | None:
    """Raw digest from hex, base32 or base64 text; None when no form gives ``size`` bytes."""
    decoders = (
        lambda t: bytes.fromhex(t),
        lambda t: base64.b32decode(t.upper() + "=" * (-len(t) % 8)),
        lambda t: base64.b64decode(t + "=" * (-len(t) % 4), validate=True),
    )
    for decode in decoders:
        try:
            raw = decode(text)
        except (ValueError, binascii.Error):
            continue
        if len(raw) == size:
            return raw
    return None


def http_body_start(head: bytes) -> int | None:
    """Where the entity body of an HTTP message starts (after CRLFCRLF or LFLF), or None.

    Same rule as the reader's ``_split_http``: the earliest terminator wholly inside the first
    ``MAX_HTTP_HEAD`` bytes.
    """
    crlf = head.find(b"\r\n\r\n", 0, MAX_HTTP_HEAD)
    lf = head.find(b"\n\n", 0, MAX_HTTP_HEAD)
    if lf >= 0 and (crlf < 0 or lf < crlf):
        return lf + 2
    return crlf + 4 if crlf >= 0 else None


class BlockDigester:
    """Feed a block chunk by chunk; ``finish`` gives the block and payload digest statuses.

    Only the hashes that have an expected value run. For an HTTP block the payload hash starts
    once the header terminator has been seen; the head is buffered (at most 64 KiB) until then.
    """

    def __init__(
        self, block_header: str | None, payload_header: str | None, *, http: bool, revisit: bool
    ):
        self._block_expected = parse_digest(block_header)
        self._payload_expected = UNSUPPORTED if revisit else parse_digest(payload_header)
        if revisit and payload_header is None:
            self._payload_expected = ABSENT
        self._block = _hasher_for(self._block_expected)
        self._payload = _hasher_for(self._payload_expected)
        self._http = http
        self._head: bytearray | None = bytearray() if http and self._payload else None

    def update(self, chunk: bytes) -> None:
        if self._block is not None:
            self._block.update(chunk)
        if self._payload is None:
            return
        if self._head is None:
            self._payload.update(chunk)
            return
        self._head += chunk
        start = http_body_start(self._head)
        if start is not None:
            self._payload.update(memoryview(self._head)[start:])
            self._head = None
        elif len(self._head) >= MAX_HTTP_HEAD:
            self._give_up_on_http()

    def _give_up_on_http(self) -> None:
        """No HTTP header terminator: like the reader, treat the whole block as the payload."""
        self._payload.update(self._head)
        self._head = None

    def finish(self) -> tuple[str, str]:
        if self._head is not None:
            if self._head.endswith(b"\n"):
                self._head = None  # headers only: the payload is empty
            else:
                self._give_up_on_http()
        return (
            _status(self._block_expected, self._block),
            _status(self._payload_expected, self._payload),
        )


def _hasher_for(expected: ExpectedDigest | str):
    return expected.hasher() if isinstance(expected, ExpectedDigest) else None


def _status(expected: ExpectedDigest | str, hasher) -> str:
    if not isinstance(expected, ExpectedDigest):
        return expected
    return OK if hasher.digest() == expected.digest else MISMATCH


def empty_counts() -> dict[str, dict[str, int]]:
    """The ``digests`` section of a report: per kind, records per status (all zero)."""
    return {kind: {name: 0 for name in STATS_NAMES.values()} for kind in ("block", "payload")}

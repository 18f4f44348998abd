"""Undo HTTP transfer and content codings of a stored WARC body, with a hard output cap.

``decode_http_body`` first removes ``Transfer-Encoding: chunked`` when the body really is
chunked (Common Crawl usually stores it de-chunked and renames the header to
``X-Crawler-Transfer-Encoding``, so a body that does not parse as chunks is passed through),
then undoes each ``Content-Encoding`` in reverse order of application (the header lists them
in the order they were applied): ``gzip``/``x-gzip``, ``deflate`` (zlib-wrapped or raw),
``br``, ``identity``.

Choices:

* ``Content-Encoding: gzip`` on a body that does not start with the gzip magic bytes is
  passed through: servers (and crawlers that already decoded the body but kept the header)
  send that, and the plain body is what the page is.
* Output larger than ``max_decoded_bytes`` raises ``decompressed_too_large`` as soon as the
  cap is crossed; decompression is incremental, so a bomb never expands in memory.
* Errors are ``PayloadError`` (a ``StageError``) with ``kind`` one of
  ``decompressed_too_large``, ``content_encoding_error`` (codec named in the message),
  ``unsupported_content_encoding``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import brotli

from webweave.filters.decision import StageError

_STEP = 65536  # compressed bytes fed per call; output per call is also bounded
GZIP_MAGIC = b"\x1f\x8b"


class PayloadError(StageError):
    """A body that cannot be decoded within the limits."""


def _header(headers: list[tuple[str, str]] | None, name: str) -> list[str]:
    lowered = name.lower()
    return [value for key, value in headers or () if key.lower() == lowered]


def _codings(headers: list[tuple[str, str]] | None, name: str) -> list[str]:
    """Comma-separated tokens of every ``name`` header, lower case, in order."""
    tokens = []
    for value in _header(headers, name):
        tokens.extend(token.strip().lower() for token in value.split(","))
    return [token for token in tokens if token]


def dechunk(body: bytes) -> bytes | None:
    """The payload of a chunked body, or None when ``body`` is not valid chunked coding."""
    out = []
    pos = 0
    while True:
        line_end = body.find(b"\n", pos, pos + 1024)
        if line_end < 0:
            return None
        size_text = body[pos:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return None
        if size_text[:1] in (b"+", b"-") or size < 0:
            return None
        start = line_end + 1
        if size == 0:
            return b"".join(out)  # trailers after the last chunk are ignored
        if start + size > len(body):
            return None
        out.append(body[start : start + size])
        pos = start + size
        if body[pos : pos + 2] == b"\r\n":
            pos += 2
        elif body[pos : pos + 1] == b"\n":
            pos += 1
        else:
            return None


def _too_large(limit: int) -> PayloadError:
    return PayloadError(
        f"decoded body exceeds max_decoded_bytes={limit}", kind="decompressed_too_large"
    )


def _check_size(size: int, limit: int) -> None:
    if size > limit:
        raise _too_large(limit)


def _inflate(body: bytes, wbits: int, codec: str, limit: int) -> bytes:
    """Incremental zlib decoding with a hard cap on the output."""
    decoder = zlib.decompressobj(wbits=wbits)
    out = bytearray()
    pending = body
    try:
        while pending and not decoder.eof:
            out += decoder.decompress(pending, limit + 1 - len(out))
            _check_size(len(out), limit)
            pending = decoder.unconsumed_tail
        out += decoder.flush()
    except zlib.error as exc:
        raise PayloadError(f"broken {codec} body: {exc}", kind="content_encoding_error") from None
    _check_size(len(out), limit)
    if not decoder.eof:
        raise PayloadError(f"broken {codec} body: truncated stream", kind="content_encoding_error")
    return bytes(out)


def _gunzip(body: bytes, limit: int) -> bytes:
    if not body.startswith(GZIP_MAGIC):
        return body  # declared gzip but sent plain (see module docstring)
    return _inflate(body, 31, "gzip", limit)


def _deflate(body: bytes, limit: int) -> bytes:
    # RFC 9110 "deflate" is zlib-wrapped; many servers send raw deflate. A zlib header is
    # two bytes whose big-endian value is a multiple of 31 with method 8.
    zlib_wrapped = len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0
    return _inflate(body, 15 if zlib_wrapped else -15, "deflate", limit)


def _unbrotli(body: bytes, limit: int) -> bytes:
    decoder = brotli.Decompressor()
    out = bytearray()
    try:
        for start in range(0, len(body), _STEP):
            out += decoder.process(body[start : start + _STEP], output_buffer_limit=limit + 1)
            _check_size(len(out), limit)
            while not decoder.can_accept_more_data():
                out += decoder.process(b"", output_buffer_limit=limit + 1 - len(out))
                _check_size(len(out), limit)
        finished = decoder.is_finished()
    except brotli.error as exc:
        raise PayloadError(f"broken br body: {exc}", kind="content_encoding_error") from None
    if not finished:
        raise PayloadError("broken br body: truncated stream", kind="content_encoding_error")
    return bytes(out)


_DECODERS: dict[str, Callable[[bytes, int], bytes]] = {
    "gzip": _gunzip,
    "x-gzip": _gunzip,
    "deflate": _deflate,
    "br": _unbrotli,
    "identity": lambda body, limit: body,
}


def decode_http_body(
    body: bytes, http_headers: list[tuple[str, str]] | None, *, max_decoded_bytes: int
) -> bytes:
    """The entity body as the page author wrote it (see the module docstring)."""
    if "chunked" in _codings(http_headers, "Transfer-Encoding"):
        dechunked = dechunk(body)
        if dechunked is not None:
            body = dechunked
    for coding in reversed(_codings(http_headers, "Content-Encoding")):
        decoder = _DECODERS.get(coding)
        if decoder is None:
            raise PayloadError(
                f"unsupported Content-Encoding {coding!r}", kind="unsupported_content_encoding"
            )
        body = decoder(body, max_decoded_bytes)
    _check_size(len(body), max_decoded_bytes)
    return body

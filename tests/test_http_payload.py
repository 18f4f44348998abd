"""decode_http_body: chunked, gzip/deflate/br, tolerance for mislabelled bodies, bomb cap."""

from __future__ import annotations

import gzip
import struct
import zlib

import brotli
import pytest

from webweave.filters.http_payload import PayloadError, dechunk, decode_http_body
from webweave.pipelines.warc_source import WarcRecord, iter_warc_records

from conftest import fixture_path

LIMIT = 32 * 1024 * 1024
HTML = b"<html><body>" + b"<p>hello world</p>" * 500 + b"</body></html>"


def chunked(data: bytes, size: int = 1000) -> bytes:
    parts = [
        b"%x\r\n%s\r\n" % (len(data[i : i + size]), data[i : i + size])
        for i in range(0, len(data), size)
    ]
    return b"".join(parts) + b"0\r\n\r\n"


def gzip_bomb(megabytes: int) -> bytes:
    """A valid gzip file of ``megabytes`` MiB of zeros, built from one repeated deflate block.

    After a full flush a deflate block needs no history, so the same compressed MiB can be
    repeated; building it this way takes milliseconds and about 1 KiB per MiB.
    """
    mib = bytes(1 << 20)
    block_coder = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = block_coder.compress(mib) + block_coder.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(megabytes):
        crc = zlib.crc32(mib, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    final = b"\x03\x00"  # an empty final fixed-Huffman block
    trailer = struct.pack("<II", crc, (megabytes << 20) & 0xFFFFFFFF)
    return header + block * megabytes + final + trailer


def test_gzip_bomb_builder_is_valid() -> None:
    assert gzip.decompress(gzip_bomb(3)) == bytes(3 << 20)


def test_plain_body_unchanged() -> None:
    assert decode_http_body(HTML, [("Content-Type", "text/html")], max_decoded_bytes=LIMIT) == HTML
    assert decode_http_body(HTML, None, max_decoded_bytes=LIMIT) == HTML


def test_chunked_then_gzip() -> None:
    body = chunked(gzip.compress(HTML), 333)
    headers = [("Transfer-Encoding", "chunked"), ("Content-Encoding", "gzip")]
    assert decode_http_body(body, headers, max_decoded_bytes=LIMIT) == HTML


def test_chunked_with_extensions_and_lf_only() -> None:
    body = b"5;ext=1\nhello\n6\n world\n0\n\n"
    assert dechunk(body) == b"hello world"


def test_declared_chunked_but_stored_dechunked_passes_through() -> None:
    # Common Crawl keeps the original header as X-Crawler-Transfer-Encoding; some WARCs keep
    # Transfer-Encoding while storing the body de-chunked.
    headers = [("Transfer-Encoding", "chunked")]
    assert decode_http_body(HTML, headers, max_decoded_bytes=LIMIT) == HTML
    cc = [("X-Crawler-Transfer-Encoding", "chunked")]
    assert decode_http_body(HTML, cc, max_decoded_bytes=LIMIT) == HTML


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "GZIP"])
def test_gzip(coding: str) -> None:
    body = gzip.compress(HTML)
    assert decode_http_body(body, [("Content-Encoding", coding)], max_decoded_bytes=LIMIT) == HTML


def test_gzip_label_on_plain_body_passes_through() -> None:
    headers = [("Content-Encoding", "gzip")]
    assert decode_http_body(HTML, headers, max_decoded_bytes=LIMIT) == HTML


@pytest.mark.parametrize("wbits", [15, -15], ids=["zlib", "raw"])
def test_deflate_zlib_and_raw(wbits: int) -> None:
    coder = zlib.compressobj(6, zlib.DEFLATED, wbits)
    body = coder.compress(HTML) + coder.flush()
    headers = [("Content-Encoding", "deflate")]
    assert decode_http_body(body, headers, max_decoded_bytes=LIMIT) == HTML


def test_brotli_and_stacked_codings() -> None:
    assert (
        decode_http_body(
            brotli.compress(HTML), [("Content-Encoding", "br")], max_decoded_bytes=LIMIT
        )
        == HTML
    )
    # Applied in order gzip then br, so undone br then gzip.
    body = brotli.compress(gzip.compress(HTML))
    headers = [("Content-Encoding", "gzip, br")]
    assert decode_http_body(body, headers, max_decoded_bytes=LIMIT) == HTML
    assert (
        decode_http_body(HTML, [("Content-Encoding", "identity")], max_decoded_bytes=LIMIT) == HTML
    )


@pytest.mark.parametrize(
    ("coding", "body", "codec"),
    [
        ("gzip", gzip.compress(HTML)[:-12], "gzip"),
        ("gzip", b"\x1f\x8b\x08\x00" + b"\xff" * 100, "gzip"),
        ("br", brotli.compress(HTML)[:-5], "br"),
        ("br", b"not brotli at all" * 10, "br"),
        ("deflate", zlib.compress(HTML)[:-8], "deflate"),
        ("deflate", b"\x78\x9c" + b"\xff" * 50, "deflate"),
    ],
    ids=[
        "gzip_truncated",
        "gzip_garbage",
        "br_truncated",
        "br_garbage",
        "deflate_truncated",
        "deflate_garbage",
    ],
)
def test_broken_bodies(coding: str, body: bytes, codec: str) -> None:
    with pytest.raises(PayloadError) as info:
        decode_http_body(body, [("Content-Encoding", coding)], max_decoded_bytes=LIMIT)
    assert info.value.kind == "content_encoding_error"
    assert f"broken {codec} body" in str(info.value)


def test_unsupported_encoding() -> None:
    with pytest.raises(PayloadError) as info:
        decode_http_body(HTML, [("Content-Encoding", "compress")], max_decoded_bytes=LIMIT)
    assert info.value.kind == "unsupported_content_encoding"
    assert "'compress'" in str(info.value)


def test_gzip_bomb_hits_the_cap() -> None:
    bomb = gzip_bomb(1024)  # 1 GiB of zeros in about 1 MiB
    assert len(bomb) < 2 * 1024 * 1024
    with pytest.raises(PayloadError) as info:
        decode_http_body(bomb, [("Content-Encoding", "gzip")], max_decoded_bytes=LIMIT)
    assert info.value.kind == "decompressed_too_large"


@pytest.mark.parametrize("coding", ["br", "deflate"])
def test_other_bombs_hit_the_cap(coding: str) -> None:
    data = bytes(8 << 20)
    body = brotli.compress(data) if coding == "br" else zlib.compress(data, 9)
    with pytest.raises(PayloadError) as info:
        decode_http_body(body, [("Content-Encoding", coding)], max_decoded_bytes=1 << 20)
    assert info.value.kind == "decompressed_too_large"


def test_exactly_at_cap_is_allowed() -> None:
    data = bytes(1 << 20)
    body = gzip.compress(data)
    headers = [("Content-Encoding", "gzip")]
    assert decode_http_body(body, headers, max_decoded_bytes=1 << 20) == data


def test_real_fixture_declared_chunked_but_stored_plain() -> None:
    # nodewarc_books.toscrape.warc keeps "Transfer-Encoding: chunked" on its HTML response
    # but stores the body de-chunked: the tolerant path must pass it through unchanged.
    path = fixture_path("warc/nodewarc_books.toscrape.warc")
    with open(path, "rb") as stream:
        records = [
            r
            for r in iter_warc_records(stream, str(path), max_record_bytes=1 << 24)
            if isinstance(r, WarcRecord)
            and r.warc_type == "response"
            and r.target_uri == "http://books.toscrape.com/"
        ]
    (record,) = records
    assert ("Transfer-Encoding", "chunked") in record.http_headers
    assert record.body.startswith(b"<!DOCTYPE html>")
    html = decode_http_body(record.body, record.http_headers, max_decoded_bytes=LIMIT)
    assert html == record.body
    rechunked = decode_http_body(chunked(record.body), record.http_headers, max_decoded_bytes=LIMIT)
    assert rechunked == record.body

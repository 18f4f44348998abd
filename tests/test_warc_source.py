"""Streaming WARC reader: exact counts on every fixture, stored offsets, damaged inputs.

Expected counts were established independently of this reader: with warcio's
``ArchiveIterator`` (its own framing code) in a throwaway script, cross-checked by hand
against the per-response status and Content-Type listing (see the report of issue "records
in, decoded HTML pages out"). ``kept`` = responses with status 200-299, an HTML media type
and a non-empty body, counted the same way.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections import Counter

import pytest
from warcio.archiveiterator import ArchiveIterator

from webweave.filters.decision import Drop
from webweave.filters.record_selection import RecordSelector
from webweave.pipelines.config import default_config
from webweave.pipelines.warc_source import (
    NotAWarcFile,
    WarcReadError,
    WarcRecord,
    check_warc_file,
    iter_warc_records,
    open_warc_stream,
)

from conftest import fixture_path

BIG = 16 * 1024 * 1024

# file -> (records per WARC-Type, read errors per type, HTML responses the selector keeps)
EXPECTED = {
    "warc/cmoncrawl_mini.warc.gz": ({"warcinfo": 1, "request": 1, "response": 1}, {}, 1),
    "warc/commoncrawl_whirlwind.warc.gz": (
        {"warcinfo": 1, "request": 1, "response": 1, "metadata": 1},
        {},
        1,
    ),
    "warc/commoncrawl_whirlwind.warc.wat.gz": ({"warcinfo": 1, "metadata": 1}, {}, 0),
    "warc/commoncrawl_whirlwind.warc.wet.gz": ({"warcinfo": 1, "conversion": 1}, {}, 0),
    "warc/dolma_sample-0000.warc.gz": (
        {"warcinfo": 1, "request": 22, "response": 22, "metadata": 1, "resource": 2},
        {},
        22,
    ),
    "warc/jwarc_commoncrawl_cc.warc.gz": ({"response": 1}, {}, 1),
    "warc/nodewarc_books.toscrape.warc": ({"request": 30, "response": 30}, {}, 1),
    "warc/pywb_iana.warc.gz": (
        {"warcinfo": 1, "response": 48, "request": 171, "revisit": 123},
        {},
        16,
    ),
    # One response whose gzip member is cut by the end of the file (warcio reads it leniently).
    "warc/resiliparse_clipped_truncated.warc.gz": ({}, {"gzip_error": 1}, 0),
    "warc/resiliparse_commoncrawl_warcfile.warc.gz": (
        {"warcinfo": 1, "request": 17, "response": 16, "metadata": 16},
        {},
        16,
    ),
    "warc/warcat_archiveteam.warc.gz": (
        {"warcinfo": 1, "request": 2, "response": 2, "resource": 3},
        {},
        1,
    ),
    "warc/derived/scrapinghub_aeb_pages_part1.warc.gz": ({"warcinfo": 1, "response": 91}, {}, 91),
}


def read_all(data: bytes, max_record_bytes: int = BIG, seekable: bool = True) -> list:
    stream = io.BytesIO(data) if seekable else NonSeekable(data)
    return list(iter_warc_records(stream, "test.warc.gz", max_record_bytes=max_record_bytes))


class NonSeekable(io.RawIOBase):
    """A pipe-like stream (no seek, no tell) that returns short reads."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 1000) if size >= 0 else size)


def members_of(relative: str) -> list[bytes]:
    """The stored gzip members of a fixture, split by warcio (not by the code under test)."""
    data = fixture_path(relative).read_bytes()
    iterator = ArchiveIterator(io.BytesIO(data))
    spans = []
    for record in iterator:
        record.content_stream().read()
        iterator.read_to_end()
        spans.append((iterator.get_record_offset(), iterator.get_record_length()))
    return [data[offset : offset + length] for offset, length in spans]


def records(outputs: list) -> list[WarcRecord]:
    return [o for o in outputs if isinstance(o, WarcRecord)]


def errors(outputs: list) -> list[WarcReadError]:
    return [o for o in outputs if isinstance(o, WarcReadError)]


def member(text: bytes) -> bytes:
    return gzip.compress(text)


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_fixture_counts(relative: str) -> None:
    types, error_types, kept = EXPECTED[relative]
    path = fixture_path(relative)
    with open(path, "rb") as stream:
        outputs = list(iter_warc_records(stream, str(path), max_record_bytes=BIG))
    assert Counter(r.warc_type for r in records(outputs)) == Counter(types)
    assert Counter(e.error_type for e in errors(outputs)) == Counter(error_types)
    config = default_config()
    selector = RecordSelector(config.selection, config.warc)
    assert sum(not isinstance(selector(r), Drop) for r in records(outputs)) == kept


@pytest.mark.parametrize(
    "relative",
    [
        "warc/pywb_iana.warc.gz",
        "warc/commoncrawl_whirlwind.warc.gz",
        "warc/dolma_sample-0000.warc.gz",
    ],
)
def test_offsets_are_whole_gzip_members(relative: str) -> None:
    path = fixture_path(relative)
    with open(path, "rb") as stream:
        outputs = records(list(iter_warc_records(stream, str(path), max_record_bytes=BIG)))
    lengths = [len(m) for m in members_of(relative)]  # split by warcio
    assert [r.length for r in outputs] == lengths
    assert [r.offset for r in outputs] == [sum(lengths[:i]) for i in range(len(lengths))]
    with open(path, "rb") as raw:
        for record in outputs:
            raw.seek(record.offset)
            stored = raw.read(record.length)
            decoder = zlib.decompressobj(wbits=31)
            text = decoder.decompress(stored) + decoder.flush()
            assert decoder.eof and decoder.unused_data == b""
            assert text.startswith(b"WARC/")
            assert record.record_id.encode() in text[:2000]
            assert text.endswith(record.body + b"\r\n\r\n") or record.body == b""


def test_offsets_in_plain_warc() -> None:
    path = fixture_path("warc/nodewarc_books.toscrape.warc")
    data = path.read_bytes()
    outputs = records(read_all(data))
    assert outputs[0].offset == 0
    for record, following in zip(outputs, outputs[1:] + [None], strict=False):
        stored = data[record.offset : record.offset + record.length]
        assert stored.startswith(b"WARC/1.1\r\n")
        # this writer ends records with a single CRLF (WARC requires two): tolerated
        assert stored.endswith(record.body + b"\r\n")
        end = len(data) if following is None else following.offset
        assert record.offset + record.length == end


def test_clipped_truncated_fixture_is_a_clear_error() -> None:
    path = fixture_path("warc/resiliparse_clipped_truncated.warc.gz")
    (error,) = read_all(path.read_bytes())
    assert isinstance(error, WarcReadError)
    assert (error.offset, error.error_type) == (0, "gzip_error")
    assert "truncated by end of file" in error.message


@pytest.mark.parametrize("seekable", [True, False], ids=["seekable", "pipe"])
def test_garbage_between_gzip_members(seekable: bool) -> None:
    m = members_of("warc/cmoncrawl_mini.warc.gz")
    data = m[0] + b"\x00garbage\x1f\x8b\x08 not gzip" * 50 + m[1] + m[2]
    outputs = read_all(data, seekable=seekable)
    assert [type(o).__name__ for o in outputs] == [
        "WarcRecord",
        "WarcReadError",
        "WarcRecord",
        "WarcRecord",
    ]
    assert outputs[1].error_type == "garbage_between_records"
    assert outputs[1].offset == len(m[0])
    assert [r.warc_type for r in records(outputs)] == ["warcinfo", "request", "response"]
    assert outputs[2].offset == len(data) - len(m[1]) - len(m[2])


@pytest.mark.parametrize("seekable", [True, False], ids=["seekable", "pipe"])
def test_truncated_member_mid_file(seekable: bool) -> None:
    m = members_of("warc/pywb_iana.warc.gz")[:6]
    cut = m[2][: len(m[2]) // 2]
    data = m[0] + m[1] + cut + m[3] + m[4] + m[5]
    outputs = read_all(data, seekable=seekable)
    assert len(records(outputs)) == 5
    (error,) = errors(outputs)
    assert (error.offset, error.error_type) == (len(m[0]) + len(m[1]), "gzip_error")
    assert records(outputs)[2].offset == len(m[0]) + len(m[1]) + len(cut)


def test_malformed_warc_header_in_gzip() -> None:
    m = members_of("warc/cmoncrawl_mini.warc.gz")
    bad_line = member(b"WARC/1.0\r\nWARC-Type response\r\nContent-Length: 5\r\n\r\nhello\r\n\r\n")
    no_length = member(b"WARC/1.0\r\nWARC-Type: response\r\n\r\nhello\r\n\r\n")
    bad_version = member(
        b"WARC/9.9\r\nWARC-Type: response\r\nContent-Length: 5\r\n\r\nhello\r\n\r\n"
    )
    data = m[0] + bad_line + m[1] + no_length + bad_version + m[2]
    outputs = read_all(data)
    assert [r.warc_type for r in records(outputs)] == ["warcinfo", "request", "response"]
    assert [e.error_type for e in errors(outputs)] == ["malformed_warc_header"] * 3
    assert errors(outputs)[0].offset == len(m[0])
    assert "Content-Length" in errors(outputs)[1].message


def plain_records(count: int) -> list[bytes]:
    data = fixture_path("warc/nodewarc_books.toscrape.warc").read_bytes()
    outputs = records(read_all(data))[: count + 1]
    return [data[a.offset : b.offset] for a, b in zip(outputs, outputs[1:], strict=False)]


def test_garbage_and_malformed_header_in_plain_warc() -> None:
    r = plain_records(4)
    garbage = b"this is not a warc record\r\nWARCWARC/2\r\n\r\n"
    bad = b"WARC/1.1\r\nWARC-Type: response\r\nContent-Length: abc\r\n\r\nxyz\r\n\r\n"
    data = r[0] + garbage + r[1] + bad + r[2] + r[3]
    outputs = read_all(data, seekable=False)
    assert len(records(outputs)) == 4
    assert [(e.error_type, e.offset) for e in errors(outputs)] == [
        ("garbage_between_records", len(r[0])),
        ("malformed_warc_header", len(r[0]) + len(garbage) + len(r[1])),
    ]
    assert records(outputs)[1].offset == len(r[0]) + len(garbage)


def test_plain_record_cut_by_end_of_file() -> None:
    r = plain_records(2)
    data = r[0] + r[1][:-100]
    outputs = read_all(data)
    assert len(records(outputs)) == 1
    (error,) = errors(outputs)
    assert (error.error_type, error.offset) == ("truncated_record", len(r[0]))


def swap_status_line(stored_member: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new)  # keeps Content-Length right
    text = gzip.decompress(stored_member)
    assert old in text
    return member(text.replace(old, new, 1))


@pytest.mark.parametrize("new", [b"HTTX/1.1 200 OK", b"HTTP/1.1 2x0 OK", b"<html><body>!!"])
def test_invalid_http_status_line_is_a_record_without_http(new: bytes) -> None:
    m = members_of("warc/commoncrawl_whirlwind.warc.gz")
    broken = swap_status_line(m[2], b"HTTP/1.1 200 OK", new[:15].ljust(15))
    outputs = read_all(m[0] + broken + m[3])
    assert not errors(outputs)
    response = records(outputs)[1]
    assert (response.warc_type, response.http_status, response.http_headers) == (
        "response",
        None,
        None,
    )
    assert response.body.startswith(new[:15].ljust(15))
    config = default_config()
    assert RecordSelector(config.selection, config.warc)(response) == Drop("no_http_headers")


def test_record_too_large_is_skipped_and_reading_goes_on() -> None:
    m = members_of("warc/cmoncrawl_mini.warc.gz")
    response_block = records(read_all(m[2]))[0]
    limit = 4000
    assert len(response_block.body) > limit
    outputs = read_all(m[0] + m[1] + m[2] + m[0], max_record_bytes=limit)
    assert [type(o).__name__ for o in outputs] == [
        "WarcRecord",
        "WarcRecord",
        "WarcReadError",
        "WarcRecord",
    ]
    assert outputs[2].error_type == "record_too_large"
    assert outputs[2].offset == len(m[0]) + len(m[1])
    assert "exceeds warc.max_record_bytes = 4000" in outputs[2].message
    assert outputs[2].url == records(read_all(m[2]))[0].target_uri  # kept for the dead letter


def test_record_too_large_in_plain_warc() -> None:
    r = plain_records(3)
    outputs = read_all(b"".join(r), max_record_bytes=10_000)
    kinds = [o.error_type if isinstance(o, WarcReadError) else o.warc_type for o in outputs]
    assert kinds == ["request", "record_too_large", "request"]


def test_random_bytes_terminate_with_errors_only() -> None:
    noise = os.urandom(200_000)
    for data in (b"WARC/1.0\r\n" + noise, b"\x1f\x8b\x08" + noise, noise.replace(b"\x1f", b"")):
        outputs = read_all(data)
        assert outputs and all(isinstance(o, WarcReadError) for o in outputs)


def test_several_records_in_one_member() -> None:
    m = members_of("warc/cmoncrawl_mini.warc.gz")
    whole = member(b"".join(gzip.decompress(x) for x in m))
    outputs = read_all(whole)
    assert [r.warc_type for r in records(outputs)] == ["warcinfo", "request", "response"]
    assert {(r.offset, r.length) for r in records(outputs)} == {(0, len(whole))}


def test_open_warc_stream_reads_raw_bytes(tmp_path) -> None:
    path = fixture_path("warc/cmoncrawl_mini.warc.gz")
    with open_warc_stream(str(path)) as stream:
        assert stream.read(2) == b"\x1f\x8b"  # not gunzipped by Beam
    with open_warc_stream(str(path)) as stream:
        outputs = list(iter_warc_records(stream, str(path), max_record_bytes=BIG))
    assert [r.warc_type for r in records(outputs)] == ["warcinfo", "request", "response"]


@pytest.mark.parametrize(
    "content",
    [b"<html><body>not a warc</body></html>", gzip.compress(b"<html>gzip, not warc</html>"), b""],
    ids=["html", "gzip_html", "empty"],
)
def test_not_a_warc_file(tmp_path, content: bytes) -> None:
    path = tmp_path / "page.warc.gz"
    path.write_bytes(content)
    with pytest.raises(NotAWarcFile) as info:
        open_warc_stream(str(path))
    assert str(path) in str(info.value)
    with pytest.raises(NotAWarcFile):
        check_warc_file(str(path))


def test_check_warc_file_accepts_both_layouts() -> None:
    check_warc_file(str(fixture_path("warc/cmoncrawl_mini.warc.gz")))
    check_warc_file(str(fixture_path("warc/nodewarc_books.toscrape.warc")))

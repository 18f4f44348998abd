"""PageDecoder: WarcRecord -> Page with general_metadata fields; WARC-Date parsing."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone

import pytest

from webweave.filters.decision import Drop, StageError
from webweave.filters.decoding import Page, PageDecoder, parse_warc_date
from webweave.filters.record_selection import RecordSelector
from webweave.pipelines.config import load_config
from webweave.pipelines.warc_source import WarcRecord, iter_warc_records

from conftest import fixture_path

UTC = timezone.utc


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-18T01:58:10Z", datetime(2024, 5, 18, 1, 58, 10, tzinfo=UTC)),
        ("2024-05-18T01:58:10.123456Z", datetime(2024, 5, 18, 1, 58, 10, 123456, tzinfo=UTC)),
        ("2024-05-18T01:58:10.5Z", datetime(2024, 5, 18, 1, 58, 10, 500000, tzinfo=UTC)),
        ("2024-05-18T01:58:10.123456789Z", datetime(2024, 5, 18, 1, 58, 10, 123456, tzinfo=UTC)),
        ("2024-05-18T03:58:10+02:00", datetime(2024, 5, 18, 1, 58, 10, tzinfo=UTC)),
        ("2024-05-18T01:58:10", datetime(2024, 5, 18, 1, 58, 10, tzinfo=UTC)),
        ("20240518015810", datetime(2024, 5, 18, 1, 58, 10, tzinfo=UTC)),
        ("2024-13-18T01:58:10Z", None),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_warc_date(value: str | None, expected: datetime | None) -> None:
    assert parse_warc_date(value) == expected


def pages_of(relative: str) -> list[Page]:
    config = load_config()
    selector, decoder = RecordSelector(config.selection, config.warc), PageDecoder(config.warc)
    path = fixture_path(relative)
    with open(path, "rb") as stream:
        kept = [
            r
            for r in iter_warc_records(stream, str(path), max_record_bytes=1 << 24)
            if isinstance(r, WarcRecord) and not isinstance(selector(r), Drop)
        ]
    return [decoder(r) for r in kept]


def test_commoncrawl_page_fields() -> None:
    (page,) = pages_of("warc/commoncrawl_whirlwind.warc.gz")
    assert page.url == "https://an.wikipedia.org/wiki/Escopete"
    assert page.html.lstrip().lower().startswith("<!doctype html>")
    assert (page.charset, page.charset_source) == ("utf-8", "http_header")
    assert (page.content_type, page.http_status) == ("text/html", 200)
    assert page.source.endswith("commoncrawl_whirlwind.warc.gz")
    assert (page.offset, page.length) == (1023, 17351)
    assert page.warc_date == datetime(2024, 5, 18, 1, 58, 10, tzinfo=UTC)
    assert page.record_id == "<urn:uuid:2aabeff2-67f5-4608-8466-e87c6296e2b6>"
    assert page.warc_truncated is None


def test_every_kept_fixture_page_decodes() -> None:
    pages = pages_of("warc/resiliparse_commoncrawl_warcfile.warc.gz")
    assert len(pages) == 16
    assert all(p.warc_date is not None and "<" in p.html for p in pages)
    assert {p.charset_source for p in pages} <= {
        "http_header",
        "meta",
        "bom",
        "detected",
        "default",
    }


def record_with(body: bytes, headers: list[tuple[str, str]]) -> WarcRecord:
    return WarcRecord(
        source="x.warc.gz",
        offset=10,
        length=20,
        warc_type="response",
        target_uri="https://example.com/a",
        warc_date="20240101120000",
        record_id="<urn:uuid:2>",
        warc_truncated="length",
        content_type="application/http; msgtype=response",
        http_status=200,
        http_headers=headers,
        body=body,
        warc_headers={},
    )


def test_gzip_cp1251_page() -> None:
    html = "<html><body>Привет, мир</body></html>"
    headers = [("Content-Type", "text/html; charset=windows-1251"), ("Content-Encoding", "gzip")]
    page = PageDecoder(load_config().warc)(
        record_with(gzip.compress(html.encode("cp1251")), headers)
    )
    assert (page.html, page.charset, page.charset_source) == (html, "cp1251", "http_header")
    assert page.warc_date == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert (page.offset, page.length, page.warc_truncated) == (10, 20, "length")


def test_decoding_errors_propagate_with_kind() -> None:
    config = load_config(overrides={"warc": {"max_decoded_bytes": 1000}})
    headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
    with pytest.raises(StageError) as info:
        PageDecoder(config.warc)(record_with(gzip.compress(bytes(5000)), headers))
    assert info.value.kind == "decompressed_too_large"


def test_binary_bytes_are_not_text_but_utf16_is():
    from webweave.filters.decoding import looks_binary

    assert looks_binary(bytes(range(256)))
    assert looks_binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert not looks_binary("<p>Grüße</p>".encode("cp1252"))
    assert not looks_binary("<p>Hello</p>".encode("utf-16-le") * 20)
    assert not looks_binary(b"<p>tab\tnewline\nform\x0cfeed</p>")

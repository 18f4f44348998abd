"""RecordSelector: one stable drop reason per kind of non-page record."""

from __future__ import annotations

from collections import Counter

import pytest

from webweave.filters.decision import Drop
from webweave.filters.record_selection import RecordSelector, sniff_html
from webweave.pipelines.config import load_config
from webweave.pipelines.warc_source import WarcRecord, iter_warc_records

from conftest import fixture_path

HTML = b"<!DOCTYPE html><html><body>hi</body></html>"


def make(
    warc_type: str = "response",
    status: int | None = 200,
    content_type: str | None = "text/html; charset=utf-8",
    body: bytes = HTML,
    warc_headers: dict[str, str] | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> WarcRecord:
    if headers is None and status is not None:
        headers = [("Content-Type", content_type)] if content_type is not None else []
    return WarcRecord(
        source="x.warc.gz",
        offset=0,
        length=1,
        warc_type=warc_type,
        target_uri="https://example.com/",
        warc_date="2024-01-01T00:00:00Z",
        record_id="<urn:uuid:1>",
        warc_truncated=None,
        content_type="application/http; msgtype=response",
        http_status=status,
        http_headers=headers,
        body=body,
        warc_headers=warc_headers or {},
    )


@pytest.fixture
def selector() -> RecordSelector:
    config = load_config()
    return RecordSelector(config.selection, config.warc)


def test_html_response_is_kept(selector: RecordSelector) -> None:
    record = make()
    assert selector(record) is record


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (make("warcinfo", status=None), "not_response"),
        (make("request", status=None), "not_response"),
        (make("metadata", status=None), "not_response"),
        (make("resource", status=None), "not_response"),
        (make("conversion", status=None), "not_response"),
        (make("revisit"), "revisit"),
        (make(status=None), "no_http_headers"),
        (make(status=301), "http_redirect"),
        (make(status=304), "http_redirect"),
        (make(status=404), "http_client_error"),
        (make(status=503), "http_server_error"),
        (make(status=101), "http_other_status"),
        (make(status=999), "http_other_status"),
        (make(content_type="image/jpeg"), "non_html"),
        (make(content_type="text/plain; charset=utf-8"), "non_html"),
        (make(body=b""), "empty_body"),
    ],
)
def test_drop_reasons(selector: RecordSelector, record: WarcRecord, reason: str) -> None:
    assert selector(record) == Drop(reason)


def test_xhtml_and_case_are_html(selector: RecordSelector) -> None:
    assert not isinstance(selector(make(content_type="Application/XHTML+XML")), Drop)
    assert not isinstance(selector(make(content_type="TEXT/HTML")), Drop)


def test_missing_content_type_uses_cc_payload_type_then_sniffing(selector: RecordSelector) -> None:
    identified = {"WARC-Identified-Payload-Type": "application/xhtml+xml"}
    assert not isinstance(selector(make(content_type=None, warc_headers=identified)), Drop)
    pdf = {"WARC-Identified-Payload-Type": "application/pdf"}
    assert selector(make(content_type=None, warc_headers=pdf)) == Drop("non_html")
    assert not isinstance(selector(make(content_type=None)), Drop)  # sniffed
    assert selector(make(content_type=None, body=b"%PDF-1.4 ...")) == Drop("non_html")


def test_sniff_html() -> None:
    assert sniff_html(b"\xef\xbb\xbf  \n<!doctype HTML><html>")
    assert sniff_html(b"<HTML lang=en>")
    assert not sniff_html(b"\x89PNG\r\n")
    assert not sniff_html(b'{"json": true}')


def test_status_range_is_configurable() -> None:
    config = load_config(overrides={"selection": {"accept_http_status_max": 399}})
    assert not isinstance(RecordSelector(config.selection, config.warc)(make(status=301)), Drop)


def test_accept_resource_records() -> None:
    config = load_config(overrides={"warc": {"accept_resource_records": True}})
    resource = make("resource", status=None)
    resource.content_type = "text/html"
    assert RecordSelector(config.selection, config.warc)(resource) is resource
    resource.content_type = "text/plain"
    assert RecordSelector(config.selection, config.warc)(resource) == Drop("non_html")


def test_pywb_fixture_drop_reasons(selector: RecordSelector) -> None:
    # Independently counted with warcio: 1 warcinfo + 171 requests, 123 revisits, and of 48
    # responses 4 are 302s and 28 are 200s of non-HTML types (js, css, png, svg, octet-stream).
    path = fixture_path("warc/pywb_iana.warc.gz")
    with open(path, "rb") as stream:
        outputs = list(iter_warc_records(stream, str(path), max_record_bytes=1 << 24))
    reasons = Counter(
        getattr(selector(record), "reason", "kept")
        for record in outputs
        if isinstance(record, WarcRecord)
    )
    assert reasons == {
        "not_response": 172,
        "revisit": 123,
        "http_redirect": 4,
        "non_html": 28,
        "kept": 16,
    }


def test_warcat_fixture_redirect_with_empty_body(selector: RecordSelector) -> None:
    path = fixture_path("warc/warcat_archiveteam.warc.gz")
    with open(path, "rb") as stream:
        responses = [
            r
            for r in iter_warc_records(stream, str(path), max_record_bytes=1 << 24)
            if isinstance(r, WarcRecord) and r.warc_type == "response"
        ]
    assert [(r.http_status, selector(r) is r) for r in responses] == [(301, False), (200, True)]
    assert selector(responses[0]) == Drop("http_redirect")

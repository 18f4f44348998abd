"""``RecordSelector``: keep the WARC records that are HTML pages, drop the rest with a reason.

Drop reasons (stable snake_case; checked in this order):

* ``not_response``: WARC-Type is not ``response`` (``warcinfo``, ``request``, ``metadata``,
  ``conversion``, ``continuation``, ...; also ``resource`` unless
  ``warc.accept_resource_records``).
* ``revisit``: a ``revisit`` record (deduplicated capture; it holds no payload of its own).
* ``no_http_headers``: a response without a parseable HTTP block (bad status line, no
  header terminator). Accepted ``resource`` records have no HTTP block and skip the
  status and header checks.
* ``http_redirect`` / ``http_client_error`` / ``http_server_error`` / ``http_other_status``:
  HTTP status outside ``selection.accept_http_status_min..max``, by class (3xx, 4xx, 5xx,
  anything else such as 1xx or 2xx outside the range).
* ``non_html``: the media type is not in ``selection.html_content_types``. The HTTP
  ``Content-Type`` decides; when it is missing, Common Crawl's ``WARC-Identified-Payload-Type``
  (its own sniffing) decides; when both are missing, the first bytes are sniffed.
* ``empty_body``: the HTTP entity body is empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from webweave.filters.decision import Drop
from webweave.filters.warc_record import WarcConfig, WarcRecord
from webweave.schemas.config import Between, NonEmpty, Section

HttpStatus = Annotated[int, Between(100, 599)]


@dataclass(frozen=True)
class SelectionConfig(Section):
    """``selection:``: which responses are HTML pages."""

    yaml_name = "selection"

    html_content_types: Annotated[tuple[str, ...], NonEmpty()]
    accept_http_status_min: HttpStatus
    accept_http_status_max: HttpStatus

    def check(self) -> str | None:
        if self.accept_http_status_min > self.accept_http_status_max:
            return "accept_http_status_min is above accept_http_status_max"
        return None


_STATUS_CLASSES = {3: "http_redirect", 4: "http_client_error", 5: "http_server_error"}
# WHATWG MIME sniffing "HTML" patterns, after leading whitespace, case-insensitive.
_HTML_SNIFF = re.compile(
    rb"\s*(?:<!doctype\s+html|<html|<head|<body|<script|<iframe|<h1|<div|<font|<table|<a[\s>]"
    rb"|<style|<title|<b[\s>]|<br|<p[\s>]|<!--)",
    re.IGNORECASE,
)


def media_type(content_type: str | None) -> str | None:
    """``text/html; charset=x`` -> ``text/html`` (lower case); None when empty."""
    if not content_type:
        return None
    value = content_type.split(";", 1)[0].strip().lower()
    return value or None


def http_header(headers: list[tuple[str, str]] | None, name: str) -> str | None:
    """First value of an HTTP header, case-insensitive."""
    lowered = name.lower()
    for key, value in headers or ():
        if key.lower() == lowered:
            return value
    return None


def sniff_html(body: bytes) -> bool:
    """True when the first bytes look like HTML (after an optional UTF-8 BOM)."""
    return _HTML_SNIFF.match(body[:1024].removeprefix(b"\xef\xbb\xbf")) is not None


class RecordSelector:
    """Stage ``WarcRecord -> WarcRecord | Drop`` (see the module docstring for reasons)."""

    name = "selection"

    def __init__(self, selection: SelectionConfig, warc: WarcConfig):
        self.html_types = frozenset(t.lower() for t in selection.html_content_types)
        self.status_min = selection.accept_http_status_min
        self.status_max = selection.accept_http_status_max
        self.accept_resource = warc.accept_resource_records

    def __call__(self, record: WarcRecord) -> WarcRecord | Drop:
        reason = self._record_type_reason(record) or self._http_reason(record)
        if reason is None and not self._is_html(record):
            reason = "non_html"
        if reason is None and not record.body:
            reason = "empty_body"
        return record if reason is None else Drop(reason)

    def _record_type_reason(self, record: WarcRecord) -> str | None:
        if record.warc_type == "revisit":
            return "revisit"
        if record.warc_type == "response":
            return None
        if record.warc_type == "resource" and self.accept_resource:
            return None
        return "not_response"

    def _http_reason(self, record: WarcRecord) -> str | None:
        if record.warc_type == "resource":
            return None
        if record.http_status is None or record.http_headers is None:
            return "no_http_headers"
        status = record.http_status
        if self.status_min <= status <= self.status_max:
            return None
        return _STATUS_CLASSES.get(status // 100, "http_other_status")

    def _is_html(self, record: WarcRecord) -> bool:
        if record.warc_type == "resource":
            declared = media_type(record.content_type)
        else:
            declared = media_type(http_header(record.http_headers, "Content-Type"))
        if declared is None:
            declared = media_type(record.warc_headers.get("WARC-Identified-Payload-Type"))
        if declared is None:
            return sniff_html(record.body)
        return declared in self.html_types

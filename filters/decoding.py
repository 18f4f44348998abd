"""``Page``: a selected response record decoded to HTML text, with what ``general_metadata``
needs; ``PageDecoder`` is the stage ``WarcRecord -> Page``.

Decoding errors (``PayloadError`` kinds from ``http_payload``) propagate: the runner
dead-letters them by ``StageError.kind``. A body that decodes to binary data (WHATWG "binary
data bytes" in its first KiB, UTF-16 excepted) is dropped as ``binary_body``: servers label
images and archives ``text/html``, and such bytes would become a junk document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from webweave.filters.charset import decode_html, utf16_without_bom
from webweave.filters.decision import Drop
from webweave.filters.http_payload import decode_http_body
from webweave.filters.record_selection import http_header, media_type
from webweave.filters.warc_record import WarcConfig, WarcRecord

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$")


@dataclass(slots=True)
class Page:
    url: str | None
    html: str
    charset: str
    charset_source: str
    content_type: str | None  # HTTP media type, e.g. text/html
    http_status: int | None
    source: str
    offset: int
    length: int
    warc_date: datetime | None
    record_id: str | None
    warc_truncated: str | None


def parse_warc_date(value: str | None) -> datetime | None:
    """WARC-Date as an aware UTC datetime: ISO-8601 (optional fraction and zone, UTC when
    absent) or 14-digit ``YYYYMMDDhhmmss``; None when unparsable."""
    if not value:
        return None
    text = value.strip()
    try:
        compact = _COMPACT.match(text)
        if compact:
            return datetime(*map(int, compact.groups()), tzinfo=timezone.utc)
        iso = _ISO.match(text)
        if iso is None:
            return None
        year, month, day, hour, minute, second, fraction, zone = iso.groups()
        micro = int((fraction or "0").ljust(6, "0")[:6])
        stamp = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro
        )
        return stamp.replace(tzinfo=_zone(zone)).astimezone(timezone.utc)
    except ValueError:
        return None


def _zone(zone: str | None):
    if zone in (None, "Z"):
        return timezone.utc
    return datetime.strptime(zone.replace(":", ""), "%z").tzinfo


# WHATWG MIME sniffing "binary data bytes": never in text, whatever its 8-bit charset.
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")


def looks_binary(body: bytes, sample: int = 1024) -> bool:
    """True when the first bytes hold binary data bytes (UTF-16 text, full of NULs, excepted)."""
    head = body[:sample]
    return _BINARY_BYTES.search(head) is not None and utf16_without_bom(head) is None


class PageDecoder:
    """Stage: undo HTTP codings, then decode the charset; ``Drop("binary_body")`` for binary."""

    name = "decoding"

    def __init__(self, warc: WarcConfig):
        self.max_decoded_bytes = warc.max_decoded_bytes

    def __call__(self, record: WarcRecord) -> Page | Drop:
        content_type = http_header(record.http_headers, "Content-Type")
        if record.http_headers is None:
            content_type = record.content_type  # accepted resource records
        body = decode_http_body(
            record.body, record.http_headers, max_decoded_bytes=self.max_decoded_bytes
        )
        if looks_binary(body):
            return Drop("binary_body")
        decoded = decode_html(body, content_type)
        return Page(
            url=record.target_uri,
            html=decoded.text,
            charset=decoded.charset,
            charset_source=decoded.source,
            content_type=media_type(content_type),
            http_status=record.http_status,
            source=record.source,
            offset=record.offset,
            length=record.length,
            warc_date=parse_warc_date(record.warc_date),
            record_id=record.record_id,
            warc_truncated=record.warc_truncated,
        )

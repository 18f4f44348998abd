"""What the WARC reader yields: records with their HTTP block split off, or read errors.

These are the items the per-record stages (``record_selection``, ``page``) take; the reader
that produces them is ``webweave.pipelines.warc_source``.
"""

from __future__ import annotations

from dataclasses import dataclass

from webweave.filters.record_digest import ABSENT


@dataclass(slots=True)
class WarcRecord:
    """One WARC record with its HTTP block split off (bodies raw, as stored)."""

    source: str
    offset: int
    length: int
    warc_type: str
    target_uri: str | None
    warc_date: str | None
    record_id: str | None
    warc_truncated: str | None
    content_type: str | None
    http_status: int | None
    http_headers: list[tuple[str, str]] | None
    body: bytes
    warc_headers: dict[str, str]
    # WARC-Block-Digest / WARC-Payload-Digest check: ok, mismatch, absent or unsupported
    # (``webweave.filters.record_digest``); absent when the reader was asked not to hash.
    block_digest: str = ABSENT
    payload_digest: str = ABSENT


@dataclass(slots=True)
class WarcReadError:
    """A stored span that could not be read as a record; the reader went on after it."""

    source: str
    offset: int | None
    error_type: str
    message: str

"""What the WARC reader yields: records with their HTTP block split off, or read errors.

These are the items the per-record stages (``record_selection``, ``page``) take; the reader
that produces them is ``webweave.pipelines.warc_source``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from webweave.filters.record_digest import ABSENT
from webweave.schemas.config import PositiveInt, Section

DigestPolicy = Literal["dead_letter", "flag"]


@dataclass(frozen=True)
class WarcConfig(Section):
    """``warc:``: limits on reading a record and what to do when its digests do not match."""

    yaml_name = "warc"

    max_record_bytes: PositiveInt
    max_decoded_bytes: PositiveInt
    accept_resource_records: bool
    verify_digests: bool
    block_digest_mismatch: DigestPolicy
    payload_digest_mismatch: DigestPolicy


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
    url: str | None = None  # WARC-Target-URI, when the headers could be read
    record_id: str | None = None

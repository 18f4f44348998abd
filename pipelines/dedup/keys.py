"""What dedup shuffles: one small key per document, and the actions the steps decide."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

from webweave.filters.minhash import MinHashSignature, paragraph_hashes
from webweave.filters.url_normalization import normalize_url, registered_domain
from webweave.pipelines.dedup.config import DedupConfig

DROP_DOCUMENT = "drop_document"
REMOVE_IMAGE = "remove_image"
REMOVE_PARAGRAPH = "remove_paragraph"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class DedupKey(NamedTuple):
    """What dedup needs to know about one staged document (never the document itself)."""

    doc_id: str  # unique per document; the last tie-breaker
    shard: str  # the staged file holding the document; actions are grouped by it
    url: str  # normalised page URL (normalize_url)
    capture_time_us: int  # WARC-Date as microseconds since the epoch, UTC
    domain: str  # registered domain of the page URL (registered_domain)
    image_urls: tuple[str, ...]  # one entry per image position, document order
    paragraph_hashes: tuple[int, ...]  # signed 64-bit, one per non-empty paragraph
    band_keys: tuple[bytes, ...]  # MinHash-LSH bucket keys, one per band (empty: no text)


class DedupAction(NamedTuple):
    """One change to one staged document; ``kind`` says which of the optional fields is set."""

    shard: str
    doc_id: str
    kind: str  # DROP_DOCUMENT | REMOVE_IMAGE | REMOVE_PARAGRAPH
    reason: str  # url_duplicate, near_duplicate, image_url_too_frequent, ...
    image_url: str = ""  # REMOVE_IMAGE: every position holding this URL
    paragraph_hash: int = 0  # REMOVE_PARAGRAPH: every paragraph with this hash
    kept_doc_id: str = ""  # DROP_DOCUMENT: the document kept in its place


class ClusterMember(NamedTuple):
    """A document of a near-duplicate cluster; ``cluster_id`` is the kept document's id."""

    doc_id: str
    cluster_id: str
    shard: str  # the staged shard holding the document (dedup_clusters/ is written per shard)


def capture_time_us(warc_date: str) -> int:
    """WARC-Date (ISO 8601, ``Z`` or offset, optional fraction) as microseconds since epoch.

    An unparsable date counts as the epoch, i.e. older than every real capture.
    """
    text = warc_date.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return 0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def recency_rank(key: DedupKey) -> tuple[int, str]:
    """Sort key whose minimum is the keeper: latest capture, then smallest doc_id."""
    return (-key.capture_time_us, key.doc_id)


@dataclass(frozen=True)
class UrlOptions:
    """How page URLs are normalised for URL dedup (from ``dedup:``)."""

    drop_params: frozenset[str]
    drop_param_prefixes: tuple[str, ...]
    merge_http_https: bool
    include_private_suffixes: bool

    @classmethod
    def of(cls, config: DedupConfig) -> UrlOptions:
        return cls(frozenset(p.lower() for p in config.drop_params),
                   config.drop_param_prefixes, config.merge_http_https,
                   config.include_private_suffixes)  # fmt: skip


def make_dedup_key(
    doc_id: str,
    shard: str,
    url: str,
    warc_date: str,
    texts: Sequence[str | None],
    images: Sequence[str | None],
    signer: MinHashSignature,
    url_options: UrlOptions,
) -> DedupKey:
    """The key of one extracted document (texts/images are the parallel OBELICS lists)."""
    joined_text = "\n\n".join(text for text in texts if text is not None)
    return DedupKey(
        doc_id=doc_id,
        shard=shard,
        url=normalize_url(
            url,
            drop_params=url_options.drop_params,
            drop_param_prefixes=url_options.drop_param_prefixes,
            merge_http_https=url_options.merge_http_https,
        ),
        capture_time_us=capture_time_us(warc_date),
        domain=registered_domain(url, include_private=url_options.include_private_suffixes),
        image_urls=tuple(image for image in images if image is not None),
        paragraph_hashes=tuple(paragraph_hashes(texts)),
        band_keys=tuple(signer.text_band_keys(joined_text)),
    )


def pack(key: DedupKey) -> tuple:
    """A plain tuple: Beam's coder writes it compactly, a NamedTuple is pickled (40 vs 7 B)."""
    return tuple(key)


def unpack(packed: Sequence) -> DedupKey:
    return DedupKey(*packed)


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------

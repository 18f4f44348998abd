"""Crawl-scale deduplication as Beam shuffles over small per-document keys.

Documents never enter a shuffle: the run job emits one ``DedupKey`` per staged document and
these transforms turn keys into ``DedupAction`` records (drop a document, remove an image URL,
remove a paragraph hash), which the job groups by ``shard`` and applies while rewriting each
staged shard. Every global decision is a GroupByKey/CombinePerKey; the reducers iterate their
groups (twice where they must, Beam's grouped values are re-iterable) and hold no group in
memory, so no worker's memory grows with the corpus.

Order (``Deduplicate``), each step consuming the previous one's survivors:
1. ``UrlDedup``: one document per normalised URL, the latest capture.
2. ``NearDuplicateClusters``: MinHash-LSH band buckets -> star edges -> connected components
   (large-star/small-star rounds) -> one document per cluster.
3. ``ImageUrlFrequency``: an image URL in more than N surviving documents is removed from all.
4. ``ParagraphDedupPerDomain``: a paragraph in >= M documents of one domain is removed from all.
5. ``ImageSetDedup``: one document per identical non-empty set of remaining image URLs.
URL and near-duplicate removal run first (OBELICS counts image URLs before URL dedup) so repeat
captures of one page cannot push its images and paragraphs over the frequency cut-offs.

"Keeper" everywhere: the latest capture time, then the smallest ``doc_id``; the same rule as a
total order on ``recency_rank(key) = (-capture_time_us, doc_id)``, smallest first.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

import apache_beam as beam
import xxhash
from apache_beam import pvalue
from apache_beam.coders import FastPrimitivesCoder
from apache_beam.metrics import Metrics

from webweave.filters.minhash import MinHashSignature, paragraph_hashes
from webweave.filters.url_normalization import (
    DEFAULT_DROP_PARAM_PREFIXES,
    DEFAULT_DROP_PARAMS,
    normalize_url,
    registered_domain,
)
from webweave.pipelines.grouping import BEAM_SHUFFLE, Grouping

METRICS_NAMESPACE = "dedup"
DROP_DOCUMENT = "drop_document"
REMOVE_IMAGE = "remove_image"
REMOVE_PARAGRAPH = "remove_paragraph"
URL_DUPLICATE = "url_duplicate"
NEAR_DUPLICATE = "near_duplicate"
IMAGE_URL_TOO_FREQUENT = "image_url_too_frequent"
PARAGRAPH_DUPLICATE_IN_DOMAIN = "paragraph_duplicate_in_domain"
IMAGE_SET_DUPLICATE = "image_set_duplicate"
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ACTIONS_TAG = "actions"
_CHECKED_TAG = "checked"  # one True/False per distinct key a flagging reducer decided on


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


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
    """How page URLs are normalised for URL dedup."""

    drop_params: frozenset[str] = DEFAULT_DROP_PARAMS
    drop_param_prefixes: tuple[str, ...] = DEFAULT_DROP_PARAM_PREFIXES
    merge_http_https: bool = False
    include_private_suffixes: bool = True


def make_dedup_key(
    doc_id: str,
    shard: str,
    url: str,
    warc_date: str,
    texts: Sequence[str | None],
    images: Sequence[str | None],
    signer: MinHashSignature,
    url_options: UrlOptions = UrlOptions(),
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


def _pack(key: DedupKey) -> tuple:
    """A plain tuple: Beam's coder writes it compactly, a NamedTuple is pickled (40 vs 7 B)."""
    return tuple(key)


def _unpack(packed: Sequence) -> DedupKey:
    return DedupKey(*packed)


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DedupConfig:
    """The ``dedup:`` block of the job config (defaults follow OBELICS and FineWeb)."""

    url_dedup: bool = True
    near_duplicates: bool = True
    image_url_frequency: bool = True
    paragraph_dedup: bool = True
    image_set_dedup: bool = True
    minhash_bands: int = 14
    minhash_rows: int = 8
    minhash_seed: int = 1
    shingle_words: int = 5
    cc_rounds: int = 12
    max_image_documents: int = 10
    min_paragraph_documents: int = 3
    max_removed_fraction: float | None = 0.95
    measure_shuffle_bytes: bool = False
    drop_params: frozenset[str] = field(default=DEFAULT_DROP_PARAMS)
    drop_param_prefixes: tuple[str, ...] = DEFAULT_DROP_PARAM_PREFIXES
    merge_http_https: bool = False
    include_private_suffixes: bool = True

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DedupConfig:
        """Build from the YAML block; unknown keys are an error, not silently ignored."""
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown dedup config keys: {unknown}")
        converted = dict(values)
        if "drop_params" in converted:
            converted["drop_params"] = frozenset(p.lower() for p in converted["drop_params"])
        if "drop_param_prefixes" in converted:
            converted["drop_param_prefixes"] = tuple(converted["drop_param_prefixes"])
        config = cls(**converted)
        config.validate()
        return config

    def validate(self) -> None:
        """Reject settings under which a rule could never fire or always fires."""
        if self.minhash_bands < 1 or self.minhash_rows < 1:
            raise ValueError("minhash_bands and minhash_rows must be >= 1")
        if self.cc_rounds < 1:
            raise ValueError("cc_rounds must be >= 1")
        if self.max_image_documents < 1:
            raise ValueError("max_image_documents must be >= 1")
        if self.min_paragraph_documents < 2:
            raise ValueError("min_paragraph_documents must be >= 2 (1 removes every paragraph)")
        if self.max_removed_fraction is not None and not 0 < self.max_removed_fraction <= 1:
            raise ValueError("max_removed_fraction must be in (0, 1] or null")

    def signer(self) -> MinHashSignature:
        return MinHashSignature(
            bands=self.minhash_bands,
            rows=self.minhash_rows,
            seed=self.minhash_seed,
            ngram=self.shingle_words,
        )

    def url_options(self) -> UrlOptions:
        return UrlOptions(
            drop_params=self.drop_params,
            drop_param_prefixes=self.drop_param_prefixes,
            merge_http_https=self.merge_http_https,
            include_private_suffixes=self.include_private_suffixes,
        )


# --------------------------------------------------------------------------------------------
# Shared pieces
# --------------------------------------------------------------------------------------------


class _CountShuffleBytes(beam.DoFn):
    """Pass-through that counts what enters a shuffle, encoded with Beam's default coder.

    Counted before combiner lifting, so for CombinePerKey/Distinct it is an upper bound.
    """

    def __init__(self, step: str):
        self._step = step
        self._coder = FastPrimitivesCoder()

    def setup(self) -> None:
        self._bytes = Metrics.counter(METRICS_NAMESPACE, f"shuffle_bytes.{self._step}")
        self._elements = Metrics.counter(METRICS_NAMESPACE, f"shuffle_elements.{self._step}")

    def process(self, element):
        self._bytes.inc(len(self._coder.encode(element)))
        self._elements.inc()
        yield element


def _measured(pcoll, label: str, step: str, measure: bool):
    """Insert a shuffle-byte counter in front of a shuffle when measuring."""
    if not measure:
        return pcoll
    return pcoll | f"Measure{label}" >> beam.ParDo(_CountShuffleBytes(step))


def _measure_join(pcolls: tuple, step: str) -> None:
    """Count what enters a CoGroupByKey (side branches: the join itself is unchanged; no
    Flatten, which Beam's local runner would hold in memory)."""
    for index, pcoll in enumerate(pcolls):
        _ = pcoll | f"MeasureJoin{index}" >> beam.ParDo(_CountShuffleBytes(step))


def _count(name: str, value: int = 1) -> None:
    Metrics.counter(METRICS_NAMESPACE, name).inc(value)


def _stat(name: str, value: int = 1) -> tuple[str, int]:
    return (name, value)


class _KeepOnePerGroup(beam.DoFn):
    """Per group of packed keys: keep the recency-rank minimum, drop the rest with ``reason``.

    Two passes over the grouped values (re-iterable), holding only the best rank.
    """

    def __init__(self, reason: str):
        self._reason = reason

    def process(self, element) -> Iterator:
        _, members = element
        best = min(recency_rank(_unpack(packed)) for packed in members)
        kept_doc_id = best[1]
        for packed in members:
            key = _unpack(packed)
            if recency_rank(key) == best:
                yield key
                continue
            _count(self._reason)
            yield pvalue.TaggedOutput(
                _ACTIONS_TAG,
                DedupAction(
                    key.shard, key.doc_id, DROP_DOCUMENT, self._reason, kept_doc_id=kept_doc_id
                ),
            )


def _group_and_keep_one(keyed, reason: str, measure: bool, grouping: Grouping):
    """GroupByKey on (group key, packed DedupKey) and keep one per group."""
    results = (
        _measured(keyed, "Group", reason, measure)
        | "Group" >> grouping.group_by_key()
        | "KeepOne"
        >> beam.ParDo(_KeepOnePerGroup(reason)).with_outputs(_ACTIONS_TAG, main="survivors")
    )
    return results.survivors, results[_ACTIONS_TAG]


class _RemovedFractionGuard(beam.PTransform):
    """Fail the job when a step removes more than ``max_fraction`` of what it looked at.

    OBELICS's image-URL step once flagged every URL (a wrong object written); a step that
    removes almost everything is a bug until shown otherwise.
    """

    def __init__(self, step: str, max_fraction: float | None):
        super().__init__()
        self._step = step
        self._max_fraction = max_fraction

    def expand(self, counts):
        """``counts``: PCollection of ("removed" | "total", n)."""
        step, max_fraction = self._step, self._max_fraction
        return (
            counts
            | "Sum" >> beam.CombinePerKey(sum)
            | "ToOneKey" >> beam.Map(lambda kv: (None, kv))
            | "Together" >> beam.GroupByKey()
            | "Check" >> beam.Map(lambda kv: _check_fraction(step, dict(kv[1]), max_fraction))
        )


def _check_fraction(step: str, sums: dict[str, int], max_fraction: float | None) -> dict:
    removed, total = sums.get("removed", 0), sums.get("total", 0)
    if max_fraction is not None and total and removed / total > max_fraction:
        raise RuntimeError(
            f"dedup step {step} removed {removed} of {total} (> {max_fraction:.0%}); "
            "this looks like a bug (raise dedup.max_removed_fraction if it is not)"
        )
    return {"step": step, "removed": removed, "total": total}


def _guard(step: str, removed, total, max_fraction: float | None):
    """Attach a removed-fraction guard; returns its (tiny) PCollection of check results.

    Each side is counted before the Flatten, so only two numbers are flattened (Beam's local
    runner holds a Flatten's inputs in memory)."""
    counts = (
        removed | f"{step}CountRemoved" >> _CountAs("removed"),
        total | f"{step}CountTotal" >> _CountAs("total"),
    ) | f"{step}GuardCounts" >> beam.Flatten()
    return counts | f"{step}Guard" >> _RemovedFractionGuard(step, max_fraction)


class _CountAs(beam.PTransform):
    """PCollection → one (name, count) element."""

    def __init__(self, name: str):
        super().__init__()
        self._name = name

    def expand(self, pcoll):
        name = self._name
        return (
            pcoll
            | "Count" >> beam.combiners.Count.Globally()
            | "Name" >> beam.Map(lambda count: (name, count))
        )


def _guard_flags(step: str, flags, max_fraction: float | None):
    """Guard over one True/False per distinct key a flagging reducer saw (no extra shuffle)."""
    counts = flags | f"{step}FlagCounts" >> beam.FlatMap(
        lambda flagged: [("total", 1), ("removed", 1)] if flagged else [("total", 1)]
    )
    return counts | f"{step}Guard" >> _RemovedFractionGuard(step, max_fraction)


def _action_stats(actions, label: str):
    """(reason.kind, count) over a PCollection of actions."""
    return (
        actions
        | f"{label}StatKeys" >> beam.Map(lambda action: _stat(f"{action.reason}.{action.kind}"))
        | f"{label}StatSum" >> beam.CombinePerKey(sum)
    )


# --------------------------------------------------------------------------------------------
# 1. URL dedup
# --------------------------------------------------------------------------------------------


class _DedupStep(beam.PTransform):
    """What every dedup step is configured with: shuffle-byte counting, the removed-fraction
    guard (None: off) and how it groups (``Grouping``)."""

    def __init__(
        self,
        measure_shuffle_bytes: bool = False,
        max_removed_fraction=None,
        grouping: Grouping = BEAM_SHUFFLE,
    ):
        super().__init__()
        self._measure = measure_shuffle_bytes
        self._max_removed_fraction = max_removed_fraction
        self._grouping = grouping


class UrlDedup(_DedupStep):
    """One document per normalised URL: the latest capture, then the smallest doc_id.

    In: PCollection[DedupKey]. Out: dict ``survivors`` (DedupKey), ``actions`` (DedupAction,
    DROP_DOCUMENT / url_duplicate), ``stats`` ((name, count)).
    """

    def expand(self, keys):
        keyed = keys | "ByUrl" >> beam.Map(lambda key: (key.url, _pack(key)))
        survivors, actions = _group_and_keep_one(
            keyed, URL_DUPLICATE, self._measure, self._grouping
        )
        _guard("UrlDedup", actions, keys, self._max_removed_fraction)
        return {
            "survivors": survivors,
            "actions": actions,
            "stats": _action_stats(actions, "UrlDedup"),
        }


# --------------------------------------------------------------------------------------------
# 4. Image-set dedup
# --------------------------------------------------------------------------------------------


def image_set_key(image_urls: Iterable[str]) -> bytes:
    """128-bit digest of the sorted, unique image URLs, NUL-delimited (OBELICS lesson 9)."""
    return xxhash.xxh3_128_digest("\x00".join(sorted(set(image_urls))).encode("utf-8"))


class ImageSetDedup(_DedupStep):
    """Documents with the same non-empty set of image URLs keep one (the keeper rule).

    In: PCollection[DedupKey]. Out: dict ``survivors``, ``actions`` (image_set_duplicate),
    ``stats``. Documents without images pass through without a shuffle. ``survivors=False``
    (the last step of the job, whose survivors nobody reads) leaves out the survivors' Flatten.
    """

    def __init__(
        self,
        measure_shuffle_bytes: bool = False,
        max_removed_fraction=None,
        grouping: Grouping = BEAM_SHUFFLE,
        survivors: bool = True,
    ):
        super().__init__(measure_shuffle_bytes, max_removed_fraction, grouping)
        self._survivors = survivors

    def expand(self, keys):
        with_images, without_images = keys | "SplitByImages" >> beam.Partition(
            lambda key, _: 0 if key.image_urls else 1, 2
        )
        keyed = with_images | "BySet" >> beam.Map(
            lambda key: (image_set_key(key.image_urls), _pack(key))
        )
        kept, actions = _group_and_keep_one(
            keyed, IMAGE_SET_DUPLICATE, self._measure, self._grouping
        )
        _guard("ImageSetDedup", actions, with_images, self._max_removed_fraction)
        result = {"actions": actions, "stats": _action_stats(actions, "ImageSetDedup")}
        if self._survivors:
            result["survivors"] = (kept, without_images) | "Survivors" >> beam.Flatten()
        return result


# --------------------------------------------------------------------------------------------
# 2. Image-URL frequency
# --------------------------------------------------------------------------------------------


class _FlagFrequentImage(beam.DoFn):
    """Per image URL: if it is in more than ``max_documents`` documents, emit (doc_id, url)."""

    def __init__(self, max_documents: int):
        self._max_documents = max_documents

    def process(self, element) -> Iterator:
        url, doc_ids = element
        count = sum(1 for _ in doc_ids)
        yield pvalue.TaggedOutput(_CHECKED_TAG, count > self._max_documents)
        if count <= self._max_documents:
            return
        _count("image_urls_flagged")
        yield pvalue.TaggedOutput("flagged", url)
        for doc_id in doc_ids:
            yield (doc_id, url)


def _apply_image_removals(element) -> Iterator:
    """Join of one document's key with the image URLs flagged in it."""
    _, joined = element
    for packed in joined["key"]:
        key = _unpack(packed)
        removed = set(joined["removed"])
        if not removed:
            yield key
            continue
        remaining = tuple(url for url in key.image_urls if url not in removed)
        _count("image_positions_removed", len(key.image_urls) - len(remaining))
        yield key._replace(image_urls=remaining)
        for url in sorted(removed):
            yield pvalue.TaggedOutput(
                _ACTIONS_TAG,
                DedupAction(key.shard, key.doc_id, REMOVE_IMAGE, IMAGE_URL_TOO_FREQUENT, url),
            )


class ImageUrlFrequency(_DedupStep):
    """An image URL found in more than ``max_documents`` documents is removed from all of them.

    Counts documents, not positions (a URL twice in one page counts once). In:
    PCollection[DedupKey]. Out: dict ``survivors`` (image_urls without the removed URLs),
    ``actions`` (REMOVE_IMAGE per document and URL), ``stats`` (incl. positions removed),
    ``flagged_urls`` (str).
    """

    def __init__(
        self,
        max_documents: int = 10,
        measure_shuffle_bytes: bool = False,
        max_removed_fraction=None,
        grouping: Grouping = BEAM_SHUFFLE,
    ):
        super().__init__(measure_shuffle_bytes, max_removed_fraction, grouping)
        self._max_documents = max_documents

    def expand(self, keys):
        step = IMAGE_URL_TOO_FREQUENT
        pairs = keys | "UrlDocPairs" >> beam.FlatMap(
            lambda key: ((url, key.doc_id) for url in dict.fromkeys(key.image_urls))
        )
        flagged = (
            _measured(pairs, "ByImageUrl", step, self._measure)
            | "ByImageUrl" >> self._grouping.group_by_key()
            | "Flag"
            >> beam.ParDo(_FlagFrequentImage(self._max_documents)).with_outputs(
                "flagged", _CHECKED_TAG, main="removals"
            )
        )
        by_doc = keys | "KeyByDoc" >> beam.Map(lambda key: (key.doc_id, _pack(key)))
        joined = {
            "key": by_doc,
            "removed": flagged.removals,
        } | "JoinDocs" >> self._grouping.co_group_by_key()
        if self._measure:
            _measure_join((by_doc, flagged.removals), f"{step}.join")
        applied = joined | "Apply" >> beam.FlatMap(_apply_image_removals).with_outputs(
            _ACTIONS_TAG, main="survivors"
        )
        _guard_flags("ImageUrlFrequency", flagged[_CHECKED_TAG], self._max_removed_fraction)
        return {
            "survivors": applied.survivors,
            "actions": applied[_ACTIONS_TAG],
            "stats": _action_stats(applied[_ACTIONS_TAG], "ImageUrlFrequency"),
            "flagged_urls": flagged.flagged,
        }


# --------------------------------------------------------------------------------------------
# 3. Paragraph dedup within a domain
# --------------------------------------------------------------------------------------------


class _FlagDomainParagraph(beam.DoFn):
    """Per (domain, paragraph hash): in >= ``min_documents`` documents -> remove from all."""

    def __init__(self, min_documents: int):
        self._min_documents = min_documents

    def process(self, element) -> Iterator:
        (_, paragraph), holders = element
        count = sum(1 for _ in holders)
        yield pvalue.TaggedOutput(_CHECKED_TAG, count >= self._min_documents)
        if count < self._min_documents:
            return
        _count("paragraphs_flagged")
        yield pvalue.TaggedOutput("flagged", paragraph)
        for doc_id, shard in holders:
            yield DedupAction(
                shard,
                doc_id,
                REMOVE_PARAGRAPH,
                PARAGRAPH_DUPLICATE_IN_DOMAIN,
                paragraph_hash=paragraph,
            )


class ParagraphDedupPerDomain(_DedupStep):
    """A paragraph (normalised hash) in >= ``min_documents`` documents of one registered domain
    is removed from every one of them (no first copy kept, as OBELICS).

    In: PCollection[DedupKey]. Out: dict ``survivors`` (the input: no document is dropped and
    no later step reads paragraph hashes), ``actions`` (REMOVE_PARAGRAPH per document and
    hash), ``stats``.
    """

    def __init__(
        self,
        min_documents: int = 3,
        measure_shuffle_bytes: bool = False,
        max_removed_fraction=None,
        grouping: Grouping = BEAM_SHUFFLE,
    ):
        super().__init__(measure_shuffle_bytes, max_removed_fraction, grouping)
        self._min_documents = min_documents

    def expand(self, keys):
        step = PARAGRAPH_DUPLICATE_IN_DOMAIN
        pairs = keys | "DomainParagraphs" >> beam.FlatMap(
            lambda key: (
                ((key.domain, paragraph), (key.doc_id, key.shard))
                for paragraph in dict.fromkeys(key.paragraph_hashes)
            )
        )
        flagged = (
            _measured(pairs, "ByDomainParagraph", step, self._measure)
            | "ByDomainParagraph" >> self._grouping.group_by_key()
            | "Flag"
            >> beam.ParDo(_FlagDomainParagraph(self._min_documents)).with_outputs(
                "flagged", _CHECKED_TAG, main="actions"
            )
        )
        _guard_flags("ParagraphDedup", flagged[_CHECKED_TAG], self._max_removed_fraction)
        return {
            "survivors": keys,
            "actions": flagged.actions,
            "stats": _action_stats(flagged.actions, "ParagraphDedup"),
        }


# --------------------------------------------------------------------------------------------
# 5. Near-duplicate clusters: LSH buckets -> star edges -> connected components
# --------------------------------------------------------------------------------------------


def _edge(u, v) -> tuple:
    """An undirected edge as (smaller, larger)."""
    return (u, v) if u < v else (v, u)


def star_edges(members: Iterable) -> Iterator[tuple]:
    """Edges from each member of one bucket to the bucket minimum: n - 1, never n^2.

    Two passes over ``members`` (re-iterable), holding only the minimum.
    """
    smallest = min(members, default=None)
    for member in members:
        if member != smallest:
            yield (smallest, member)


def large_star(node, neighbours: Iterable) -> Iterator[tuple]:
    """Kiveris et al.: link every strictly larger neighbour to the neighbourhood minimum."""
    smallest = min(min(neighbours), node)
    for neighbour in neighbours:
        if neighbour > node:
            yield (smallest, neighbour)


def small_star(node, smaller_neighbours: Iterable) -> Iterator[tuple]:
    """Kiveris et al.: link the node and its smaller neighbours to their minimum."""
    smallest = min(smaller_neighbours)
    for neighbour in smaller_neighbours:
        if neighbour != smallest:
            yield (smallest, neighbour)
    yield (smallest, node)


class _LargeStarStep(beam.DoFn):
    def __init__(self, round_index: int):
        self._name = f"cc_round_{round_index:02d}_large_star_changed"

    def setup(self) -> None:
        self._changed = Metrics.counter(METRICS_NAMESPACE, self._name)

    def process(self, element) -> Iterator:
        node, neighbours = element
        for edge in large_star(node, neighbours):
            if edge[0] != node:
                self._changed.inc()
            yield edge


class _SmallStarStep(beam.DoFn):
    def __init__(self, round_index: int):
        self._name = f"cc_round_{round_index:02d}_small_star_changed"

    def setup(self) -> None:
        self._changed = Metrics.counter(METRICS_NAMESPACE, self._name)

    def process(self, element) -> Iterator:
        node, smaller = element
        for edge in small_star(node, smaller):
            if edge[1] != node:
                self._changed.inc()  # a smaller neighbour re-linked to the minimum
            yield edge


def _both_directions(edge) -> Iterator[tuple]:
    yield (edge[0], edge[1])
    yield (edge[1], edge[0])


def _by_larger_end(edge) -> tuple:
    return (edge[1], edge[0])


class _StarCheck(beam.DoFn):
    """Per node of the final edges: a star means one smaller neighbour (its root), or none
    while being someone's root. Emits (node, root); violations go to ``not_converged``."""

    def setup(self) -> None:
        self._not_converged = Metrics.counter(METRICS_NAMESPACE, "cc_not_converged")
        self._in_star = Metrics.counter(METRICS_NAMESPACE, "cc_nodes_in_star")

    def process(self, element) -> Iterator:
        node, marks = element
        parents, has_children = set(), False
        for kind, other in marks:
            if kind == "parent":
                parents.add(other)
                if len(parents) > 1:
                    break
            else:
                has_children = True
        if len(parents) > 1 or (parents and has_children):
            self._not_converged.inc()
            yield pvalue.TaggedOutput("not_converged", node)
        else:
            self._in_star.inc()
        yield (node, next(iter(parents)) if parents else node)


def _star_marks(edge) -> Iterator[tuple]:
    smaller, larger = edge
    yield (larger, ("parent", smaller))
    yield (smaller, ("child", None))


def _fail_if_not_converged(count: int, rounds: int) -> int:
    if count:
        raise RuntimeError(
            f"connected components did not converge in {rounds} large-star/small-star rounds: "
            f"{count} nodes are not in a star; raise dedup.cc_rounds"
        )
    return count


class ConnectedComponents(beam.PTransform):
    """Connected components of an undirected graph by alternating large-star / small-star.

    In: PCollection of edges ``(u, v)`` (comparable, deterministically encodable node ids).
    Out: PCollection of ``(node, root)`` for every node on an edge, root = the component's
    minimum. ``rounds`` (large + small star) are unrolled in the graph; each one counts the
    edges it re-links (``cc_round_NN_*_changed``). A final star check proves convergence: any
    node not in a star increments ``cc_not_converged`` and **fails the job** (raise
    ``rounds``): a wrong clustering is never written silently. Rounds needed grow like
    O(log n) in the component diameter (Kiveris et al. 2014); 12 covers chains far longer
    than near-duplicate clusters get (tested with a 1,000-node shuffled path).
    """

    def __init__(
        self,
        rounds: int = 12,
        measure_shuffle_bytes: bool = False,
        grouping: Grouping = BEAM_SHUFFLE,
    ):
        super().__init__()
        self._rounds = rounds
        self._measure = measure_shuffle_bytes
        self._grouping = grouping

    def expand(self, edges):
        measure, step, grouping = self._measure, "near_duplicate.cc", self._grouping
        current = (
            edges
            | "Canonical" >> beam.Map(lambda edge: _edge(*edge))
            | "NoSelfLoops" >> beam.Filter(lambda edge: edge[0] != edge[1])
            | "DistinctInput" >> grouping.distinct()
        )
        for index in range(self._rounds):
            current = _measured(
                current | f"Both{index:02d}" >> beam.FlatMap(_both_directions),
                f"Large{index:02d}",
                step,
                measure,
            )
            current = (
                current
                | f"LargeGroup{index:02d}" >> grouping.group_by_key()
                | f"LargeStar{index:02d}" >> beam.ParDo(_LargeStarStep(index))
                | f"LargeDistinct{index:02d}" >> grouping.distinct()
            )
            current = _measured(
                current | f"ByLarger{index:02d}" >> beam.Map(_by_larger_end),
                f"Small{index:02d}",
                step,
                measure,
            )
            current = (
                current
                | f"SmallGroup{index:02d}" >> grouping.group_by_key()
                | f"SmallStar{index:02d}" >> beam.ParDo(_SmallStarStep(index))
                | f"SmallDistinct{index:02d}" >> grouping.distinct()
            )
        checked = (
            current
            | "StarMarks" >> beam.FlatMap(_star_marks)
            | "StarGroup" >> grouping.group_by_key()
            | "StarCheck" >> beam.ParDo(_StarCheck()).with_outputs("not_converged", main="labels")
        )
        rounds = self._rounds
        _ = (
            checked.not_converged
            | "CountNotConverged" >> beam.combiners.Count.Globally()
            | "FailIfNotConverged" >> beam.Map(_fail_if_not_converged, rounds)
        )
        return checked.labels


def _bucket_entries(key: DedupKey) -> Iterator[tuple]:
    rank = recency_rank(key)
    for band_key in key.band_keys:
        yield (band_key, rank)


def _bucket_star_edges(element) -> Iterator[tuple]:
    _, members = element
    yield from star_edges(members)


def _apply_cluster_labels(element) -> Iterator:
    """Join of one document's key with its cluster root (if any): keep or drop it; every
    clustered document (the keeper too) is also a ``members`` output."""
    _, joined = element
    roots = list(joined["root"])
    for packed in joined["key"]:
        key = _unpack(packed)
        if roots:
            yield pvalue.TaggedOutput("members", ClusterMember(key.doc_id, roots[0][1], key.shard))
        if not roots or roots[0] == recency_rank(key):
            yield key
            continue
        _count(NEAR_DUPLICATE)
        yield pvalue.TaggedOutput(
            _ACTIONS_TAG,
            DedupAction(
                key.shard, key.doc_id, DROP_DOCUMENT, NEAR_DUPLICATE, kept_doc_id=roots[0][1]
            ),
        )


class NearDuplicateClusters(_DedupStep):
    """MinHash-LSH near-duplicate removal: one document per connected cluster of candidates.

    Band keys -> GroupByKey per bucket -> star edges to the bucket's minimum rank -> connected
    components (``ConnectedComponents``) over node ids = ``recency_rank`` so that each
    component's root *is* its keeper (latest capture, then smallest doc_id).
    In: PCollection[DedupKey]. Out: dict ``survivors``, ``actions`` (near_duplicate, with
    ``kept_doc_id``), ``stats``, ``cluster_members`` (ClusterMember, every clustered doc incl.
    the keeper), ``cluster_sizes`` ((cluster_id, size)).
    """

    def __init__(
        self,
        rounds: int = 12,
        measure_shuffle_bytes: bool = False,
        max_removed_fraction=None,
        grouping: Grouping = BEAM_SHUFFLE,
    ):
        super().__init__(measure_shuffle_bytes, max_removed_fraction, grouping)
        self._rounds = rounds

    def expand(self, keys):
        step, grouping = NEAR_DUPLICATE, self._grouping
        entries = keys | "BandEntries" >> beam.FlatMap(_bucket_entries)
        edges = (
            _measured(entries, "Buckets", f"{step}.buckets", self._measure)
            | "Buckets" >> grouping.group_by_key()
            | "StarEdges" >> beam.FlatMap(_bucket_star_edges)
        )
        labels = edges | "Components" >> ConnectedComponents(self._rounds, self._measure, grouping)
        by_doc = keys | "KeyByDoc" >> beam.Map(lambda key: (key.doc_id, _pack(key)))
        roots = labels | "RootByDoc" >> beam.Map(lambda kv: (kv[0][1], kv[1]))
        if self._measure:
            _measure_join((by_doc, roots), f"{step}.join")
        applied = (
            {"key": by_doc, "root": roots}
            | "JoinDocs" >> grouping.co_group_by_key()
            | "Apply"
            >> beam.FlatMap(_apply_cluster_labels).with_outputs(
                _ACTIONS_TAG, "members", main="survivors"
            )
        )
        members = applied.members
        sizes = (
            members
            | "ClusterIds" >> beam.Map(lambda member: (member.cluster_id, 1))
            | "ClusterSizes" >> grouping.sum_per_key()
        )
        _guard("NearDuplicates", applied[_ACTIONS_TAG], keys, self._max_removed_fraction)
        return {
            "survivors": applied.survivors,
            "actions": applied[_ACTIONS_TAG],
            "stats": _action_stats(applied[_ACTIONS_TAG], "NearDuplicates"),
            "cluster_members": members,
            "cluster_sizes": sizes,
        }


# --------------------------------------------------------------------------------------------
# Composition and hand-off to the shard rewrite
# --------------------------------------------------------------------------------------------


class Deduplicate(beam.PTransform):
    """All enabled steps in order (module doc), each on the previous step's survivors.

    In: PCollection[DedupKey]. Out: dict ``survivors``, ``actions`` (all steps), ``stats``
    ((name, count), summed), ``cluster_members``, ``cluster_sizes`` (empty when near-duplicate
    removal is off).

    ``combined=False`` is the job's form: ``actions`` is a tuple of per-step PCollections (for
    ``ActionsByShard``) and there is no ``survivors``. Beam's local runner holds the inputs of
    every multi-input Flatten in memory, so the job never flattens per-document data.
    """

    def __init__(
        self,
        config: DedupConfig = DedupConfig(),
        grouping: Grouping = BEAM_SHUFFLE,
        combined: bool = True,
    ):
        super().__init__()
        config.validate()
        self._config = config
        self._grouping = grouping
        self._combined = combined

    def expand(self, keys):
        config, grouping = self._config, self._grouping
        common = (config.measure_shuffle_bytes, config.max_removed_fraction, grouping)
        steps: list[tuple[str, beam.PTransform]] = []
        if config.url_dedup:
            steps.append(("UrlDedup", UrlDedup(*common)))
        if config.near_duplicates:
            steps.append(("NearDuplicates", NearDuplicateClusters(config.cc_rounds, *common)))
        if config.image_url_frequency:
            steps.append(
                ("ImageUrlFrequency", ImageUrlFrequency(config.max_image_documents, *common))
            )
        if config.paragraph_dedup:
            steps.append(
                ("ParagraphDedup", ParagraphDedupPerDomain(config.min_paragraph_documents, *common))
            )
        if config.image_set_dedup:
            steps.append(("ImageSetDedup", ImageSetDedup(*common, survivors=self._combined)))
        survivors, actions, stats = keys, [], []
        clusters: dict[str, Any] = {}
        for label, transform in steps:
            result = survivors | label >> transform
            survivors = result.get("survivors")
            actions.append(result["actions"])
            stats.append(result["stats"])
            clusters.update({k: v for k, v in result.items() if k.startswith("cluster_")})
        pipeline = keys.pipeline
        for name in ("cluster_members", "cluster_sizes"):
            if name not in clusters:
                clusters[name] = pipeline | f"No{name}" >> beam.Create([])
        stats = _flatten(pipeline, stats, "AllStats") | "SumStats" >> beam.CombinePerKey(sum)
        if not self._combined:
            return {"actions": tuple(actions), "stats": stats, **clusters}
        return {
            "survivors": survivors,
            "actions": _flatten(pipeline, actions, "AllActions"),
            "stats": stats,
            **clusters,
        }


def _flatten(pipeline, pcolls: list, label: str):
    if not pcolls:
        return pipeline | f"{label}Empty" >> beam.Create([])
    return tuple(pcolls) | label >> beam.Flatten()


class ShardActions(NamedTuple):
    """Everything to apply to one staged shard; bounded by the shard's own documents."""

    dropped: dict[str, str]  # doc_id -> reason
    removed_images: dict[str, frozenset[str]]  # doc_id -> image URLs to remove
    removed_paragraphs: dict[str, frozenset[int]]  # doc_id -> paragraph hashes to remove


def shard_actions(actions: Iterable[DedupAction]) -> ShardActions:
    """Fold one shard's actions; a dropped document's other actions are discarded."""
    dropped: dict[str, str] = {}
    images: dict[str, set[str]] = {}
    paragraphs: dict[str, set[int]] = {}
    for action in actions:
        if action.kind == DROP_DOCUMENT:
            dropped.setdefault(action.doc_id, action.reason)
        elif action.kind == REMOVE_IMAGE:
            images.setdefault(action.doc_id, set()).add(action.image_url)
        elif action.kind == REMOVE_PARAGRAPH:
            paragraphs.setdefault(action.doc_id, set()).add(action.paragraph_hash)
        else:
            raise ValueError(f"unknown dedup action kind {action.kind!r}")
    return ShardActions(
        dropped=dropped,
        removed_images={d: frozenset(u) for d, u in images.items() if d not in dropped},
        removed_paragraphs={d: frozenset(h) for d, h in paragraphs.items() if d not in dropped},
    )


class ActionsByShard(beam.PTransform):
    """In: PCollection[DedupAction] or a tuple of them. Out: PCollection[(shard, ShardActions)],
    one per shard with at least one action, for the per-shard rewrite."""

    def __init__(self, grouping: Grouping = BEAM_SHUFFLE):
        super().__init__()
        self._grouping = grouping

    def expand(self, actions):
        parts = (actions,) if isinstance(actions, beam.PCollection) else tuple(actions)
        by_shard = tuple(
            part | f"ByShard{index}" >> beam.Map(lambda action: (action.shard, tuple(action)))
            for index, part in enumerate(parts)
        )
        return (
            by_shard
            | "GroupByShard" >> self._grouping.group_by_key()
            | "Fold"
            >> beam.MapTuple(
                lambda shard, packed: (shard, shard_actions(DedupAction(*p) for p in packed))
            )
        )

"""One batch of distinct images through the image stages: the images job's per-item work.

``url_words → url_policy`` decide before anything is fetched; then the bytes come from the
archive (``--from-warc``: the record read by its offset) or the network (img2dataset behind the
address guard), falling back to the next candidate URL (``sourcing.py``); then ``fetch →
decode → image_filters``. Kept bytes go to ``images/``, one row per URL to
``image_results/``, failures to ``dead_letter/``; small results (no bytes) and a report go on.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from collections.abc import Iterator

import apache_beam as beam

from webweave.filters.archive_lookup import CAPTURED_WITHOUT_IMAGE, ImageLookup
from webweave.filters.decision import Drop
from webweave.filters.image_checks import (
    FetchOutcome,
    ImageDecoder,
    ImageFilter,
    ImageItem,
    UrlWordFilter,
)
from webweave.filters.url_policy import UrlPolicy, UrlPolicyStage
from webweave.pipelines.funnel import Funnel, merge_reports
from webweave.pipelines.images.config import ImagesConfig, index_record_bytes
from webweave.pipelines.images.guarded_fetch import FetchLimits, is_refusal
from webweave.pipelines.images.img2dataset_fetch import (
    RETRYABLE,
    GuardSettings,
    Img2DatasetOptions,
    run_img2dataset,
)
from webweave.pipelines.images.sourcing import Attempt, CandidateSourcing
from webweave.pipelines.images.stats import IMAGE_STAGES, STAGE_STATUS
from webweave.pipelines.images.warc_lookup import PayloadReader
from webweave.pipelines.layout import DEAD_LETTER, IMAGE_RESULTS, IMAGES
from webweave.pipelines.parquet_shards import ShardWriter, fresh_shard_writer, join
from webweave.pipelines.stage_runner import StageChain, StageFailure, Where, failure_row
from webweave.schemas import dead_letter as dead_letter_schema
from webweave.schemas import image_results, image_store

# Where an image's bytes came from: ImageItem attributes copied to its result row.
PROVENANCE_FIELDS = tuple(field.name for field in image_results.PROVENANCE)


def _replay(funnel: Funnel, stage: str | None, reason: str | None) -> None:
    """Count a reused result as if its URL went through the stages again."""
    for name in IMAGE_STAGES:
        counts = funnel.stage(name)
        counts.in_ += 1
        if name == stage:
            if reason == "error":
                counts.errors += 1
            else:
                counts.dropped[reason] += 1
            return
        counts.out += 1


class ProcessImageBatch(beam.DoFn):
    """A batch of distinct images through the image stages; writes bytes, results, dead letter.

    Members are (url, candidate URLs, ImageLookup or None, previous result or None).
    """

    def __init__(self, output_dir: str, config: ImagesConfig, attempt: int):
        self.output_dir = output_dir
        self.config = config
        self.attempt = attempt

    def setup(self) -> None:
        config = self.config
        self.policy = UrlPolicy(config.allowed_networks)
        self.pre = [UrlWordFilter(config.url_words), UrlPolicyStage(self.policy)]
        self.post = [
            FetchOutcome(),
            ImageDecoder(config.max_pixels, config.max_bytes, config.gif_first_frame),
            ImageFilter(
                config.formats,
                config.min_side,
                config.max_side,
                config.max_aspect_ratio,
            ),
        ]

    def process(self, element) -> Iterator:
        batch, members = element
        members = sorted(members, key=lambda m: m[0])
        prefix = f"a{self.attempt:03d}-b{batch:05d}"
        writers = self._writers(prefix)
        funnel = Funnel()
        pre = StageChain(self.pre, funnel)
        StageChain(self.post, funnel)  # registers the post-fetch stages in funnel order
        started = time.monotonic()
        results, network = [], []
        with PayloadReader(index_record_bytes(self.config), self.config.max_bytes) as reader:
            sourcing = CandidateSourcing(
                self.pre,
                self.post,
                self.config.fallback_reasons,
                self.config.max_network_candidates,
                self._fetch,
                reader,
            )
            for url, candidates, lookup, previous in members:
                if previous is not None and not _needs_retry(previous):
                    _replay(
                        funnel,
                        previous["stage"],
                        previous["status_reason"] if previous["status"] != "error" else "error",
                    )
                    results.append(previous)
                    continue
                item = ImageItem(url, warc_lookup=lookup.kind if lookup else None)
                outcome = pre.run(item)
                if not isinstance(outcome, ImageItem):
                    results.append(self._finish(item, outcome, writers))
                elif lookup is not None and lookup.found:
                    attempt = sourcing.from_archive(item, lookup)
                    results.append(self._settle(attempt, funnel, writers))
                elif self._fetches(lookup):
                    network.append((item, candidates))
                else:
                    attempt = sourcing.attempt(_not_fetched(item, lookup))
                    results.append(self._settle(attempt, funnel, writers))
            for attempt in sourcing.from_network(network, prefix):
                results.append(self._settle(attempt, funnel, writers))
        for row in results:
            writers["results"].add({**row, "attempt": row.get("attempt") or self.attempt})
        for writer in writers.values():
            writer.close()
        yield from (beam.pvalue.TaggedOutput("results", row) for row in results)
        i2d_stats: dict = {}
        for stats in sourcing.fetch_stats:
            i2d_stats = merge_reports(i2d_stats, stats)
        yield {
            "funnel": funnel.to_list(),
            "distinct_urls": len(members),
            "dead_letter": writers["dead"].rows_written,
            "fetch_seconds": round(time.monotonic() - started, 3),
            "img2dataset": i2d_stats,
            "sources": dict(Counter(r["source"] for r in results if r["status"] == "ok")),
            "candidate_fallbacks": {
                "archive": sourcing.archive.to_dict(),
                "network": sourcing.network.to_dict(),
            },
            "gif_converted": sum(r.get("converted_from") == "gif" for r in results),
            "warc_lookup": _lookup_counts(results),
            "archive_warcs": {
                name: {"images_supplied": count}
                for name, count in Counter(
                    r["warc_filename"] for r in results if r.get("warc_filename")
                ).items()
            },
        }

    def _fetches(self, lookup: ImageLookup | None) -> bool:
        """Network only for images no candidate of which the archive captured."""
        captured = lookup is not None and lookup.kind == CAPTURED_WITHOUT_IMAGE
        return self.config.fetch_missing and not captured

    def _settle(self, attempt: Attempt, funnel: Funnel, writers) -> dict:
        """The answering attempt counts in the batch funnel (once per image) and is written."""
        funnel.merge(attempt.funnel)
        return self._finish(attempt.item, attempt.outcome, writers)

    def _writers(self, prefix: str) -> dict[str, ShardWriter]:
        config = self.config
        folders = {
            "images": (IMAGES, image_store.SCHEMA, config.store_shard_rows),
            "results": (IMAGE_RESULTS, image_results.SCHEMA, config.shard_rows),
            "dead": (DEAD_LETTER, dead_letter_schema.SCHEMA, config.shard_rows),
        }
        writers = {}
        for key, (folder, schema, rows) in folders.items():
            path = join(self.output_dir, folder)
            writers[key] = fresh_shard_writer(
                path,
                prefix,
                schema,
                shard_rows=rows,
                compression=config.parquet_compression,
            )
        writers["images"].bytes_buffered = 0
        return writers

    def _fetch(self, urls: list[str], prefix: str) -> tuple[dict, dict]:
        """img2dataset over ``urls`` behind the address guard: {url: (bytes, error)}, stats."""
        options = Img2DatasetOptions(
            processes=self.config.processes,
            threads=self.config.threads,
            retries=self.config.retries,
            samples_per_shard=max(10, self.config.batch_size),
            user_agent_token=self.config.user_agent_token,
            disallowed_header_directives=tuple(self.config.disallowed_header_directives),
        )
        with tempfile.TemporaryDirectory(prefix=f"webweave-{prefix}-") as work:
            return run_img2dataset(urls, work, guard_settings(self.config), options)

    def _finish(self, item: ImageItem, outcome, writers) -> dict:
        row = {
            "image_url": item.url,
            "status": "ok",
            "status_reason": None,
            "stage": None,
            "detail": None,
            "width": item.width,
            "height": item.height,
            "format": item.format,
            "sha256": item.sha256,
            "phash": item.phash,
            "source": item.source,
            "image_shard": None,
            "image_row": None,
            "attempt": self.attempt,
            **{name: getattr(item, name) for name in PROVENANCE_FIELDS},
        }
        if isinstance(outcome, Drop):
            stage = outcome.stage
            status = STAGE_STATUS[stage]
            if stage == "fetch" and (item.fetch_refused or is_refusal(outcome.reason)):
                status = "refused"
            detail = outcome.scores.get("detail") or json.dumps(outcome.scores, default=str)
            row.update(
                status=status, status_reason=outcome.reason, stage=stage, detail=str(detail)[:300]
            )
        elif isinstance(outcome, StageFailure):
            row.update(
                status="error",
                status_reason=outcome.error_type,
                stage=outcome.stage,
                detail=outcome.message[:300],
            )
            writers["dead"].add(failure_row(Where(item.url, url=item.url), outcome))
        else:
            row["image_shard"], row["image_row"] = self._store(item, writers["images"])
        item.data = None
        return row

    def _store(self, item: ImageItem, writer: ShardWriter) -> tuple[str, int]:
        """Append the bytes to the images store; bounded by rows and by bytes per shard."""
        if writer.rows and writer.bytes_buffered + len(item.data) > self.config.store_shard_bytes:
            writer.flush()
            writer.bytes_buffered = 0
        shard = f"{IMAGES}/{writer.prefix}-{len(writer.paths):05d}.parquet"
        row = len(writer.rows)
        writer.add(
            {
                "image_url": item.url,
                "sha256": item.sha256,
                "format": item.format,
                "width": item.width,
                "height": item.height,
                "bytes": item.data,
            }
        )
        writer.bytes_buffered = 0 if not writer.rows else writer.bytes_buffered + len(item.data)
        return shard, row


def _needs_retry(previous: dict) -> bool:
    return previous["status"] == "failed" and previous["status_reason"] in RETRYABLE


def _not_fetched(item: ImageItem, lookup: ImageLookup | None) -> ImageItem:
    """An image neither read from the archive nor fetched: why, as its fetch failure."""
    if lookup is not None and lookup.kind == CAPTURED_WITHOUT_IMAGE:
        item.source, item.fetch_error = "warc", lookup.reason
    else:
        item.fetch_error = "not_in_warc"
    return item


def _lookup_counts(results: list[dict]) -> dict:
    """Distinct images by archive lookup kind (only images that were looked up)."""
    kinds = Counter(r.get("warc_lookup") for r in results if r.get("warc_lookup"))
    return {"total": dict(kinds)} if kinds else {}


def static_hosts(entries: tuple[str, ...]) -> dict[str, list[str]]:
    """``["host=addr[,addr]"]`` → mapping (curl --resolve style; also keeps tests off DNS)."""
    hosts: dict[str, list[str]] = {}
    for entry in entries:
        host, _, addresses = entry.partition("=")
        hosts[host.strip().lower()] = [a.strip() for a in addresses.split(",") if a.strip()]
    return hosts


def guard_settings(config: ImagesConfig) -> GuardSettings:
    return GuardSettings(
        allowed_networks=tuple(config.allowed_networks),
        static_hosts=static_hosts(config.static_hosts),
        limits=FetchLimits(
            timeout_seconds=config.timeout_seconds,
            max_bytes=config.max_bytes,
            max_redirects=config.max_redirects,
            host_time_budget_seconds=config.host_time_budget_seconds,
        ),
    )

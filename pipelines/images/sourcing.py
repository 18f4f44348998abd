"""Getting one image's bytes from its candidate URLs: the archive first, then the network.

An image (a distinct image URL of the documents) has candidates (``filters/image_sources.py``:
its URL first, then the other srcset entries, src, lazy attributes). Sourcing tries them in
that order and stops at the first answer that is not a *fallback reason*:

- **archive** (``--from-warc``): the candidates the lookup found (``ImageLookup.found``, best
  first) are read back by offset; a record that cannot be read, or bytes that fail with a
  fallback reason (by default ``not_an_image``, ``truncated_image``), move on to the next one;
- **network** (only for images no candidate of which was captured, and only when fetching is
  allowed): round 0 fetches every image's own URL with img2dataset; an image whose result is a
  fallback reason (``http_404``, ``http_410``, ``not_an_image``, ``truncated_image``) gets its
  next candidate in the next round, up to ``max_network_candidates`` requests per image.
  Candidates are first checked by the URL stages (ban words, address policy) and skipped, with
  a count, when refused. A URL wanted by several images in one round is fetched once.

Each attempt runs the post-fetch stages (fetch outcome → decode → image filters) on a scratch
funnel; only the attempt that answers for the image is merged into the batch funnel, so a
fallback is never a new image: the funnel still counts each image once. When every attempt
fails with a fallback reason, the first attempt (the preferred candidate) answers. Fallbacks
are counted apart (``FallbackCounts``: images, extra attempts, recovered images, reasons,
skipped candidates), in ``stats.json`` as ``candidate_fallbacks``.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from webweave.filters.archive_lookup import ImageLookup
from webweave.filters.decision import Drop
from webweave.filters.image_checks import ImageItem
from webweave.pipelines.funnel import Funnel
from webweave.pipelines.images.img2dataset_fetch import decode_error
from webweave.pipelines.images.warc_lookup import PayloadReader, WarcPayloadError
from webweave.pipelines.stage_runner import StageChain

# (urls, work-name prefix) → ({url: (bytes | None, error | None)}, img2dataset stats)
FetchUrls = Callable[[list[str], str], tuple[dict, dict]]


@dataclass
class Attempt:
    """One candidate tried for one image: the item as the stages left it, and their answer."""

    item: ImageItem
    outcome: object  # ImageItem (kept), Drop or StageFailure
    funnel: Funnel  # the post-fetch stages' counts for this attempt alone


@dataclass
class FallbackCounts:
    """How often images fell back to another candidate, per side (archive, network)."""

    images: int = 0  # images that tried at least one more candidate
    attempts: int = 0  # extra candidates tried
    recovered: int = 0  # images answered by a later candidate
    reasons: Counter = field(default_factory=Counter)  # why each fallback happened
    skipped_candidates: Counter = field(default_factory=Counter)  # refused before any request

    def to_dict(self) -> dict:
        return {
            "images": self.images,
            "attempts": self.attempts,
            "recovered": self.recovered,
            "reasons": dict(sorted(self.reasons.items())),
            "skipped_candidates": dict(sorted(self.skipped_candidates.items())),
        }


@dataclass
class _NetworkImage:
    item: ImageItem
    queue: list[tuple[int, str]]  # (candidate index, url) still to try, in order
    current: tuple[int, str]
    first: Attempt | None = None
    final: Attempt | None = None
    tried: int = 1


class CandidateSourcing:
    """Sources images from their candidates (module docstring) for one image batch."""

    def __init__(
        self,
        pre_stages: Sequence,
        post_stages: Sequence,
        fallback_reasons: Sequence[str],
        max_network_candidates: int,
        fetch_urls: FetchUrls,
        reader: PayloadReader | None = None,
    ):
        self.pre_stages = list(pre_stages)
        self.post_stages = list(post_stages)
        self.fallback_reasons = frozenset(fallback_reasons)
        self.max_network_candidates = max(1, max_network_candidates)
        self.fetch_urls = fetch_urls
        self.reader = reader
        self.archive = FallbackCounts()
        self.network = FallbackCounts()
        self.fetch_stats: list[dict] = []

    # -------------------------------------------------------------- one attempt

    def attempt(self, item: ImageItem) -> Attempt:
        """The post-fetch stages on ``item`` with a scratch funnel."""
        scratch = Funnel()
        outcome = StageChain(self.post_stages, scratch).run(item)
        return Attempt(item, outcome, scratch)

    def _fallback_reason(self, attempt: Attempt, any_fetch_error: bool = False) -> str | None:
        outcome = attempt.outcome
        if not isinstance(outcome, Drop):
            return None
        if outcome.reason in self.fallback_reasons:
            return outcome.reason
        if any_fetch_error and attempt.item.fetch_error is not None:
            return outcome.reason
        return None

    # -------------------------------------------------------------- archive

    def from_archive(self, item: ImageItem, lookup: ImageLookup) -> Attempt:
        """The first found candidate whose bytes answer; record read errors fall back too."""
        first: Attempt | None = None
        for position, found in enumerate(lookup.found):
            capture = found.capture
            assert capture is not None
            tried = dataclasses.replace(
                item,
                source="warc",
                fetched_url=capture.uri,
                candidate_index=found.candidate,
                warc_lookup=found.kind,
                warc_filename=capture.warc,
                warc_record_offset=capture.offset,
            )
            try:
                tried.data = self._reader().read(capture)
            except WarcPayloadError as error:
                tried.fetch_error, tried.fetch_detail = error.kind, str(error)[:300]
            attempt = self.attempt(tried)
            first = first or attempt
            reason = self._fallback_reason(attempt, any_fetch_error=True)
            if reason is None:
                if position > 0:
                    self.archive.recovered += 1
                return attempt
            if position + 1 < len(lookup.found):
                self.archive.images += position == 0
                self.archive.attempts += 1
                self.archive.reasons[reason] += 1
        assert first is not None
        return first

    def _reader(self) -> PayloadReader:
        if self.reader is None:
            raise RuntimeError("archive lookups need a PayloadReader")
        return self.reader

    # -------------------------------------------------------------- network

    def from_network(
        self, images: list[tuple[ImageItem, Sequence[str]]], prefix: str
    ) -> list[Attempt]:
        """Rounds of fetches (module docstring); one answering attempt per image, in order."""
        states = []
        for item, candidates in images:
            others = [(i, url) for i, url in enumerate(candidates) if i > 0 and url != item.url]
            states.append(_NetworkImage(item, others, (0, item.url)))
        active, round_ = list(states), 0
        while active:
            urls = sorted({state.current[1] for state in active})
            fetched, stats = self.fetch_urls(urls, f"{prefix}-r{round_}")
            self.fetch_stats.append(stats)
            active = [state for state in active if self._settle(state, fetched)]
            round_ += 1
        return [state.final for state in states]  # type: ignore[misc]

    def _settle(self, state: _NetworkImage, fetched: dict) -> bool:
        """Apply this round's result to one image; True when it goes on to another candidate."""
        index, url = state.current
        tried = dataclasses.replace(
            state.item, source="network", fetched_url=url, candidate_index=index
        )
        apply_network_result(tried, fetched.get(url))
        attempt = self.attempt(tried)
        state.first = state.first or attempt
        reason = self._fallback_reason(attempt)
        if reason is None:
            self.network.recovered += index > 0
            state.final = attempt
            return False
        following = self._next_candidate(state)
        if following is None:
            state.final = state.first
            return False
        self.network.images += state.tried == 1
        self.network.attempts += 1
        self.network.reasons[reason] += 1
        state.current, state.tried = following, state.tried + 1
        return True

    def _next_candidate(self, state: _NetworkImage) -> tuple[int, str] | None:
        """The next candidate the URL stages admit, within the per-image request budget."""
        if state.tried >= self.max_network_candidates:
            return None
        while state.queue:
            index, url = state.queue.pop(0)
            refusal = StageChain(self.pre_stages, Funnel()).run(ImageItem(url))
            if isinstance(refusal, ImageItem):
                return index, url
            reason = getattr(refusal, "reason", None) or getattr(refusal, "error_type", "error")
            self.network.skipped_candidates[reason] += 1
        return None


def apply_network_result(item: ImageItem, result: tuple | None) -> None:
    """Attach img2dataset's (bytes, error) for ``item.fetched_url`` to ``item``."""
    if result is None:
        item.fetch_error = "download_error"
        return
    data, error = result
    if error is not None:
        reason, refused, detail = decode_error(error)
        item.fetch_error, item.fetch_refused, item.fetch_detail = reason, refused, detail
    else:
        item.data = data

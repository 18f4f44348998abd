"""Finding an image in web archives the way replay does: candidates, revisits, redirects.

The archive side is an index of captures (``Capture``: one response or revisit record, no
body, like a CDX line) grouped by ``surt_key``. An image is looked up candidate by candidate
(``filters/image_sources.py`` orders them); each candidate's ``Lookup`` takes one ``step`` per
index group and either ends (``Resolution``: found, or missing with a reason) or continues at
another key:

- **which capture**: among the captures at the key that match the URL (``match_kind``), the
  ones that can lead to an image (an image response: 2xx not declared as text/JSON/XML/PDF; a
  revisit; a redirect: 3xx with Location) before the rest (a 404, an HTML page); then exact
  before canonical before scheme-insensitive (the issue's "second choice"); then image
  response, revisit, redirect; then the earliest capture (then WARC name and offset, so the
  choice is deterministic). When the chosen capture leads nowhere (a revisit without its
  original, a redirect to a URL not captured), the next capture of the candidate's own key is
  tried, within the same hop budget; the reason reported is the first capture's;
- **revisits** (WARC ``revisit`` records: ``identical-payload-digest`` or
  ``server-not-modified``) are followed to their original as pywb does
  (``pywb/warcserver/resource/resolvingloader.py`` and ``cdxops.cdx_resolve_revisits``):
  at ``WARC-Refers-To-Target-URI`` (else the revisit's own URI), a non-revisit capture with the
  revisit's ``WARC-Payload-Digest`` (any, when the revisit has none), closest in time to
  ``WARC-Refers-To-Date`` (else to the revisit's date), the earlier on a tie. The bytes are the
  original's payload;
- **redirects** captured in the WARC (a 3xx response with ``Location``) are followed to the
  Location's capture, as a browser replaying the page would;
- hops (revisit + redirect) are bounded by ``max_hops``; a redirect back to a URL already
  visited is a loop.

``decide`` then takes, for one image, the found candidates in candidate order (the first is
used, the others are fallbacks when its bytes turn out not to be an image) and names how it
was found (``FOUND_KINDS``) or why not (``NOT_FOUND_KINDS``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from webweave.filters.archive_urls import MATCH_KINDS, canonical_url, match_kind, surt_key

# How an image was found; one per image, the first that applies in this order of precedence:
# a redirect hop, a revisit hop, a candidate other than the preferred one, else the URL match.
VIA_REDIRECT, VIA_REVISIT, OTHER_CANDIDATE = "via_redirect", "via_revisit", "other_candidate"
FOUND_KINDS = (*MATCH_KINDS, OTHER_CANDIDATE, VIA_REVISIT, VIA_REDIRECT)
# Not found: no candidate captured at all, or captured without an image (404, HTML, ...).
NOT_CAPTURED, CAPTURED_WITHOUT_IMAGE = "not_captured", "captured_without_image"
NOT_FOUND_KINDS = (NOT_CAPTURED, CAPTURED_WITHOUT_IMAGE)

# Media types that are never image bytes (a soft-404 page, an error document).
NON_IMAGE_TYPES = ("text/", "application/json", "application/javascript", "application/xml",
                   "application/xhtml+xml", "application/pdf")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Capture:
    """One response or revisit record of an archive WARC: its index entry (no body)."""

    uri: str
    date: str  # WARC-Date as written, "" when absent
    warc: str  # the WARC's stable name (provenance, stats)
    location: str  # where the WARC is read from (path or URL)
    offset: int  # of the record (its gzip member) in the file as stored
    ordinal: int  # records before it at the same offset (several records in one gzip member)
    record_type: str  # response | revisit
    status: int
    payload_digest: str | None = None
    refers_to_uri: str | None = None
    refers_to_date: str | None = None
    redirect_to: str | None = None  # absolute Location of a 3xx response
    declared_non_image: bool = False  # Content-Type is text, JSON, XML or PDF

    @property
    def is_image_response(self) -> bool:
        return (
            self.record_type == "response"
            and 200 <= self.status < 300
            and not self.declared_non_image
        )


@dataclass(frozen=True, slots=True)
class Lookup:
    """One candidate of one image on its way through the index (one key per step)."""

    image_url: str  # the image (its preferred URL): what the result is keyed by
    candidate: int  # index in the image's candidates
    url: str  # the URL looked up at this step
    match: str | None = None  # how the candidate's own URL matched (set at the first step)
    via: tuple[str, ...] = ()  # "revisit" / "redirect" hops taken so far
    seen: tuple[str, ...] = ()  # canonical URLs visited (redirect loop guard)
    revisit_of: Capture | None = None  # set while looking for a revisit's original
    start_url: str = ""  # the candidate's own URL
    hops: int = 0  # hops taken, over every capture tried (the budget)
    # The other captures of the candidate's own key, best first, with their match kinds:
    # tried in turn when the chosen one leads nowhere.
    alternatives: tuple[tuple[Capture, str], ...] = ()
    first_failure: str | None = None  # the reason the first capture tried led nowhere

    def __post_init__(self) -> None:
        if not self.start_url:
            object.__setattr__(self, "start_url", self.url)

    @property
    def key(self) -> str:
        return surt_key(self.url)


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where one candidate of an image ended: a capture with the payload, or a reason."""

    image_url: str
    candidate: int
    capture: Capture | None  # the record whose payload holds the bytes; None when missing
    reason: str | None = None  # why not found: not_captured, warc_http_404, ...
    match: str | None = None
    via: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        return self.capture is not None

    @property
    def kind(self) -> str:
        """The found kind of the module docstring's precedence (found resolutions only)."""
        if "redirect" in self.via:
            return VIA_REDIRECT
        if "revisit" in self.via:
            return VIA_REVISIT
        if self.candidate > 0:
            return OTHER_CANDIDATE
        return self.match or NOT_CAPTURED


@dataclass(frozen=True, slots=True)
class ImageLookup:
    """The archive's answer for one image: found candidates (best first) or why none."""

    image_url: str
    found: tuple[Resolution, ...]  # in candidate order; found[0] is used, the rest fall back
    kind: str  # a FOUND_KINDS value for found[0], else a NOT_FOUND_KINDS value
    reason: str | None = None  # when not found: not_in_warc, warc_http_404, ...


def first_lookups(image_url: str, candidates: list[str] | tuple[str, ...]) -> list[Lookup]:
    """One lookup per candidate URL of the image."""
    return [Lookup(image_url, index, url, start_url=url) for index, url in enumerate(candidates)]


def step(lookup: Lookup, captures: list[Capture], max_hops: int) -> Resolution | Lookup:
    """One index group (the captures sharing ``lookup.key``) → an end, or the next lookup."""
    if lookup.revisit_of is not None:
        original = _revisit_original(lookup, captures)
        if original is None:
            return _missing(lookup, "warc_revisit_original_missing", max_hops)
        return _evaluate(lookup, original, max_hops)
    ranked = _ranked_captures(lookup.url, captures)
    if not ranked:
        reason = NOT_CAPTURED if not lookup.via else "warc_redirect_not_captured"
        return _missing(lookup, reason, max_hops)
    (capture, kind), others = ranked[0], ranked[1:]
    if lookup.match is None:  # the candidate's own key: keep the others to fall back on
        lookup = replace(lookup, match=kind, alternatives=tuple(others))
    return _evaluate(lookup, capture, max_hops)


def _evaluate(lookup: Lookup, capture: Capture, max_hops: int) -> Resolution | Lookup:
    """What one chosen capture means: the payload, a hop (revisit, redirect) or a failure."""
    if capture.is_image_response:
        return Resolution(lookup.image_url, lookup.candidate, capture, None, lookup.match,
                          lookup.via)  # fmt: skip
    if capture.record_type == "response" and 200 <= capture.status < 300:
        return _missing(lookup, "warc_non_image_type", max_hops)
    if capture.record_type == "revisit":
        return _hop(lookup, capture.refers_to_uri or capture.uri, "revisit", max_hops, capture)
    if 300 <= capture.status < 400 and capture.redirect_to:
        return _hop(lookup, capture.redirect_to, "redirect", max_hops, None)
    return _missing(lookup, f"warc_http_{capture.status}", max_hops)


def _hop(
    lookup: Lookup, url: str, how: str, max_hops: int, revisit: Capture | None
) -> Resolution | Lookup:
    if lookup.hops >= max_hops:
        return _missing(lookup, "warc_too_many_hops", max_hops)
    here = canonical_url(lookup.url)
    target = canonical_url(url)
    if how == "redirect" and (target == here or target in lookup.seen):
        return _missing(lookup, "warc_redirect_loop", max_hops)
    return replace(
        lookup,
        url=url,
        via=(*lookup.via, how),
        seen=(*lookup.seen, here),
        revisit_of=revisit,
        hops=lookup.hops + 1,
    )


def _missing(lookup: Lookup, reason: str, max_hops: int) -> Resolution | Lookup:
    """The end of this capture's path: the next alternative capture, else the first reason."""
    first = lookup.first_failure or reason
    if lookup.alternatives:
        (capture, kind), rest = lookup.alternatives[0], lookup.alternatives[1:]
        retry = replace(
            lookup,
            url=lookup.start_url,
            match=kind,
            via=(),
            seen=(),
            revisit_of=None,
            alternatives=rest,
            first_failure=first,
        )
        return _evaluate(retry, capture, max_hops)
    return Resolution(lookup.image_url, lookup.candidate, None, first, lookup.match, lookup.via)


# What kind of capture serves an image best (lower first); 3 cannot lead to an image.
def _usefulness(capture: Capture) -> int:
    if capture.is_image_response:
        return 0
    if capture.record_type == "revisit":
        return 1
    if 300 <= capture.status < 400 and capture.redirect_to:
        return 2
    return 3


def _ranked_captures(url: str, captures: list[Capture]) -> list[tuple[Capture, str]]:
    """The captures matching ``url``, best first (module docstring), with their match kinds."""
    ranked = []
    for capture in captures:
        kind = match_kind(url, capture.uri)
        if kind is not None:
            usefulness = _usefulness(capture)
            order = (usefulness == 3, MATCH_KINDS.index(kind), usefulness, *_position(capture))
            ranked.append((order, capture, kind))
    ranked.sort(key=lambda entry: entry[0])
    return [(capture, kind) for _, capture, kind in ranked]


def _position(capture: Capture) -> tuple:
    return (_seconds(capture.date), capture.warc, capture.offset, capture.ordinal)


def _revisit_original(lookup: Lookup, captures: list[Capture]) -> Capture | None:
    revisit = lookup.revisit_of
    assert revisit is not None
    target = _seconds(revisit.refers_to_date or revisit.date)
    ranked = []
    for capture in captures:
        if capture.record_type == "revisit" or match_kind(lookup.url, capture.uri) is None:
            continue
        if revisit.payload_digest and capture.payload_digest != revisit.payload_digest:
            continue  # pywb's digest filter: an original carries the revisit's payload digest
        distance = abs(_seconds(capture.date) - target)
        ranked.append(((distance, *_position(capture)), capture))
    return min(ranked, key=lambda entry: entry[0])[1] if ranked else None


def _seconds(date: str | None) -> float:
    """Seconds since the epoch of a WARC-Date; unreadable or absent dates sort last."""
    if not date:
        return float("inf")
    try:
        return datetime.fromisoformat(date.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return float("inf")


def decide(image_url: str, resolutions: list[Resolution]) -> ImageLookup:
    """One image's answer from the resolutions of its candidates (any order)."""
    ordered = sorted(resolutions, key=lambda r: r.candidate)
    found = tuple(r for r in ordered if r.found)
    if found:
        return ImageLookup(image_url, found, found[0].kind)
    captured = [r for r in ordered if r.reason != NOT_CAPTURED]
    if not captured:
        return ImageLookup(image_url, (), NOT_CAPTURED, "not_in_warc")
    return ImageLookup(image_url, (), CAPTURED_WITHOUT_IMAGE, captured[0].reason)


def declared_non_image(content_type: str | None) -> bool:
    """True when a Content-Type says the body is not an image (text, JSON, XML, PDF)."""
    return (content_type or "").strip().lower().startswith(NON_IMAGE_TYPES)

"""Where an ``<img>`` really points: src, srcset, ``<picture>`` sources and lazy-loading attributes.

OBELICS took the first single-valued attribute, so a multi-candidate ``srcset`` was ignored, and
resolved relative URLs against the domain root with https forced. Here every candidate is kept,
in one order of preference (``ordered_sources``), and the first is the document's image URL.
URLs resolve with ``urljoin`` against ``<base href>`` (itself resolved against the page URL), so
``//host/x`` keeps the page's scheme.

Order of preference (issue #17; the first entry is what ``images[i]`` holds):

1. when ``src`` is missing, empty, a ``data:`` URI or a placeholder file name (``blank.gif``,
   ``spacer.png``, ...): the lazy-loading attributes, in ``LAZY_ATTRIBUTES`` order (a page
   script would swap them in); a srcset-style one contributes its candidates, largest first;
2. the ``srcset`` candidates of the image and of the ``<source>`` elements of an enclosing
   ``<picture>``, largest first (width descriptor, then density; a bare candidate is 1x;
   ties keep document order, the image's own srcset before the picture's);
3. ``src``;
4. when ``src`` is a real image: the lazy-loading attributes, as in 1.

Why: the largest srcset candidate is the best image for a network fetch, but crawlers usually
captured ``src``, so an archive lookup or a failed fetch needs the others (``image_candidates``
keeps them, resolved, without ``data:`` URIs, unresolvable values or repeated URLs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from webweave.filters.document import ImageCandidate

# Lazy-loading attributes, most specific first; a srcset-style one is parsed as a srcset.
LAZY_ATTRIBUTES = (
    "data-srcset",
    "data-lazy-srcset",
    "data-src",
    "data-lazy-src",
    "data-original",
    "data-lazy",
    "data-lazyload",
    "data-src-fg",
    "data-scroll-image",
    "data-lateloadsrc",
    "data-img-src",
    "data-gt-lazy-src",
    "data-hi-res-src",
    "data-full-src",
    "data-actualsrc",
    "src2",
)
# File names that lazy loaders put in src until the real image loads.
_PLACEHOLDER_NAME = re.compile(
    r"(?:blank|spacer|pixel|transparent|placeholder|lazy|loader|loading|empty|grey|gray|1x1|dummy)"
    r"[^/]*\.(?:gif|png|svg)$",
    re.IGNORECASE,
)
_SRCSET_URL = re.compile(r"[\s,]*(\S*)")  # separators, then a URL up to the next whitespace
_SIZE = re.compile(r"\s*(\d+)(?:\.\d*)?\s*(?:px)?\s*$", re.IGNORECASE)
_WEB_SCHEMES = ("http", "https")


@dataclass(frozen=True, slots=True)
class ImageSource:
    """One source value as written (one candidate for a srcset), its attribute and descriptor."""

    value: str
    attribute: str
    descriptor: str = ""  # the srcset descriptor as written ("480w", "2x"), "" for others


def base_url(base_href: str | None, page_url: str) -> str:
    """The URL relative image sources resolve against: ``<base href>`` resolved on the page URL."""
    if base_href and base_href.strip():
        try:
            return urljoin(page_url, base_href.strip())
        except ValueError:
            return page_url
    return page_url


def choose_source(attrs: dict, picture_srcsets: list[str] | tuple = ()) -> ImageSource | None:
    """The preferred source of one ``<img>``: the first of ``ordered_sources``.

    ``picture_srcsets`` are the ``srcset`` values of the ``<source>`` elements of an enclosing
    ``<picture>``; they compete with the image's own ``srcset``.
    """
    sources = ordered_sources(attrs, picture_srcsets)
    return sources[0] if sources else None


def ordered_sources(attrs: dict, picture_srcsets: list[str] | tuple = ()) -> list[ImageSource]:
    """Every source value of one ``<img>`` in the order of preference of the module docstring."""
    src = (attrs.get("src") or "").strip()
    lazy = _lazy_sources(attrs)
    srcset = _srcset_sources(attrs.get("srcset"), picture_srcsets)
    if not src or is_placeholder(src):
        return lazy + srcset + ([ImageSource(src, "src")] if src else [])
    return srcset + [ImageSource(src, "src")] + lazy


def _lazy_sources(attrs: dict) -> list[ImageSource]:
    """Lazy-loading attribute values (``data:`` values skipped), srcset-style ones expanded."""
    sources = []
    for name in LAZY_ATTRIBUTES:
        value = attrs.get(name)
        if not value or not value.strip():
            continue
        if "srcset" in name:
            sources += _by_size([ImageSource(u, name, d) for u, d in parse_srcset(value)])
        elif not value.strip().startswith("data:"):
            sources.append(ImageSource(value.strip(), name))
    return sources


def _srcset_sources(srcset: str | None, picture_srcsets: list[str] | tuple) -> list[ImageSource]:
    candidates = [
        ImageSource(url, "srcset", descriptor)
        for value in (srcset, *picture_srcsets)
        for url, descriptor in parse_srcset(value or "")
    ]
    return _by_size(candidates)


def _by_size(sources: list[ImageSource]) -> list[ImageSource]:
    """Largest first; ``sorted`` is stable, so equal sizes keep document order."""
    return sorted(sources, key=lambda s: _candidate_size(s.descriptor), reverse=True)


def image_candidates(
    attrs: dict, picture_srcsets: list[str] | tuple, base: str
) -> list[ImageCandidate]:
    """The resolved candidates of one ``<img>``: ``ordered_sources`` without ``data:`` URIs,
    values that do not resolve to an http(s) URL, and URLs already listed."""
    candidates, seen = [], set()
    for source in ordered_sources(attrs, picture_srcsets):
        if source.value.startswith("data:"):
            continue
        url, _ = resolve(source.value, base)
        if url is None or url in seen:
            continue
        seen.add(url)
        width, density = _descriptor_values(source.descriptor)
        candidates.append(ImageCandidate(url, source.value, source.attribute, width, density))
    return candidates


def is_placeholder(src: str) -> bool:
    """True for a ``data:`` URI or a tiny placeholder gif that a lazy loader swaps out."""
    return src.startswith("data:") or _PLACEHOLDER_NAME.search(src.split("?", 1)[0]) is not None


def largest_candidate(*srcsets: str | None) -> str | None:
    """The URL of the largest candidate over one or more srcset values (``w`` beats ``x``)."""
    best_url, best_key = None, (-1.0, -1.0)
    for srcset in srcsets:
        for url, descriptor in parse_srcset(srcset or ""):
            key = _candidate_size(descriptor)
            if key > best_key:
                best_url, best_key = url, key
    return best_url


def parse_srcset(srcset: str) -> list[tuple[str, str]]:
    """(url, descriptor) pairs, following the HTML spec's split: URLs may contain commas."""
    candidates = []
    position, length = 0, len(srcset)
    while position < length:
        match = _SRCSET_URL.match(srcset, position)  # always matches, perhaps empty
        url, position = match.group(1), match.end()
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            end = srcset.find(",", position)
            end = length if end < 0 else end
            descriptor = srcset[position:end].strip()
            position = end + 1
        if url:
            candidates.append((url, descriptor))
    return candidates


def _candidate_size(descriptor: str) -> tuple[float, float]:
    """Sort key: (width in w, density in x); a bare candidate is 1x."""
    width, density = 0.0, 1.0
    for token in descriptor.lower().split():
        try:
            if token.endswith("w"):
                width = float(token[:-1])
            elif token.endswith("x"):
                density = float(token[:-1])
        except ValueError:
            continue
    return width, density


def _descriptor_values(descriptor: str) -> tuple[int | None, float | None]:
    """(width from ``NNNw``, density from ``N.Nx``) as written; None where absent or unreadable."""
    width = density = None
    for token in descriptor.lower().split():
        try:
            if token.endswith("w"):
                width = int(float(token[:-1]))
            elif token.endswith("x"):
                density = float(token[:-1])
        except ValueError:
            continue
    return width, density


def resolve(value: str, base: str) -> tuple[str | None, str | None]:
    """(absolute URL, None) or (None, drop reason): ``invalid_url`` / ``unsupported_scheme``."""
    value = value.strip()
    if any(ch in value for ch in "\n\r\t") or " " in value.strip():
        value = value.replace("\n", "").replace("\r", "").replace("\t", "").replace(" ", "%20")
    try:
        url = urljoin(base, value)
        parts = urlsplit(url)
    except ValueError:
        return None, "invalid_url"
    if parts.scheme.lower() not in _WEB_SCHEMES:
        return None, "invalid_url" if not parts.scheme else "unsupported_scheme"
    if not parts.hostname:
        return None, "invalid_url"
    return url, None


def parse_size(value: str | None) -> int | None:
    """Lenient int of a width/height attribute: ``"300px"`` → 300, ``"100%"``/``"auto"`` → None."""
    if not value:
        return None
    match = _SIZE.match(value)
    return int(match.group(1)) if match else None

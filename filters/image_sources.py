"""Where an ``<img>`` really points: src, srcset, ``<picture>`` sources and lazy-loading attributes.

OBELICS took the first single-valued attribute, so a multi-candidate ``srcset`` was ignored, and
resolved relative URLs against the domain root with https forced. Here the largest ``srcset``
candidate wins, lazy-loading attributes win over placeholder ``src`` values, and URLs resolve
with ``urljoin`` against ``<base href>`` (itself resolved against the page URL), so ``//host/x``
keeps the page's scheme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

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
SOURCE_ATTRIBUTES = ("src", "srcset", *LAZY_ATTRIBUTES)
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
    """The chosen value (as written, one candidate for a srcset) and the attribute it came from."""

    value: str
    attribute: str


def base_url(base_href: str | None, page_url: str) -> str:
    """The URL relative image sources resolve against: ``<base href>`` resolved on the page URL."""
    if base_href and base_href.strip():
        try:
            return urljoin(page_url, base_href.strip())
        except ValueError:
            return page_url
    return page_url


def choose_source(attrs: dict, picture_srcsets: list[str] | tuple = ()) -> ImageSource | None:
    """The best source of one ``<img>``: lazy attribute over placeholder, largest srcset over src.

    ``picture_srcsets`` are the ``srcset`` values of the ``<source>`` elements of an enclosing
    ``<picture>``; they compete with the image's own ``srcset``.
    """
    src = (attrs.get("src") or "").strip()
    if not src or is_placeholder(src):
        for name in LAZY_ATTRIBUTES:
            value = attrs.get(name)
            if value and value.strip():
                if "srcset" in name:
                    best = largest_candidate(value)
                    if best:
                        return ImageSource(best, name)
                elif not value.strip().startswith("data:"):
                    return ImageSource(value.strip(), name)
    srcset = attrs.get("srcset")
    best = largest_candidate(srcset, *picture_srcsets) if srcset or picture_srcsets else None
    if best:
        return ImageSource(best, "srcset")
    if src:
        return ImageSource(src, "src")
    return None


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

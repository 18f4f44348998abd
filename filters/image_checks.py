"""Image stages of the images job: URL words, fetch outcome, safe decode, OBELICS filters, pHash.

Each stage follows ``filters/decision.py``: ``item -> item | Drop(reason)``. The item is an
``ImageItem`` (one distinct image URL). Thresholds default to OBELICS
(``config_filter_web_documents.yaml``, reference §3): formats jpg/jpeg/png/webp, original
sides 150..20,000 px, aspect ratio w/h within [1/2, 2]; URL words from OBELICS stage 4
(``04_merge_web_docs_with_images.py``).

Decode safety (why the order is header → size cap → full decode):

* ``PIL.Image.open`` only parses the header, so the declared size is known before any pixel
  is decoded; an image declaring more than ``max_pixels`` is refused as
  ``decompression_bomb`` without decoding. Pillow's own ``DecompressionBombError`` (raised by
  ``open`` above twice its global limit) maps to the same reason; the global
  ``Image.MAX_IMAGE_PIXELS`` is never changed.
* The full decode then proves the bytes are a whole image (``truncated_image`` otherwise). JPEGs
  decode through ``draft`` at a reduced DCT scale: every entropy-coded byte is still read, so
  truncation is still detected, at a fraction of the cost; the reduced image feeds the pHash.
* The format is sniffed from the bytes (magic numbers), never taken from Content-Type or the
  URL (OBELICS lesson 13: keep original bytes and the real format).

GIF and SVG (issue #17) are counted apart from other formats: ``unsupported_format_gif`` and
``unsupported_format_svg``. An SVG (an XML document whose root element is ``<svg>``) is
recognised, hashed and filtered, never rasterised (no SVG renderer is a dependency). A GIF is
filtered as OBELICS does unless ``gif_first_frame`` is on: then its first frame (animated or
not) is decoded and re-encoded as PNG, the stored bytes are that PNG (``converted_from`` says
``gif``; sizes, hashes and format are the PNG's), for old-web archives where most images are
GIFs.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, UnidentifiedImageError

from webweave.filters.decision import Drop

# OBELICS stage 4 URL words; an image whose URL contains one is never fetched.
OBELICS_URL_WORDS = ("logo", "button", "icon", "plugin", "widget", "porn", "xxx", "sex")
OBELICS_FORMATS = ("jpg", "jpeg", "png", "webp")
PHASH_SIZE = 32  # pHash input side (Zauner 2010 / imagehash): 32x32 grey, DCT, top-left 8x8
PHASH_BITS = 8


@dataclass
class ImageItem:
    """One distinct image URL on its way through the image stages."""

    url: str  # the image as the document names it (its preferred candidate)
    source: str = "network"  # network | warc
    fetched_url: str | None = None  # the URL whose bytes these are (a candidate, a capture)
    candidate_index: int | None = None  # which of the image's candidates supplied them
    warc_lookup: str | None = None  # archive_lookup FOUND_KINDS / NOT_FOUND_KINDS value
    warc_filename: str | None = None  # the archive record that held the payload
    warc_record_offset: int | None = None
    converted_from: str | None = None  # "gif" when the bytes are a GIF's first frame as PNG
    data: bytes | None = None
    fetch_error: str | None = None  # a reason (snake_case) when the fetch failed
    fetch_detail: str = ""
    fetch_refused: bool = False  # the address policy refused a hop
    width: int | None = None
    height: int | None = None
    format: str | None = None
    sha256: str | None = None
    phash: str | None = None
    extra: dict = field(default_factory=dict)


class UrlWordFilter:
    """Stage: drop URLs containing an OBELICS ban word (logo, icon, button, ...)."""

    name = "url_words"

    def __init__(self, words: tuple[str, ...] | list[str] = OBELICS_URL_WORDS):
        self.words = tuple(w.lower() for w in words)
        self._pattern = re.compile("|".join(re.escape(w) for w in self.words)) if words else None

    def __call__(self, item: ImageItem) -> ImageItem | Drop:
        if self._pattern is not None:
            match = self._pattern.search(item.url.lower())
            if match:
                return Drop("url_word", {"word": match.group(0)})
        return item


class FetchOutcome:
    """Stage: turn the fetcher's per-URL result into pass (bytes) or a counted drop."""

    name = "fetch"

    def __call__(self, item: ImageItem) -> ImageItem | Drop:
        if item.fetch_error is not None:
            return Drop(item.fetch_error, {"detail": item.fetch_detail})
        if item.data is None:
            return Drop("no_bytes")
        return item


# Before an SVG's root element: a BOM, an XML declaration, comments, a doctype, whitespace.
_SVG_PROLOG = re.compile(
    rb"\A(?:\xef\xbb\xbf)?(?:\s+|<\?xml[^>]*>|<!--.*?-->|<!doctype[^>]*>)*", re.I | re.S
)
_SVG_ROOT = re.compile(rb"<svg[\s>/]", re.I)


def is_svg(data: bytes) -> bool:
    """True when the first element of the document is ``<svg>`` (an HTML page is not)."""
    head = data[:4096]
    prolog = _SVG_PROLOG.match(head)
    return _SVG_ROOT.match(head, prolog.end() if prolog else 0) is not None


def sniff_format(data: bytes) -> str | None:
    """The image format named by the magic bytes, lower case, or None."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM":
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[4:12] in (b"ftypavif", b"ftypheic", b"ftypmif1"):
        return "avif" if head[8:12] == b"avif" else "heif"
    if head[:4] == b"\x00\x00\x01\x00":
        return "ico"
    if is_svg(data):
        return "svg"
    return None


class ImageDecoder:
    """Stage: header check, decompression-bomb cap, full (draft) decode, hashes."""

    name = "decode"

    def __init__(
        self,
        max_pixels: int = 89_478_485,
        max_bytes: int = 16 * 1024 * 1024,
        gif_first_frame: bool = False,
    ):
        # Default cap = Pillow's own MAX_IMAGE_PIXELS (about 0.25 GB of 24-bit pixels).
        self.max_pixels = max_pixels
        self.max_bytes = max_bytes
        self.gif_first_frame = gif_first_frame

    def __call__(self, item: ImageItem) -> ImageItem | Drop:
        data = item.data or b""
        if len(data) > self.max_bytes:
            return Drop("too_many_bytes", {"bytes": len(data)})
        sniffed = sniff_format(data)
        if sniffed == "svg":  # recognised and hashed, never rasterised (module docstring)
            item.format, item.sha256 = "svg", hashlib.sha256(data).hexdigest()
            return item
        if sniffed is None and not _looks_like_image(data):
            return Drop("not_an_image", {"head": data[:16].hex()})
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError as error:
            return Drop("decompression_bomb", {"message": str(error)[:200]})
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
            return Drop("not_an_image", {"head": data[:16].hex()})
        with image:
            width, height = image.size
            if width * height > self.max_pixels:
                return Drop("decompression_bomb", {"width": width, "height": height})
            fmt = (image.format or sniffed or "unknown").lower()
            try:
                if fmt == "gif" and self.gif_first_frame:
                    data, frame = _first_frame_png(image)
                    item.data, item.converted_from, fmt = data, "gif", "png"
                    width, height = frame.size
                    small = frame.convert("L").resize((PHASH_SIZE, PHASH_SIZE))
                else:
                    small = _decode_small(image)
            except Image.DecompressionBombError as error:
                return Drop("decompression_bomb", {"message": str(error)[:200]})
            except (OSError, ValueError, SyntaxError, EOFError) as error:
                return Drop("truncated_image", {"message": str(error)[:200]})
        item.width, item.height, item.format = width, height, fmt
        item.sha256 = hashlib.sha256(data).hexdigest()
        item.phash = phash(small)
        return item


def _looks_like_image(data: bytes) -> bool:
    """Formats without a fixed magic that Pillow may still know (rare); HTML never is."""
    head = data[:512].lstrip().lower()
    return not (head.startswith(b"<") or head.startswith(b"{") or not head)


def _decode_small(image: Image.Image) -> Image.Image:
    """Decode every byte of ``image``; JPEGs at a reduced DCT scale (see module docstring)."""
    if image.format == "JPEG":
        image.draft("L", (PHASH_SIZE * 2, PHASH_SIZE * 2))
    image.load()
    return image.convert("L").resize((PHASH_SIZE, PHASH_SIZE), Image.Resampling.LANCZOS)


def _first_frame_png(image: Image.Image) -> tuple[bytes, Image.Image]:
    """The first frame of a GIF, fully decoded, as PNG bytes (RGBA when it has transparency)."""
    image.seek(0)
    transparent = "transparency" in image.info or image.mode in ("RGBA", "LA", "PA")
    frame = image.convert("RGBA" if transparent else "RGB")
    buffer = io.BytesIO()
    frame.save(buffer, "PNG")
    return buffer.getvalue(), frame


def _dct_matrix(size: int) -> np.ndarray:
    """Orthonormal DCT-II matrix; numpy only, so no scipy/imagehash dependency."""
    k = np.arange(size)[:, None]
    n = np.arange(size)[None, :]
    matrix = np.cos(np.pi * (2 * n + 1) * k / (2 * size)) * np.sqrt(2 / size)
    matrix[0] /= np.sqrt(2)
    return matrix


_DCT = _dct_matrix(PHASH_SIZE)


def phash(grey: Image.Image) -> str:
    """64-bit perceptual hash as 16 hex digits (DCT of 32x32 grey; bits = coefficient > median).

    Same construction as ``imagehash.phash`` (low 8x8 frequencies, median threshold), so near
    duplicates (re-encoded, resized) share most bits and exact re-encodes usually all of them.
    """
    pixels = np.asarray(grey.convert("L").resize((PHASH_SIZE, PHASH_SIZE)), dtype=np.float64)
    coefficients = _DCT @ pixels @ _DCT.T
    low = coefficients[:PHASH_BITS, :PHASH_BITS]
    bits = (low > np.median(low)).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def hamming(left: str, right: str) -> int:
    """Bits that differ between two pHash hex strings."""
    return bin(int(left, 16) ^ int(right, 16)).count("1")


class ImageFilter:
    """Stage: OBELICS node filters in OBELICS order: format → size → aspect ratio.

    A format outside ``formats`` is ``unsupported_format``, except GIF and SVG, counted apart
    as ``unsupported_format_gif`` / ``unsupported_format_svg`` (issue #17).
    """

    name = "image_filters"

    def __init__(
        self,
        formats: tuple[str, ...] | list[str] = OBELICS_FORMATS,
        min_side: int = 150,
        max_side: int = 20_000,
        max_aspect_ratio: float = 2.0,
    ):
        self.formats = frozenset(f.lower() for f in formats)
        self.min_side = min_side
        self.max_side = max_side
        self.max_aspect_ratio = max_aspect_ratio

    def __call__(self, item: ImageItem) -> ImageItem | Drop:
        if item.format not in self.formats:
            reason = f"unsupported_format_{item.format}" if item.format in ("gif", "svg") else None
            return Drop(reason or "unsupported_format", {"format": item.format})
        width, height = item.width or 0, item.height or 0
        if min(width, height) < self.min_side:
            return Drop("too_small", {"width": width, "height": height})
        if max(width, height) > self.max_side:
            return Drop("too_large", {"width": width, "height": height})
        ratio = width / height
        if ratio > self.max_aspect_ratio or ratio < 1 / self.max_aspect_ratio:
            return Drop("bad_aspect_ratio", {"ratio": round(ratio, 3)})
        return item

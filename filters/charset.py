"""Bytes of an HTML page to text: BOM, HTTP charset, ``<meta>`` prescan, detector, default.

Order (``DecodedHtml.source`` names the step that decided):

1. ``bom``: a UTF-8, UTF-32 or UTF-16 byte-order mark wins over any declaration.
2. ``http_header``: ``charset=`` of the HTTP Content-Type, if it decodes the body strictly.
3. ``meta``: ``<meta charset>`` or ``<meta http-equiv=Content-Type content=...charset=>``
   in the first 4 KiB, if it decodes the body strictly (WHATWG: a meta UTF-16 means UTF-8).
4. ``detected``: ``charset-normalizer`` on a 32 KiB prefix, only when the declared charsets
   (or UTF-8, when nothing is declared) fail to decode strictly, e.g. a page declared UTF-8
   but written in cp1251.
5. ``default``: UTF-8 with replacement characters.

A declared UTF-8 body with only a few bad sequences (at most one per 1000 bytes) is kept as
UTF-8 with replacement rather than sent to the detector: stray bytes in a UTF-8 page are far
more common than a mislabelled page, and the detector would turn the whole page into
mojibake. Labels go through WHATWG aliases (``iso-8859-1``, ``latin1`` and ``ascii`` mean
windows-1252; ``x-sjis`` means Shift_JIS; GBK means GB18030); unknown or non-text labels are
ignored. ``charset`` is the Python codec name used (``utf-8``, ``cp1252``, ``shift_jis``...).
windows-1252 decodes its five unassigned bytes to C1 controls, as WHATWG does.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

PRESCAN_BYTES = 4096
DETECT_BYTES = 32768
_META = re.compile(rb"<meta\b[^>]*?charset\s*=\s*[\"']?\s*([A-Za-z0-9_:.+\-]+)", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([A-Za-z0-9_:.+\-]+)", re.IGNORECASE)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_WINDOWS_1252 = (
    "iso-8859-1 iso8859-1 iso_8859-1 iso88591 latin1 latin-1 l1 ascii us-ascii iso-ir-100 "
    "cp819 ibm819 csisolatin1 iso_8859-1:1987 ansi_x3.4-1968 windows-1252 x-cp1252 cp1252"
)
_ALIASES = {label: "cp1252" for label in _WINDOWS_1252.split()}
_ALIASES.update(
    {
        "x-sjis": "shift_jis",
        "shift-jis": "shift_jis",
        "sjis": "shift_jis",
        "ms_kanji": "shift_jis",
        "csshiftjis": "shift_jis",
        "windows-31j": "cp932",
        "gb2312": "gb18030",
        "gbk": "gb18030",
        "x-gbk": "gb18030",
        "iso-8859-9": "cp1254",
        "latin5": "cp1254",
        "iso-8859-11": "cp874",
        "tis-620": "cp874",
        "euc-kr": "cp949",
        "ks_c_5601-1987": "cp949",
        "big5": "big5hkscs",
        "unicode-1-1-utf-8": "utf-8",
        "utf8": "utf-8",
    }
)


def _c1_controls(error: UnicodeDecodeError) -> tuple[str, int]:
    """windows-1252's five unassigned bytes decode to the C1 control of the same value."""
    return chr(error.object[error.start]), error.start + 1


codecs.register_error("webweave_c1", _c1_controls)


@dataclass(frozen=True, slots=True)
class DecodedHtml:
    text: str
    charset: str
    source: str


def normalize_label(label: str | None) -> str | None:
    """Python codec name for a charset label (WHATWG aliases), None if unknown or not text."""
    if not label:
        return None
    key = label.strip().strip("\"'").lower()
    key = _ALIASES.get(key, key)
    try:
        info = codecs.lookup(key)
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True):
        return None  # base64, rot13, zip...: codecs, but not charsets
    return info.name


def _strict(body: bytes, codec: str) -> str | None:
    try:
        if codec == "cp1252":
            return body.decode(codec, "webweave_c1")
        return body.decode(codec)
    except UnicodeDecodeError:
        return None


def _mostly_utf8(body: bytes) -> str | None:
    """UTF-8 with replacements when bad sequences are rare, else None."""
    text = body.decode("utf-8", "replace")
    if text.count("\ufffd") <= max(1, len(body) // 1000):
        return text
    return None


def header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


def meta_charset(body: bytes) -> str | None:
    """Charset label of the first ``<meta>`` that declares one in the first 4 KiB."""
    head = body[:PRESCAN_BYTES]
    if b"charset" not in head and b"CHARSET" not in head and b"Charset" not in head:
        return None
    match = _META.search(head)
    if match is None:
        return None
    label = match.group(1).decode("ascii")
    return "utf-8" if label.lower().startswith("utf-16") else label


def _from_bom(body: bytes) -> DecodedHtml | None:
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return DecodedHtml(body[len(bom) :].decode(codec, "replace"), codec, "bom")
    return None


def utf16_without_bom(body: bytes, sample: int = 512) -> str | None:
    """``utf-16-le``/``utf-16-be`` when the NUL-byte pattern says so, else None.

    HTML is mostly ASCII markup, so UTF-16 without a BOM shows a NUL in every other byte: at
    odd offsets for little-endian, at even offsets for big-endian. No 8-bit charset produces
    that pattern, and binary data does not keep it up over hundreds of bytes.
    """
    head = body[: sample - sample % 2]
    if len(head) < 16:
        return None
    pairs = len(head) // 2
    even_nuls = head[0::2].count(0)
    odd_nuls = head[1::2].count(0)
    if odd_nuls >= 0.7 * pairs and even_nuls <= 0.05 * pairs:
        return "utf-16-le"
    if even_nuls >= 0.7 * pairs and odd_nuls <= 0.05 * pairs:
        return "utf-16-be"
    return None


def _detect(body: bytes) -> DecodedHtml | None:
    best = from_bytes(body[:DETECT_BYTES]).best()
    codec = normalize_label(best.encoding) if best is not None else None
    if codec is None:
        return None
    errors = "webweave_c1" if codec == "cp1252" else "replace"
    return DecodedHtml(body.decode(codec, errors), codec, "detected")


def decode_html(body: bytes, content_type: str | None) -> DecodedHtml:
    """Decode an HTML body (see the module docstring for the order of evidence)."""
    bom = _from_bom(body)
    if bom is not None:
        return bom
    utf16 = utf16_without_bom(body)
    if utf16 is not None:  # declarations cannot even be read as ASCII in this case
        return DecodedHtml(body.decode(utf16, "replace"), utf16, "detected")
    declared = (
        ("http_header", normalize_label(header_charset(content_type))),
        ("meta", normalize_label(meta_charset(body))),
    )
    candidates = [(source, codec) for source, codec in declared if codec is not None]
    if not candidates:
        candidates = [("default", "utf-8")]
    for source, codec in candidates:
        text = _strict(body, codec)
        if text is not None:
            return DecodedHtml(text, codec, source)
    for source, codec in candidates:
        if codec == "utf-8":
            text = _mostly_utf8(body)
            if text is not None:
                return DecodedHtml(text, codec, source)
    detected = _detect(body)
    if detected is not None:
        return detected
    return DecodedHtml(body.decode("utf-8", "replace"), "utf-8", "default")

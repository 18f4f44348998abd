"""OBELICS word splitting and character classes, computed once per text and shared by filters.

OBELICS (``web_document_filtering.py``, config ``config_filter_web_documents.yaml``):

- whitespace is standardised first (a dozen Unicode spaces become " "), non-printing characters
  are kept (removing them would strip "\\n");
- *words*: split on space, newline and tab, lower-cased, ``SPECIAL_CHARACTERS`` stripped from both
  ends, empty words dropped;
- ``SPECIAL_CHARACTERS`` = ``string.punctuation + string.digits + string.whitespace`` + the
  BigScience ROOTS list of ≈ 150 symbols + every emoji of the ``emoji`` package. Membership is
  tested one code point at a time, so only single-code-point emoji can ever match.

Differences, all deliberate and tested:

- ``emoji`` ≥ 2 has no ``UNICODE_EMOJI``; we use ``emoji.EMOJI_DATA`` (a superset of the 1.6.1
  table OBELICS used, new emoji only).
- The ROOTS list contains invisible space characters that do not survive transcription; we add
  every Unicode space separator (category Zs) plus U+00AD, U+200B, U+FEFF and U+FFFC instead. The
  standardisation maps the same space characters to " ", so after it they only matter as "special".
- Words come from ``str.split()`` (any Unicode whitespace) instead of a split on " ", "\\n", "\\t":
  after standardisation the two differ only for control whitespace (\\r, \\v, \\f, U+001C–U+001F,
  U+0085) *inside* a token, which OBELICS keeps as one word and we split. ``str.split`` is ~10×
  faster and the filters' whole budget is a fraction of a millisecond per page.

``TextStats`` holds the tokenisation of one text so that the ~10 filters computing scores on the
same paragraph or document split it once.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from functools import cached_property

import emoji
import numpy as np

# Transcribed from BigScience ROOTS (Apache-2.0), the list OBELICS imports as
# ``obelics.utils.SPECIAL_CHARACTERS``; invisible spaces replaced as explained above.
_ROOTS_SYMBOLS = (
    "\u3000\ufffc’“”–ー一▬…✦\ufffd£•€«»°·═"
    "×士＾˘⇓↓↑←→（）§″′´¿−±∈¢ø‚„½¼¾¹²³―⁃，ˌ¸‹›ʺˈʻ¦‐⠀‰‑≤≥‖"
    "◆●■►▼▲▴∆▻¡★☆✱ːº。¯˜¥ɪ≈†上ン：∼⁄・♡✓⊕․．⋅÷１‟；،、¨ाাी्े◦˚"
    "゜ʼ≖ʼ¤ッツシ℃√！【】‿∞➤～πه۩☛₨➩☻๑٪♥ıॽ《‘©﴿٬？▷Г♫∟™ª₪®「—❖"
    "」﴾》"
)


def _unicode_spaces() -> frozenset[str]:
    """Every Unicode space separator (Zs) and the invisible characters ROOTS lists as spaces."""
    spaces = {chr(cp) for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) == "Zs"}
    return frozenset(spaces | {"\u00ad", "\u200b", "\ufeff", "\ufffc"})


UNICODE_SPACES: frozenset[str] = _unicode_spaces()
# Characters standardised to " " (OBELICS ``standardize_whitespace``): the non-ASCII spaces.
_WHITESPACE_TABLE = {ord(c): " " for c in UNICODE_SPACES if c != " "}

SPECIAL_CHARACTERS: frozenset[str] = frozenset(
    set(string.punctuation + string.digits + string.whitespace + _ROOTS_SYMBOLS)
    | UNICODE_SPACES
    | {e for e in emoji.EMOJI_DATA if len(e) == 1}
)
# Special-character counting: bytes.translate deletes the ASCII ones of an ASCII text in C; a
# numpy lookup table over every code point (1.1 MB) counts them in any other text. Both are
# ~10× faster than str.translate with a dict, which looks up every character in Python.
_ASCII_SPECIAL = bytes(sorted(ord(c) for c in SPECIAL_CHARACTERS if ord(c) < 128))
_SPECIAL_TABLE = np.zeros(sys.maxunicode + 1, dtype=bool)
_SPECIAL_TABLE[[ord(c) for c in SPECIAL_CHARACTERS]] = True
_SPACES_PATTERN = re.compile("[" + "".join(sorted(c for c in UNICODE_SPACES if c != " ")) + "]")

# OBELICS ``PUNCTUATION`` for the punctuation ratio: tokens are [\w']+ or one of these.
PUNCTUATION = (",", ";", ":", "?", "!", ".")
END_OF_DOCUMENT_TOKEN = "END_OF_DOCUMENT_TOKEN_TO_BE_REPLACED"


def standardize_whitespace(text: str) -> str:
    """Map Unicode space characters to " " (OBELICS ``cond_standardize_whitespace: True``)."""
    if text.isascii() or not _SPACES_PATTERN.search(text):
        return text
    return text.translate(_WHITESPACE_TABLE)


def strip_special(word: str) -> str:
    """Strip special characters from both ends; fast path when both ends are letters."""
    special = SPECIAL_CHARACTERS
    if word[0] not in special and word[-1] not in special:
        return word
    start, end = 0, len(word)
    while start < end and word[start] in special:
        start += 1
    while end > start and word[end - 1] in special:
        end -= 1
    return word[start:end]


def obelics_words(text: str) -> list[str]:
    """OBELICS ``get_words_from_text``: split, lower-case, strip special characters, drop empty."""
    words = []
    append = words.append
    for raw in text.lower().split():
        word = strip_special(raw)
        if word:
            append(word)
    return words


def count_special_characters(text: str) -> int:
    """Number of code points of ``text`` that are special characters."""
    if text.isascii():
        return len(text) - len(text.encode("ascii").translate(None, _ASCII_SPECIAL))
    return int(np.count_nonzero(_SPECIAL_TABLE[code_points(text)]))


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as a uint32 array (no Python loop)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


class TextStats:
    """One text's tokenisation and counts, computed lazily and at most once.

    Every score function takes a ``TextStats`` so that several filters share one split.
    """

    __slots__ = ("text", "__dict__")

    def __init__(self, text: str):
        self.text = text

    @cached_property
    def words(self) -> list[str]:
        return obelics_words(self.text)

    @cached_property
    def num_special_characters(self) -> int:
        return count_special_characters(self.text)

    @cached_property
    def word_ngram_counts(self) -> dict[int, dict[tuple[str, ...], int]]:
        """Cache of word n-gram counters, filled by the repetition scores on demand."""
        return {}

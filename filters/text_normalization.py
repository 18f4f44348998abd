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
same paragraph or document split it once; it is the *reference* implementation.

``Pieces`` is the production path: it tokenises all paragraphs of a document (or the pieces of a
joined text) in one vectorised pass over the code points of their "\\n\\n"-join, and keeps
everything per piece as numpy arrays: characters, special characters, punctuation characters,
``[\\w']+`` tokens, and the OBELICS words as one flat list with the piece of each word. Tokens
never span a "\\n\\n" separator, so the words of the joined text are the concatenation of the
pieces' words and every count of the joined text is the sum of the pieces' counts (plus the
separators' own characters): document scores are combined from paragraph results instead of
re-tokenising. ``tests/test_text_filters.py`` checks ``Pieces`` against ``TextStats`` and
``obelics_words`` on real pages.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from functools import cache, cached_property

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


# ---------------------------------------------------------------------------------------------
# Vectorised tokenisation of many pieces at once.

# Character classes, one bit each, looked up per code point by ``char_classes``.
SPECIAL, SPACE, WORD, PUNCT = 1, 2, 4, 8  # SPACE: str.isspace; WORD: re's \w or "'"
_PUNCTUATION_CHARS = frozenset("".join(PUNCTUATION))


def _class_of(char: str) -> int:
    return (
        SPECIAL * (char in SPECIAL_CHARACTERS)
        | SPACE * char.isspace()
        | WORD * (char.isalnum() or char in "_'")
        | PUNCT * (char in _PUNCTUATION_CHARS)
    )


_ASCII_CLASSES = np.array([_class_of(chr(cp)) for cp in range(128)], dtype=np.uint8)


@cache
def _unicode_classes() -> np.ndarray:
    """The class table of every code point (1.1 MB, built on the first non-ASCII text, ~0.1 s).

    ``re``'s ``\\w`` is ``str.isalnum() or "_"`` and ``str.split()`` splits on ``str.isspace``,
    so the table reproduces both exactly.
    """
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    size = len(every)
    table = np.fromiter(map(str.isspace, every), bool, size).astype(np.uint8) * SPACE
    table |= np.fromiter(map(str.isalnum, every), bool, size).astype(np.uint8) * WORD
    table |= _SPECIAL_TABLE.astype(np.uint8) * SPECIAL
    table[:128] = _ASCII_CLASSES
    return table


def char_classes(text: str) -> np.ndarray:
    """The class bits (``SPECIAL | SPACE | WORD | PUNCT``) of every code point of ``text``."""
    if text.isascii():
        return _ASCII_CLASSES[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    return _unicode_classes()[code_points(text)]


# Word identity: a 64-bit polynomial hash of each word's code points, computed for all words of
# a text at once from prefix sums (hash = sum of (code + 1) * M**i over the word's characters).
_HASH_M = 0x9E3779B97F4A7C15
_HASH_M_INVERSE = pow(_HASH_M, -1, 1 << 64)
_POWERS: tuple[np.ndarray, np.ndarray] = (np.ones(0, np.uint64), np.ones(0, np.uint64))


def _power_tables(size: int) -> tuple[np.ndarray, np.ndarray]:
    """(M**i, M**-i mod 2**64 for i < size), grown by doubling and shared by all texts."""
    global _POWERS
    if len(_POWERS[0]) < size:
        size = max(size, 2 * len(_POWERS[0]), 1 << 14)
        tables = []
        for base in (_HASH_M, _HASH_M_INVERSE):
            factors = np.full(size, base, dtype=np.uint64)
            factors[0] = 1
            tables.append(np.cumprod(factors))  # wraps mod 2**64
        _POWERS = (tables[0], tables[1])
    return _POWERS


def _codes(text: str) -> np.ndarray:
    """Code points + 1 as uint64 (so that a NUL character still changes a hash)."""
    if text.isascii():
        codes = np.frombuffer(text.encode("ascii"), dtype=np.uint8).astype(np.uint64)
    else:
        codes = code_points(text).astype(np.uint64)
    codes += np.uint64(1)
    return codes


def span_hashes(text: str, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The word hash of every span ``text[start:end]`` (position-independent, uint64)."""
    codes = _codes(text)
    powers, inverses = _power_tables(len(codes) + 1)
    prefix = np.zeros(len(codes) + 1, dtype=np.uint64)
    # Array arithmetic wraps mod 2**64 without an overflow warning (only scalars warn).
    (codes * powers[: len(codes)]).cumsum(out=prefix[1:])
    return (prefix[ends] - prefix[starts]) * inverses[starts]


_LIST_HASHES: dict[int, tuple[frozenset[str], np.ndarray]] = {}


def word_list_hashes(words: frozenset[str]) -> np.ndarray:
    """Sorted word hashes of a word list, computed once per list object."""
    cached = _LIST_HASHES.get(id(words))
    if cached is not None and cached[0] is words:
        return cached[1]
    ordered = sorted(words)
    lengths = np.fromiter(map(len, ordered), np.int64, len(ordered))
    ends = np.cumsum(lengths + 1) - 1
    hashes = np.sort(span_hashes("\n".join(ordered), ends - lengths, ends))
    _LIST_HASHES[id(words)] = (words, hashes)
    return hashes


def dense_ids(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(id of each hash: its rank among the distinct hashes; the distinct hashes, sorted)."""
    order = hashes.argsort()
    ordered = hashes[order]
    new = np.empty(len(hashes), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    ids = np.empty(len(hashes), dtype=np.int64)
    ids[order] = new.cumsum() - 1
    return ids, ordered[new]


class Pieces:
    """OBELICS words and character counts of each piece of ``"\\n\\n".join(pieces)``.

    Per piece (numpy int64 arrays indexed like ``pieces``): ``lengths``, ``special`` (special
    characters), ``punctuation`` (characters of ``PUNCTUATION``), ``word_tokens`` (``[\\w']+``
    runs), ``number_words``. Per word, flat in text order: ``word_piece``, ``word_lengths``,
    ``word_hashes`` and ``ids`` (dense, < ``id_space``): equal words have equal hashes and ids.
    No Python string is made per word: a word is a span of the lower-cased text, identified by
    a 64-bit polynomial hash of its code points (two distinct words share one only if their
    hashes collide mod 2**64, as for the character n-grams of ``repetition``); word-list
    membership compares hashes with the list's (``word_list_hashes``). ``words`` makes the
    strings on demand (tests). ``tests/test_text_filters.py`` checks every count, and that
    equal ids mean equal words, against ``obelics_words`` on real pages.
    """

    def __init__(self, pieces: list[str], text: str | None = None):
        self.pieces = pieces
        self.text = text = "\n\n".join(pieces) if text is None else text
        count = len(pieces)
        self.lengths = np.fromiter(map(len, pieces), np.int64, count)
        self.ends = (self.lengths + 2).cumsum() - 2
        self.starts = self.ends - self.lengths
        classes = char_classes(text)
        self.special = self._per_piece(classes & SPECIAL)
        self.punctuation = self._per_piece(classes & PUNCT)
        word = (classes & WORD).astype(bool)
        first = word.copy()
        first[1:] &= ~word[:-1]
        self.word_tokens = self._per_piece(first)
        lowered = text.lower()
        if len(lowered) == len(text):
            if not text.isascii():
                classes = char_classes(lowered)  # lower-casing can change a class ("Г" → "г")
            self._source = lowered
            starts, ends = self._word_spans(classes)
            self.word_piece = self.ends.searchsorted(starts, side="right")
        else:  # lower-casing changed a length ("İ" → "i̇"): words piece by piece
            starts, ends = self._words_per_piece()
        self._word_starts, self._word_ends = starts, ends
        self.word_lengths = ends - starts
        self.number_words = np.bincount(self.word_piece, minlength=count)
        self.word_hashes = span_hashes(self._source, starts, ends)
        self.ids, self._distinct_hashes = dense_ids(self.word_hashes)
        self.id_space = max(len(self._distinct_hashes), 1)
        self._list_counts: dict[int, tuple[frozenset[str], np.ndarray]] = {}

    def _per_piece(self, mask: np.ndarray) -> np.ndarray:
        """How many non-zero entries of a per-character mask fall in each piece."""
        cumulative = np.zeros(len(mask) + 1, dtype=np.int64)
        mask.astype(bool).cumsum(out=cumulative[1:])
        return cumulative[self.ends] - cumulative[self.starts]

    @staticmethod
    def _word_spans(classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Words = runs of non-space characters cut to their first..last non-special one."""
        space = np.ones(len(classes) + 2, dtype=bool)  # padded: a space before and after
        np.not_equal(classes & SPACE, 0, out=space[1:-1])
        edges = (space[1:] != space[:-1]).nonzero()[0]
        first, last = edges[0::2], edges[1::2]  # token spans; ``last`` is exclusive
        keep = (classes & (SPACE | SPECIAL)) == 0
        cut_start = (~keep[first]).nonzero()[0]
        cut_end = (~keep[last - 1]).nonzero()[0]
        if len(cut_start) or len(cut_end):  # only tokens with special characters at an end
            kept = keep.nonzero()[0]
            beyond = np.append(kept, len(classes))
            first[cut_start] = beyond[kept.searchsorted(first[cut_start])]
            before = kept.searchsorted(last[cut_end]) - 1
            last[cut_end] = np.where(before >= 0, beyond[np.maximum(before, 0)] + 1, 0)
            nonempty = first < last
            first, last = first[nonempty], last[nonempty]
        return first, last

    def _words_per_piece(self) -> tuple[np.ndarray, np.ndarray]:
        per_piece = [obelics_words(piece) for piece in self.pieces]
        words = [word for piece_words in per_piece for word in piece_words]
        self._source = " ".join(words)
        lengths = np.fromiter(map(len, words), np.int64, len(words))
        ends = np.cumsum(lengths + 1) - 1
        sizes = np.fromiter(map(len, per_piece), np.int64, len(per_piece))
        self.word_piece = np.repeat(np.arange(len(per_piece)), sizes)
        return ends - lengths, ends

    @property
    def words(self) -> list[str]:
        """The OBELICS words as strings, in text order (made on demand)."""
        spans = zip(self._word_starts.tolist(), self._word_ends.tolist(), strict=True)
        return [self._source[start:end] for start, end in spans]

    def list_counts(self, words: frozenset[str]) -> np.ndarray:
        """Words of each piece that are in ``words`` (cached per list)."""
        cached = self._list_counts.get(id(words))
        if cached is not None and cached[0] is words:
            return cached[1]
        listed, distinct = word_list_hashes(words), self._distinct_hashes
        if len(listed):  # look up each distinct word once, in sorted order
            found = listed[np.minimum(listed.searchsorted(distinct), len(listed) - 1)]
            member = (found == distinct)[self.ids]
        else:
            member = np.zeros(len(self.ids), dtype=bool)
        counts = np.bincount(self.word_piece[member], minlength=len(self.pieces))
        self._list_counts[id(words)] = (words, counts)
        return counts

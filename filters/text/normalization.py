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

``Pieces`` is the production path: it tokenises all paragraphs of a document (or the pieces of a
joined text) in one vectorised pass over the code points of their "\\n\\n"-join, and keeps
everything per piece as numpy arrays: characters, special characters, punctuation characters,
``[\\w']+`` tokens, and the OBELICS words as one flat list with the piece of each word. Tokens
never span a "\\n\\n" separator, so the words of the joined text are the concatenation of the
pieces' words and every count of the joined text is the sum of the pieces' counts (plus the
separators' own characters): document scores are combined from paragraph results instead of
re-tokenising. ``tests/test_text_filters.py`` checks ``Pieces`` against the one-text reference
(``tests/text_oracles.py``) and ``obelics_words`` on real pages.

Its cost is a few dozen array operations per document, whatever the number of paragraphs:
per-code-point tables (filled a block of code points at a time) give each character's class,
its lower case and whether that is kept in a word, so neither ``str.lower`` nor a second class
look-up is needed; one cumulative sum of packed increments counts special characters,
punctuation, ``[\\w']+`` tokens and whitespace tokens of every piece; words are hashed from one
prefix sum (``hash_prefix``), and the code points are kept for the character n-gram scores.
"""

from __future__ import annotations

import re
import string
import sys
import threading
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

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
    """Every Unicode space separator (Zs) and the invisible characters ROOTS lists as spaces.

    ``str.isspace`` is true for every Zs character, so only those few get a category look-up.
    """
    every = map(chr, range(sys.maxunicode + 1))
    spaces = {c for c in filter(str.isspace, every) if unicodedata.category(c) == "Zs"}
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


def code_points(text: str) -> np.ndarray:
    """The code points of ``text`` as a uint32 array (no Python loop)."""
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


# ---------------------------------------------------------------------------------------------
# Vectorised tokenisation of many pieces at once.

# Character classes, one bit each, looked up per code point by ``classes_of``. SPACE: str.isspace;
# WORD: re's \w or "'"; STANDARDIZED: a character ``standardize_whitespace`` maps to " " (so a
# standardised text has none, and its classes fit in 4 bits).
SPECIAL, SPACE, WORD, PUNCT, STANDARDIZED = 1, 2, 4, 8, 16
_PUNCTUATION_CHARS = frozenset("".join(PUNCTUATION))


def _class_of(char: str) -> int:
    return (
        SPECIAL * (char in SPECIAL_CHARACTERS)
        | SPACE * char.isspace()
        | WORD * (char.isalnum() or char in "_'")
        | PUNCT * (char in _PUNCTUATION_CHARS)
    )


_ASCII_CLASSES = np.array([_class_of(chr(cp)) for cp in range(128)], dtype=np.uint8)
_ASCII_LOWER = np.frombuffer(bytes(range(128)).lower(), dtype=np.uint8)
_ASCII_KEPT = (_ASCII_CLASSES & (SPACE | SPECIAL)) == 0  # lower-casing changes no ASCII class
# Per code point, filled a block of 4,096 code points at a time when a text first uses the block
# (the whole tables take ~0.3 s to fill; pages use few blocks beyond the BMP): its class; its
# ``str.lower`` (NO_SIMPLE_LOWER where that is not one code point, "İ", or depends on the
# context, capital sigma: "ς" at the end of a word); whether that lower case is "kept" in an
# OBELICS word (neither a space nor a special character).
_CLASS_BLOCK_BITS = 12
_CLASSES = np.zeros(sys.maxunicode + 1, dtype=np.uint8)
_CLASSES_FILLED = np.zeros((sys.maxunicode >> _CLASS_BLOCK_BITS) + 1, dtype=bool)
NO_SIMPLE_LOWER = sys.maxunicode + 1
_LOWER = np.zeros(sys.maxunicode + 1, dtype=np.uint32)
_LOWER_KEPT = np.zeros(sys.maxunicode + 1, dtype=bool)


_FILL_LOCK = threading.Lock()


def _fill_class_blocks(blocks: Iterable[int]) -> None:
    """Fill the per-code-point tables for the given blocks, those not filled yet.

    A block is marked filled only once all its tables are, under a lock, so that another
    thread reads a block either complete or not at all.
    """
    missing = [block for block in blocks if not _CLASSES_FILLED[block]]
    if missing:
        with _FILL_LOCK:
            _fill_blocks(missing)


def _fill_blocks(blocks: list[int]) -> None:
    """``_fill_class_blocks`` with the lock held: the classes and lower cases of the blocks, and
    of the blocks their lower cases fall in; then which lower cases are kept.

    ``re``'s ``\\w`` is ``str.isalnum() or "_"`` and ``str.split()`` splits on ``str.isspace``,
    so the class table reproduces both exactly.
    """
    pending, seen, written = list(blocks), set(), []
    while pending:
        block = pending.pop()
        if _CLASSES_FILLED[block] or block in seen:
            continue
        seen.add(block)
        low = block << _CLASS_BLOCK_BITS
        high = min(low + (1 << _CLASS_BLOCK_BITS), sys.maxunicode + 1)
        chars = "".join(map(chr, range(low, high)))
        size = high - low
        classes = np.fromiter(map(str.isspace, chars), bool, size).astype(np.uint8) * SPACE
        classes |= np.fromiter(map(str.isalnum, chars), bool, size).astype(np.uint8) * WORD
        classes |= _SPECIAL_TABLE[low:high].astype(np.uint8) * SPECIAL
        classes |= np.fromiter(map(_WHITESPACE_TABLE.__contains__, range(low, high)), bool,
                               size).astype(np.uint8) * STANDARDIZED  # fmt: skip
        _CLASSES[low:high] = classes
        lowered = np.fromiter(map(_simple_lower, chars), np.uint32, size)
        _LOWER[low:high] = lowered
        written.append((block, low, high))
        pending += np.unique(lowered[lowered < NO_SIMPLE_LOWER] >> _CLASS_BLOCK_BITS).tolist()
    _CLASSES[:128] = _ASCII_CLASSES
    for _, low, high in written:
        lowered = _LOWER[low:high]
        simple = lowered < NO_SIMPLE_LOWER
        lowered = np.where(simple, lowered, 0)
        _LOWER_KEPT[low:high] = simple & ((_CLASSES.take(lowered) & (SPACE | SPECIAL)) == 0)
    for block, _, _ in written:
        _CLASSES_FILLED[block] = True


def _simple_lower(char: str) -> int:
    lowered = char.lower()
    if len(lowered) != 1 or char == "\u03a3":
        return NO_SIMPLE_LOWER
    return ord(lowered)


def lowered_codes(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(code points of the lower-cased text, ``str.lower``; whether each is kept in an OBELICS
    word: neither a space nor special) from the text's code points, or None where a character's
    lower case is not one code point or depends on its context.

    Table look-ups (``classes_of`` must have seen ``codes``: it fills the tables) are several
    times cheaper than ``str.lower``, encoding its result and looking up its classes.
    """
    if codes.dtype == np.uint8:
        return _ASCII_LOWER.take(codes), _ASCII_KEPT.take(codes)
    lowered = _LOWER.take(codes)
    if len(lowered) and lowered.max() >= NO_SIMPLE_LOWER:
        return None
    return lowered, _LOWER_KEPT.take(codes)


def text_codes(text: str) -> np.ndarray:
    """The code points of ``text``: uint8 when it is ASCII (cheaper to make and to index), else
    uint32."""
    if text.isascii():
        return np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    return code_points(text)


def classes_of(codes: np.ndarray) -> np.ndarray:
    """The class bits of every code point of ``codes`` (``take``: half the cost of ``[]``)."""
    if codes.dtype == np.uint8:
        return _ASCII_CLASSES.take(codes)
    if not _CLASSES_FILLED[0]:
        _fill_class_blocks(range(0x10000 >> _CLASS_BLOCK_BITS))  # the BMP, ~15 ms
    if len(codes) and int(codes.max()) >= 0x10000:
        _fill_class_blocks(np.unique(codes[codes >= 0x10000] >> _CLASS_BLOCK_BITS).tolist())
    return _CLASSES.take(codes)


def standardized_codes(text: str) -> tuple[str, np.ndarray, np.ndarray]:
    """(``standardize_whitespace(text)``, its code points, its classes).

    The class table says whether there is a character to standardise, which is cheaper than
    searching the text, and the codes are needed anyway.
    """
    codes = text_codes(text)
    classes = classes_of(codes)
    if codes.dtype != np.uint8 and len(classes) and classes.max() >= STANDARDIZED:
        text = text.translate(_WHITESPACE_TABLE)
        codes = text_codes(text)
        classes = classes_of(codes)
    return text, codes, classes


# Per-piece counts from one cumulative sum: for each character, the increments of four counters
# packed 16 bits apart in a uint64, looked up by (previous character's class << 4 | class):
# special characters, punctuation characters, starts of [\w']+ tokens (a word character after a
# non-word one) and starts of whitespace-separated tokens (a non-space after a space).
_FIELD_BITS = 16
_FIELD_MASK = (1 << _FIELD_BITS) - 1


def _pair_increments() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint64)
    for previous in range(16):
        for current in range(16):
            starts_word_token = bool(current & WORD) and not previous & WORD
            starts_token = not current & SPACE and bool(previous & SPACE)
            table[previous << 4 | current] = (
                bool(current & SPECIAL)
                | bool(current & PUNCT) << _FIELD_BITS
                | starts_word_token << 2 * _FIELD_BITS
                | starts_token << 3 * _FIELD_BITS
            )
    return table


_PAIR_INCREMENTS = _pair_increments()


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


def hash_prefix(codes: np.ndarray) -> np.ndarray:
    """Prefix sums of (code + 1) * M**i (mod 2**64): the hash of ``codes[s:e]`` is
    ``(prefix[e] - prefix[s]) * M**-s``, whatever s. Code + 1 so that NUL still counts."""
    size = len(codes)
    prefix = np.zeros(size + 1, dtype=np.uint64)
    # Array arithmetic wraps mod 2**64 without an overflow warning (only scalars warn).
    weighted = codes.astype(np.uint64)
    weighted += np.uint64(1)
    weighted *= _power_tables(size + 1)[0][:size]
    weighted.cumsum(out=prefix[1:])
    return prefix


def span_hashes(text: str, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The word hash of every span ``text[start:end]`` (position-independent, uint64)."""
    return code_span_hashes(text_codes(text), starts, ends)


def code_span_hashes(codes: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``span_hashes`` of the text whose code points are ``codes``."""
    prefix = hash_prefix(codes)
    hashes = prefix.take(ends)
    hashes -= prefix.take(starts)
    hashes *= _power_tables(len(prefix))[1].take(starts)
    return hashes


def window_hashes(codes: np.ndarray, n: int) -> np.ndarray:
    """The hash (as ``code_span_hashes``) of the n code points from every start (n ≤ size)."""
    prefix = hash_prefix(codes)
    hashes = prefix[n:] - prefix[:-n]
    hashes *= _power_tables(len(prefix))[1][: len(hashes)]
    return hashes


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


# A sequence of words hashes as h = ((h_1 * G + h_2) * G + h_3) ... (mod 2**64) of its words'
# hashes: multi-word flagged-word entries are matched by this hash of n consecutive words.
_SEQUENCE_G = 0xD6E8FEB86659FD93
_MASK_64 = (1 << 64) - 1
SINGLE = 1  # flag bit of a word that is an entry itself; bit n: it starts an n-word entry
MAX_PHRASE_WORDS = 63


@dataclass(frozen=True)
class PhraseTable:
    """A phrase list (entries of one or more words joined by " ") for ``Pieces.phrase_counts``:
    the sorted hashes of every word that is an entry or starts one (``keys``), each with its
    flag bits (``flags``: ``SINGLE``, and bit n when it starts an n-word entry), and per length
    n > 1 the sequence hashes of the n-word entries (``sequences``)."""

    keys: np.ndarray
    flags: np.ndarray
    sequences: dict[int, frozenset[int]]


_PHRASE_TABLES: dict[int, tuple[frozenset[str], PhraseTable]] = {}


def phrase_table(entries: frozenset[str]) -> PhraseTable:
    """The ``PhraseTable`` of a phrase list, computed once per list object (entries longer
    than ``MAX_PHRASE_WORDS`` words are left out: no word list has one)."""
    cached = _PHRASE_TABLES.get(id(entries))
    if cached is not None and cached[0] is entries:
        return cached[1]
    split = [entry.split(" ") for entry in sorted(entries)]
    split = [words for words in split if len(words) <= MAX_PHRASE_WORDS]
    vocabulary = sorted({word for words in split for word in words})
    lengths = np.fromiter(map(len, vocabulary), np.int64, len(vocabulary))
    ends = np.cumsum(lengths + 1) - 1
    hashes = dict(zip(vocabulary, span_hashes("\n".join(vocabulary), ends - lengths, ends)
                      .tolist(), strict=True))  # fmt: skip
    flags: dict[int, int] = {}
    sequences: dict[int, set[int]] = {}
    for words in split:
        first = hashes[words[0]]
        flags[first] = flags.get(first, 0) | (SINGLE if len(words) == 1 else 1 << len(words))
        if len(words) > 1:
            sequences.setdefault(len(words), set()).add(sequence_hash(hashes[w] for w in words))
    keys = np.array(sorted(flags), dtype=np.uint64)
    table = PhraseTable(
        keys=keys,
        flags=np.array([flags[key] for key in keys.tolist()], dtype=np.uint64),
        sequences={n: frozenset(values) for n, values in sequences.items()},
    )
    _PHRASE_TABLES[id(entries)] = (entries, table)
    return table


def sequence_hash(word_hashes: Iterable[int]) -> int:
    """The hash of a sequence of words from their hashes (see ``_SEQUENCE_G``)."""
    value = 0
    for word_hash in word_hashes:
        value = (value * _SEQUENCE_G + word_hash) & _MASK_64
    return value


def is_member(listed: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Whether each of ``values`` is in the sorted array ``listed`` (a bool per value)."""
    if not len(listed):
        return np.zeros(len(values), dtype=bool)
    return listed[np.minimum(listed.searchsorted(values), len(listed) - 1)] == values


def dense_ids(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(id of each hash: its rank among the distinct hashes; the distinct hashes, sorted)."""
    order = hashes.argsort()
    ordered = hashes.take(order)
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
    equal ids mean equal words, against ``obelics_words`` on real pages. ``codes`` (the text's
    code points, ``text_codes``) is kept for the character n-gram scores.

    ``codes`` and ``classes`` may be passed when the caller has them (``standardized_codes``).
    """

    def __init__(
        self,
        pieces: list[str],
        text: str | None = None,
        codes: np.ndarray | None = None,
        classes: np.ndarray | None = None,
    ):
        self.pieces = pieces
        self.text = text = "\n\n".join(pieces) if text is None else text
        count = len(pieces)
        self.lengths = np.fromiter(map(len, pieces), np.int64, count)
        self.ends = np.cumsum(self.lengths + 2) - 2
        self.starts = self.ends - self.lengths
        if codes is None or classes is None:
            codes = text_codes(text)
            classes = classes_of(codes)
            if codes.dtype != np.uint8 and len(classes) and classes.max() >= STANDARDIZED:
                classes = classes & (STANDARDIZED - 1)  # a text that was not standardised
        self.codes = codes
        tokens = self._count_classes(classes)
        self._source: str | None = None  # the lower-cased text words are spans of, if made
        lowered = lowered_codes(codes)
        if lowered is None:
            self._source = text.lower()
            if len(self._source) == len(text):  # lower-casing can change a class ("Г" → "г")
                lowered_text = text_codes(self._source)
                kept = (classes_of(lowered_text) & (SPACE | SPECIAL)) == 0
                lowered = lowered_text, kept
        if lowered is not None:
            starts, ends = _word_spans(lowered[1], tokens)
            self.word_piece = self.ends.searchsorted(starts, side="right")
            self.word_hashes = code_span_hashes(lowered[0], starts, ends)
        else:  # lower-casing changed a length ("İ" → "i̇"): words piece by piece
            starts, ends = self._words_per_piece()
            self.word_hashes = span_hashes(self._source, starts, ends)
        self._word_starts, self._word_ends = starts, ends
        self.word_lengths = ends - starts
        self.number_words = np.bincount(self.word_piece, minlength=count)
        self.ids, self._distinct_hashes = dense_ids(self.word_hashes)
        self.id_space = max(len(self._distinct_hashes), 1)
        self._list_counts: dict[int, tuple[frozenset[str], np.ndarray]] = {}
        self._phrase_counts: dict[int, tuple[frozenset[str], np.ndarray]] = {}

    def _count_classes(self, classes: np.ndarray) -> np.ndarray:
        """Set ``special``, ``punctuation`` and ``word_tokens``; return the number of
        whitespace-separated tokens started up to each character, and one more (for
        ``_word_spans``).

        One lookup of packed increments and one cumulative sum; a text of 65,536 characters or
        more, whose counts could pass 16 bits, takes one pass per count instead.
        """
        size = len(classes)
        if size > _FIELD_MASK:
            word = (classes & WORD).astype(bool)
            first = word.copy()
            first[1:] &= ~word[:-1]
            self.special = self._per_piece(classes & SPECIAL)
            self.punctuation = self._per_piece(classes & PUNCT)
            self.word_tokens = self._per_piece(first)
            space = (classes & SPACE).astype(bool)
            first = ~space
            first[1:] &= space[:-1]
            tokens = np.zeros(size + 1, dtype=np.int64)
            first.cumsum(out=tokens[1:])
            return tokens
        pairs = classes.copy()
        pairs[1:] |= classes[:-1] << 4
        cumulative = np.zeros(size + 1, dtype=np.uint64)
        _PAIR_INCREMENTS.take(pairs).cumsum(out=cumulative[1:])
        packed = cumulative.take(self.ends)
        packed -= cumulative.take(self.starts)
        packed = packed.view(np.int64)
        self.special = packed & _FIELD_MASK
        self.punctuation = (packed >> _FIELD_BITS) & _FIELD_MASK
        self.word_tokens = (packed >> 2 * _FIELD_BITS) & _FIELD_MASK
        cumulative >>= np.uint64(3 * _FIELD_BITS)
        return cumulative

    def _per_piece(self, mask: np.ndarray) -> np.ndarray:
        """How many non-zero entries of a per-character mask fall in each piece."""
        cumulative = np.zeros(len(mask) + 1, dtype=np.int64)
        mask.astype(bool).cumsum(out=cumulative[1:])
        return cumulative[self.ends] - cumulative[self.starts]

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
        source = self.text.lower() if self._source is None else self._source
        spans = zip(self._word_starts.tolist(), self._word_ends.tolist(), strict=True)
        return [source[start:end] for start, end in spans]

    def list_counts(self, words: frozenset[str]) -> np.ndarray:
        """Words of each piece that are in ``words`` (cached per list)."""
        cached = self._list_counts.get(id(words))
        if cached is not None and cached[0] is words:
            return cached[1]
        # Each distinct word is looked up once, in sorted order.
        member = is_member(word_list_hashes(words), self._distinct_hashes)[self.ids]
        counts = np.bincount(self.word_piece[member], minlength=len(self.pieces))
        self._list_counts[id(words)] = (words, counts)
        return counts

    def phrase_counts(self, entries: frozenset[str]) -> np.ndarray:
        """Words of each piece that belong to an occurrence of an entry of a phrase list: a
        word equal to a one-word entry, or one of n consecutive words of the piece equal to an
        n-word entry (``wordlists``: flagged words). Cached per list.

        One sorted look-up flags every word that is an entry or starts one; the few words that
        start one (~7 on a page of ~750 words) are then followed in Python, which is cheaper
        than numpy passes per entry length.
        """
        cached = self._phrase_counts.get(id(entries))
        if cached is not None and cached[0] is entries:
            return cached[1]
        table, distinct = phrase_table(entries), self._distinct_hashes
        flags = np.zeros(len(distinct), dtype=np.uint64)
        if len(table.keys):
            at = np.minimum(table.keys.searchsorted(distinct), len(table.keys) - 1)
            np.copyto(flags, table.flags.take(at), where=table.keys.take(at) == distinct)
        flags = flags.take(self.ids)
        covered = (flags & np.uint64(SINGLE)).astype(bool)
        starts = (flags > SINGLE).nonzero()[0].tolist()
        if starts:
            self._cover_sequences(table, starts, flags.take(starts).tolist(), covered)
        counts = np.bincount(self.word_piece[covered], minlength=len(self.pieces))
        self._phrase_counts[id(entries)] = (entries, counts)
        return counts

    def _cover_sequences(
        self, table: PhraseTable, starts: list[int], flags: list[int], covered: np.ndarray
    ) -> None:
        """Mark the words of every multi-word entry occurrence that begins at one of
        ``starts`` (with its ``flags``) and lies inside one piece."""
        longest = max(flags).bit_length() - 1
        for start, flag in zip(starts, flags, strict=True):
            hashes = self.word_hashes[start : start + longest].tolist()
            pieces = self.word_piece[start : start + longest].tolist()
            value = hashes[0]
            for n in range(2, len(hashes) + 1):
                if pieces[n - 1] != pieces[0]:
                    break
                value = (value * _SEQUENCE_G + hashes[n - 1]) & _MASK_64
                if flag >> n & 1 and value in table.sequences[n]:
                    covered[start : start + n] = True


def _word_spans(kept: np.ndarray, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the OBELICS words: whitespace-separated tokens cut to their first..last
    non-special character, dropped when none is left.

    So a word is a maximal group of ``kept`` (non-space, non-special) characters of one token:
    it starts at a kept character in another token than the previous kept one (``tokens[i + 1]``
    counts the tokens started up to character i), and ends after the kept character before the
    next start.
    """
    kept = kept.nonzero()[0]
    if len(kept) == 0:
        return kept, kept
    token = tokens.take(kept + 1)
    starts_word = np.empty(len(kept), dtype=bool)
    starts_word[0] = True
    np.not_equal(token[1:], token[:-1], out=starts_word[1:])
    first = starts_word.nonzero()[0]
    last = np.empty_like(first)
    last[:-1] = first[1:] - 1
    last[-1] = len(kept) - 1
    ends = kept.take(last)
    ends += 1
    return kept.take(first), ends

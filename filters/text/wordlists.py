"""Word lists (stop words, flagged words, common words) by language, with their source and licence.

Nothing is downloaded at run time. A list comes from a *source* string:

- ``"package:stopwordsiso"`` — stopwords-iso (MIT) as shipped in the PyPI package
  ``stopwordsiso``; 50+ languages, ISO 639-1 keys. **Default for stop words.**
- ``"package:naughty-words:1.2.0"`` (or ``"package:naughty-words"``: the version shipped) —
  LDNOOBW, the "List of Dirty, Naughty, Obscene, and Otherwise Bad Words" (CC-BY-4.0), 28
  language lists as published on npm in ``naughty-words`` 1.2.0, shipped as webweave package
  data (``data/flagged_words/``, refreshed by ``tools/refresh_flagged_words.py``; credit in
  ``NOTICE``). **Default for flagged words.** Keys become webweave's language codes (``fil`` →
  ``tl``; ``fr-CA-u-sd-caqc`` is merged into ``fr``).
- ``"package:better_profanity"`` — the English profanity list shipped in the PyPI package
  ``better-profanity`` (MIT). Offered, not the default.
- ``"package:wordfreq:N"`` — the N most frequent words per language from ``wordfreq``
  (code Apache-2.0, data CC-BY-SA-4.0), the substitute for OBELICS's ``common_words.json``.
- a file path: JSON ``{"lang": [words...]}`` (e.g. BigScience ROOTS ``stopwords.json`` /
  ``flagged_words.json``, Apache-2.0 — the exact lists OBELICS uses for English), a JSON list, or
  a text file with one word per line; a list without language keys applies to ``"*"``
  (every language). ``licence`` must then be given in the config and is recorded as written.

Language keys are spelt as ``language_id.to_lid176_code`` spells them (the codes the language
identifier returns, whatever its model), lists whose keys meet are merged. A document whose
language has no list (and there is no ``"*"`` list) gets a null score: the rule passes.

Words are lower-cased and compared with OBELICS words (``normalization.obelics_words``).

Flagged-word entries (``phrases=True``) follow OBELICS where OBELICS is defined and extend it
where LDNOOBW needs it. OBELICS's own list (ROOTS, 67 English words) has single words only,
compared with set membership. LDNOOBW has multi-word entries too ("ball gag": 124 of the 403
English ones), which a word-by-word comparison never matches. Here an entry of several words
matches those words consecutively, within one paragraph ("\\n\\n" piece), after the same
tokenisation as the text; a text word counts as flagged when it is part of any match, so the
ratio stays flagged words / words and equals OBELICS's for single-word lists. An entry that the
tokenisation would change can never be a text word as written: OBELICS strips digits, emoji and
~150 symbols from word ends ("2g1c", "🖕", and Turkish "amı", Persian "هرزه", Japanese
"オナニー", whose last letters ı, ه, ー are ROOTS special characters). Such entries are
skipped, never matched in their stripped form, which would flag other words ("هرزه" → "رز",
rice; "13点" → "点"), and counted per language in ``WordList.unmatchable`` (49 of 2,666 in
naughty-words 1.2.0).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from webweave.filters.text.language_id import to_lid176_code
from webweave.filters.text.normalization import obelics_words

ANY_LANGUAGE = "*"
NAUGHTY_WORDS = "naughty-words"
FLAGGED_WORDS_DATA = "data/flagged_words"  # inside webweave.filters.text


@dataclass(frozen=True)
class WordList:
    """Words per language; ``for_language`` falls back to the ``"*"`` list.

    A phrase list (flagged words) holds entries of one or more words joined by one space.
    """

    source: str
    licence: str
    by_language: dict[str, frozenset[str]] = field(default_factory=dict)
    unmatchable: dict[str, int] = field(default_factory=dict)  # entries skipped per language
    provenance: dict[str, str] = field(default_factory=dict)  # e.g. version, tarball sha256

    def for_language(self, language: str | None) -> frozenset[str] | None:
        if language is not None and language in self.by_language:
            return self.by_language[language]
        return self.by_language.get(ANY_LANGUAGE)

    def describe(self) -> dict:
        """Provenance for run metadata: source, licence, languages and sizes."""
        sizes = {lang: len(words) for lang, words in sorted(self.by_language.items())}
        described = {"source": self.source, "licence": self.licence, "sizes": sizes}
        if self.unmatchable:
            described["unmatchable"] = dict(sorted(self.unmatchable.items()))
        return described | self.provenance


def load_wordlist(
    source: str | None, licence: str | None = None, phrases: bool = False
) -> WordList | None:
    """Load a word list from a package or file source (see module docstring); None if unset.

    ``phrases``: entries are flagged-word entries, matched as word sequences (module
    docstring); otherwise every entry is one word, as OBELICS compares stop and common words.
    """
    if not source:
        return None
    if source.startswith("package:"):
        words = _from_package(source)
    elif licence is None:
        raise ValueError(f"word list {source!r}: a file source needs its licence in the config")
    else:
        words = WordList(source, licence, _read_file(Path(source)))
    return _normalised(words, phrases)


def _from_package(source: str) -> WordList:
    """The raw (not yet normalised) lists of a ``package:`` source."""
    name, _, arg = source.removeprefix("package:").partition(":")
    if name == "stopwordsiso":
        text = resources.files("stopwordsiso").joinpath("stopwords-iso.json").read_text("utf-8")
        return WordList(source, "MIT (stopwords-iso)", json.loads(text))
    if name == NAUGHTY_WORDS:
        return _naughty_words(source, arg or None)
    if name == "better_profanity":
        text = resources.files("better_profanity").joinpath("profanity_wordlist.txt").read_text()
        return WordList(source, "MIT (better-profanity)", {"en": text.split("\n")})
    if name == "wordfreq":
        return _wordfreq(source, int(arg or 50_000))
    raise ValueError(f"unknown word-list package {name!r} in {source!r}")


def shipped_naughty_words() -> dict[str, Path]:
    """version → package-data file of every naughty-words version shipped."""
    folder = resources.files("webweave.filters.text").joinpath(FLAGGED_WORDS_DATA)
    prefix = f"{NAUGHTY_WORDS}-"
    return {
        entry.name.removeprefix(prefix).removesuffix(".json"): Path(str(entry))
        for entry in folder.iterdir()
        if entry.name.startswith(prefix) and entry.name.endswith(".json")
    }


def _naughty_words(source: str, version: str | None) -> WordList:
    shipped = shipped_naughty_words()
    if version is None and len(shipped) == 1:
        version = next(iter(shipped))
    if version not in shipped:
        raise ValueError(f"{source!r}: webweave ships {NAUGHTY_WORDS} {', '.join(shipped)}; "
                         f"tools/refresh_flagged_words.py adds another version")  # fmt: skip
    data = json.loads(shipped[version].read_text(encoding="utf-8"))
    provenance = {"version": data["version"], "tarball": data["tarball"],
                  "tarball_sha256": data["tarball_sha256"]}  # fmt: skip
    licence = f"{data['licence']} (LDNOOBW, Shutterstock; npm {NAUGHTY_WORDS} {data['version']})"
    return WordList(source, licence, data["lists"], provenance=provenance)


def _wordfreq(source: str, top_n: int) -> WordList:
    import wordfreq  # optional dependency: only for the common-word substitute

    languages = wordfreq.available_languages(wordlist="best")
    words = {lang: wordfreq.top_n_list(lang, top_n, wordlist="best") for lang in languages}
    return WordList(source, "wordfreq data CC-BY-SA-4.0, code Apache-2.0", words)


def _read_file(path: Path) -> dict | list:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return text.splitlines()


def _normalised(raw: WordList, phrases: bool) -> WordList:
    """``raw`` with language keys as ``to_lid176_code`` spells them (lists merged where keys
    meet) and its entries lower-cased; for a phrase list, tokenisable entries only."""
    data = raw.by_language
    if isinstance(data, list):
        data = {ANY_LANGUAGE: data}
    merged: dict[str, set[str]] = {}
    unmatchable: dict[str, int] = {}
    for key, entries in data.items():
        language = key if key == ANY_LANGUAGE else to_lid176_code(key)
        kept = merged.setdefault(language, set())
        for entry in entries:
            if not entry or not entry.strip():
                continue
            if not phrases:
                kept.add(entry.strip().lower())
            elif (words := phrase_words(entry)) is not None:
                kept.add(" ".join(words))
            else:
                unmatchable[language] = unmatchable.get(language, 0) + 1
    by_language = {language: frozenset(words) for language, words in merged.items()}
    return WordList(raw.source, raw.licence, by_language, unmatchable, raw.provenance)


def phrase_words(entry: str) -> list[str] | None:
    """The OBELICS words of a flagged-word entry, or None when the tokenisation would change
    the entry (it could then never be a text word as written: module docstring)."""
    words = obelics_words(entry)
    return words if words and words == entry.lower().split() else None

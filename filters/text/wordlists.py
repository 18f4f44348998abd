"""Word lists (stop words, flagged words, common words) by language, with their source and licence.

Nothing is downloaded at run time. A list comes from a *source* string:

- ``"package:stopwordsiso"`` — stopwords-iso (MIT) as shipped in the PyPI package
  ``stopwordsiso``; 50+ languages, ISO 639-1 keys. **Default for stop words.**
- ``"package:better_profanity"`` — the English profanity list shipped in the PyPI package
  ``better-profanity`` (MIT). Offered, not the default: it flags general profanity ("damn",
  "crap", "drunk", "breasts") where OBELICS's 68-word ROOTS list is pornography-specific, and
  the 0.01 cutoff was tuned on the latter.
- ``"package:wordfreq:N"`` — the N most frequent words per language from ``wordfreq``
  (code Apache-2.0, data CC-BY-SA-4.0), the substitute for OBELICS's ``common_words.json``.
- a file path: JSON ``{"lang": [words...]}`` (e.g. BigScience ROOTS ``stopwords.json`` /
  ``flagged_words.json``, Apache-2.0 — the exact lists OBELICS uses for English), a JSON list, or
  a text file with one word per line; a list without language keys applies to ``"*"``
  (every language). ``licence`` must then be given in the config and is recorded as written.

**Default for flagged words: none.** No PyPI package ships LDNOOBW or the ROOTS flagged words, so
the flagged-word score is computed only when ``flagged_words.source`` names a file (OBELICS
fidelity: the ROOTS ``flagged_words.json``) or a package; otherwise the score is null and the
rule is skipped, which the run log states once.

Words are lower-cased and compared with OBELICS words (``normalization.obelics_words``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

ANY_LANGUAGE = "*"


@dataclass(frozen=True)
class WordList:
    """Words per language; ``for_language`` falls back to the ``"*"`` list."""

    source: str
    licence: str
    by_language: dict[str, frozenset[str]] = field(default_factory=dict)

    def for_language(self, language: str | None) -> frozenset[str] | None:
        if language is not None and language in self.by_language:
            return self.by_language[language]
        return self.by_language.get(ANY_LANGUAGE)

    def describe(self) -> dict:
        """Provenance for run metadata: source, licence, languages and sizes."""
        sizes = {lang: len(words) for lang, words in sorted(self.by_language.items())}
        return {"source": self.source, "licence": self.licence, "sizes": sizes}


def load_wordlist(source: str | None, licence: str | None = None) -> WordList | None:
    """Load a word list from a package or file source (see module docstring); None if unset."""
    if not source:
        return None
    if source.startswith("package:"):
        return _from_package(source)
    if licence is None:
        raise ValueError(f"word list {source!r}: a file source needs its licence in the config")
    return WordList(source, licence, _normalise(_read_file(Path(source))))


def _from_package(source: str) -> WordList:
    name, _, arg = source.removeprefix("package:").partition(":")
    if name == "stopwordsiso":
        text = resources.files("stopwordsiso").joinpath("stopwords-iso.json").read_text("utf-8")
        return WordList(source, "MIT (stopwords-iso)", _normalise(json.loads(text)))
    if name == "better_profanity":
        text = resources.files("better_profanity").joinpath("profanity_wordlist.txt").read_text()
        return WordList(source, "MIT (better-profanity)", _normalise({"en": text.split("\n")}))
    if name == "wordfreq":
        return _wordfreq(source, int(arg or 50_000))
    raise ValueError(f"unknown word-list package {name!r} in {source!r}")


def _wordfreq(source: str, top_n: int) -> WordList:
    import wordfreq  # optional dependency: only for the common-word substitute

    languages = wordfreq.available_languages(wordlist="best")
    words = {lang: wordfreq.top_n_list(lang, top_n, wordlist="best") for lang in languages}
    return WordList(source, "wordfreq data CC-BY-SA-4.0, code Apache-2.0", _normalise(words))


def _read_file(path: Path) -> dict | list:
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".json":
        return json.loads(text)
    return text.splitlines()


def _normalise(data: dict | list) -> dict[str, frozenset[str]]:
    if isinstance(data, list):
        data = {ANY_LANGUAGE: data}
    return {
        lang: frozenset(w.strip().lower() for w in words if w and w.strip())
        for lang, words in data.items()
    }

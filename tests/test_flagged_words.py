"""Flagged words on by default (issue #16): LDNOOBW from npm naughty-words 1.2.0, shipped as
package data; the list of the detected language; multi-word entries matched as word sequences.

Every score below is hand-checked: the OBELICS words of the text (lower-cased, special
characters stripped from both ends), and which of them belong to an occurrence of an entry.
"""

from __future__ import annotations

import copy
import io
import json
import random
import sys
import tarfile
from fractions import Fraction

import pytest
from text_oracles import TextStats, flagged_word_ratio

from webweave.filters.decision import Drop
from webweave.filters.text.config import TextFilterConfig
from webweave.filters.text.normalization import Pieces
from webweave.filters.text.paragraphs import score_paragraphs
from webweave.filters.text.refilter import refilter_row
from webweave.filters.text.rules import document_rules, paragraph_rules
from webweave.filters.text.scores import WordLists, document_scores
from webweave.filters.text.stages import DocumentFilter, ParagraphFilter, load_lists
from webweave.filters.text.wordlists import load_wordlist, shipped_naughty_words

from conftest import REPO_ROOT, fixture_path

sys.path.insert(0, str(REPO_ROOT / "tools"))
import refresh_flagged_words  # noqa: E402

TARBALL_SHA256 = "c34b05e10a97ec7b9e0c3dd91d09888187c0f08d0812eaea79679795585b217e"


@pytest.fixture(scope="module")
def flagged():
    """The default config's flagged-word list (what `webweave run` loads)."""
    return load_lists(TextFilterConfig.default()).flagged_words


def test_default_config_loads_naughty_words_with_provenance(flagged):
    spec = TextFilterConfig.default().flagged_words
    assert spec.source == "package:naughty-words:1.2.0"
    described = flagged.describe()
    assert described["version"] == "1.2.0"
    assert described["tarball_sha256"] == TARBALL_SHA256
    assert described["licence"].startswith("CC-BY-4.0")
    # 28 published lists → 27 languages: fil becomes lid.176's tl, fr-CA-u-sd-caqc joins fr.
    sizes = described["sizes"]
    assert len(sizes) == 27 and "fil" not in sizes and "fr-CA-u-sd-caqc" not in sizes
    assert sizes["fr"] == 91 + 7  # the two French lists share no entry
    assert sizes["tl"] == 13  # 14 published, "ulol" twice
    assert sizes["en"] == 403 - 4  # 2g1c, 2 girls 1 cup, rosy palm and her 5 sisters, 🖕
    # Entries the OBELICS tokenisation would change can never be a text word: skipped, counted.
    unmatchable = {"en": 4, "fa": 3, "ja": 23, "nl": 2, "ru": 1, "tlh": 1, "tr": 11, "zh": 4}
    assert described["unmatchable"] == unmatchable
    assert sum(unmatchable.values()) == 49
    unpinned = load_wordlist("package:naughty-words", phrases=True)
    assert unpinned.by_language == flagged.by_language
    with pytest.raises(ValueError, match="ships naughty-words 1.2.0"):
        load_wordlist("package:naughty-words:0.9.9")


def _shipped() -> dict:
    return json.loads(next(iter(shipped_naughty_words().values())).read_text(encoding="utf-8"))


def test_refresh_script_converts_an_npm_tarball():
    """``tools/refresh_flagged_words.py`` reads a tarball in the npm package's layout (index.js
    naming one JSON file per list, package.json with the version) back into the shipped lists,
    keyed and ordered as index.js names them; its NOTICE section replaces only its own lines.
    (The shipped file itself was written by the script from the tarball ``npm pack`` fetched,
    whose sha512 matched npm's integrity string; its sha256 is recorded.)"""
    shipped = _shipped()
    assert shipped["tarball_sha256"] == TARBALL_SHA256 and shipped["licence"] == "CC-BY-4.0"
    keys = list(shipped["lists"])
    assert len(keys) == 28 and keys[:3] == ["ar", "cs", "da"]
    index = "module.exports = {};\n" + "".join(
        f"module.exports['{key}'] = require('./{key}.json');\n" for key in keys
    )
    members = {"package/index.js": index.encode(),
               "package/package.json": json.dumps({"version": "1.2.0"}).encode()}  # fmt: skip
    for key, words in shipped["lists"].items():
        members[f"package/{key}.json"] = json.dumps(words, ensure_ascii=False).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    tarball = buffer.getvalue()
    data = refresh_flagged_words.build_data(tarball, "1.2.0")
    assert data["lists"] == shipped["lists"] and list(data["lists"]) == keys
    assert data["npm_integrity"] == refresh_flagged_words.integrity_of(tarball)
    with pytest.raises(ValueError, match="not 1.3.0"):
        refresh_flagged_words.build_data(tarball, "1.3.0")
    notice = "head\n\n---- begin: other ----\nkept\n---- end: other ----\n"
    once = refresh_flagged_words.with_section(notice, refresh_flagged_words.notice_section(data))
    twice = refresh_flagged_words.with_section(once, refresh_flagged_words.notice_section(data))
    assert once == twice and once.startswith(notice) and "LDNOOBW" in once
    shipped_notice = (REPO_ROOT / "NOTICE").read_text(encoding="utf-8")
    section = refresh_flagged_words.notice_section(shipped)
    assert refresh_flagged_words.with_section(shipped_notice, section) == shipped_notice


# (language, text, flagged words / words), each counted by hand.
HAND_CHECKED = [
    # en: "ball gag" is a 2-word entry, "dildo" a word: she bought a [ball gag] and a [dildo]
    ("en", "She bought a Ball gag and a dildo.", Fraction(3, 8)),
    # en: "ball" and "gag" are no entries on their own
    ("en", "The ball hit the gag reel.", Fraction(0, 5)),
    # en: "blonde on blonde action" and "blonde action" overlap; each word counts once
    ("en", "blonde on blonde action", Fraction(4, 4)),
    # en: "2g1c" is skipped (its tokenisation "g1c" would not be the entry); "2g1c" → "g1c"
    ("en", "See 2g1c now", Fraction(0, 3)),
    # de: du bist ein [arschloch] sagte er
    ("de", "Du bist ein Arschloch, sagte er.", Fraction(1, 6)),
    # fr with the Quebec list merged: ostie de [tabarnak] dit-il ("dit-il" is one word)
    ("fr", "Ostie de tabarnak, dit-il.", Fraction(1, 4)),
    # es: eres un [hijo de puta] dijo (OBELICS's word-by-word match would count only "puta")
    ("es", "Eres un hijo de puta, dijo.", Fraction(3, 6)),
    # tl (published as fil): [putang ina] mo talaga
    ("tl", "Putang ina mo talaga", Fraction(2, 4)),
    # tr: "amı" is skipped as an entry, but the text word "amı" becomes "am" (ı is a ROOTS
    # special character), which is an entry: onun [am] ... bu bir [amcık] değil
    ("tr", "onun amı. Bu bir amcık değil", Fraction(2, 6)),
    # ja: words are whitespace tokens, so an entry inside unspaced text is not found
    ("ja", "これはエッチな話です", Fraction(0, 1)),
    ("ja", "エッチ です", Fraction(1, 2)),
    # zh likewise: 三级片 alone is a word, inside a sentence it is not
    ("zh", "这是三级片", Fraction(0, 1)),
    ("zh", "三级片 网站", Fraction(1, 2)),
    # ru: LDNOOBW's Russian list is romanised; Cyrillic text does not match it
    ("ru", "pizda", Fraction(1, 1)),
    ("ru", "пизда", Fraction(0, 1)),
]


@pytest.mark.parametrize(("language", "text", "expected"), HAND_CHECKED)
def test_flagged_word_ratio_hand_checked(flagged, language, text, expected):
    lists = WordLists(flagged_words=flagged)
    thresholds = TextFilterConfig.default().paragraph
    got = score_paragraphs([text], lists, language, thresholds).scores[0]["flagged_word_ratio"]
    assert got == float(expected)
    assert flagged_word_ratio(TextStats(text), flagged.for_language(language)) == got
    document = document_scores(text, lists, language, 0.99, TextFilterConfig.default().document, 0)
    assert document["flagged_word_ratio"] == float(expected)


def test_a_language_without_a_list_scores_null_and_passes(flagged):
    """Catalan has no LDNOOBW list: the score is null at both levels and the rule passes."""
    assert flagged.for_language("ca") is None
    config = TextFilterConfig.default()
    config = config.replace(document=config.document.replace(languages=("ca",)))
    text = (
        "El vell pont del poble es va construir l'any 1850 amb pedra de la muntanya, i encara "
        "travessa el riu malgrat les riuades i els anys que han passat des d'aleshores."
    )
    lists = WordLists(flagged_words=flagged)
    row = {"texts": [text], "images": [None], "image_metadata": [None]}
    lid = lambda text: ("ca", 0.99)  # noqa: E731
    kept = DocumentFilter(config, lists)(ParagraphFilter(config, lid, lists)(row))
    assert not isinstance(kept, Drop)
    assert kept["paragraph_filter"]["trace"][0]["scores"]["flagged_word_ratio"] is None
    assert kept["filter_scores"]["flagged_word_ratio"] is None
    assert paragraph_rules(config.paragraph).first_failure({"flagged_word_ratio": None}) is None
    unknown = document_scores(text, lists, None, None, config.document, 0)
    assert unknown["flagged_word_ratio"] is None


def test_phrases_do_not_cross_paragraphs(flagged):
    """At document level the text is "\\n\\n"-joined paragraphs; an entry's words must be in
    one of them ("ball" ends one paragraph, "gag" starts the next: no match)."""
    lists = WordLists(flagged_words=flagged)
    text = "we kicked the ball\n\ngag reel tonight"
    scores = document_scores(text, lists, "en", 0.99, TextFilterConfig.default().document, 0)
    assert scores["flagged_word_ratio"] == 0.0
    joined = "we kicked the ball gag reel tonight"
    scores = document_scores(joined, lists, "en", 0.99, TextFilterConfig.default().document, 0)
    assert scores["flagged_word_ratio"] == 2 / 7


def test_phrase_counts_equal_the_oracle_on_random_texts(flagged):
    """``Pieces.phrase_counts`` (hashes of consecutive words, vectorised) against the obvious
    per-word loop, on 300 texts drawn from the entries' own words, filler words, case and
    punctuation changes, in several pieces: every language's list."""
    rng = random.Random(16)
    for language in sorted(flagged.by_language):
        entries = flagged.for_language(language)
        vocabulary = sorted({w for entry in entries for w in entry.split(" ")})
        vocabulary += ["the", "and", "ok", "x1", "3", "—"]
        for _ in range(300 // len(flagged.by_language) + 1):
            pieces = []
            for _ in range(rng.randint(1, 4)):
                words = [rng.choice(vocabulary) for _ in range(rng.randint(0, 12))]
                if words and rng.random() < 0.5:  # plant an entry
                    at = rng.randrange(len(words))
                    words[at:at] = rng.choice(sorted(entries)).split(" ")
                words = [w.upper() if rng.random() < 0.1 else w for w in words]
                pieces.append(" ".join(w + rng.choice(["", "", ",", "!"]) for w in words))
            analysed = Pieces(pieces)
            counts = analysed.phrase_counts(entries).tolist()
            for piece, count in zip(pieces, counts, strict=True):
                stats = TextStats(piece)
                ratio = flagged_word_ratio(stats, entries)
                assert count == round(ratio * len(stats.words)), (language, piece)


def _row(texts):
    return {"texts": list(texts), "images": [None] * len(texts),
            "image_metadata": [None] * len(texts)}  # fmt: skip


GOOD = (
    "The old mill on the river was built in 1854 by a family of weavers who had moved north from "
    "the coast. For almost a century it supplied cloth to the towns of the valley, and its wheel "
    "turned through floods, droughts and two wars."
)
GOOD_2 = (
    "Visitors can now watch a working loom in the main hall and read letters that the weavers "
    "sent to their relatives abroad, while the archive upstairs keeps ledgers and wage books."
)
FLAGGED = (
    "The forum thread was closed after one user posted a link to a porn site and another one "
    "replied with a picture of a ball gag, which the moderators removed within the hour."
)


def test_refilter_equals_a_full_run_with_flagged_words_on(flagged):
    """With flagged words on, refilter with a new cutoff (stored scores reused) and with
    another list (paragraphs and document re-scored) equals a full run with the new config."""
    old = TextFilterConfig.default()
    lists = load_lists(old)
    lid = lambda text: ("en", 0.97)  # noqa: E731 - the stored language of the row
    row = _row([GOOD, FLAGGED + "\n\n" + GOOD_2])
    first = DocumentFilter(old, lists)(ParagraphFilter(old, lid, lists)(copy.deepcopy(row)))
    assert first["paragraph_filter"]["removed"] == {"flagged_words": 1}  # 3 of 33 words
    assert [r["scores"]["flagged_word_ratio"] for r in first["paragraph_filter"]["trace"]] == [
        0.0, 3 / 33, 0.0]  # fmt: skip
    looser = old.replace(paragraph=old.paragraph.replace(flagged_word_ratio_max=0.1))
    roots = old.replace(flagged_words=old.flagged_words.replace(
        source=str(fixture_path("wordlists/bigscience_data_tooling/flagged_words.json")),
        licence="Apache-2.0 (BigScience ROOTS)"))  # fmt: skip
    # looser: the paragraph stays, and the document (3 flagged of 44 + 33 + 31 words) fails
    # at 0.01; ROOTS: the paragraph still fails (1 of 33 > 0.01), the document then passes
    for new, removed, reason in (
        (looser, {}, "flagged_words"),
        (roots, {"flagged_words": 1}, None),
    ):
        new_lists = load_lists(new)
        refiltered, got_reason, got_removed = refilter_row(first, old, new, new_lists)
        full = ParagraphFilter(new, lid, new_lists)(copy.deepcopy(row))
        decision = DocumentFilter(new, new_lists)(full)
        assert got_reason == reason == (decision.reason if isinstance(decision, Drop) else None)
        assert dict(got_removed) == removed == full["paragraph_filter"]["removed"]
        assert refiltered["texts"] == full["texts"]
        assert refiltered["filter_scores"] == full["filter_scores"]
        assert refiltered["paragraph_filter"] == full["paragraph_filter"]
    assert refiltered["filter_scores"]["flagged_word_ratio"] == 0.0  # ROOTS, kept paragraphs
    looser_scores = refilter_row(first, old, looser, lists)[0]["filter_scores"]
    assert looser_scores["flagged_word_ratio"] == 3 / 108
    # ROOTS's 67-word list has "porn" but no "ball gag": 1 word of 33
    trace = refilter_row(first, old, roots, load_lists(roots))[0]["paragraph_filter"]["trace"]
    assert trace[1]["scores"]["flagged_word_ratio"] == 1 / 33
    assert document_rules(old.document).first_failure({"flagged_word_ratio": 0.02}) == (
        "flagged_words")  # fmt: skip

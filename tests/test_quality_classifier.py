"""Quality classifier: trained in the test on real text, nothing trained is committed.

Positives: the gold article bodies of the 91 scrapinghub pages, the English Wikipedia
excerpts of the fixture set. Negatives: raw Common Crawl text (the CCNet documents of
dolma_ccnet) and the whole-page text of the fixture WARC pages (every text node of the page,
navigation and all). Everything is English by lid.176, so the model cannot separate the
classes by language.
"""

from __future__ import annotations

import gzip
import json
import pickle
import random

import pytest
from selectolax.lexbor import LexborHTMLParser

from webweave.filters.decision import Drop
from webweave.filters.decoding import PageDecoder
from webweave.filters.text.config import TextFilterConfig
from webweave.filters.text.language_id import LanguageIdentifier
from webweave.filters.text.quality_classifier import (
    QualityClassifier,
    read_texts,
    sidecar_path,
    train,
)
from webweave.filters.text.stages import DocumentFilter
from webweave.pipelines.cli import main
from webweave.pipelines.config import load_config
from webweave.pipelines.warc_source import WarcRecord, iter_warc_records

from conftest import fixture_path

# WARCs of ordinary crawled pages; the derived scrapinghub WARC is left out because its pages
# are the positives' own pages.
NEGATIVE_WARCS = (
    "warc/commoncrawl_whirlwind.warc.gz",
    "warc/resiliparse_commoncrawl_warcfile.warc.gz",
    "warc/jwarc_commoncrawl_cc.warc.gz",
    "warc/cmoncrawl_mini.warc.gz",
    "warc/dolma_sample-0000.warc.gz",
    "warc/warcat_archiveteam.warc.gz",
    "warc/pywb_iana.warc.gz",
)
MIN_CHARS = 500


def _english(texts: list[str], lid: LanguageIdentifier) -> list[str]:
    return [t for t in texts if len(t) >= MIN_CHARS and lid(t)[0] == "en"]


def positive_texts(lid: LanguageIdentifier) -> list[str]:
    gold = json.loads(fixture_path("html/scrapinghub_aeb/ground-truth-part1.json").read_text())
    texts = [entry["articleBody"] for entry in gold.values()]
    wiki = json.loads(
        fixture_path("text/resiliparse_wiki_samples/wikipedia_front_page_samples.json").read_text()
    )
    texts += [wiki["en"]] if isinstance(wiki["en"], str) else list(wiki["en"])
    for path in fixture_path("text/langid_py_tests").glob("en.*.txt"):
        texts.append(path.read_text(encoding="utf-8"))
    return _english(texts, lid)


def page_texts(relative: str) -> list[str]:
    """Whole-page text of every HTML response of a fixture WARC."""
    decoder = PageDecoder(load_config().warc)
    path = fixture_path(relative)
    texts = []
    with open(path, "rb") as stream:
        for record in iter_warc_records(stream, str(path), max_record_bytes=1 << 24):
            if not isinstance(record, WarcRecord) or record.warc_type != "response":
                continue
            page = decoder(record)  # a Drop for records the decoder refuses
            if not isinstance(page, Drop) and page.content_type == "text/html" and page.html:
                texts.append(LexborHTMLParser(page.html).text(separator="\n"))
    return texts


def negative_texts(lid: LanguageIdentifier) -> list[str]:
    texts = []
    for path in sorted(fixture_path("text/dolma_ccnet").glob("*.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as stream:
            texts += [json.loads(line)["text"] for line in stream if line.strip()]
    for relative in NEGATIVE_WARCS:
        texts += page_texts(relative)
    return _english(texts, lid)


@pytest.fixture(scope="module")
def corpus() -> tuple[list[str], list[str]]:
    lid = LanguageIdentifier()
    return positive_texts(lid), negative_texts(lid)


def test_held_out_auc_on_real_text(corpus):
    positives, negatives = corpus
    assert len(positives) >= 80 and len(negatives) >= 40, (len(positives), len(negatives))
    model, metrics = train(positives, negatives, seed=0, test_fraction=0.3)
    print(f"{len(positives)} positive, {len(negatives)} negative documents: {metrics}")
    assert metrics["roc_auc_held_out"] >= 0.9
    assert 0.0 <= model.score(negatives[0]) <= 1.0


def test_train_main_end_to_end(corpus, tmp_path, capsys):
    positives, negatives = corpus
    rng = random.Random(0)
    pos_dir = tmp_path / "pos"
    pos_dir.mkdir()
    for i, text in enumerate(rng.sample(positives, 40)):  # .txt: one document per file
        (pos_dir / f"{i}.txt").write_text(text, encoding="utf-8")
    neg = tmp_path / "neg.jsonl.gz"
    with gzip.open(neg, "wt", encoding="utf-8") as stream:
        for text in rng.sample(negatives, 30):
            stream.write(json.dumps({"text": text}) + "\n")
    out = tmp_path / "model" / "quality.joblib"
    argv = ["--positive", str(pos_dir), "--negative", str(neg), "--out", str(out)]
    assert main(["quality", "train", *argv]) == 0
    printed = capsys.readouterr().out
    assert "held-out ROC AUC: " in printed and "40 positive, 30 negative" in printed
    meta = json.loads(sidecar_path(out).read_text())
    assert meta["counts"] == {"positive": 40, "negative": 30}
    assert 0.0 <= meta["roc_auc_held_out"] <= 1.0 and meta["sklearn_version"]
    assert meta["sources"]["negative"] == [str(neg)] and meta["features"]["word"]

    model = QualityClassifier.load(out)
    assert model.metadata == meta
    again = pickle.loads(pickle.dumps(model))  # Beam: only the path travels
    assert again.score(positives[0]) == pytest.approx(model.score(positives[0]))

    config = TextFilterConfig.default().replace(quality={"model": str(out)})
    row = {"texts": [negatives[0]], "images": [None], "general_metadata": {}}
    scores = DocumentFilter(config).score(row)
    assert scores["quality_score"] == pytest.approx(model.score(negatives[0]))


def test_train_main_rejects_empty_source(tmp_path, capsys):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    some = tmp_path / "a.txt"
    some.write_text("Some text.")
    argv = ["--positive", str(some), "--negative", str(empty), "--out", str(tmp_path / "m")]
    assert main(["quality", "train", *argv]) == 2
    assert "no document text" in capsys.readouterr().err


def test_read_texts_formats(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "a.txt").write_text("Para one.\n\nPara two.")  # one document per file
    (tmp_path / "b.jsonl").write_text('{"text": "x y"}\n\n{"text": "z"}\n')
    docs = tmp_path / "documents"
    docs.mkdir()
    pq.write_table(pa.table({"texts": [["t1", None, "t2"], ["u"]]}), docs / "part-0.parquet")
    pq.write_table(pa.table({"text": ["plain"]}), tmp_path / "c.parquet")
    assert read_texts(tmp_path / "a.txt") == ["Para one.\n\nPara two."]
    assert read_texts(tmp_path / "b.jsonl") == ["x y", "z"]
    assert read_texts(docs) == ["t1\n\nt2", "u"]
    assert read_texts(tmp_path / "c.parquet") == ["plain"]


def test_document_filter_skips_quality_without_model(caplog):
    caplog.set_level("INFO")
    stage = DocumentFilter(TextFilterConfig.default())
    assert stage.quality is None
    assert sum("quality filter skipped" in r.message for r in caplog.records) == 1
    row = {"texts": ["too short"], "images": [None], "general_metadata": {}}
    result = stage(row)
    assert isinstance(result, Drop) and result.scores["quality_score"] is None

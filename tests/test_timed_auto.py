"""TImeD auto labels on real documents and real images, thresholds applied exactly.

Documents are real Common Crawl texts (dolma CCNet fixture) interleaved with real book-cover
JPEGs from a WARC fixture, put through the real images job (offline). A tiny random open_clip
model (loaded from a ``local-dir:`` folder) scores them; the test recomputes every sentence,
similarity and label on its own (pysbd directly, open_clip directly) and picks thresholds
between observed similarities, so every comparison with t_pos / t_neg is decided exactly.
"""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pyarrow.parquet as pq
import pysbd
import pytest
from annotation_corpus import document, images_output
from test_nights_mining import COVERS, cover_url
from tiny_models import save_tiny_open_clip

from webweave.pipelines.cli import main
from webweave.schemas import visualness_auto
from webweave.schemas.registry import check_table

from conftest import fixture_path

MISSING = "http://books.toscrape.com/media/cache/00/00/not-in-the-warc.jpg"


def real_texts(count: int) -> list[str]:
    path = fixture_path("text/dolma_ccnet/multiple_files__cc_en_head-0091.jsonl.gz")
    with gzip.open(path, "rt") as handle:
        lines = [json.loads(line)["text"] for line, _ in zip(handle, range(count), strict=False)]
    return [" ".join(text.split("\n")[:2]) for text in lines]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """An images output: a (3 covers, 2 texts), b (1 cover), c (text only), d (missing image)."""
    root = tmp_path_factory.mktemp("timed")
    t = real_texts(6)
    covers = [cover_url(c) for c in COVERS[:4]]
    docs = [
        document("a", [t[0], covers[0], t[1], covers[1], covers[2]]),
        document("b", [covers[3], t[2] + "\n\n" + t[3]]),
        document("c", [t[4]]),
        document("d", [t[5], MISSING]),
    ]
    corpus_dir = images_output(
        docs, root, [fixture_path("warc/nodewarc_books.toscrape.warc")],
        min_side=90, no_image_documents="keep_text_only",
    )  # fmt: skip
    (root / "clip").mkdir()
    return corpus_dir, root / "run", save_tiny_open_clip(root / "clip", seed=7), docs


def oracle(corpus_dir, docs: list[dict], clip_folder) -> list[dict]:
    """Every sentence with its similarities to its document's stored images, computed here."""
    import open_clip
    import torch
    from PIL import Image

    name = f"local-dir:{clip_folder}"
    model, _, preprocess = open_clip.create_model_and_transforms(name)
    tokenizer = open_clip.get_tokenizer(name)
    model.eval()
    stored = {}
    for path in sorted(corpus_dir.glob("images/*.parquet")):
        for row in pq.read_table(path).to_pylist():
            stored[row["image_url"]] = Image.open(io.BytesIO(row["bytes"])).convert("RGB")
    segmenter = pysbd.Segmenter(language="en", clean=False)

    def unit(features):
        features = features.float()
        return (features / features.norm(dim=-1, keepdim=True)).numpy()

    rows = []
    for doc in docs:
        urls = [u for u in doc["images"] if u in stored]
        with torch.inference_mode():
            images = (
                unit(model.encode_image(torch.stack([preprocess(stored[u]) for u in urls])))
                if urls
                else None
            )
        index = 0
        for position, text in enumerate(doc["texts"]):
            if text is None:
                continue
            for paragraph in text.split("\n\n"):
                for sentence in (s.strip() for s in segmenter.segment(paragraph)):
                    if not sentence:
                        continue
                    sims = None
                    if images is not None:
                        with torch.inference_mode():
                            sims = images @ unit(model.encode_text(tokenizer([sentence])))[0]
                    rows.append({"doc_id": doc["id"], "position": position, "index": index,
                                 "sentence": sentence, "urls": urls, "sims": sims})  # fmt: skip
                    index += 1
    return rows


def test_auto_labels_apply_the_thresholds_exactly(corpus, tmp_path, capsys):
    corpus_dir, run_dir, clip, docs = corpus
    expected = oracle(corpus_dir, docs, clip)
    best = sorted(float(r["sims"].max()) for r in expected if r["sims"] is not None)
    assert len(best) >= 8
    # thresholds halfway between observed values: no similarity sits on a threshold
    t_neg = (best[len(best) // 4] + best[len(best) // 4 + 1]) / 2
    t_pos = (best[-3] + best[-4]) / 2
    config = tmp_path / "timed.yaml"
    config.write_text(
        f"annotation_clip:\n  model: 'local-dir:{clip}'\n  batch_size: 4\n"
        f"timed:\n  t_pos: {t_pos!r}\n  t_neg: {t_neg!r}\n  min_sentence_chars: 1\n"
    )
    out = tmp_path / "auto"
    code = main(["timed", "auto", str(corpus_dir), "--output", str(out), "--config", str(config),
                 "--device", "cpu"])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    table = pq.read_table(out / "sentences")
    check_table(pq.read_table(next((out / "sentences").glob("*.parquet"))), visualness_auto.SCHEMA)
    got = {(r["doc_id"], r["sentence_index"]): r for r in table.to_pylist()}
    assert len(got) == len(expected) == table.num_rows
    labels = {}
    for want in expected:
        row = got[want["doc_id"], want["index"]]
        assert (row["sentence"], row["position"], row["language"]) == (
            want["sentence"],
            want["position"],
            "en",
        )
        assert row["splitter"] == "pysbd 0.3.4" and row["model"].startswith(
            f"local-dir:{clip}@sha256:"
        )
        if want["sims"] is None:
            reason = "no_images" if want["doc_id"] == "c" else "images_unavailable"
            assert (row["label"], row["unlabelled_reason"], row["similarities"]) == (
                "unlabelled",
                reason,
                [],
            )
            continue
        assert row["image_urls"] == want["urls"]
        assert row["similarities"] == pytest.approx(want["sims"].tolist(), abs=1e-5)
        top = float(want["sims"].max())
        label = "visual" if top > t_pos else "non_visual" if top < t_neg else "unlabelled"
        assert row["label"] == label
        assert row["best_image_url"] == want["urls"][int(np.argmax(want["sims"]))]
        labels[label] = labels.get(label, 0) + 1
    assert labels["visual"] == 3 and labels["non_visual"] == len(best) // 4 + 1
    stats = json.loads((out / "stats.json").read_text())
    assert stats["funnel_closes"], stats["funnel_problems"]
    unscored = [w["doc_id"] for w in expected if w["sims"] is None]
    assert stats["funnel"][0]["dropped"] == {
        "no_images": unscored.count("c"), "images_unavailable": unscored.count("d"),
    }  # fmt: skip
    assert stats["funnel"][1] == {
        "stage": "thresholds", "in": len(best), "out": labels["visual"] + labels["non_visual"],
        "dropped": {"between_thresholds": labels["unlabelled"]}, "errors": 0,
    }  # fmt: skip
    assert stats["counts"]["images_not_in_store"] == 1  # document d's missing image
    assert stats["provenance"]["splitter"] == "pysbd 0.3.4"

    # The run's own documents with the images output as the byte store: the same rows.
    from_run = tmp_path / "auto-from-run"
    assert main(["timed", "auto", str(run_dir), "--images", str(corpus_dir), "--output",
                 str(from_run), "--config", str(config), "--device", "cpu"]) == 0  # fmt: skip
    assert pq.read_table(from_run / "sentences").equals(table)

    # calibrate reads the output: TImeD's top 1% / bottom 5% of these best similarities
    assert main(["timed", "calibrate", str(out), "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert f"t_pos: {np.quantile(best, 0.99):.4f}" in text
    assert f"t_neg: {np.quantile(best, 0.05):.4f}" in text
    assert f"keeps {3 / len(best):.2%} as visual" in text


def test_documents_without_an_image_store_are_refused(corpus, tmp_path, capsys):
    _, run_dir, clip, _ = corpus
    code = main(["timed", "auto", str(run_dir), "--output", str(tmp_path / "out")])
    assert code == 2
    assert "has no image store" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()

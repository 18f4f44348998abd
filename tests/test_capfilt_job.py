"""``webweave capfilt`` end to end on real photographs with tiny random models of the real
classes: outputs, dead letters, the funnel, provenance, refilter equality, folder rules, the
documents attachment, and the training exports read back by their consumers' loaders."""

from __future__ import annotations

import glob
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from PIL import Image
from tiny_models import CAPFILT_PHOTOS, save_tiny_capfilt_models

from webweave.filters.capfilt.decisions import Thresholds, apply_decisions
from webweave.filters.image_checks import sniff_format
from webweave.pipelines.cli import main
from webweave.pipelines.images.documents import pair_id
from webweave.schemas import capfilt as capfilt_schema
from webweave.schemas import documents as documents_schema
from webweave.schemas import image_documents, image_store, pairs
from webweave.schemas.registry import check_table

from conftest import BEAM_TEST_RUNNER, fixture_path

RUNNER = f"--runner={BEAM_TEST_RUNNER}"
PHOTOS = CAPFILT_PHOTOS


# ---------------------------------------------------------------- inputs


def _photo_bytes() -> dict[str, bytes]:
    photos = {Path(p).name: fixture_path(f"images/{p}").read_bytes() for p in PHOTOS}
    webp = io.BytesIO()  # one photograph served as WebP, for the {key}.webp export
    Image.open(io.BytesIO(photos["chelsea.png"])).save(webp, "WEBP", quality=80)
    photos["chelsea.webp"] = webp.getvalue()
    del photos["chelsea.png"]
    return photos


def _documents() -> list[dict]:
    """(doc id, nodes): strings are paragraphs, (url, alt) tuples are images."""
    base = "http://photos.test/"
    return [
        ("d1", ["Grace Hopper at work.", (base + "grace_hopper.jpg", "Grace Hopper portrait"),
                "An astronaut in space.", (base + "astronaut.png", "An astronaut"), "End."]),
        ("d2", [(base + "camera.png", ""), "A man with a camera in a field."]),
        ("d3", ["A cat sleeping.", (base + "chelsea.webp", None)]),
        ("d4", [(base + "coffee.png", "A cup of coffee"), (base + "china.jpg", "A temple"),
                "Two pictures."]),
        ("d5", [(base + "flower.jpg", None)]),
        ("d6", ["Launch day.", (base + "rocket.jpg", "A rocket on its pad"),
                (base + "grace_hopper.jpg", "The same portrait again")]),
    ]  # fmt: skip


def write_images_output(root: Path) -> Path:
    """A `webweave images` output written with its real schemas and file layout: documents/,
    pairs/ (per input documents file) and images/ (bytes once per distinct URL)."""
    photos = _photo_bytes()
    nodes = [node for _, doc_nodes in _documents() for node in doc_nodes]
    urls = sorted({node[0] for node in nodes if isinstance(node, tuple)})
    shard = "images/a001-b00000-00000.parquet"
    store = []
    for url in urls:
        data = photos[url.rsplit("/", 1)[1]]
        image = Image.open(io.BytesIO(data))
        store.append({"image_url": url, "sha256": hashlib.sha256(data).hexdigest(),
                      "format": sniff_format(data), "width": image.width,
                      "height": image.height, "bytes": data})  # fmt: skip
    row_of = {r["image_url"]: i for i, r in enumerate(store)}
    docs, pair_rows = [], []
    for doc_id, nodes in _documents():
        texts, images, metadata = [], [], []
        for position, node in enumerate(nodes):
            if isinstance(node, str):
                texts.append(node), images.append(None), metadata.append(None)
                continue
            url, alt = node
            stored = store[row_of[url]]
            texts.append(None), images.append(url)
            metadata.append({"alt_text": alt, "status": "ok", "sha256": stored["sha256"],
                             "format": stored["format"], "width": stored["width"],
                             "height": stored["height"], "source": "warc"})  # fmt: skip
            before = next((t for t in reversed(texts[:position]) if t), None)
            after = next((n for n in nodes[position + 1 :] if isinstance(n, str)), None)
            pair_rows.append({
                "pair_id": pair_id(doc_id, position), "doc_id": doc_id, "position": position,
                "image_url": url, "image_shard": shard, "image_row": row_of[url],
                "alt_text": alt, "text_before": before, "text_after": after,
                "width": stored["width"], "height": stored["height"],
                "format": stored["format"], "sha256": stored["sha256"],
                "phash": "0" * 16, "source": "warc",
            })  # fmt: skip
        docs.append({"id": doc_id, "texts": texts, "images": images, "image_metadata": metadata,
                     "general_metadata": {"url": f"http://site.test/{doc_id}"}})  # fmt: skip
    for folder in ("images", "pairs", "documents"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(store, schema=image_store.SCHEMA), root / shard)
    half = 3  # two input documents files → two pairs files, as the images job writes them
    for n, part in enumerate((docs[:half], docs[half:])):
        ids = {d["id"] for d in part}
        name = f"input-{n:05d}-00000.parquet"
        table = pa.Table.from_pylist(part, schema=image_documents.SCHEMA)
        pq.write_table(table, root / "documents" / name)
        rows = [p for p in pair_rows if p["doc_id"] in ids]
        pq.write_table(pa.Table.from_pylist(rows, schema=pairs.SCHEMA), root / "pairs" / name)
    return root


def damage(images_dir: Path) -> tuple[str, str]:
    """Truncate the bytes of one stored image (sha256 kept: bytes rotted on disk) and point one
    pair at a row that does not exist; returns their pair ids."""
    shard = images_dir / "images" / "a001-b00000-00000.parquet"
    store = pq.read_table(shard).to_pylist()
    rocket = next(i for i, r in enumerate(store) if r["image_url"].endswith("rocket.jpg"))
    store[rocket]["bytes"] = store[rocket]["bytes"][:5000]
    pq.write_table(pa.Table.from_pylist(store, schema=image_store.SCHEMA), shard)
    path = images_dir / "pairs" / "input-00001-00000.parquet"
    rows = pq.read_table(path).to_pylist()
    flower = next(r for r in rows if r["image_url"].endswith("flower.jpg"))
    flower["image_row"] = 99
    pq.write_table(pa.Table.from_pylist(rows, schema=pairs.SCHEMA), path)
    rocket_pair = next(r for r in rows if r["image_url"].endswith("rocket.jpg"))
    return rocket_pair["pair_id"], flower["pair_id"]


# ---------------------------------------------------------------- running the command


def webweave_capfilt(*argv: str) -> int:
    """``webweave ...`` in process, through the real command line."""
    return main([str(a) for a in argv])


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict:
    return save_tiny_capfilt_models(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture(scope="module")
def images_dir(tmp_path_factory) -> Path:
    folder = write_images_output(tmp_path_factory.mktemp("images-out"))
    damage(folder)
    return folder


def _config(tmp: Path, **capfilt) -> Path:
    path = tmp / f"capfilt-{hashlib.sha1(repr(capfilt).encode()).hexdigest()[:8]}.yaml"
    path.write_text(yaml.safe_dump({"capfilt": {"device": "cpu", "cpu_batch_size": 3,
                                                "shard_rows": 4, **capfilt}}))  # fmt: skip
    return path


def _run(images: Path, out: Path, models: dict, config: Path, *extra: str) -> int:
    return webweave_capfilt(
        "capfilt", images, "--output", out, "--config", config,
        "--captioner", models["captioner"], "--filter", models["filter"], *extra, RUNNER,
    )  # fmt: skip


@pytest.fixture(scope="module")
def blip_out(tmp_path_factory, images_dir, models) -> Path:
    tmp = tmp_path_factory.mktemp("blip")
    config = _config(tmp, blip={"captions_per_image": 2})
    assert _run(images_dir, tmp / "out", models, config, "--write-documents") == 0
    return tmp / "out"


def rows_of(folder: Path, sub: str = "capfilt") -> list[dict]:
    rows = []
    for path in sorted(glob.glob(str(folder / sub / "*.parquet"))):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


# ---------------------------------------------------------------- the job


def test_every_pair_is_a_row_or_a_dead_letter_and_the_funnel_closes(blip_out, images_dir):
    rocket, flower = (
        next(r["pair_id"] for r in rows_of(images_dir, "pairs") if r["image_url"].endswith(n))
        for n in ("rocket.jpg", "flower.jpg")
    )
    stats = json.loads((blip_out / "stats.json").read_text())
    assert stats["funnel_closes"], stats["funnel_problems"]
    assert (stats["pairs_in"], stats["pairs_with_captions"], stats["dead_letter"]) == (9, 7, 2)
    assert stats["dead_letter_by_reason"] == {"image_not_found": 1, "truncated_image": 1}
    assert stats["funnel"] == [
        {"stage": "decode", "in": 9, "out": 7, "dropped": {}, "errors": 2},
        {"stage": "models", "in": 7, "out": 7, "dropped": {}, "errors": 0},
    ]
    dead = {r["record_id"]: r for r in rows_of(blip_out, "dead_letter")}
    assert (dead[rocket]["stage"], dead[rocket]["error_type"]) == ("decode", "truncated_image")
    assert dead[rocket]["url"] == "http://photos.test/rocket.jpg"
    assert dead[rocket]["source_file"].endswith("images/a001-b00000-00000.parquet")
    assert dead[flower]["error_type"] == "image_not_found"
    rows = rows_of(blip_out)
    assert sorted(r["pair_id"] for r in rows) == sorted(
        r["pair_id"] for r in rows_of(images_dir, "pairs") if r["pair_id"] not in dead
    )
    for path in glob.glob(str(blip_out / "capfilt" / "*.parquet")):
        check_table(pq.read_table(path), capfilt_schema.SCHEMA)
    assert len(glob.glob(str(blip_out / "capfilt" / "*.parquet"))) == 2  # 7 rows, 4 per file


def test_decisions_follow_the_stored_scores_and_threshold_exactly(blip_out):
    rows = rows_of(blip_out)
    for row in rows:
        assert row["web_kept"] == (row["web_itm_score"] is not None
                                   and row["web_itm_score"] >= 0.5)  # fmt: skip
        assert [c["kept"] for c in row["captions"]] == [
            c["itm_score"] >= 0.5 for c in row["captions"]
        ]
        assert apply_decisions(row, Thresholds("blip", 0.5, 2)) == row
        assert len(row["captions"]) == 2 and all(c["text"] for c in row["captions"])
    # the tiny filter's scores fall on both sides of 0.5: both decisions are exercised
    scores = [c["itm_score"] for r in rows for c in r["captions"]]
    assert min(scores) < 0.5 < max(scores)
    stats = json.loads((blip_out / "stats.json").read_text())
    kept = [s for r in rows for s in r["kept_sources"]]
    assert stats["texts"] == {
        "web": sum(r["web_text"] is not None for r in rows),
        "web_kept": kept.count("web"),
        "synthetic": 2 * len(rows),
        "synthetic_kept": kept.count("synthetic"),
        "kept": len(kept),
    }
    assert stats["synthetic_share_of_kept"] == round(kept.count("synthetic") / len(kept), 6)


def test_web_text_and_its_source(blip_out):
    by_url = {(r["doc_id"], r["image_url"].rsplit("/", 1)[1]): r for r in rows_of(blip_out)}
    assert by_url["d1", "grace_hopper.jpg"]["web_text"] == "Grace Hopper portrait"
    assert by_url["d1", "grace_hopper.jpg"]["web_text_source"] == "alt_text"
    camera = by_url["d2", "camera.png"]  # empty alt: the paragraph below
    assert (camera["web_text"], camera["web_text_source"]) == (
        "A man with a camera in a field.", "text_after",
    )  # fmt: skip
    cat = by_url["d3", "chelsea.webp"]  # no alt, nothing below: the paragraph above
    assert (cat["web_text"], cat["web_text_source"]) == ("A cat sleeping.", "text_before")
    assert by_url["d6", "grace_hopper.jpg"]["web_text"] == "The same portrait again"
    stats = json.loads((blip_out / "stats.json").read_text())
    assert stats["web_text_source"] == {"alt_text": 5, "text_after": 1, "text_before": 1}


def test_every_row_carries_complete_provenance(blip_out, models):
    import transformers

    from webweave.filters.capfilt.models import weight_files, weights_sha256

    provenances = {json.dumps(r["provenance"], sort_keys=True) for r in rows_of(blip_out)}
    assert len(provenances) == 1
    provenance = json.loads(provenances.pop())
    assert provenance["captioner"] == models["captioner"]
    assert provenance["captioner_sha256"] == weights_sha256(weight_files(Path(models["captioner"])))
    assert provenance["filter_sha256"] == weights_sha256(weight_files(Path(models["filter"])))
    assert provenance["transformers_version"] == transformers.__version__
    assert provenance["decoding"]["top_p"] == 0.9 and provenance["seed"] == 0
    assert provenance["decoding"]["captions_per_image"] == 2
    config = yaml.safe_load((blip_out / "config.yaml").read_text())["capfilt"]
    assert config["blip"]["captioner"] == models["captioner"] and config["write_documents"]


def test_documents_gain_the_kept_synthetic_captions_and_keep_their_web_texts(blip_out, images_dir):
    rows = {(r["doc_id"], r["position"]): r for r in rows_of(blip_out)}
    before = {d["id"]: d for d in rows_of(images_dir, "documents")}
    after = {d["id"]: d for d in rows_of(blip_out, "documents")}
    assert sorted(os.listdir(blip_out / "documents")) == sorted(
        os.listdir(images_dir / "documents")
    )
    assert set(after) == set(before)
    attached = 0
    for doc_id, document in after.items():
        assert document["texts"] == before[doc_id]["texts"]
        assert document["images"] == before[doc_id]["images"]
        for position, meta in enumerate(document["image_metadata"]):
            if meta is None:
                continue
            assert meta["alt_text"] == before[doc_id]["image_metadata"][position]["alt_text"]
            row = rows.get((doc_id, position))
            if row is None:  # dead-lettered: CapFilt did not run on it
                assert meta["synthetic_captions"] is None
                continue
            kept = [t for t, s in zip(row["kept_texts"], row["kept_sources"], strict=True)
                    if s == "synthetic"]  # fmt: skip
            assert meta["synthetic_captions"] == kept
            assert meta["synthetic_caption_provenance"] == row["provenance"]
            attached += bool(kept)
    stats = json.loads((blip_out / "stats.json").read_text())
    assert stats["documents"] == {"written": 6, "images_with_synthetic_captions": attached}
    assert attached > 0
    for path in glob.glob(str(blip_out / "documents" / "*.parquet")):
        check_table(pq.read_table(path), image_documents.SCHEMA)


def test_refilter_equals_a_full_run_with_the_new_threshold(tmp_path, blip_out, images_dir, models):
    new = tmp_path / "new.yaml"
    new.write_text("capfilt:\n  itm_threshold: 0.7\n  shard_rows: 3\n")
    assert webweave_capfilt("capfilt", "refilter", blip_out, "--config", new, "--output",
                            tmp_path / "refiltered", RUNNER) == 0  # fmt: skip
    config = _config(tmp_path, blip={"captions_per_image": 2}, itm_threshold=0.7, shard_rows=3)
    assert _run(images_dir, tmp_path / "full", models, config, "--write-documents") == 0
    refiltered, full = tmp_path / "refiltered", tmp_path / "full"
    for sub in ("capfilt", "dead_letter", "documents"):
        names = sorted(os.listdir(full / sub))
        assert names == sorted(os.listdir(refiltered / sub)) and names
        for name in names:
            assert pq.read_table(refiltered / sub / name).equals(
                pq.read_table(full / sub / name), check_metadata=True
            ), f"{sub}/{name}"
    stats = [json.loads((f / "stats.json").read_text()) for f in (refiltered, full)]
    for s in stats:
        s.pop("run")
    assert stats[0] == stats[1]
    assert stats[0]["itm_threshold"] == 0.7
    old = json.loads((blip_out / "stats.json").read_text())
    assert stats[0]["texts"]["kept"] < old["texts"]["kept"]  # a stricter threshold keeps fewer
    for name in ("config.yaml", "_webweave.json"):  # same config, same ownership record
        assert (refiltered / name).read_text() == (full / name).read_text()


def test_refilter_refuses_a_change_that_needs_a_model_run(tmp_path, blip_out, capsys):
    new = tmp_path / "new.yaml"
    new.write_text("capfilt:\n  decoding:\n    top_p: 0.5\n")
    code = webweave_capfilt("capfilt", "refilter", blip_out, "--config", new, "--output",
                            tmp_path / "x", RUNNER)  # fmt: skip
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and error.startswith("webweave: error: capfilt refilter: ")
    assert "capfilt.decoding.top_p changes from 0.9 to 0.5" in error and "model run" in error
    assert not (tmp_path / "x").exists()


def test_output_folder_rules(tmp_path, images_dir, models, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    config = _config(tmp_path, blip={"captions_per_image": 1})
    assert _run(images_dir, out, models, config) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("webweave: error: ") and "is not empty" in error
    assert "--overwrite" in error
    assert (out / "notes.txt").read_text() == "mine"

    assert _run(images_dir, out, models, config, "--overwrite") == 0
    assert not (out / "notes.txt").exists() and (out / "stats.json").exists()
    assert not glob.glob(str(tmp_path / "out.webweave-staging-*"))  # staging, old folder gone
    first = rows_of(out)

    # the same job again: accepted, finished shards are reused from their manifests
    stamp = {p: os.path.getmtime(p) for p in glob.glob(str(out / "capfilt" / "*.parquet"))}
    assert _run(images_dir, out, models, config) == 0
    assert {p: os.path.getmtime(p) for p in stamp} == stamp and rows_of(out) == first

    # other settings are another job: refused
    other = _config(tmp_path, blip={"captions_per_image": 1}, seed=5)
    assert _run(images_dir, out, models, other) == 2
    assert "another output-changing configuration" in capsys.readouterr().err


def test_blip2_mode_keeps_the_top_ranked_texts(tmp_path, images_dir, models):
    config = _config(tmp_path, blip2={"captions_per_image": 3}, keep_top=2)
    out = tmp_path / "out"
    code = webweave_capfilt(
        "capfilt", images_dir, "--output", out, "--config", config, "--mode", "blip2",
        "--captioner", models["captioner"], "--ranker", models["ranker"], RUNNER,
    )  # fmt: skip
    assert code == 0
    rows = rows_of(out)
    assert len(rows) == 7
    for row in rows:
        texts = [(row["web_rank_score"], 0, row["web_text"], "web")] if row["web_text"] else []
        texts += [(c["rank_score"], k + 1, c["text"], "synthetic")
                  for k, c in enumerate(row["captions"])]  # fmt: skip
        best = sorted(texts, key=lambda t: (-t[0], t[1]))[:2]
        assert row["kept_texts"] == [t[2] for t in best]
        assert row["kept_sources"] == [t[3] for t in best]
        assert row["web_itm_score"] is None and all(c["itm_score"] is None for c in row["captions"])
        assert row["provenance"]["ranker"] == models["ranker"]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["texts"]["kept"] == 14 and stats["keep_top"] == 2 and stats["funnel_closes"]


def test_a_missing_model_offline_is_one_clear_line(tmp_path, images_dir):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "empty-cache")}
    result = subprocess.run(
        [sys.executable, "-m", "webweave.pipelines.cli", "capfilt", str(images_dir),
         "--output", str(tmp_path / "out"), RUNNER],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "webweave: error: the CapFilt captioner model 'Salesforce/blip-image-captioning-base' "
        "is not in the local Hugging Face cache and downloads are off (HF_HUB_OFFLINE); pass a "
        "local folder with --captioner PATH (or set it in the capfilt: section of --config)"
    ]


# ---------------------------------------------------------------- exports


def test_webdataset_export_reads_back_as_open_clip_reads_it(tmp_path, blip_out, images_dir, models):
    import open_clip
    import webdataset as wds

    from webweave.pipelines.capfilt.exports import export_webdataset

    dest = tmp_path / "wds"
    counts = export_webdataset(str(blip_out), str(dest), samples_per_shard=3)
    rows = {r["pair_id"]: r for r in rows_of(blip_out) if r["kept_texts"]}
    assert counts.samples == len(rows)
    assert counts.files == [f"{n:06d}.tar" for n in range(-(-len(rows) // 3))]
    store = {r["image_url"]: r["bytes"] for r in rows_of(images_dir, "images")}
    shards = sorted(str(p) for p in dest.glob("*.tar"))
    # open_clip's training loader (open_clip_train/data.py get_wds_dataset), minus shuffling
    ranker = f"local-dir:{models['ranker']}"
    _, _, preprocess = open_clip.create_model_and_transforms(ranker)
    tokenizer = open_clip.get_tokenizer(ranker)
    pipeline = (
        wds.WebDataset(shards, shardshuffle=False)
        .decode("pilrgb")
        .rename(image="jpg;png;jpeg;webp", text="txt")
        .map_dict(image=preprocess, text=lambda text: tokenizer(text)[0])
        .to_tuple("image", "text")
    )
    samples = list(pipeline)
    assert len(samples) == len(rows)
    assert all(tuple(img.shape) == (3, 32, 32) and text.shape == (77,) for img, text in samples)
    extensions = set()
    for sample in wds.WebDataset(shards, shardshuffle=False):
        row = rows[sample["__key__"]]
        extension = {"jpeg": "jpg", "png": "png", "webp": "webp"}[row["format"]]
        extensions.add(extension)
        assert sample[extension] == store[row["image_url"]]  # the original bytes
        assert sample["txt"].decode() == row["kept_texts"][0]
        meta = json.loads(sample["json"])
        assert meta["captions"] == row["captions"] and meta["provenance"] == row["provenance"]
        assert meta["txt_source"] == row["kept_sources"][0]
    assert len(extensions) >= 2
    assert json.loads((dest / "export_stats.json").read_text())["samples"] == len(rows)


def test_blip_json_export_and_the_synthetic_share_cap(tmp_path, blip_out):
    from fractions import Fraction

    from webweave.pipelines.capfilt.exports import export_blip_json, export_webdataset

    rows = rows_of(blip_out)
    web = sum(r["kept_sources"].count("web") for r in rows)
    synthetic = sum(r["kept_sources"].count("synthetic") for r in rows)
    assert web and synthetic
    dest = tmp_path / "blip.json"
    counts = export_blip_json(str(blip_out), str(dest))
    entries = json.loads(dest.read_text())
    assert entries == [{"url": r["image_url"], "caption": r["kept_texts"]}
                       for r in rows if r["kept_texts"]]  # fmt: skip
    assert (counts.web_texts, counts.synthetic_texts) == (web, synthetic)

    capped = export_blip_json(str(blip_out), str(dest), max_share=Fraction(1, 4))
    entries = json.loads(dest.read_text())
    exported = [c for e in entries for c in e["caption"]]
    assert capped.web_texts == web  # web texts are never removed
    assert capped.synthetic_texts == min(synthetic, web // 3)  # n / (web + n) <= 1/4
    assert capped.removed_by_synthetic_cap == synthetic - capped.synthetic_texts
    assert len(exported) == web + capped.synthetic_texts
    again = export_blip_json(str(blip_out), str(tmp_path / "again.json"), Fraction(1, 4))
    assert (tmp_path / "again.json").read_text() == dest.read_text()  # reproducible choice
    assert again.synthetic_texts == capped.synthetic_texts

    none = export_webdataset(str(blip_out), str(tmp_path / "wds0"), max_share=Fraction(0))
    assert none.synthetic_texts == 0 and none.samples == sum(
        1 for r in rows if "web" in r["kept_sources"]
    )


def test_the_real_images_job_output_feeds_capfilt(tmp_path, models):
    """The images job itself (offline, from a WARC of the photographs) → capfilt."""
    from warcio.warcwriter import WARCWriter

    photos = _photo_bytes()
    warc = tmp_path / "photos.warc.gz"
    with open(warc, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for name in ("grace_hopper.jpg", "china.jpg"):
            from warcio.statusandheaders import StatusAndHeaders

            headers = StatusAndHeaders("200 OK", [("Content-Type", "image/jpeg")],
                                       protocol="HTTP/1.1")  # fmt: skip
            record = writer.create_warc_record(f"http://photos.test/{name}", "response",
                                               payload=io.BytesIO(photos[name]),
                                               http_headers=headers)  # fmt: skip
            writer.write_record(record)
    run = tmp_path / "run" / "documents"
    run.mkdir(parents=True)
    nodes = ["A portrait.", "http://photos.test/grace_hopper.jpg", "A temple.",
             "http://photos.test/china.jpg"]  # fmt: skip
    meta = {"alt_text": "alt", "width_attr": None, "height_attr": None,
            "original_src": None, "source_attribute": "src"}  # fmt: skip
    doc = {
        "id": "doc",
        "texts": [n if not n.startswith("http") else None for n in nodes],
        "images": [n if n.startswith("http") else None for n in nodes],
        "image_metadata": [meta if n.startswith("http") else None for n in nodes],
        "general_metadata": None,
    }
    pq.write_table(pa.Table.from_pylist([doc], schema=documents_schema.SCHEMA),
                   run / "input-00000.parquet")  # fmt: skip
    images = tmp_path / "images"
    assert main(["images", str(tmp_path / "run"), "--output", str(images), "--from-warc",
                 str(warc), "--offline", RUNNER]) == 0  # fmt: skip
    out = tmp_path / "capfilt"
    assert _run(images, out, models, _config(tmp_path)) == 0
    rows = rows_of(out)
    assert sorted(r["image_url"] for r in rows) == [
        "http://photos.test/china.jpg", "http://photos.test/grace_hopper.jpg",
    ]  # fmt: skip
    assert all(r["web_text"] == "alt" and len(r["captions"]) == 1 for r in rows)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["funnel_closes"] and stats["pairs_in"] == 2

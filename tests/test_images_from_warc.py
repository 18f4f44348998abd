"""Images from web archives, end to end (issue #17): a page and its image responses written into
a WARC here (warcio's WARCWriter, real fixture photographs), ``webweave run`` on it, then
``webweave images --from-warc --offline``: every candidate URL looked up the way replay does.
And the network side: a 404 or an undecodable candidate falls back to the next one.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from loopback_images import LoopbackServer, _send
from PIL import Image
from test_images_job import _statuses, _write_run
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from webweave.filters.extraction import extract
from webweave.pipelines.cli import main
from webweave.pipelines.images import images_config
from webweave.pipelines.images.job import run_images_job

from conftest import BEAM_TEST_RUNNER, EXTRACTION_ONLY_CONFIG, fixture_path

RUNNER = f"--runner={BEAM_TEST_RUNNER}"
WARC_NAME = "oldweb-2013.warc.gz"
PAGE = "https://en.example.org/wiki/Mona_Lisa"
SITE = "https://en.example.org"
UPLOAD = "https://upload.example.org/t"
T0, T1 = "2013-05-01T10:00:00Z", "2013-05-01T11:00:00Z"
PARAGRAPH = (
    "<p>The Mona Lisa is a half-length portrait painting by the Italian artist Leonardo da "
    "Vinci. Considered an archetypal masterpiece of the Italian Renaissance, it has been "
    "described as the best known, the most visited and the most written about work of art.</p>"
)
IMAGES_HTML = [
    '<img src="/media/exact-grace.jpg" alt="Grace Hopper">',
    '<img src="//upload.example.org/t/220px-Mona_Lisa,_by_Leonardo.jpg" '
    'srcset="//upload.example.org/t/330px-Mona_Lisa,_by_Leonardo.jpg 1.5x, '
    '//upload.example.org/t/440px-Mona_Lisa,_by_Leonardo.jpg 2x">',
    '<img srcset="/media/hands-220.jpg 220w, /media/hands-440.jpg 440w">',
    '<img src="/media/Mona Lisa, detail.jpg">',
    '<img src="/media/spacer.gif" data-src="/media/lazy-astronaut.png">',
    '<img src="http://static.example.org/camera.png">',
    '<img src="/media/copy-of-chelsea.png">',
    '<img src="/media/moved.jpg">',
    '<img src="/media/motor.png" srcset="/media/motor-2x.png 2x">',
    '<img src="/media/old-clock.gif">',
    '<img src="/media/gone.jpg">',
    '<img src="/media/never-crawled.jpg">',
]
# The document's image URL (preferred candidate) of each <img> above, in order.
IMAGE_URLS = [
    f"{SITE}/media/exact-grace.jpg",
    f"{UPLOAD}/440px-Mona_Lisa,_by_Leonardo.jpg",
    f"{SITE}/media/hands-440.jpg",
    f"{SITE}/media/Mona%20Lisa,%20detail.jpg",
    f"{SITE}/media/lazy-astronaut.png",
    "http://static.example.org/camera.png",
    f"{SITE}/media/copy-of-chelsea.png",
    f"{SITE}/media/moved.jpg",
    f"{SITE}/media/motor-2x.png",
    f"{SITE}/media/old-clock.gif",
    f"{SITE}/media/gone.jpg",
    f"{SITE}/media/never-crawled.jpg",
]


def photo(name: str) -> bytes:
    return fixture_path(f"images/{name}").read_bytes()


def gif_of(name: str) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(photo(name))).convert("P").save(buffer, "GIF")
    return buffer.getvalue()


class ArchiveWriter:
    """Writes HTTP responses and revisits with warcio, gzip per record (Common Crawl layout)."""

    def __init__(self, handle):
        self.writer = WARCWriter(handle, gzip=True)

    def response(self, uri, body, content_type, status="200 OK", date=T0, headers=()):
        http = StatusAndHeaders(
            status,
            [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers],
            protocol="HTTP/1.1",
        )
        record = self.writer.create_warc_record(
            uri,
            "response",
            payload=io.BytesIO(body),
            http_headers=http,
            warc_headers_dict={"WARC-Date": date},
        )
        self.writer.write_record(record)
        return record.rec_headers.get_header("WARC-Payload-Digest")

    def revisit(self, uri, digest, refers_to_uri, refers_to_date, content_type, date=T1):
        http = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
        record = self.writer.create_revisit_record(
            uri,
            digest,
            refers_to_uri,
            refers_to_date,
            http_headers=http,
            warc_headers_dict={"WARC-Date": date},
        )
        self.writer.write_record(record)


def write_archive(path: Path) -> None:
    page = "<html><head><title>Mona Lisa</title></head><body><article><h1>Mona Lisa</h1>"
    page += "".join(f"{PARAGRAPH}{img}" for img in IMAGES_HTML) + PARAGRAPH
    page += "</article></body></html>"
    motor = photo("skimage/motorcycle_left.png")
    with open(path, "wb") as handle:
        warc = ArchiveWriter(handle)
        warc.response(PAGE, page.encode(), "text/html; charset=utf-8")
        warc.response(f"{SITE}/media/exact-grace.jpg", photo("matplotlib/grace_hopper.jpg"),
                      "image/jpeg")  # fmt: skip
        # The crawler captured src, with the comma percent-encoded; not the srcset candidates.
        warc.response(f"{UPLOAD}/220px-Mona_Lisa%2C_by_Leonardo.jpg", photo("sklearn/china.jpg"),
                      "image/jpeg")  # fmt: skip
        warc.response(f"{SITE}/media/hands-220.jpg", photo("skimage/rocket.jpg"), "image/jpeg")
        warc.response(f"{SITE}/media/Mona%20Lisa%2C%20detail.jpg", photo("skimage/coffee.png"),
                      "image/png")  # fmt: skip
        warc.response(f"{SITE}/media/lazy-astronaut.png", photo("skimage/astronaut.png"),
                      "image/png")  # fmt: skip
        warc.response("https://static.example.org/camera.png", photo("skimage/camera.png"),
                      "image/png")  # fmt: skip
        digest = warc.response(f"{SITE}/media/chelsea.png", photo("skimage/chelsea.png"),
                               "image/png")  # fmt: skip
        warc.response(
            f"{SITE}/media/chelsea.png",
            photo("skimage/coins.png"),
            "image/png",
            date="2013-05-01T10:30:00Z",
        )  # same URL, other payload: not the original
        warc.revisit(f"{SITE}/media/copy-of-chelsea.png", digest, f"{SITE}/media/chelsea.png", T0,
                     "image/png")  # fmt: skip
        warc.response(f"{SITE}/media/moved.jpg", b"", "text/html", "301 Moved Permanently",
                      headers=[("Location", "/media/final-flower.jpg")])  # fmt: skip
        warc.response(f"{SITE}/media/final-flower.jpg", photo("sklearn/flower.jpg"), "image/jpeg")
        warc.response(f"{SITE}/media/motor-2x.png", motor[: len(motor) // 2], "image/png")
        warc.response(f"{SITE}/media/motor.png", motor, "image/png")
        warc.response(f"{SITE}/media/old-clock.gif", gif_of("skimage/clock_motion.png"),
                      "image/gif")  # fmt: skip
        warc.response(f"{SITE}/media/gone.jpg", b"<html>Not Found</html>", "text/html",
                      "404 Not Found")  # fmt: skip


@pytest.fixture(scope="module")
def archive_run(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("archive")
    warc = root / WARC_NAME
    write_archive(warc)
    config = root / "run.yaml"
    config.write_text(EXTRACTION_ONLY_CONFIG)
    run_dir = root / "run"
    assert main(["run", "--input", str(warc), "--output", str(run_dir), "--config",
                 str(config), RUNNER]) == 0  # fmt: skip
    outputs = {}
    for name, images_yaml in (("default", ""), ("gif", "images:\n  gif_first_frame: true\n")):
        (root / f"{name}.yaml").write_text(images_yaml)
        out = root / f"out-{name}"
        argv = [str(run_dir), "--output", str(out), "--from-warc", str(warc), "--offline",
                "--config", str(root / f"{name}.yaml")]  # fmt: skip
        assert main(["images", *argv, RUNNER]) == 0
        outputs[name] = out
    return {"run": run_dir, **outputs}


def results_by_url(out: Path) -> dict[str, dict]:
    _statuses(out)  # every documents file checked against its schema
    return {r["image_url"]: r for r in pq.read_table(out / "image_results").to_pylist()}


def test_the_document_keeps_every_candidate_in_order(archive_run):
    (document,) = pq.read_table(archive_run["run"] / "documents").to_pylist()
    assert [u for u in document["images"] if u] == IMAGE_URLS
    metas = [m for m in document["image_metadata"] if m]
    wikipedia = [
        (c["url"], c["attribute"], c["descriptor_density"]) for c in metas[1]["candidates"]
    ]
    assert wikipedia == [
        (f"{UPLOAD}/440px-Mona_Lisa,_by_Leonardo.jpg", "srcset", 2.0),
        (f"{UPLOAD}/330px-Mona_Lisa,_by_Leonardo.jpg", "srcset", 1.5),
        (f"{UPLOAD}/220px-Mona_Lisa,_by_Leonardo.jpg", "src", None),
    ]
    widths = [(c["url"], c["descriptor_width"]) for c in metas[2]["candidates"]]
    assert widths == [(f"{SITE}/media/hands-440.jpg", 440), (f"{SITE}/media/hands-220.jpg", 220)]
    lazy = [(c["url"], c["attribute"]) for c in metas[4]["candidates"]]
    assert lazy == [(f"{SITE}/media/lazy-astronaut.png", "data-src"),
                    (f"{SITE}/media/spacer.gif", "src")]  # fmt: skip


def test_every_match_kind_exactly(archive_run):
    results = results_by_url(archive_run["default"])
    got = {
        url: (r["status"], r["status_reason"], r["warc_lookup"], r["candidate_index"],
              r["fetched_url"])
        for url, r in results.items()
    }  # fmt: skip
    assert got == {
        IMAGE_URLS[0]: ("ok", None, "exact", 0, IMAGE_URLS[0]),
        IMAGE_URLS[1]: ("ok", None, "other_candidate", 2,
                        f"{UPLOAD}/220px-Mona_Lisa%2C_by_Leonardo.jpg"),
        IMAGE_URLS[2]: ("ok", None, "other_candidate", 1, f"{SITE}/media/hands-220.jpg"),
        IMAGE_URLS[3]: ("ok", None, "canonical", 0, f"{SITE}/media/Mona%20Lisa%2C%20detail.jpg"),
        IMAGE_URLS[4]: ("ok", None, "exact", 0, IMAGE_URLS[4]),
        IMAGE_URLS[5]: ("ok", None, "scheme_insensitive", 0, "https://static.example.org/camera.png"),
        IMAGE_URLS[6]: ("ok", None, "via_revisit", 0, f"{SITE}/media/chelsea.png"),
        IMAGE_URLS[7]: ("ok", None, "via_redirect", 0, f"{SITE}/media/final-flower.jpg"),
        IMAGE_URLS[8]: ("ok", None, "other_candidate", 1, f"{SITE}/media/motor.png"),
        IMAGE_URLS[9]: ("filtered", "unsupported_format_gif", "exact", 0, IMAGE_URLS[9]),
        IMAGE_URLS[10]: ("failed", "warc_http_404", "captured_without_image", None, None),
        IMAGE_URLS[11]: ("failed", "not_in_warc", "not_captured", None, None),
    }  # fmt: skip
    revisited = results[IMAGE_URLS[6]]
    assert revisited["sha256"] == hashlib.sha256(photo("skimage/chelsea.png")).hexdigest()
    assert (revisited["width"], revisited["height"], revisited["warc_filename"]) == (
        451, 300, WARC_NAME,
    )  # fmt: skip
    stored = pq.read_table(archive_run["default"] / revisited["image_shard"]).to_pylist()
    assert stored[revisited["image_row"]]["bytes"] == photo("skimage/chelsea.png")


def test_stats_per_warc_and_fallbacks(archive_run):
    stats = json.loads((archive_run["default"] / "stats.json").read_text())
    assert stats["funnel_closes"], stats["funnel_problems"]
    expected = {
        "referenced": 12,
        "found": 10,
        "found_by": {"exact": 3, "canonical": 1, "scheme_insensitive": 1, "other_candidate": 3,
                     "via_revisit": 1, "via_redirect": 1},
        "not_found": 2,
        "not_found_by": {"not_captured": 1, "captured_without_image": 1},
    }  # fmt: skip
    assert stats["warc_lookup"]["images"] == expected
    assert stats["warc_lookup"]["by_page_warc"] == {WARC_NAME: expected}
    assert stats["warc_lookup"]["archive_warcs"] == {
        WARC_NAME: {"records": 16, "captures": 16, "read_errors": {}, "images_supplied": 10}
    }
    funnel = {s["stage"]: s for s in stats["image_funnel"]}
    assert funnel["fetch"]["in"] == 12  # a fallback is not a new image
    assert funnel["fetch"]["dropped"] == {"not_in_warc": 1, "warc_http_404": 1}
    assert funnel["decode"]["dropped"] == {}  # the truncated 2x candidate fell back
    assert funnel["image_filters"]["dropped"] == {"unsupported_format_gif": 1}
    assert stats["images_kept"] == 9
    assert stats["candidate_fallbacks"]["archive"] == {
        "images": 1, "attempts": 1, "recovered": 1, "reasons": {"truncated_image": 1},
        "skipped_candidates": {},
    }  # fmt: skip


def test_gif_first_frame_switch(archive_run):
    gif = results_by_url(archive_run["gif"])[IMAGE_URLS[9]]
    assert (gif["status"], gif["format"], gif["converted_from"]) == ("ok", "png", "gif")
    assert (gif["width"], gif["height"]) == (400, 300)
    stats = json.loads((archive_run["gif"] / "stats.json").read_text())
    assert (stats["images_kept"], stats["gif_converted"]) == (10, 1)
    stored = pq.read_table(archive_run["gif"] / gif["image_shard"]).to_pylist()[gif["image_row"]]
    assert stored["bytes"].startswith(b"\x89PNG") and stored["format"] == "png"


def test_network_falls_back_from_a_404_and_an_undecodable_candidate(tmp_path):
    hopper, camera = photo("matplotlib/grace_hopper.jpg"), photo("skimage/camera.png")
    routes = {
        "/photos/hopper-220.jpg": lambda h: _send(h, hopper, "image/jpeg"),
        "/photos/bad.jpg": lambda h: _send(h, b"<!doctype html><p>moved</p>" * 40, "image/jpeg"),
        "/photos/good.png": lambda h: _send(h, camera, "image/png"),
    }
    with LoopbackServer(routes) as server:
        base = server.base
        html = (
            "<html><body><article>"
            f"{PARAGRAPH}"
            '<img src="/photos/hopper-220.jpg" '
            'srcset="/photos/hopper-440.jpg 2x, /photos/site-logo-330.jpg 1.5x">'
            f'{PARAGRAPH}<img src="/photos/bad.jpg" data-original="/photos/good.png">'
            f'{PARAGRAPH}<img src="/photos/only.jpg">{PARAGRAPH}'
            "</article></body></html>"
        )
        document = extract(html, f"{base}/page.html")
        row = {
            "id": "n1",
            "texts": document.texts,
            "images": document.images,
            "image_metadata": [m.to_row() if m else None for m in document.image_metadata],
            "general_metadata": None,
        }
        _write_run(tmp_path / "run", [row])
        config = images_config(
            {"allowed_networks": ["127.0.0.1/32"], "retries": 0, "threads": 4,
             "timeout_seconds": 5.0}
        )  # fmt: skip
        out = tmp_path / "out"
        job = {"run_dir": str(tmp_path / "run"), "output": str(out), "from_warc": [],
               "config": config, "attempt": 1}  # fmt: skip
        assert run_images_job(job, [RUNNER]) == 0
        requested = sorted(server.requests)
    assert requested == [
        "/photos/bad.jpg",
        "/photos/good.png",
        "/photos/hopper-220.jpg",
        "/photos/hopper-440.jpg",  # 404, then the logo candidate is skipped (url_word)
        "/photos/only.jpg",
    ]
    got = {
        url: (r["status"], r["status_reason"], r["candidate_index"], r["fetched_url"], r["source"])
        for url, r in results_by_url(out).items()
    }
    assert got == {
        f"{base}/photos/hopper-440.jpg": ("ok", None, 2, f"{base}/photos/hopper-220.jpg",
                                          "network"),
        f"{base}/photos/bad.jpg": ("ok", None, 1, f"{base}/photos/good.png", "network"),
        f"{base}/photos/only.jpg": ("failed", "http_404", 0, f"{base}/photos/only.jpg",
                                    "network"),
    }  # fmt: skip
    stats = json.loads((out / "stats.json").read_text())
    assert stats["funnel_closes"], stats["funnel_problems"]
    assert (stats["distinct_image_urls"], stats["images_kept"]) == (3, 2)
    funnel = {s["stage"]: s for s in stats["image_funnel"]}
    assert (funnel["fetch"]["in"], funnel["fetch"]["dropped"]) == (3, {"http_404": 1})
    assert funnel["decode"]["dropped"] == {}
    assert stats["candidate_fallbacks"]["network"] == {
        "images": 2, "attempts": 2, "recovered": 2,
        "reasons": {"http_404": 1, "not_an_image": 1}, "skipped_candidates": {"url_word": 1},
    }  # fmt: skip
    assert stats["warc_lookup"] is None  # no --from-warc

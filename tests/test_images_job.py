"""The images job end to end: loopback server + real img2dataset, and the offline WARC path.

Network safety: every URL here is loopback (127.0.0.1, the forbidden 127.0.0.2), a host name
mapped to loopback through ``images.static_hosts`` (no DNS), or a private/other-scheme URL
that the policy refuses before any request. The 127.0.0.2 server must see no request.
"""

from __future__ import annotations

import glob
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from loopback_images import LoopbackServer, image_routes

from webweave.pipelines.images import images_config
from webweave.pipelines.images.job import run_images_job
from webweave.schemas import documents, image_documents, pairs
from webweave.schemas.registry import check_table

from conftest import BEAM_TEST_RUNNER, fixture_path

PHOTOS = [
    "matplotlib/grace_hopper.jpg",
    "skimage/camera.png",
    "skimage/chelsea.png",
    "sklearn/china.jpg",
    "skimage/page.png",
    "skimage/text.png",
]
RUNNER = [f"--runner={BEAM_TEST_RUNNER}"]


def _doc(doc_id: str, items: list) -> dict:
    """items: strings are text nodes, ("img", url) tuples are image nodes."""
    texts, images, meta = [], [], []
    for item in items:
        if isinstance(item, tuple):
            texts.append(None)
            images.append(item[1])
            meta.append(
                {
                    "alt_text": f"alt {item[1][-12:]}",
                    "width_attr": None,
                    "height_attr": None,
                    "original_src": item[1],
                    "source_attribute": "src",
                }
            )
        else:
            texts.append(item)
            images.append(None)
            meta.append(None)
    return {
        "id": doc_id,
        "texts": texts,
        "images": images,
        "image_metadata": meta,
        "general_metadata": None,
    }


def _write_run(run_dir, docs: list[dict], name: str = "input-00000.parquet") -> None:
    folder = run_dir / "documents"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(docs, schema=documents.SCHEMA), folder / name)


def _statuses(out) -> dict[str, tuple[str, str | None]]:
    for path in glob.glob(str(out / "documents" / "*.parquet")):
        check_table(pq.read_table(path), image_documents.SCHEMA)
    found = {}
    for path in glob.glob(str(out / "image_results" / "*.parquet")):
        for row in pq.read_table(path).to_pylist():
            found[row["image_url"]] = (row["status"], row["status_reason"])
    return found


def test_job_against_loopback_server(tmp_path):
    photos = [fixture_path(f"images/{p}") for p in PHOTOS]
    with (
        LoopbackServer({}, host="127.0.0.2") as forbidden,
        LoopbackServer(image_routes(photos, forbidden.base, slow_seconds=3.0)) as server,
    ):
        base, port = server.base, server.port
        photo = {p.name: f"{base}/photos/{p.name}" for p in photos}
        bad = {
            name: f"{base}/{name}"
            for name in (
                "missing.jpg",
                "slow.jpg",
                "truncated.jpg",
                "bomb.png",
                "redirect-refused.jpg",
                "page.jpg",
                "strip.jpg",
                "small.png",
                "huge.jpg",
                "noai.jpg",
            )
        }
        logo = f"{base}/site-logo.png"
        credentials = f"http://user:secret@127.0.0.1:{port}/photos/camera.png"
        ftp = f"ftp://127.0.0.1:{port}/x.jpg"
        direct_forbidden = f"{forbidden.base}/direct.jpg"
        named_forbidden = f"http://forbidden.test:{forbidden.port}/named.jpg"
        private = "http://10.1.2.3/private.jpg"
        docs = [
            _doc(
                "a",
                [
                    "Intro one.\n\nIntro two.",
                    ("img", photo["grace_hopper.jpg"]),
                    "Middle.",
                    ("img", photo["camera.png"]),
                    "End one.\n\nEnd two.",
                ],
            ),
            _doc(
                "b",
                [
                    "Bad cases.",
                    *[("img", u) for u in bad.values()],
                    ("img", photo["chelsea.png"]),
                    ("img", photo["china.jpg"]),
                    ("img", photo["page.png"]),
                    ("img", photo["text.png"]),
                    "Tail.",
                ],
            ),
            _doc(
                "c",
                [
                    "Only refused.",
                    ("img", logo),
                    ("img", credentials),
                    ("img", ftp),
                    ("img", direct_forbidden),
                    ("img", named_forbidden),
                    ("img", private),
                ],
            ),
            _doc("d", ["No images at all here."]),
            _doc("e", ["Shares an image with a.", ("img", photo["grace_hopper.jpg"])]),
        ]
        _write_run(tmp_path / "run", docs)
        config = images_config(
            {
                "allowed_networks": ["127.0.0.1/32"],
                "static_hosts": ["forbidden.test=127.0.0.2"],
                "timeout_seconds": 1.0,
                "retries": 0,
                "threads": 8,
                "max_bytes": 1_000_000,
                "batch_size": 100,
            }
        )
        out = tmp_path / "out"
        job = {
            "run_dir": str(tmp_path / "run"),
            "output": str(out),
            "from_warc": [],
            "config": config,
            "attempt": 1,
        }
        assert run_images_job(job, RUNNER) == 0
        requested = server.requests
        assert forbidden.requests == []  # the refused host never saw a request

    expected = {
        photo["grace_hopper.jpg"]: ("ok", None),
        photo["camera.png"]: ("ok", None),
        photo["chelsea.png"]: ("ok", None),
        photo["china.jpg"]: ("ok", None),
        photo["page.png"]: ("filtered", "bad_aspect_ratio"),
        photo["text.png"]: ("filtered", "bad_aspect_ratio"),
        bad["missing.jpg"]: ("failed", "http_404"),
        bad["slow.jpg"]: ("failed", "timeout"),
        bad["truncated.jpg"]: ("invalid", "truncated_image"),
        bad["bomb.png"]: ("invalid", "decompression_bomb"),
        bad["redirect-refused.jpg"]: ("refused", "loopback_address"),
        bad["page.jpg"]: ("invalid", "not_an_image"),
        bad["strip.jpg"]: ("filtered", "bad_aspect_ratio"),
        bad["small.png"]: ("filtered", "too_small"),
        bad["huge.jpg"]: ("failed", "too_many_bytes"),
        bad["noai.jpg"]: ("failed", "x_robots_tag_disallowed"),
        logo: ("filtered", "url_word"),
        credentials: ("refused", "credentials_in_url"),
        ftp: ("refused", "scheme_not_http"),
        direct_forbidden: ("refused", "loopback_address"),
        named_forbidden: ("refused", "loopback_address"),
        private: ("refused", "private_address"),
    }
    assert _statuses(out) == expected
    assert "/site-logo.png" not in requested
    assert requested.count("/photos/camera.png") == 1  # the credentials URL was never sent

    stats = json.loads((out / "stats.json").read_text())
    assert stats["funnel_closes"], stats["funnel_problems"]
    assert stats["distinct_image_urls"] == len(expected)
    assert stats["images_kept"] == 4
    funnel = {s["stage"]: s for s in stats["image_funnel"]}
    assert funnel["url_policy"]["dropped"] == {
        "credentials_in_url": 1,
        "loopback_address": 1,
        "private_address": 1,
        "scheme_not_http": 1,
    }
    assert funnel["fetch"]["dropped"] == {
        "http_404": 1,
        "timeout": 1,
        "loopback_address": 2,
        "too_many_bytes": 1,
        "x_robots_tag_disallowed": 1,
    }
    assert stats["documents_read"] == 5
    assert stats["documents_written"] == 3  # c: all_images_failed, d: no_images
    doc_funnel = stats["document_funnel"][0]
    assert doc_funnel["dropped"] == {"all_images_failed": 1, "no_images": 1}
    assert stats["pairs"] == 5  # a: 2, b: 2, e: 1 (shared URL, one stored copy)
    assert stats["dedup"]["sha256"]["distinct"] == 4

    pair_rows = pq.read_table(out / "pairs").to_pylist()
    check_table(pq.read_table(glob.glob(str(out / "pairs" / "*.parquet"))[0]), pairs.SCHEMA)
    first = next(p for p in pair_rows if p["doc_id"] == "a" and p["position"] == 1)
    assert (first["text_before"], first["text_after"]) == ("Intro two.", "Middle.")
    assert first["format"] == "jpeg" and (first["width"], first["height"]) == (512, 600)
    stored = pq.read_table(out / first["image_shard"]).to_pylist()[first["image_row"]]
    assert stored["bytes"] == photos[0].read_bytes()  # original bytes, not re-encoded
    docs_out = {d["id"]: d for d in pq.read_table(out / "documents").to_pylist()}
    b_meta = [m for m in docs_out["b"]["image_metadata"] if m is not None]
    assert len(b_meta) == 14 and docs_out["b"]["images"][1] == bad["missing.jpg"]


BOOKS = "http://books.toscrape.com/media/cache/2c/da/2cdad67c44b002e7ead0cc35693c0e8b.jpg"
IANA_PNG = "http://www.iana.org/_img/2013.1/iana-logo-homepage.png"
IANA_SVG = "http://www.iana.org/_img/2013.1/rir-map.svg"
MISSING = "http://example.invalid/not-in-any-warc.jpg"


def test_offline_images_from_fixture_warcs(tmp_path):
    books = fixture_path("warc/nodewarc_books.toscrape.warc")
    iana = fixture_path("warc/pywb_iana.warc.gz")
    _write_run(
        tmp_path / "run",
        [
            _doc(
                "w",
                [
                    "Books.",
                    ("img", BOOKS),
                    "Logo.",
                    ("img", IANA_PNG),
                    ("img", IANA_SVG),
                    ("img", MISSING),
                    "End.",
                ],
            ),
        ],
    )
    config = images_config({"fetch_missing": False, "min_side": 90})
    out = tmp_path / "out"
    job = {
        "run_dir": str(tmp_path / "run"),
        "output": str(out),
        "from_warc": [str(books), str(iana)],
        "config": config,
        "attempt": 1,
    }
    assert run_images_job(job, RUNNER) == 0
    assert _statuses(out) == {
        BOOKS: ("ok", None),
        IANA_PNG: ("filtered", "url_word"),
        IANA_SVG: ("filtered", "unsupported_format_svg"),  # counted apart (issue #17)
        MISSING: ("failed", "not_in_warc"),
    }
    stats = json.loads((out / "stats.json").read_text())
    assert stats["funnel_closes"], stats["funnel_problems"]
    assert stats["images_by_source"] == {"warc": 1}
    lookup = stats["warc_lookup"]["images"]
    assert (lookup["referenced"], lookup["found"], lookup["not_found"]) == (4, 3, 1)
    assert lookup["found_by"]["exact"] == 3
    assert lookup["not_found_by"] == {"not_captured": 1, "captured_without_image": 0}
    (pair,) = pq.read_table(out / "pairs").to_pylist()
    assert (pair["source"], pair["width"], pair["height"]) == ("warc", 125, 155)
    assert (pair["text_before"], pair["text_after"]) == ("Books.", "Logo.")


@pytest.fixture(autouse=True)
def _no_env_proxies(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


def test_retry_refetches_only_retryable_failures(tmp_path):
    from loopback_images import _send, jpeg

    from webweave.pipelines.cli import main

    photo, calls = jpeg(300, 200), {"n": 0}

    def flaky(handler):
        calls["n"] += 1
        if calls["n"] == 1:
            _send(handler, b"busy", "text/plain", status=503)
        else:
            _send(handler, photo, "image/jpeg")

    with LoopbackServer({"/flaky.jpg": flaky}) as server:
        flaky_url, missing = f"{server.base}/flaky.jpg", f"{server.base}/gone.jpg"
        _write_run(tmp_path / "run", [_doc("r", ["Text.", ("img", flaky_url), ("img", missing)])])
        config = tmp_path / "images.yaml"
        config.write_text("images:\n  retries: 0\n  threads: 4\n")
        out = tmp_path / "out"
        argv = [
            "images",
            str(tmp_path / "run"),
            "--output",
            str(out),
            "--allow-network",
            "127.0.0.1/32",
            "--config",
            str(config),
        ]
        assert main([*argv, *RUNNER]) == 0
        assert _statuses(out)[flaky_url] == ("failed", "http_503")
        assert main(["images", "retry", str(out), *RUNNER]) == 0
        assert _statuses(out) == {flaky_url: ("ok", None), missing: ("failed", "http_404")}
        assert sorted(server.requests) == ["/flaky.jpg", "/flaky.jpg", "/gone.jpg"]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["funnel_closes"] and stats["pairs"] == 1 and stats["images_kept"] == 1

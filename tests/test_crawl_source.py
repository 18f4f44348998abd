"""``webweave run --crawl`` against a Common Crawl look-alike served on 127.0.0.1."""

from __future__ import annotations

import gzip
import http.server
import json
import threading
from pathlib import Path

import pytest

from webweave.pipelines.cli import main

from conftest import BEAM_TEST_RUNNER, fixture_path

CRAWL = "CC-MAIN-2099-01"
WARC_PATH = f"crawl-data/{CRAWL}/segments/1/warc/CC-MAIN-20990101-00000.warc.gz"


class CrawlHandler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    requests: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server API
        self.requests.append(self.path)
        body = self.files.get(self.path.lstrip("/"))
        if body is None:
            self.send_error(404)
            return
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def crawl_server():
    warc = fixture_path("warc/dolma_sample-0000.warc.gz").read_bytes()
    listing = gzip.compress(f"{WARC_PATH}\nnot/fetched.warc.gz\n".encode())
    CrawlHandler.files = {f"crawl-data/{CRAWL}/warc.paths.gz": listing, WARC_PATH: warc}
    CrawlHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), CrawlHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_crawl_reads_listing_and_first_n_warcs(crawl_server, tmp_path: Path):
    out = tmp_path / "out"
    code = main(
        [
            "run",
            "--crawl",
            CRAWL,
            "--warcs",
            "1",
            "--cc-base-url",
            crawl_server,
            "--output",
            str(out),
            f"--runner={BEAM_TEST_RUNNER}",
        ]
    )
    assert code == 0
    assert CrawlHandler.requests == [f"/crawl-data/{CRAWL}/warc.paths.gz", f"/{WARC_PATH}"]
    stats = json.loads((out / "stats.json").read_text())
    assert stats["funnel_closes"] and stats["inputs"] == 1
    assert stats["documents_written"] > 0
    import pyarrow.parquet as pq

    row = pq.read_table(next((out / "documents").glob("*.parquet"))).to_pylist()[0]
    # The crawl-relative path is the stable warc_filename, wherever the bytes came from.
    assert row["general_metadata"]["warc_filename"] == WARC_PATH


def test_latest_crawl_comes_from_the_crawl_list(crawl_server):
    from webweave.pipelines.commoncrawl import latest_crawl

    CrawlHandler.files["collinfo.json"] = json.dumps(
        [{"id": CRAWL, "name": "newest"}, {"id": "CC-MAIN-2098-50"}]
    ).encode()
    assert latest_crawl(f"{crawl_server}collinfo.json", "CC-MAIN-2024-51", 5) == CRAWL
    # unreadable list: the known fallback, never a crash
    assert latest_crawl(f"{crawl_server}missing.json", "CC-MAIN-2024-51", 5) == "CC-MAIN-2024-51"


def test_run_with_no_input_uses_the_latest_crawl(crawl_server, tmp_path: Path):
    CrawlHandler.files["collinfo.json"] = json.dumps([{"id": CRAWL}]).encode()
    config = tmp_path / "cc.yaml"
    config.write_text(f"commoncrawl:\n  collinfo_url: '{crawl_server}collinfo.json'\n")
    out = tmp_path / "out"
    argv = ["run", "--cc-base-url", crawl_server, "--output", str(out), "--config", str(config)]
    assert main([*argv, f"--runner={BEAM_TEST_RUNNER}"]) == 0
    assert f"/{WARC_PATH}" in CrawlHandler.requests
    assert json.loads((out / "stats.json").read_text())["inputs"] == 1


def test_a_local_mirror_runs_offline(tmp_path: Path):
    """``--cc-base-url file:///…``: a folder in Common Crawl's layout is read in place."""
    mirror = tmp_path / "mirror"
    target = mirror / WARC_PATH
    target.parent.mkdir(parents=True)
    target.write_bytes(fixture_path("warc/dolma_sample-0000.warc.gz").read_bytes())
    listing = mirror / "crawl-data" / CRAWL / "warc.paths.gz"
    listing.write_bytes(gzip.compress(f"{WARC_PATH}\n".encode()))
    out = tmp_path / "out"
    argv = ["run", "--crawl", CRAWL, "--cc-base-url", mirror.as_uri() + "/", "--output", str(out)]
    assert main([*argv, f"--runner={BEAM_TEST_RUNNER}"]) == 0
    manifest = json.loads(next((out / "_manifest").iterdir()).read_text())
    assert manifest["input"] == WARC_PATH and manifest["location"] == str(target)


def test_an_unreachable_crawl_is_one_line_saying_what_to_do(tmp_path: Path, capsys):
    """127.0.0.2 on a closed port (loopback only: no packet leaves the machine)."""
    out = tmp_path / "out"
    argv = ["run", "--crawl", CRAWL, "--cc-base-url", "http://127.0.0.2:9/", "--output", str(out)]
    assert main([*argv, f"--runner={BEAM_TEST_RUNNER}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    line = err[0]
    assert line.startswith(
        f"webweave: error: cannot read http://127.0.0.2:9/crawl-data/{CRAWL}/warc.paths.gz ("
    )
    assert "webweave run --sample" in line and "--cc-base-url" in line and "--input" in line
    assert not out.exists()


def test_a_failed_download_on_a_worker_is_one_line(crawl_server, tmp_path: Path, capsys):
    """The listing is served, the WARC is not (404): the worker's error reaches the user as
    one line through Beam."""
    del CrawlHandler.files[WARC_PATH]
    out = tmp_path / "out"
    argv = ["run", "--crawl", CRAWL, "--cc-base-url", crawl_server, "--output", str(out)]
    assert main([*argv, f"--runner={BEAM_TEST_RUNNER}"]) == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line == f"webweave: error: cannot download {crawl_server}{WARC_PATH} (HTTP 404)"

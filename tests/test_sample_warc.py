"""The embedded sample WARC: rebuilt byte for byte from the fixtures, every record credited in
NOTICE, and the whole local chain (run → images from the WARC, offline → report) on it with the
default config, without a single network access."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import socket
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from no_network import attempts, forbid_network, guarded_children
from warcio.archiveiterator import ArchiveIterator

from webweave.pipelines.sample_warc import sample_warc_path

from conftest import FIXTURES, REPO_ROOT, fixture_path

SAMPLE_RECORDS = 107
SAMPLE_BYTES = 480233

# The 18 documents the default config keeps (text filters and dedup as published).
KEPT_URLS = [
    "http://037426.cn/",
    "http://books.toscrape.com/",
    "https://homes.cs.washington.edu/~axz/",
    "https://joe.cat/",
    "https://kyleclo.com/",
    "https://kyleclo.com/research/",
    "https://maria-antoniak.github.io/",
    "https://maria-antoniak.github.io/2018/11/19/data-science-crash-course.html",
    "https://maria-antoniak.github.io/2022/07/27/topic-modeling-for-the-people.html",
    "https://maria-antoniak.github.io/2023/04/11/paperpile-to-zotero.html",
    "https://soldaini.net/",
    "https://soldaini.net/facts/",
    "https://talaugust.github.io/",
    "https://tomhoper.github.io/",
    "https://tomhoper.github.io/research/",
    "https://www.cs.cmu.edu/~anaik/",
    "https://www.cs.washington.edu/people/faculty/weld",
    "https://www.jonathanbragg.com/",
]


def _builder():
    """tools/build_sample.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location(
        "build_sample", REPO_ROOT / "tools" / "build_sample.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def _records(path: str) -> list:
    with open(path, "rb") as handle:
        return [
            (record.rec_headers.get_header("WARC-Record-ID"), record.rec_type)
            for record in ArchiveIterator(handle)
        ]


def _gzip_members(data: bytes) -> int:
    members, rest = 0, data
    while rest:
        inflater = zlib.decompressobj(wbits=31)
        inflater.decompress(rest)
        assert inflater.eof, "truncated gzip member"
        rest = inflater.unused_data
        members += 1
    return members


def test_the_installed_sample_is_small_per_record_gzip_and_credited_in_notice():
    path = sample_warc_path()
    data = Path(path).read_bytes()
    assert len(data) == SAMPLE_BYTES <= 2 * 1024 * 1024
    records = _records(path)
    assert len(records) == SAMPLE_RECORDS == _gzip_members(data)  # one gzip member per record
    notice = (REPO_ROOT / "NOTICE").read_text()
    assert hashlib.sha256(data).hexdigest() in notice
    uncredited = [record_id for record_id, _ in records if record_id not in notice]
    assert uncredited == []


def test_the_sample_rebuilds_byte_for_byte_from_the_fixtures():
    builder = _builder()
    for source in {pick.source for pick in builder.read_picks()}:
        fixture_path(source)
    sample = builder.build(FIXTURES)
    committed = Path(sample_warc_path()).read_bytes()
    assert sample.sha256 == hashlib.sha256(committed).hexdigest()
    notice = (REPO_ROOT / "NOTICE").read_text()
    assert builder.current_section(notice) == builder.notice_section(sample)
    assert {p.licence for p in sample.sources.values()} == {"MIT", "Apache-2.0"}


def test_the_builder_refuses_a_whole_file_a_wrong_record_id_and_a_gpl_file():
    fixture_path("warc/cmoncrawl_mini.warc.gz")
    builder = _builder()
    whole = [
        builder.Pick("warc/cmoncrawl_mini.warc.gz", offset, record_id, "")
        for offset, record_id in [
            (0, "<urn:uuid:c7b351c6-7889-44e0-a614-0cad550eb6a3>"),
            (518, "<urn:uuid:788e295f-3ddb-42bf-9671-59f30038461f>"),
            (1066, "<urn:uuid:7bc31ca2-ec69-492a-b01a-a7acafa708f3>"),
        ]
    ]
    _expect_refusal(builder, whole, "every record is picked (a whole-file copy)")
    wrong = [builder.Pick("warc/cmoncrawl_mini.warc.gz", 518, "<urn:uuid:other>", "")]
    _expect_refusal(builder, wrong, "record id <urn:uuid:788e295f")
    gpl = [builder.Pick("warc/pywb_iana.warc.gz", 0, "<urn:uuid:any>", "")]
    _expect_refusal(builder, gpl, "licence 'GPL-3.0' is not allowed")


def _expect_refusal(builder, picks, message: str) -> None:
    try:
        builder.build(FIXTURES, picks)
    except builder.SampleError as error:
        assert message in str(error)
    else:
        raise AssertionError(f"no refusal, expected: {message}")


def test_the_network_guard_refuses_and_records_in_this_process_and_children(tmp_path, monkeypatch):
    log = tmp_path / "network.log"
    forbid_network(log, tmp_path / "site", monkeypatch)
    socket.getaddrinfo("127.0.0.1", 80)  # loopback stays allowed
    with pytest.raises(OSError, match="network access refused"):
        socket.getaddrinfo("example.com", 80)
    child = "import socket; socket.create_connection(('192.0.2.1', 80), timeout=1)"
    assert subprocess.run([sys.executable, "-c", child], capture_output=True).returncode == 1
    assert [line.split(" ", 1)[1] for line in attempts(log)] == [
        "socket.getaddrinfo example.com",
        "socket.getaddrinfo 192.0.2.1",
    ]
    assert guarded_children(log) == 1


def test_the_local_chain_runs_offline_on_the_sample(tmp_path, monkeypatch, capsys):
    """``webweave run --sample`` (README command 1): run, images from the WARC, report."""
    from webweave.pipelines.cli import main

    log = tmp_path / "network.log"
    forbid_network(log, tmp_path / "site", monkeypatch)
    out = tmp_path / "webweave-sample"
    run_dir, images_dir = out / "run", out / "images"

    assert main(["run", "--sample", "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"{run_dir / 'documents'}/   18 interleaved documents" in printed
    assert f"{run_dir / 'report.html'}   funnel" in printed
    assert "29 images looked up in the WARC, 0 kept, 0 image-text pairs" in printed
    stats = json.loads((run_dir / "stats.json").read_text())
    assert stats["records_read"] == SAMPLE_RECORDS
    assert stats["documents_written"] == 18
    assert stats["dead_letter"] == 0
    assert stats["funnel_closes"] is True
    dropped = {stage["stage"]: stage["dropped"] for stage in stats["funnel"]}
    assert dropped["selection"] == {"non_html": 22, "not_response": 56}
    assert dropped["document_filter"] == {"character_repetition": 1, "language": 5, "word_count": 5}
    assert _kept_urls(run_dir) == KEPT_URLS

    images = json.loads((images_dir / "stats.json").read_text())
    assert images["funnel_closes"] is True
    assert images["distinct_image_urls"] == 29
    fetch = next(stage for stage in images["image_funnel"] if stage["stage"] == "fetch")
    assert fetch["dropped"] == {"not_in_warc": 29}  # the pages' images were never crawled
    assert images["images_kept"] == 0
    assert images["pairs"] == 0
    assert images["documents_written"] == 0
    assert images["document_funnel"][0]["dropped"] == {"all_images_failed": 6, "no_images": 12}
    assert images["img2dataset"] == {}  # offline: the fetcher never ran

    assert (run_dir / "report.html").stat().st_size > 0
    assert main(["verify", str(run_dir)]) == 0

    assert attempts(log) == []
    assert guarded_children(log) >= 1  # Beam's worker processes ran with the guard


def _kept_urls(run_dir: Path) -> list[str]:
    import pyarrow.parquet as pq

    table = pq.read_table(sorted((run_dir / "documents").glob("*.parquet")))
    return sorted(row["url"] for row in table.column("general_metadata").to_pylist())

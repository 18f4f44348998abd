"""Torture corpus (issue #6): real fixture records plus deliberate damage, through the real run.

Every case is one WARC file of its own: a real page, the damaged record, another real page. All
cases go through one ``webweave run`` (FnApiRunner), and for each file the test checks that the
run exits 0, the damaged record is dead-lettered or dropped with its specific reason, both real
pages still become documents, the file's funnel closes, and no record took longer than the
extraction time budget plus a small slack (the slowest record of each input is in its
manifest). The files are built in ``tmp_path``; fixtures are read in place.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import random
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import brotli
import pyarrow.parquet as pq
import pytest
from warcio.archiveiterator import ArchiveIterator

from webweave.filters.extraction_stage import document_id
from webweave.pipelines.cli import main
from webweave.pipelines.funnel import Funnel

from conftest import BEAM_TEST_RUNNER, EXTRACTION_ONLY_CONFIG, fixture_path

DERIVED = "warc/derived/scrapinghub_aeb_pages_part1.warc.gz"
BUDGET = 1.0  # extraction.time_budget_seconds of the torture run
SLACK = 1.5  # parsing is one C call the cooperative budget cannot interrupt
HANG = 20.0  # wall seconds: on a loaded 2-core CI machine only a hang gets near this
HTML = (
    "<html><head><title>Torture</title></head><body><article><h1>A page about damage</h1>"
    "<p>This paragraph is long enough, with commas, to be the main content of the page, "
    "and it has a picture right after it.</p><img src='http://example.com/a.jpg' alt='a'>"
    "<p>Another paragraph, also long enough to count, closes the article body here.</p>"
    "</article></body></html>"
)


# --- building records -----------------------------------------------------------------------


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def http_block(body: bytes, headers: str = "Content-Type: text/html; charset=utf-8") -> bytes:
    head = f"HTTP/1.1 200 OK\r\n{headers}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    return head + body


def warc_record(
    block: bytes,
    *,
    url: str = "http://example.com/page",
    version: bytes = b"WARC/1.0",
    content_length: int | None = None,
    payload_digest: str | None = None,
    drop: tuple[str, ...] = (),
    extra: bytes = b"",
) -> bytes:
    """One uncompressed response record with correct digests unless told otherwise."""
    body_start = block.find(b"\r\n\r\n")
    payload = block[body_start + 4 :] if body_start >= 0 else block
    fields = {
        "WARC-Type": "response",
        "WARC-Target-URI": url,
        "WARC-Date": "2024-01-01T00:00:00Z",
        "WARC-Record-ID": f"<urn:uuid:{hashlib.md5(block + url.encode()).hexdigest()}>",
        "Content-Type": "application/http; msgtype=response",
        "WARC-Block-Digest": sha1_b32(block),
        "WARC-Payload-Digest": payload_digest or sha1_b32(payload),
        "Content-Length": str(len(block) if content_length is None else content_length),
    }
    lines = [version] + [f"{k}: {v}".encode() for k, v in fields.items() if k not in drop]
    return b"\r\n".join(lines) + b"\r\n" + extra + b"\r\n" + block + b"\r\n\r\n"


def gz(record: bytes) -> bytes:
    return gzip.compress(record, compresslevel=1, mtime=0)


def page_record(body: bytes, headers: str = "Content-Type: text/html; charset=utf-8", **kw):
    return warc_record(http_block(body, headers), **kw)


# --- the corpus -----------------------------------------------------------------------------


@dataclass
class Case:
    """A damaged record and what must become of it (dead-letter rows or a drop reason)."""

    damaged: bytes
    dead: Counter = field(default_factory=Counter)  # (stage, error_type) -> rows
    drop: tuple[str, str] | None = None  # (stage, reason)
    documents: int = 0  # documents the damaged record itself yields
    plain: bool = False  # an uncompressed .warc file
    good_records: int = 2  # how many real pages surround the damaged record


def dead(*pairs: tuple[str, str]) -> Counter:
    return Counter(pairs)


@pytest.fixture(scope="module")
def real_members() -> list[bytes]:
    """Two small real response members of the derived fixture (split by warcio)."""
    data = fixture_path(DERIVED).read_bytes()
    iterator = ArchiveIterator(io.BytesIO(data))
    spans = []
    for record in iterator:
        record.content_stream().read()
        iterator.read_to_end()
        if record.rec_type == "response":
            spans.append((iterator.get_record_offset(), iterator.get_record_length()))
    spans.sort(key=lambda span: (span[1], span[0]))
    return [data[offset : offset + length] for offset, length in spans[:3]]


def edited(member: bytes, old: bytes, new: bytes) -> bytes:
    text = gzip.decompress(member)
    assert old in text, old
    return text.replace(old, new, 1)


def content_length_of(record: bytes) -> int:
    head = record[: record.index(b"\r\n\r\n")]
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    raise AssertionError("no Content-Length")


def build_cases(real: list[bytes]) -> dict[str, Case]:
    third = gzip.decompress(real[2])
    length = content_length_of(third)
    cl = f"Content-Length: {length}".encode()
    html = HTML.encode()
    rng = random.Random(6)
    return {
        "truncated_gzip": Case(real[2][: len(real[2]) // 2], dead(("read", "gzip_error"))),
        "garbage_between_records": Case(
            b"\x00garbage\x1f\x8b\x08 not gzip" * 40, dead(("read", "garbage_between_records"))
        ),
        "content_length_too_short": Case(
            gz(third.replace(cl, f"Content-Length: {length - 100}".encode(), 1)),
            dead(("read", "block_digest_mismatch"), ("read", "garbage_between_records")),
        ),
        "content_length_too_long": Case(
            gz(third.replace(cl, f"Content-Length: {length + 100}".encode(), 1)),
            dead(("read", "truncated_record")),
        ),
        "block_bytes_flipped": Case(
            gz(third.replace(b"<title>", b"<tItle>", 1)), dead(("read", "block_digest_mismatch"))
        ),
        "payload_digest_wrong": Case(
            gz(page_record(html, payload_digest=sha1_b32(b"something else"))), documents=1
        ),
        "missing_warc_type": Case(
            gz(page_record(html, drop=("WARC-Type",))), dead(("read", "malformed_warc_header"))
        ),
        "missing_content_length": Case(
            gz(page_record(html, drop=("Content-Length",))),
            dead(("read", "malformed_warc_header")),
        ),
        "malformed_header_line": Case(
            gz(page_record(html, extra=b"WARC-Broken header line\r\n")),
            dead(("read", "malformed_warc_header")),
        ),
        "bad_warc_version": Case(
            gz(page_record(html, version=b"WARC/9.9")), dead(("read", "malformed_warc_header"))
        ),
        "http_without_headers": Case(gz(warc_record(html)), drop=("selection", "no_http_headers")),
        "http_invalid_status_line": Case(
            gz(warc_record(b"HTTP/1.1 2x0 OK\r\nContent-Type: text/html\r\n\r\n" + html)),
            drop=("selection", "no_http_headers"),
        ),
        "broken_gzip_body": Case(
            gz(
                page_record(
                    gzip.compress(html)[:-30], "Content-Type: text/html\r\nContent-Encoding: gzip"
                )
            ),
            dead(("decoding", "content_encoding_error")),
        ),
        "broken_br_body": Case(
            gz(
                page_record(
                    brotli.compress(html * 20)[:60],
                    "Content-Type: text/html\r\nContent-Encoding: br",
                )
            ),
            dead(("decoding", "content_encoding_error")),
        ),
        "broken_deflate_body": Case(
            gz(
                page_record(
                    b"\x78\x9c" + rng.randbytes(300),
                    "Content-Type: text/html\r\nContent-Encoding: deflate",
                )
            ),
            dead(("decoding", "content_encoding_error")),
        ),
        "cp1251_declared_utf8": Case(gz(page_record(russian_page("cp1251"))), documents=1),
        "shift_jis_declared_utf8": Case(gz(page_record(japanese_page("shift_jis"))), documents=1),
        "utf16_without_bom": Case(
            gz(page_record(HTML.encode("utf-16-le"), "Content-Type: text/html")),
            documents=1,
        ),
        "page_50mb": Case(
            gz(page_record(b"<html><body>" + b"<p>lorem ipsum dolor sit amet</p>" * 1_600_000)),
            dead(("read", "record_too_large")),
        ),
        "nested_divs_100k": Case(
            gz(page_record(b"<html><body>" + b"<div>" * 100_000 + b"x" + b"</div>" * 100_000)),
            dead(("extraction", "dom_too_deep")),
        ),
        "img_tags_1m": Case(
            gz(page_record(b"<html><body><p>x</p>" + b"<img>" * 1_000_000)),
            dead(("extraction", "extraction_timeout")),
        ),
        "binary_as_html": Case(
            gz(page_record(rng.randbytes(200_000), "Content-Type: text/html")),
            drop=("decoding", "binary_body"),
        ),
        "zero_length_body": Case(gz(page_record(b"")), drop=("selection", "empty_body")),
        "warc_0_17_plain": Case(page_record(html, version=b"WARC/0.17"), documents=1, plain=True),
        "warc_1_1_plain": Case(page_record(html, version=b"WARC/1.1"), documents=1, plain=True),
        "plain_content_length_too_long": Case(
            third.replace(cl, f"Content-Length: {length + 40}".encode(), 1),
            dead(("read", "block_digest_mismatch")),  # resync finds the swallowed record
            plain=True,
        ),
        "plain_content_length_too_short": Case(
            third.replace(cl, f"Content-Length: {length - 40}".encode(), 1),
            dead(("read", "block_digest_mismatch")),  # resync finds the swallowed record
            plain=True,
        ),
    }


def russian_page(charset: str) -> bytes:
    text = "Москва — столица России, крупнейший по численности населения город страны. " * 4
    return f"<html><body><article><p>{text}</p></article></body></html>".encode(charset)


def japanese_page(charset: str) -> bytes:
    text = "東京は日本の首都であり、世界最大の都市圏の一つです。人口は約千四百万人です。" * 4
    return f"<html><body><article><p>{text}</p></article></body></html>".encode(charset)


def write_case(folder: Path, name: str, case: Case, real: list[bytes]) -> Path:
    if case.plain:
        good = [gzip.decompress(m) for m in real[:2]]
        path = folder / f"{name}.warc"
    else:
        good = real[:2]
        path = folder / f"{name}.warc.gz"
    path.write_bytes(good[0] + case.damaged + good[1])
    return path


# --- the run --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torture_run(tmp_path_factory, real_members):
    folder = tmp_path_factory.mktemp("corpus")
    cases = build_cases(real_members)
    for name, case in cases.items():
        write_case(folder, name, case, real_members)
    config = folder / "torture.yaml"
    config.write_text(EXTRACTION_ONLY_CONFIG + f"extraction:\n  time_budget_seconds: {BUDGET}\n")
    output = tmp_path_factory.mktemp("torture-out")
    argv = ["run", "--input", str(folder / "*.warc*"), "--output", str(output)]
    status = main([*argv, "--config", str(config), f"--runner={BEAM_TEST_RUNNER}"])
    return cases, output, status


def rows_by_source(folder: Path) -> dict[str, list[dict]]:
    by_source: dict[str, list[dict]] = {}
    for path in sorted(folder.glob("*.parquet")):
        for row in pq.read_table(path).to_pylist():
            source = row.get("source_file") or row["general_metadata"]["warc_filename"]
            by_source.setdefault(source, []).append(row)
    return by_source


def manifests(output: Path) -> dict[str, dict]:
    reports = [json.loads(p.read_text()) for p in (output / "_manifest").glob("*.json")]
    return {report["input"]: report for report in reports}


def test_run_finishes_and_stats_close(torture_run):
    cases, output, status = torture_run
    assert status == 0
    stats = json.loads((output / "stats.json").read_text())
    assert stats["funnel_closes"], stats["funnel_problems"]
    assert stats["inputs"] == len(cases)
    assert main(["verify", str(output)]) == 0


def test_every_case_has_its_outcome(torture_run):
    cases, output, _ = torture_run
    dead_rows = rows_by_source(output / "dead_letter")
    documents = rows_by_source(output / "documents")
    reports = manifests(output)
    failures = []
    for name, case in cases.items():
        source = f"{name}.warc" if case.plain else f"{name}.warc.gz"
        got_dead = Counter((r["stage"], r["error_type"]) for r in dead_rows.get(source, []))
        if got_dead != case.dead:
            failures.append(f"{name}: dead letter {dict(got_dead)} != {dict(case.dead)}")
        report = reports[source]
        funnel = Funnel.from_list(report["funnel"])
        problems = funnel.closure_problems(report["records_read"], report["documents_kept"])
        if problems:
            failures.append(f"{name}: funnel {problems}")
        if case.drop is not None:
            stage, reason = case.drop
            if funnel.stage(stage).dropped[reason] != 1:
                failures.append(f"{name}: no {stage} drop {reason}: {report['funnel']}")
        written = len(documents.get(source, []))
        if written != case.good_records + case.documents:
            failures.append(
                f"{name}: {written} documents, want {case.good_records + case.documents}"
            )
    assert not failures, "\n".join(failures)


def test_real_pages_around_the_damage_survive(torture_run, real_members):
    """The pages before and after the damaged record keep their ids (offsets) in every file."""
    cases, output, _ = torture_run
    documents = rows_by_source(output / "documents")
    for name, case in cases.items():
        source = f"{name}.warc" if case.plain else f"{name}.warc.gz"
        first = len(gzip.decompress(real_members[0]) if case.plain else real_members[0])
        after = first + len(case.damaged)
        ids = {row["id"] for row in documents[source]}
        assert document_id(source, 0) in ids, name
        assert document_id(source, after) in ids, name


def test_no_record_exceeds_the_time_budget(torture_run):
    _, output, _ = torture_run
    """CPU time of the record's thread against budget + slack (robust to a busy machine),
    wall time against a hang."""
    for source, report in manifests(output).items():
        slowest = report["slowest_record"]
        assert slowest["cpu_seconds"] <= BUDGET + SLACK, (source, slowest)
        assert slowest["seconds"] <= HANG, (source, slowest)


def test_payload_digest_mismatch_is_flagged_not_dropped(torture_run):
    _, output, _ = torture_run
    stats = json.loads((output / "stats.json").read_text())
    assert stats["digests"]["payload"]["mismatch"] >= 1
    rows = rows_by_source(output / "documents")["payload_digest_wrong.warc.gz"]
    flags = sorted(
        (r["general_metadata"]["payload_digest_ok"], r["general_metadata"]["url"]) for r in rows
    )
    assert [flag for flag, url in flags if url == "http://example.com/page"] == [False]
    assert all(flag for flag, url in flags if url != "http://example.com/page")


def test_mislabelled_charsets_still_read(torture_run):
    _, output, _ = torture_run
    documents = rows_by_source(output / "documents")
    texts = {
        name: " ".join(
            t
            for row in documents[f"{name}.warc.gz"]
            if row["general_metadata"]["url"] == "http://example.com/page"
            for t in row["texts"]
            if t
        )
        for name in ("cp1251_declared_utf8", "shift_jis_declared_utf8")
    }
    assert "Москва" in texts["cp1251_declared_utf8"]
    assert "東京" in texts["shift_jis_declared_utf8"]


def test_non_warc_input_among_good_ones_fails_naming_it(tmp_path, capsys):
    good = fixture_path("warc/cmoncrawl_mini.warc.gz")
    bogus = tmp_path / "not-a-warc.warc.gz"
    bogus.write_bytes(zlib.compress(b"<html>compressed, but not gzip and not WARC</html>"))
    argv = ["run", "--input", str(good), str(bogus), "--output", str(tmp_path / "out")]
    assert main([*argv, f"--runner={BEAM_TEST_RUNNER}"]) == 2
    assert "not-a-warc.warc.gz" in capsys.readouterr().err


def test_binary_and_bomless_utf16_pages_do_not_become_junk_documents(torture_run):
    _, output, _ = torture_run
    documents = rows_by_source(output / "documents")
    pages = [
        row
        for row in documents["utf16_without_bom.warc.gz"]
        if row["general_metadata"]["url"] == "http://example.com/page"
    ]
    assert len(pages) == 1
    assert pages[0]["general_metadata"]["charset"] == "utf-16-le"
    text = " ".join(t for t in pages[0]["texts"] if t)
    assert "<" not in text and "\ufffd" not in text and text.strip()
    assert not [
        row
        for row in documents.get("binary_as_html.warc.gz", [])
        if row["general_metadata"]["url"] == "http://example.com/page"
    ]

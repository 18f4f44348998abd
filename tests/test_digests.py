"""WARC-Block-Digest / WARC-Payload-Digest: formats, streaming, real fixtures, run policies."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from test_warc_source import NonSeekable, members_of

from webweave.filters.record_digest import (
    ABSENT,
    MISMATCH,
    OK,
    UNSUPPORTED,
    BlockDigester,
    ExpectedDigest,
    parse_digest,
)
from webweave.pipelines.cli import main
from webweave.pipelines.warc_source import WarcReadError, WarcRecord, iter_warc_records

from conftest import BEAM_TEST_RUNNER, EXTRACTION_ONLY_CONFIG, fixture_path

BIG = 16 * 1024 * 1024
DATA = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>payload</html>"
PAYLOAD = DATA.split(b"\r\n\r\n", 1)[1]


def b32(data: bytes, algorithm: str = "sha1") -> str:
    return base64.b32encode(hashlib.new(algorithm, data).digest()).decode()


@pytest.mark.parametrize(
    "header",
    [
        f"sha1:{b32(DATA)}",
        f"SHA-1:{b32(DATA).lower()}",
        f"sha1:{hashlib.sha1(DATA).hexdigest()}",
        f"sha1:{hashlib.sha1(DATA).hexdigest().upper()}",
        f"sha1:{base64.b64encode(hashlib.sha1(DATA).digest()).decode()}",
        f"sha256:{b32(DATA, 'sha256')}",
        f"sha-256:{hashlib.sha256(DATA).hexdigest()}",
        f"md5:{hashlib.md5(DATA).hexdigest()}",
    ],
)
def test_accepted_forms_verify(header: str) -> None:
    expected = parse_digest(header)
    assert isinstance(expected, ExpectedDigest)
    digester = BlockDigester(header, None, http=False, revisit=False)
    digester.update(DATA)
    assert digester.finish() == (OK, ABSENT)


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, ABSENT),
        ("", ABSENT),
        ("sha1", UNSUPPORTED),
        ("crc32:abcd", UNSUPPORTED),
        ("sha1:not-a-digest!", UNSUPPORTED),
        ("sha1:" + b32(DATA)[:-4], UNSUPPORTED),
    ],
)
def test_absent_and_unsupported(header, status) -> None:
    assert parse_digest(header) == status


def test_streaming_gives_the_same_answer_at_every_split() -> None:
    """Chunk boundaries anywhere (inside the header terminator too) change nothing."""
    block_header, payload_header = f"sha1:{b32(DATA)}", f"sha1:{b32(PAYLOAD)}"
    for cut in range(len(DATA) + 1):
        for second in (cut, min(len(DATA), cut + 3)):
            digester = BlockDigester(block_header, payload_header, http=True, revisit=False)
            for part in (DATA[:cut], DATA[cut:second], DATA[second:]):
                digester.update(part)
            assert digester.finish() == (OK, OK), cut


def test_payload_rules() -> None:
    wrong = f"sha1:{b32(b'other')}"
    digester = BlockDigester(wrong, f"sha1:{b32(PAYLOAD)}", http=True, revisit=False)
    digester.update(DATA)
    assert digester.finish() == (MISMATCH, OK)
    # not HTTP: the payload is the whole block
    digester = BlockDigester(None, f"sha1:{b32(DATA)}", http=False, revisit=False)
    digester.update(DATA)
    assert digester.finish() == (ABSENT, OK)
    # headers only (no blank line at the end): the payload is empty
    head = b"HTTP/1.1 304 Not Modified\r\nETag: x\r\n"
    digester = BlockDigester(None, f"sha1:{b32(b'')}", http=True, revisit=False)
    digester.update(head)
    assert digester.finish() == (ABSENT, OK)
    # a revisit's payload digest names a payload stored elsewhere
    digester = BlockDigester(None, f"sha1:{b32(PAYLOAD)}", http=True, revisit=True)
    digester.update(DATA)
    assert digester.finish() == (ABSENT, UNSUPPORTED)


# Per fixture: (block statuses, payload statuses) of every record the reader yields.
FIXTURE_DIGESTS = {
    "warc/cmoncrawl_mini.warc.gz": ({OK: 3}, {OK: 2, ABSENT: 1}),
    "warc/commoncrawl_whirlwind.warc.gz": ({OK: 4}, {OK: 3, ABSENT: 1}),
    "warc/commoncrawl_whirlwind.warc.wat.gz": ({OK: 2}, {OK: 1, ABSENT: 1}),
    "warc/commoncrawl_whirlwind.warc.wet.gz": ({OK: 2}, {OK: 1, ABSENT: 1}),
    "warc/dolma_sample-0000.warc.gz": ({OK: 48}, {OK: 22, ABSENT: 26}),
    "warc/jwarc_commoncrawl_cc.warc.gz": ({OK: 1}, {OK: 1}),
    "warc/nodewarc_books.toscrape.warc": ({ABSENT: 60}, {ABSENT: 60}),
    "warc/pywb_iana.warc.gz": ({ABSENT: 343}, {OK: 48, ABSENT: 172, UNSUPPORTED: 123}),
    "warc/resiliparse_clipped_truncated.warc.gz": ({}, {}),
    "warc/resiliparse_commoncrawl_warcfile.warc.gz": ({OK: 16, ABSENT: 34}, {OK: 16, ABSENT: 34}),
    "warc/warcat_archiveteam.warc.gz": ({OK: 8}, {OK: 2, ABSENT: 6}),
    "warc/derived/scrapinghub_aeb_pages_part1.warc.gz": ({OK: 92}, {OK: 91, ABSENT: 1}),
}


@pytest.mark.parametrize("relative", sorted(FIXTURE_DIGESTS))
def test_real_fixtures_verify(relative: str) -> None:
    """Every digest present in the real fixtures verifies: none mismatches."""
    with open(fixture_path(relative), "rb") as stream:
        outputs = [
            o
            for o in iter_warc_records(stream, relative, max_record_bytes=BIG)
            if isinstance(o, WarcRecord)
        ]
    blocks = Counter(r.block_digest for r in outputs)
    payloads = Counter(r.payload_digest for r in outputs)
    assert (blocks, payloads) == tuple(Counter(c) for c in FIXTURE_DIGESTS[relative])


def test_plain_warc_resyncs_after_a_block_mismatch() -> None:
    """Uncompressed: a Content-Length too long swallows the next record's start; the block
    digest mismatch sends the reader back to find that record (pipe-like stream too)."""
    plain = [gzip.decompress(m) for m in members_of("warc/cmoncrawl_mini.warc.gz")]
    length = len(plain[1].split(b"\r\n\r\n", 1)[1]) - 4  # block length of the request
    damaged = plain[1].replace(
        f"Content-Length: {length}".encode(), f"Content-Length: {length + 30}".encode(), 1
    )
    data = plain[0] + damaged + plain[2]
    for stream in (io.BytesIO(data), NonSeekable(data)):
        outputs = list(iter_warc_records(stream, "x.warc", max_record_bytes=BIG))
        assert [type(o) for o in outputs] == [WarcRecord] * 3
        assert [o.block_digest for o in outputs] == [OK, MISMATCH, OK]
        assert outputs[2].offset == len(plain[0]) + len(damaged)
        assert outputs[2].warc_type == "response"


# --- policies in the real run ---------------------------------------------------------------


def flipped_response() -> bytes:
    """cmoncrawl_mini with one byte of the response's HTML changed (digests kept)."""
    members = members_of("warc/cmoncrawl_mini.warc.gz")
    text = gzip.decompress(members[2])
    at = text.index(b"<title")
    damaged = gzip.compress(text[:at] + b"<TITLE" + text[at + 6 :])
    return members[0] + members[1] + damaged


def run_with(tmp_path: Path, config: str) -> tuple[int, Path]:
    source = tmp_path / "flipped.warc.gz"
    source.write_bytes(flipped_response())
    config_path = tmp_path / "config.yaml"
    config_path.write_text(EXTRACTION_ONLY_CONFIG + config)
    output = tmp_path / "out"
    argv = ["run", "--input", str(source), "--output", str(output), "--config", str(config_path)]
    return main([*argv, f"--runner={BEAM_TEST_RUNNER}"]), output


def dead_types(output: Path) -> list[str]:
    return [
        row["error_type"]
        for path in sorted((output / "dead_letter").glob("*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]


def metadata(output: Path) -> list[dict]:
    return [
        row["general_metadata"]
        for path in sorted((output / "documents").glob("*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]


def test_block_mismatch_is_dead_lettered_by_default(tmp_path) -> None:
    status, output = run_with(tmp_path, "")
    assert status == 0
    assert dead_types(output) == ["block_digest_mismatch"]
    stats = json.loads((output / "stats.json").read_text())
    assert stats["digests"]["block"] == {
        "verified": 2,
        "mismatch": 1,
        "absent": 0,
        "unsupported": 0,
    }
    assert stats["funnel"][0] == {"stage": "read", "in": 3, "out": 2, "dropped": {}, "errors": 1}
    assert stats["funnel_closes"]


def test_block_mismatch_can_be_flagged(tmp_path) -> None:
    status, output = run_with(tmp_path, "warc:\n  block_digest_mismatch: flag\n")
    assert status == 0 and dead_types(output) == []
    (meta,) = metadata(output)
    assert (meta["block_digest_ok"], meta["payload_digest_ok"]) == (False, False)


def test_payload_mismatch_can_be_dead_lettered(tmp_path) -> None:
    config = "warc:\n  block_digest_mismatch: flag\n  payload_digest_mismatch: dead_letter\n"
    status, output = run_with(tmp_path, config)
    assert status == 0 and dead_types(output) == ["payload_digest_mismatch"]


def test_verification_can_be_switched_off(tmp_path) -> None:
    status, output = run_with(tmp_path, "warc:\n  verify_digests: false\n")
    assert status == 0 and dead_types(output) == []
    stats = json.loads((output / "stats.json").read_text())
    assert stats["digests"]["block"]["absent"] == 3
    assert metadata(output)[0]["block_digest_ok"] is None


def test_unknown_policy_is_a_config_error(tmp_path, capsys) -> None:
    status, _ = run_with(tmp_path, "warc:\n  block_digest_mismatch: ignore\n")
    assert status == 2
    assert "warc.block_digest_mismatch = 'ignore': must be one of" in capsys.readouterr().err


def test_read_errors_are_not_counted_as_digests() -> None:
    with open(fixture_path("warc/resiliparse_clipped_truncated.warc.gz"), "rb") as stream:
        (error,) = iter_warc_records(stream, "x", max_record_bytes=BIG)
    assert isinstance(error, WarcReadError)

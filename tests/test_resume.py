"""Resume and idempotence (issue #6): a SIGKILLed run started again equals an uninterrupted one.

The killed run is a real ``webweave run`` subprocess in its own process group (so Beam's
worker processes die with it), killed as soon as the first per-input manifest appears. The
inputs are copies of fixture WARCs under new names in ``tmp_path`` (never in the repository).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from webweave.pipelines.cli import main
from webweave.pipelines.inputs import WarcInput

from conftest import BEAM_TEST_RUNNER, REPO_ROOT, fixture_path

SOURCES = [
    "warc/derived/scrapinghub_aeb_pages_part1.warc.gz",
    "warc/dolma_sample-0000.warc.gz",
    "warc/resiliparse_commoncrawl_warcfile.warc.gz",
]
COPIES = 2  # each source twice: 6 inputs, enough that a kill lands mid-run


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("inputs")
    for copy in range(COPIES):
        for relative in SOURCES:
            source = fixture_path(relative)
            shutil.copyfile(source, folder / f"copy{copy}-{source.name}")
    return folder


def argv(inputs: Path, output: Path) -> list[str]:
    return [
        "run",
        "--input",
        str(inputs / "*.warc.gz"),
        "--output",
        str(output),
        f"--runner={BEAM_TEST_RUNNER}",
    ]


@pytest.fixture(scope="module")
def reference(inputs, tmp_path_factory) -> Path:
    """An uninterrupted run."""
    output = tmp_path_factory.mktemp("reference")
    assert main(argv(inputs, output)) == 0
    return output


def files(output: Path, folder: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((output / folder).glob("*.parquet"))}


def stats(output: Path) -> dict:
    return json.loads((output / "stats.json").read_text())


def kill_after_first_manifest(inputs: Path, output: Path, timeout: float = 120.0) -> int:
    """Start the run as a subprocess, SIGKILL its process group once a manifest exists."""
    command = [sys.executable, "-m", "webweave.pipelines.cli", *argv(inputs, output)]
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    try:
        while not list((output / "_manifest").glob("*.json")):
            assert process.poll() is None, "the run ended before any input finished"
            assert time.monotonic() < deadline, "no manifest appeared"
            time.sleep(0.005)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return len(list((output / "_manifest").glob("*.json")))


def plant_leftovers(inputs: Path, output: Path) -> None:
    """What a kill can leave behind, made worse: stale heartbeat, temp files, a torn shard."""
    done = {p.stem for p in (output / "_manifest").glob("*.json")}
    prefixes = [WarcInput(str(p), p.name).shard_prefix for p in sorted(inputs.glob("*.warc.gz"))]
    unfinished = next(prefix for prefix in prefixes if prefix not in done)
    for folder in ("documents", "dead_letter", "_progress", "_manifest"):
        (output / folder).mkdir(exist_ok=True)
    (output / "documents" / f"{unfinished}-00000.parquet").write_bytes(b"PAR1 torn write")
    (output / "documents" / f".{unfinished}-00001.parquet.0123.tmp").write_bytes(b"partial")
    (output / "_progress" / f"{unfinished}.json").write_text('{"records_read": 99999}')
    (output / "_manifest" / f"{unfinished}.json.tmp").write_text("{not json")


def test_killed_run_resumes_to_the_same_output(inputs, reference, tmp_path):
    output = tmp_path / "killed"
    finished = kill_after_first_manifest(inputs, output)
    total = COPIES * len(SOURCES)
    assert 1 <= finished < total, f"kill came too late: {finished} of {total} inputs done"
    assert not (output / "stats.json").exists()
    plant_leftovers(inputs, output)
    assert main(["verify", str(output)]) != 0  # an interrupted folder is not whole

    assert main(argv(inputs, output)) == 0
    assert files(output, "documents") == files(reference, "documents")
    assert files(output, "dead_letter") == files(reference, "dead_letter")
    assert stats(output) == stats(reference)
    assert stats(output)["funnel_closes"]
    assert not list(output.rglob("*.tmp")) and not list((output / "_progress").glob("*"))
    assert main(["verify", str(output)]) == 0


def test_rerun_on_the_same_output_is_idempotent(inputs, reference, tmp_path):
    output = tmp_path / "twice"
    shutil.copytree(reference, output)
    before = files(output, "documents")
    assert main(argv(inputs, output)) == 0  # every input skipped: manifests exist
    assert files(output, "documents") == before
    assert stats(output) == stats(reference)
    shutil.rmtree(output / "_manifest")  # force every input to be processed again
    assert main(argv(inputs, output)) == 0
    assert files(output, "documents") == before
    assert stats(output) == stats(reference)


def test_documents_are_sorted_within_shards(reference):
    for path in sorted((reference / "documents").glob("*.parquet")):
        meta = pq.read_table(path, columns=["general_metadata"]).column(0).to_pylist()
        offsets = [m["warc_record_offset"] for m in meta]
        assert offsets == sorted(offsets), path.name
        assert len({m["warc_filename"] for m in meta}) == 1

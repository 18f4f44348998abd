"""``webweave verify DIR``: OK on a real run's output, a clear message for each kind of damage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from webweave.pipelines.cli import main
from webweave.pipelines.verify import verify_output
from webweave.schemas import documents

from conftest import BEAM_TEST_RUNNER, EXTRACTION_ONLY_CONFIG, fixture_path


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("good")
    inputs = [
        str(fixture_path("warc/dolma_sample-0000.warc.gz")),
        str(fixture_path("warc/resiliparse_clipped_truncated.warc.gz")),  # one dead letter
    ]
    config = output.parent / f"{output.name}.yaml"
    config.write_text(EXTRACTION_ONLY_CONFIG)  # 22 documents, whatever the filter thresholds
    argv = ["run", "--input", *inputs, "--output", str(output), "--config", str(config)]
    assert main([*argv, f"--runner={BEAM_TEST_RUNNER}"]) == 0
    return output


@pytest.fixture
def damaged(good_run, tmp_path) -> Path:
    copy = tmp_path / "copy"
    shutil.copytree(good_run, copy)
    return copy


def first_shard(output: Path) -> Path:
    return sorted((output / "documents").glob("*.parquet"))[0]


def problems_of(output: Path, capsys) -> str:
    assert main(["verify", str(output)]) == 1
    return capsys.readouterr().err


def test_good_output_is_ok(good_run, capsys):
    assert main(["verify", str(good_run)]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "OK: 2 input(s), 22 documents, 1 dead-letter rows" in out


def test_duplicate_ids_and_counts(damaged, capsys):
    shard = first_shard(damaged)
    shutil.copyfile(shard, shard.with_name(shard.name.replace("-00000", "-00001")))
    err = problems_of(damaged, capsys)
    assert "duplicate document id" in err
    assert "stats.json documents_written = 22 but documents/ holds 44" in err
    assert "-00001.parquet has no extracted/" in err


def test_broken_interleaving(damaged, capsys):
    shard = first_shard(damaged)
    table = pq.read_table(shard)
    rows = table.to_pylist()
    rows[0]["texts"][0] = rows[0]["texts"][0] or "text"
    rows[0]["images"][0] = "http://example.com/both-set.jpg"  # both set at position 0
    pq.write_table(pa.Table.from_pylist(rows, schema=documents.SCHEMA), shard)
    err = problems_of(damaged, capsys)
    assert "exactly one of text and image must be set" in err


def test_schema_mismatch(damaged, capsys):
    shard = first_shard(damaged)
    pq.write_table(pa.table({"id": ["x"], "text": ["no interleaving here"]}), shard)
    err = problems_of(damaged, capsys)
    assert "schema mismatch" in err and "missing column 'images'" in err


def test_funnel_that_does_not_close(damaged, capsys):
    stats_path = damaged / "stats.json"
    stats = json.loads(stats_path.read_text())
    stats["funnel"][-1]["out"] += 1
    stats_path.write_text(json.dumps(stats))
    err = problems_of(damaged, capsys)
    assert "funnel does not close" in err and "stage 'extraction'" in err


def test_shard_without_manifest_and_leftovers(damaged, capsys):
    manifest = sorted((damaged / "_manifest").glob("dolma*.json"))[0]
    manifest.unlink()
    (damaged / "documents" / ".x-00000.parquet.abc.tmp").write_bytes(b"")
    (damaged / "_progress").mkdir()
    (damaged / "_progress" / "x.json").write_text("{}")
    err = problems_of(damaged, capsys)
    assert "have no manifest (an input that did not finish)" in err
    assert "stats.json inputs = 2 but the manifests add up to 1" in err
    assert "leftover temporary file" in err and "progress heartbeat" in err


def test_missing_stats_and_missing_folder(damaged, tmp_path, capsys):
    (damaged / "stats.json").unlink()
    assert "stats.json is missing" in problems_of(damaged, capsys)
    assert main(["verify", str(tmp_path / "nowhere")]) == 2
    assert "nowhere is not a folder" in capsys.readouterr().err


def test_verify_output_api(good_run):
    result = verify_output(str(good_run))
    assert result.ok and result.documents == 22 and result.dead_letter == 1

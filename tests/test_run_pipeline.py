"""End to end: real fixture WARCs through the Beam run graph (FnApiRunner) to Parquet."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from webweave.filters.document import check_interleaving
from webweave.pipelines import grouping
from webweave.pipelines.cli import main
from webweave.pipelines.dedup import STEPS
from webweave.pipelines.funnel import Funnel
from webweave.pipelines.obelics_export import OBELICS_SCHEMA
from webweave.schemas import check_table, dead_letter, documents

from conftest import BEAM_TEST_RUNNER, fixture_path

ALL_WARCS = "warc/*.warc*"


def run(inputs: list[str], output: Path, *extra: str) -> int:
    return main(
        ["run", "--input", *inputs, "--output", str(output), f"--runner={BEAM_TEST_RUNNER}", *extra]
    )


@pytest.fixture(scope="module")
def fixture_run(tmp_path_factory) -> Path:
    warcs = fixture_path("warc")
    derived = fixture_path("warc/derived/scrapinghub_aeb_pages_part1.warc.gz")
    output = tmp_path_factory.mktemp("run")
    assert run([str(warcs / "*.warc*"), str(derived)], output) == 0
    return output


def read_stats(output: Path) -> dict:
    return json.loads((output / "stats.json").read_text())


def test_stats_close_exactly(fixture_run):
    stats = read_stats(fixture_run)
    assert stats["funnel_closes"], stats["funnel_problems"]
    funnel = Funnel.from_list(stats["funnel"])
    assert [s.stage for s in funnel.stages] == [
        "read", "selection", "decoding", "extraction", "paragraph_filter", "document_filter",
        "url_dedup", "near_duplicates", "image_url_frequency", "paragraph_dedup",
        "image_set_dedup",
    ]  # fmt: skip
    assert funnel.closure_problems(stats["records_read"], stats["documents_written"]) == []
    assert stats["inputs"] == 12
    assert sum(s.errors for s in funnel.stages) == stats["dead_letter"]
    selection = funnel.stages[1]
    # Non-response records, revisits and non-HTML responses are drops with their own reasons.
    assert {"not_response", "revisit", "non_html"} <= set(selection.dropped)


def test_documents_match_schema_and_invariants(fixture_run):
    stats = read_stats(fixture_run)
    files = sorted((fixture_run / "documents").glob("*.parquet"))
    assert files
    tables = [pq.read_table(f) for f in files]
    for table in tables:
        check_table(table, documents.SCHEMA)
        assert pq.ParquetFile(files[0]).metadata.row_group(0).column(0).compression == "ZSTD"
    rows = [row for table in tables for row in table.to_pylist()]
    assert len(rows) == stats["documents_written"]
    assert len({row["id"] for row in rows}) == len(rows)
    for row in rows:
        check_interleaving(row["texts"], row["images"], row["image_metadata"])
        meta = row["general_metadata"]
        assert meta["url"].startswith(("http://", "https://"))
        assert meta["warc_record_offset"] >= 0 and meta["warc_record_length"] > 0
        assert all(u.startswith(("http://", "https://")) for u in row["images"] if u)
    frame = pd.concat([t.to_pandas() for t in tables])
    assert len(frame) == len(rows)
    assert frame["general_metadata"].map(lambda m: m["charset"]).notna().all()


def test_record_offsets_point_at_the_record(fixture_run):
    """id derives from file + offset; reading ``length`` bytes at ``offset`` gives the page."""
    import gzip

    table = pq.read_table(next((fixture_run / "documents").glob("dolma_sample*.parquet")))
    row = table.to_pylist()[0]
    meta = row["general_metadata"]
    path = fixture_path("warc/" + meta["warc_filename"])
    with open(path, "rb") as handle:
        handle.seek(meta["warc_record_offset"])
        member = handle.read(meta["warc_record_length"])
    record = gzip.decompress(member)
    assert record.startswith(b"WARC/1.")
    # dolma's WARC writes the URI in angle brackets; documents carry the clean URL.
    assert re.search(rb"WARC-Target-URI: <?" + re.escape(meta["url"].encode()) + rb">?\r\n", record)


def test_dead_letter_rows_have_schema(fixture_run):
    for path in (fixture_run / "dead_letter").glob("*.parquet"):
        table = pq.read_table(path)
        check_table(table, dead_letter.SCHEMA)
        for row in table.to_pylist():
            assert row["stage"] and row["error_type"] and row["source_file"]


def test_config_written_next_to_output(fixture_run):
    import yaml

    config = yaml.safe_load((fixture_run / "config.yaml").read_text())
    assert config["run"]["parquet_compression"] == "zstd"


def test_rerun_is_byte_identical_and_export_obelics(fixture_run, tmp_path):
    source = str(fixture_path("warc/dolma_sample-0000.warc.gz"))
    first, second = tmp_path / "a", tmp_path / "b"
    assert run([source], first) == 0
    assert run([source], second) == 0
    names = sorted(p.name for p in (first / "documents").glob("*.parquet"))
    assert names == sorted(p.name for p in (second / "documents").glob("*.parquet"))
    for name in names:
        assert (first / "documents" / name).read_bytes() == (
            second / "documents" / name
        ).read_bytes()

    out = tmp_path / "obelics"
    assert main(["export-obelics", str(first), str(out)]) == 0
    exported = pq.read_table(next(out.glob("*.parquet")))
    assert exported.schema.equals(OBELICS_SCHEMA, check_metadata=False)
    row = exported.to_pylist()[0]
    metadata = json.loads(row["metadata"])
    assert len(metadata) == len(row["texts"]) == len(row["images"])
    for text, image, meta in zip(row["texts"], row["images"], metadata, strict=True):
        assert (text is None) != (image is None)
        assert (meta is None) == (image is None)
    assert set(json.loads(row["general_metadata"])) == {
        "url",
        "warc_filename",
        "warc_record_offset",
        "warc_record_length",
    }


def test_non_warc_input_fails_with_a_clear_message(tmp_path, capsys):
    bogus = tmp_path / "notes.warc.gz"
    bogus.write_bytes(b"this is not a WARC file at all\n" * 10)
    assert run([str(bogus)], tmp_path / "out") == 2
    assert "notes.warc.gz" in capsys.readouterr().err


def test_disk_and_beam_shuffles_give_identical_outputs(tmp_path, monkeypatch):
    """The local default groups on disk (grouping.py); Beam's in-memory shuffle must give the
    same bytes: shuffle.mode changes how the job runs, never what it writes. Text filters are
    off so that every dedup step has documents to act on."""
    inputs = [str(fixture_path("warc") / "*.warc*")]
    derived = fixture_path("warc/derived/scrapinghub_aeb_pages_part1.warc.gz")
    recapture = tmp_path / "recapture.warc.gz"  # the same pages again: URL duplicates
    shutil.copyfile(derived, recapture)
    inputs += [str(derived), str(recapture)]
    outputs, runs_written = {}, []
    write_run = grouping.write_run  # counted: the runner is in-process in tests
    monkeypatch.setattr(grouping, "write_run", lambda *a: runs_written.append(1) or write_run(*a))
    for mode in ("disk", "beam"):
        config = tmp_path / f"{mode}.yaml"
        config.write_text(f"text_filters:\n  enabled: false\nshuffle:\n  mode: {mode}\n")
        outputs[mode] = tmp_path / mode
        assert run(inputs, outputs[mode], "--config", str(config)) == 0
        if mode == "disk":
            assert runs_written  # the local default really grouped on disk
            runs_written.clear()
    assert not runs_written  # and mode beam did not
    disk, beam = outputs["disk"], outputs["beam"]
    assert not (disk / "_shuffle").exists()  # the disk run left no sorted runs behind
    dedup_stages = [
        s for s in read_stats(disk)["funnel"] if s["stage"] in {step.name for step in STEPS}
    ]
    assert all(stage["dropped"] for stage in dedup_stages[:2]), dedup_stages  # url, near-dup
    assert list((disk / "dedup_clusters").glob("*.parquet"))
    for folder in ("documents", "dedup_clusters"):
        names = sorted(p.name for p in (disk / folder).glob("*.parquet"))
        assert names == sorted(p.name for p in (beam / folder).glob("*.parquet"))
        for name in names:
            assert (disk / folder / name).read_bytes() == (beam / folder / name).read_bytes()
    assert read_stats(disk)["funnel"] == read_stats(beam)["funnel"]

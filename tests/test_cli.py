"""A newcomer's first hour (issue #12): one-line errors before any work, output folders that
cannot be mixed, help that reads, progress that logs."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from webweave.pipelines.cli import main
from webweave.pipelines.progress import RunProgress

from conftest import BEAM_TEST_RUNNER, EXTRACTION_ONLY_CONFIG, fixture_path

RUNNER = f"--runner={BEAM_TEST_RUNNER}"
SMALL = "warc/commoncrawl_whirlwind.warc.gz"
OTHER = "warc/jwarc_commoncrawl_cc.warc.gz"


def run(*args: str) -> int:
    return main(["run", *args, RUNNER])


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) >= 1
    line = err[-1]
    assert line.startswith("webweave: error: "), err
    assert "Traceback" not in "\n".join(err)
    return line


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "extraction-only.yaml"
    path.write_text(EXTRACTION_ONLY_CONFIG)
    return path


# ---------------------------------------------------------------------------------------------
# Up-front checks: one line, exit 2, no work done.


def test_unknown_flags_are_errors_with_a_suggestion(tmp_path, capsys):
    warc = str(fixture_path(SMALL))
    assert main(["run", "--input", warc, "--ouput", str(tmp_path / "x"), RUNNER]) == 2
    assert "unknown flag --ouput for `webweave run` (did you mean --output?)" in error_line(capsys)
    assert not (tmp_path / "x").exists() and not Path("webweave-out").exists()
    assert main(["run", "--inptu", warc, "--output", str(tmp_path / "y"), RUNNER]) == 2
    assert "(did you mean --input?)" in error_line(capsys)
    assert not (tmp_path / "y").exists()
    assert main(["verify", str(tmp_path), "--runner=FnApiRunner"]) == 2
    assert "unknown flag --runner for `webweave verify`" in error_line(capsys)


def test_real_beam_options_still_pass(tmp_path, config):
    out = tmp_path / "out"
    warc = str(fixture_path(SMALL))
    assert run("--input", warc, "--output", str(out), "--config", str(config),
               "--direct_num_workers=1") == 0  # fmt: skip
    assert (out / "stats.json").exists()


def test_output_that_is_a_file_or_not_writable(tmp_path, capsys, monkeypatch):
    warc = str(fixture_path(SMALL))
    target = tmp_path / "file"
    target.write_text("x")
    assert run("--input", warc, "--output", str(target)) == 2
    assert f"{target} is a file, not a folder" in error_line(capsys)
    # Root may write anywhere, so a read-only folder is simulated at the access check.
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: str(path) != str(locked))
    assert run("--input", warc, "--output", str(locked / "out")) == 2
    assert f"{locked} is not writable: choose another --output" in error_line(capsys)


def test_a_folder_as_input_means_the_warc_files_inside_it(tmp_path, config):
    folder = tmp_path / "warcs"
    (folder / "b").mkdir(parents=True)
    shutil.copyfile(fixture_path(SMALL), folder / "b" / "two.warc.gz")
    shutil.copyfile(fixture_path(OTHER), folder / "one.warc.gz")
    (folder / "notes.txt").write_text("not a warc")
    out = tmp_path / "out"
    assert run("--input", str(folder), "--output", str(out), "--config", str(config)) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["inputs"] == 2
    manifests = [json.loads(p.read_text()) for p in sorted((out / "_manifest").iterdir())]
    assert sorted(m["location"] for m in manifests) == [
        str(folder / "b" / "two.warc.gz"), str(folder / "one.warc.gz")]  # fmt: skip
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run("--input", str(empty), "--output", str(tmp_path / "o2")) == 2


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("dedup:\n  minhash_bands: -3\n", "dedup.minhash_bands = -3: must be >= 1"),
        ("run:\n  shard_rows: 0\n", "run.shard_rows = 0: must be >= 1"),
        ("extraction:\n  max_dom_depth: -1\n", "extraction.max_dom_depth = -1: must be >= 1"),
        ("text_filters:\n  document:\n    stopword_ratio_min: 2\n",
         "text_filters.document.stopword_ratio_min = 2: must be between 0.0 and 1.0"),
        ("run: [\n", "not valid YAML at line"),
    ],
)  # fmt: skip
def test_config_errors_name_key_value_range_and_file(tmp_path, capsys, yaml_text, expected):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml_text)
    warc = str(fixture_path(SMALL))
    assert run("--input", warc, "--output", str(tmp_path / "o"), "--config", str(path)) == 2
    line = error_line(capsys)
    assert expected in line and str(path) in line
    assert not (tmp_path / "o").exists()


def test_dedup_guard_is_one_line_naming_its_switch(tmp_path, capsys):
    """Two copies of one WARC under two names: URL dedup removes half, over a 0.4 guard."""
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.warc.gz", "b.warc.gz"):
        shutil.copyfile(fixture_path("warc/dolma_sample-0000.warc.gz"), folder / name)
    config = tmp_path / "guard.yaml"
    config.write_text(
        "text_filters:\n  enabled: false\n"
        "dedup:\n  near_duplicates: false\n  max_removed_fraction: 0.4\n"
    )
    out = tmp_path / "out"
    assert run("--input", str(folder), "--output", str(out), "--config", str(config)) == 2
    line = error_line(capsys)
    assert "dedup step UrlDedup removed" in line and "raise dedup.max_removed_fraction" in line


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "{missing}"],
        ["export-obelics", "{missing}", "{tmp}/obelics"],
        ["verify", "{missing}"],
        ["images", "{missing}", "--output", "{tmp}/img", RUNNER],
        ["images", "retry", "{missing}", RUNNER],
        ["refilter", "{missing}", "--config", "{tmp}/c.yaml", "--output", "{tmp}/r", RUNNER],
    ],
)
def test_mistyped_folders_are_one_line_errors(tmp_path, capsys, argv):
    missing = tmp_path / "no-such-run"
    (tmp_path / "c.yaml").write_text("{}\n")
    args = [a.format(missing=missing, tmp=tmp_path) for a in argv]
    assert main(args) == 2
    assert f"{missing} is not a folder" in error_line(capsys)
    assert not missing.exists()  # report used to create it


def test_a_bug_is_one_line_and_a_saved_traceback(tmp_path, capsys, monkeypatch):
    from webweave.pipelines.commands import run as run_commands

    def broken(*_args, **_kwargs):
        raise KeyError("planted bug")

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(run_commands, "resolve_inputs", broken)
    assert run("--input", "x.warc", "--output", str(tmp_path / "o")) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("webweave: internal error: KeyError: 'planted bug'")
    saved = err[0].split("full traceback in ")[1].split(";")[0]
    assert Path(saved).is_file() and "planted bug" in Path(saved).read_text()
    assert saved.startswith(str(tmp_path / "cache"))


# ---------------------------------------------------------------------------------------------
# Output folders are owned by one job.


def _documents(out: Path) -> list[str]:
    return sorted(p.name for p in (out / "documents").glob("*.parquet"))


def _rows(out: Path) -> int:
    return sum(pq.read_metadata(p).num_rows for p in (out / "documents").glob("*.parquet"))


def test_same_inputs_and_config_resume(tmp_path, config, capsys):
    out = tmp_path / "out"
    warc = str(fixture_path(SMALL))
    assert run("--input", warc, "--output", str(out), "--config", str(config)) == 0
    first = (out / "documents").iterdir().__next__().read_bytes()
    capsys.readouterr()
    assert run("--input", warc, "--output", str(out), "--config", str(config)) == 0
    assert "(resuming: 1 already done)" in capsys.readouterr().err
    assert (out / "documents").iterdir().__next__().read_bytes() == first
    assert main(["verify", str(out)]) == 0


def test_other_inputs_or_output_changing_config_are_refused(tmp_path, config, capsys):
    out = tmp_path / "out"
    small, other = str(fixture_path(SMALL)), str(fixture_path(OTHER))
    assert run("--input", small, "--output", str(out), "--config", str(config)) == 0
    before = _documents(out)
    assert run("--input", other, "--output", str(out), "--config", str(config)) == 2
    line = error_line(capsys)
    assert f"{out} holds a run of other inputs (commoncrawl_whirlwind.warc.gz)" in line
    assert "--overwrite" in line
    five = tmp_path / "five.yaml"
    five.write_text(EXTRACTION_ONLY_CONFIG + "run:\n  shard_rows: 5\n")
    assert run("--input", small, "--output", str(out), "--config", str(five)) == 2
    assert "another output-changing configuration" in error_line(capsys)
    assert _documents(out) == before  # nothing touched


def test_overwrite_replaces_everything_atomically(tmp_path, config):
    out = tmp_path / "out"
    dolma, other = str(fixture_path("warc/dolma_sample-0000.warc.gz")), str(fixture_path(OTHER))
    five = tmp_path / "five.yaml"
    five.write_text(EXTRACTION_ONLY_CONFIG + "run:\n  shard_rows: 5\n")
    assert run("--input", dolma, "--output", str(out), "--config", str(five)) == 0
    assert len(_documents(out)) > 1
    assert run("--input", other, "--output", str(out), "--config", str(config), "--overwrite") == 0
    stats = json.loads((out / "stats.json").read_text())
    assert _rows(out) == stats["documents_written"]  # no stale shard of the first run
    assert all(name.startswith("jwarc_commoncrawl_cc") for name in _documents(out))
    record = json.loads((out / "_webweave.json").read_text())
    assert record["state"] == "finished" and record["files"]["documents"] == _documents(out)
    assert not list(tmp_path.glob("out.webweave-staging-*"))
    assert main(["verify", str(out)]) == 0


def test_a_foreign_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"x")
    assert run("--input", str(fixture_path(SMALL)), "--output", str(out)) == 2
    assert "is not empty and was not written by webweave" in error_line(capsys)
    assert (out / "holiday.jpg").exists()


# ---------------------------------------------------------------------------------------------
# Help, version, progress, messages.


def test_help_texts(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    assert "``" not in top and "images retry" in top and "quality" in top
    with pytest.raises(SystemExit):
        main(["images", "retry", "--help"])
    retry = capsys.readouterr().out
    assert retry.startswith("usage: webweave images retry") and "OUT" in retry
    with pytest.raises(SystemExit):
        main(["images", "--help"])
    images = capsys.readouterr().out
    assert "  RUN_DIR               a `webweave run` output folder" in images
    assert "Beam pipeline options" in images
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.startswith("webweave ")


def test_progress_for_logs_and_resumed_runs(tmp_path):
    out = tmp_path / "out"
    (out / "_manifest").mkdir(parents=True)
    (out / "_manifest" / "a.json").write_text(json.dumps({"records_read": 10}))
    stream = io.StringIO()  # not a terminal: one line per report, no carriage returns
    progress = RunProgress(str(out), 2, stream=stream, interval=0.01, log_interval=0.05)
    with progress:
        (out / "_manifest" / "b.json").write_text(json.dumps({"records_read": 7}))
        import time

        time.sleep(0.3)
    text = stream.getvalue()
    assert "\r" not in text and text.count("\n") >= 2
    assert "WARC files done 2/2 (1 done before) | records 7" in text.splitlines()[-1]


def test_record_too_large_keeps_its_url_and_messages_name_the_config(tmp_path):
    import gzip

    from webweave.pipelines.warc_source import iter_warc_records

    payload = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n" + b"<p>x</p>" * 100
    record = (
        b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://example.com/big\r\n"
        b"WARC-Record-ID: <urn:uuid:1>\r\nContent-Length: " + str(len(payload)).encode()
        + b"\r\n\r\n" + payload + b"\r\n\r\n"
    )  # fmt: skip
    data = gzip.compress(record)
    (error,) = iter_warc_records(io.BytesIO(data + b"garbage"[:0]), "x.warc.gz",
                                 max_record_bytes=100)  # fmt: skip
    assert error.error_type == "record_too_large" and error.url == "http://example.com/big"
    assert "exceeds warc.max_record_bytes = 100" in error.message
    truncated = list(
        iter_warc_records(io.BytesIO(data[:-20]), "y.warc.gz", max_record_bytes=1 << 20)
    )
    assert all("at None" not in getattr(o, "message", "") for o in truncated)


def test_depth_message_names_the_configured_limit():
    from webweave.filters.extraction import DomTooDeep, ExtractionOptions, extract

    options = ExtractionOptions.default().replace(max_dom_depth=20)
    with pytest.raises(DomTooDeep, match="extraction.max_dom_depth = 20"):
        extract("<div>" * 40 + "text" + "</div>" * 40, "http://x/", options=options)


def test_verify_finds_a_shard_the_record_does_not_list(tmp_path, config, capsys):
    out = tmp_path / "out"
    assert (
        run("--input", str(fixture_path(SMALL)), "--output", str(out), "--config", str(config)) == 0
    )
    assert main(["verify", str(out)]) == 0
    stray = out / "documents" / "stray-00000.parquet"
    shutil.copyfile(next((out / "documents").iterdir()), stray)
    assert main(["verify", str(out)]) == 1
    assert (
        "documents/stray-00000.parquet: not listed in the folder's record"
        in capsys.readouterr().err
    )

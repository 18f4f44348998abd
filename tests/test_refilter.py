"""``webweave refilter`` equals a full run with the new config, and dedup works end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from webweave.pipelines.cli import main

from conftest import BEAM_TEST_RUNNER, fixture_path

NEW_CONFIG = """\
text_filters:
  document:
    number_words_min: 50
    languages: ["en", "de"]
    stopword_ratio_min: 0.2
  paragraph:
    stopword_ratio_min: 0.2
    number_words_min: 6
dedup:
  near_duplicates: false
"""


def inputs() -> list[str]:
    return [
        str(fixture_path("warc/dolma_sample-0000.warc.gz")),
        str(fixture_path("warc/resiliparse_commoncrawl_warcfile.warc.gz")),
        str(fixture_path("warc/derived/scrapinghub_aeb_pages_part1.warc.gz")),
    ]


def run(output: Path, *extra: str) -> None:
    argv = ["run", "--input", *inputs(), "--output", str(output), *extra]
    assert main([*argv, f"--runner={BEAM_TEST_RUNNER}"]) == 0


def stats(output: Path) -> dict:
    return json.loads((output / "stats.json").read_text())


def document_ids(output: Path) -> list[str]:
    files = sorted((output / "documents").glob("*.parquet"))
    return [i for f in files for i in pq.read_table(f, columns=["id"]).column("id").to_pylist()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("refilter")
    config = folder / "new.yaml"
    config.write_text(NEW_CONFIG)
    paths = {"old": folder / "old", "new": folder / "new", "refiltered": folder / "refiltered"}
    run(paths["old"])
    run(paths["new"], "--config", str(config))
    argv = ["refilter", str(paths["old"]), "--config", str(config)]
    argv += ["--output", str(paths["refiltered"]), f"--runner={BEAM_TEST_RUNNER}"]
    assert main(argv) == 0
    return paths


def test_refilter_equals_a_full_run_with_the_new_config(runs):
    new, refiltered = runs["new"], runs["refiltered"]
    assert document_ids(refiltered) == document_ids(new)
    assert stats(refiltered) == stats(new)
    names = sorted(p.name for p in (new / "documents").glob("*.parquet"))
    assert names == sorted(p.name for p in (refiltered / "documents").glob("*.parquet"))
    for name in names:  # byte for byte: same rows, same scores, same order
        assert (new / "documents" / name).read_bytes() == (
            refiltered / "documents" / name
        ).read_bytes()
    assert main(["verify", str(refiltered)]) == 0


def test_new_thresholds_change_the_result(runs):
    old, new = stats(runs["old"]), stats(runs["new"])
    assert old["documents_written"] != new["documents_written"]
    stages = [s["stage"] for s in new["funnel"]]
    assert "near_duplicates" not in stages and "url_dedup" in stages


def test_refilter_refuses_a_config_that_needs_the_warcs(runs, tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("extraction:\n  keep_tables: false\n")
    argv = ["refilter", str(runs["old"]), "--config", str(config), "--output", str(tmp_path)]
    assert main([*argv, f"--runner={BEAM_TEST_RUNNER}"]) == 2
    assert "config section 'extraction' differs" in capsys.readouterr().err


def test_url_dedup_keeps_one_capture_of_each_page(tmp_path):
    """The same WARC under two names: every document is a URL duplicate of its twin."""
    source = fixture_path("warc/dolma_sample-0000.warc.gz")
    for name in ("crawl-a.warc.gz", "crawl-b.warc.gz"):
        shutil.copyfile(source, tmp_path / name)
    output = tmp_path / "out"
    argv = ["run", "--input", str(tmp_path / "crawl-*.warc.gz"), "--output", str(output)]
    assert main([*argv, f"--runner={BEAM_TEST_RUNNER}"]) == 0
    result = stats(output)
    url_dedup = next(s for s in result["funnel"] if s["stage"] == "url_dedup")
    assert url_dedup["dropped"] == {"url_duplicate": url_dedup["in"] // 2}
    assert result["documents_written"] == url_dedup["in"] // 2
    urls = []
    for path in sorted((output / "documents").glob("*.parquet")):
        urls += [m["url"] for m in pq.read_table(path).column("general_metadata").to_pylist()]
    assert len(urls) == len(set(urls)) == result["documents_written"]


def test_rerun_with_another_config_into_the_same_folder_needs_overwrite(runs, tmp_path, capsys):
    """A folder made under other thresholds is another run's: refused with one line, and
    with --overwrite the inputs are processed again and nothing of the old run survives."""
    reused = tmp_path / "reused"
    shutil.copytree(runs["old"], reused)
    config = tmp_path / "new.yaml"
    config.write_text(NEW_CONFIG)
    argv = ["run", "--input", *inputs(), "--output", str(reused), "--config", str(config)]
    assert main([*argv, f"--runner={BEAM_TEST_RUNNER}"]) == 2
    assert "another output-changing configuration" in capsys.readouterr().err
    assert document_ids(reused) == document_ids(runs["old"])
    run(reused, "--config", str(config), "--overwrite")
    assert document_ids(reused) == document_ids(runs["new"])
    assert stats(reused) == stats(runs["new"])


def test_refiltered_manifests_match_a_full_run(runs):
    def digests(folder: Path) -> set[str]:
        return {json.loads(p.read_text())["config_digest"] for p in folder.glob("_manifest/*")}

    assert digests(runs["refiltered"]) == digests(runs["new"])
    assert digests(runs["new"]) != digests(runs["old"])

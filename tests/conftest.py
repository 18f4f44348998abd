"""Shared test fixtures: where the real-data fixtures live, and the Beam runner tests use.

Fixture files are read in place from ``$WEBWEAVE_FIXTURES`` if set, else ``../shared/fixtures``
beside the checkout if it exists, else ``<repo>/.fixtures``, which the session fills at its start
from the public sources in ``tests/fixtures/MANIFEST.tsv`` (``tests/fetch_fixtures.py``, verified
by sha256); if that fetch cannot complete, the session stops with the reasons instead of running
tests that would skip. A test that needs a missing fixture skips with the reason; with
``WEBWEAVE_REQUIRE_FIXTURES=1`` (set by CI) that skip becomes a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import fetch_fixtures
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def fixtures_root() -> Path:
    """$WEBWEAVE_FIXTURES, else ../shared/fixtures if it exists, else <repo>/.fixtures."""
    if os.environ.get("WEBWEAVE_FIXTURES"):
        return Path(os.environ["WEBWEAVE_FIXTURES"])
    shared = REPO_ROOT.parent / "shared" / "fixtures"
    return shared if shared.is_dir() else fetch_fixtures.DEFAULT_DEST


FIXTURES = fixtures_root()
# Nothing is ever downloaded from a model hub in tests (models are tiny, built locally), and Beam
# workers inherit this; so does every subprocess a test starts.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Tests never let Beam's DirectRunner try to download Prism: they pin the in-process runner.
BEAM_TEST_RUNNER = "FnApiRunner"


def fixture_path(relative: str) -> Path:
    """Path of a fixture file, or skip (fail under WEBWEAVE_REQUIRE_FIXTURES=1) if missing."""
    path = FIXTURES / relative
    if not path.exists():
        message = f"fixture {relative} not found under {FIXTURES} (set WEBWEAVE_FIXTURES)"
        if os.environ.get("WEBWEAVE_REQUIRE_FIXTURES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def pytest_sessionstart(session: pytest.Session) -> None:
    """On a fresh clone (no $WEBWEAVE_FIXTURES, no ../shared/fixtures), fetch the fixtures into
    <repo>/.fixtures first; stop the session loudly if any file cannot be had."""
    if FIXTURES != fetch_fixtures.DEFAULT_DEST:
        return
    terminal = session.config.pluginmanager.get_plugin("terminalreporter")
    say = terminal.write_line if terminal else print
    say(f"fixtures: checking {FIXTURES} against tests/fixtures/MANIFEST.tsv")
    report = fetch_fixtures.fetch(FIXTURES)
    (FIXTURES / "fetch-failures.txt").unlink(missing_ok=True)
    if report.failures:
        pytest.exit(_report_fetch_failures(report, say), returncode=pytest.ExitCode.TESTS_FAILED)
    if report.fetched:
        say(f"fixtures: fetched {len(report.fetched)} files into {FIXTURES}")


def _report_fetch_failures(report: fetch_fixtures.Report, say, shown: int = 20) -> str:
    """Print the first failure lines, keep all of them in a file, return the one-line reason."""
    listing = FIXTURES / "fetch-failures.txt"
    FIXTURES.mkdir(parents=True, exist_ok=True)
    listing.write_text("".join(line + "\n" for line in report.failures))
    for line in report.failures[:shown]:
        say(line)
    if len(report.failures) > shown:
        say(f"... and {len(report.failures) - shown} more")
    total = len(report.failures) + len(report.fetched) + len(report.present)
    return (
        f"{len(report.failures)} of {total} fixture files could not be fetched into {FIXTURES}"
        f" (all listed in {listing}); no test was run. Fix: set WEBWEAVE_FIXTURES to a folder"
        " that holds them (a copy of shared/fixtures), or run"
        " `python tests/fetch_fixtures.py --mirror DIR_OR_URL` with such a folder or its URL."
    )


@pytest.fixture
def fixtures_dir() -> Path:
    return fixture_path(".")


# A config that turns text filters and dedup off: for tests of reading, decoding and extraction
# on small built pages, which the OBELICS filters would (rightly) drop as too short, and whose
# shared URLs URL dedup would (rightly) collapse.
EXTRACTION_ONLY_CONFIG = """\
text_filters:
  enabled: false
dedup:
  url_dedup: false
  near_duplicates: false
  image_url_frequency: false
  paragraph_dedup: false
  image_set_dedup: false
"""


def small_disk_grouping(spill_dir: Path):
    """A disk grouping with tiny buffers: many sorted runs per step, and any group over 256
    bytes re-read from disk, so tests exercise the merge and the spilled-group path."""
    from webweave.pipelines.grouping import Grouping

    return Grouping(
        spill_dir=str(spill_dir), partitions=3, buffer_bytes=16 << 10, group_memory_bytes=256
    )

"""Shared test fixtures: where the real-data fixtures live, and the Beam runner tests use.

Fixture files are read in place from ``../shared/fixtures`` beside the checkout (override with
``WEBWEAVE_FIXTURES``). A test that needs a missing fixture skips with the reason; with
``WEBWEAVE_REQUIRE_FIXTURES=1`` (set by CI) that skip becomes a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("WEBWEAVE_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures"))
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

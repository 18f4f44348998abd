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

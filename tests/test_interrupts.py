"""Ctrl-C never hangs (issue #12): a real ``webweave`` process interrupted mid-run exits 130
within seconds with one line, leaves no process behind, and resumes to identical documents.
``bench/interrupt_stress.py`` does the same at 30 random moments."""

from __future__ import annotations

import importlib.util
import shutil

from conftest import REPO_ROOT, fixture_path


def _stress():
    spec = importlib.util.spec_from_file_location(
        "interrupt_stress", REPO_ROOT / "bench" / "interrupt_stress.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_interrupted_run_exits_130_and_resumes_identically(tmp_path):
    stress = _stress()
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for relative in stress.SOURCES:
        shutil.copyfile(fixture_path(relative), inputs / relative.rsplit("/", 1)[-1])
    import subprocess

    reference = tmp_path / "reference"
    subprocess.run(stress.command(inputs, reference), check=True, capture_output=True)
    expected = stress.documents_digest(reference)
    for delay in (1.0, 6.0):  # during start-up, then while workers run
        output = tmp_path / f"after{delay:g}"
        code, waited, tail = stress.interrupted_round(inputs, output, delay)
        assert code in (0, 130), tail
        assert waited <= stress.EXIT_LIMIT_SECONDS, waited
        assert "Traceback" not in tail and "processes of the group survived" not in tail
        if code == 130:
            assert tail.splitlines()[-1] == "webweave: interrupted; run the same command to resume"
        resumed = subprocess.run(stress.command(inputs, output), capture_output=True)
        assert resumed.returncode == 0, resumed.stderr[-500:]
        assert stress.documents_digest(output) == expected

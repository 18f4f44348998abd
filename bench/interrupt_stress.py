"""Ctrl-C stress: interrupt a real ``webweave run`` at random moments; it must never hang.

    .venv/bin/python bench/interrupt_stress.py [--rounds 30] [--seed 0]

Each round starts the real console script (``webweave run``, the default local runner with one
worker process per core) in its own process group, waits a random time within the length of an
uninterrupted run, and sends SIGINT to the whole group, as a terminal's Ctrl-C does. It checks:

- the command exits within 10 s of the signal (exit 130, or 0 if it had already finished),
  with the one-line message and no Python traceback;
- no process of the group survives it;
- running the same command again (resume) ends with ``documents/`` byte-identical to an
  uninterrupted run's.

It prints one line per round and a summary (rounds, exits by code, slowest exit) and exits 1
if any round failed. Inputs: fixture WARCs copied under new names into a temp folder.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("WEBWEAVE_FIXTURES", REPO.parent / "shared" / "fixtures"))
SOURCES = ("warc/dolma_sample-0000.warc.gz", "warc/resiliparse_commoncrawl_warcfile.warc.gz")
EXIT_LIMIT_SECONDS = 10.0
WEBWEAVE = str(Path(sys.executable).with_name("webweave"))


def command(inputs: Path, output: Path) -> list[str]:
    return [WEBWEAVE, "run", "--input", str(inputs), "--output", str(output)]


def documents_digest(output: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((output / "documents").glob("*.parquet")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def interrupted_round(inputs: Path, output: Path, delay: float) -> tuple[int | None, float, str]:
    """(exit code or None if it hung, seconds from SIGINT to exit, stderr tail)."""
    process = subprocess.Popen(
        command(inputs, output),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    time.sleep(delay)
    signalled = time.monotonic()
    try:
        os.killpg(process.pid, signal.SIGINT)
    except ProcessLookupError:
        pass
    try:
        _, err = process.communicate(timeout=EXIT_LIMIT_SECONDS)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, err = process.communicate()
        code = None
    waited = time.monotonic() - signalled
    deadline = time.monotonic() + 2.0
    while group_alive(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if group_alive(process.pid):
        os.killpg(process.pid, signal.SIGKILL)
        return code, waited, "processes of the group survived"
    return code, waited, err.decode("utf-8", "replace").strip()[-300:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="webweave-interrupts-"))
    try:
        inputs = work / "inputs"
        inputs.mkdir()
        for relative in SOURCES:
            shutil.copyfile(FIXTURES / relative, inputs / Path(relative).name)
        started = time.monotonic()
        reference = work / "reference"
        subprocess.run(command(inputs, reference), check=True, capture_output=True)
        full = time.monotonic() - started
        expected = documents_digest(reference)
        print(f"uninterrupted run: {full:.1f} s; documents sha256 {expected[:16]}")
        failures, codes, slowest = 0, {}, 0.0
        for index in range(args.rounds):
            output = work / f"round{index:02d}"
            delay = rng.uniform(0.2, full)
            code, waited, tail = interrupted_round(inputs, output, delay)
            resumed = subprocess.run(command(inputs, output), capture_output=True)
            same = resumed.returncode == 0 and documents_digest(output) == expected
            ok = (
                code in (0, 130)
                and waited <= EXIT_LIMIT_SECONDS
                and "Traceback" not in tail
                and (code == 0 or "interrupted; run the same command to resume" in tail)
                and same
            )
            failures += not ok
            codes[code] = codes.get(code, 0) + 1
            slowest = max(slowest, waited)
            print(
                f"round {index:2d}: SIGINT at {delay:5.2f} s → exit {code} in {waited:4.2f} s; "
                f"resume identical: {same}{'' if ok else '  FAILED: ' + tail[-160:]}"
            )
            shutil.rmtree(output, ignore_errors=True)
        print(
            f"{args.rounds} rounds: exits {dict(sorted(codes.items(), key=str))}, slowest exit "
            f"{slowest:.2f} s (limit {EXIT_LIMIT_SECONDS:.0f} s), {failures} failed"
        )
        return 1 if failures else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())

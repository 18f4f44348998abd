"""What a person sees on the terminal: live progress while a run works, the funnel at the end."""

from __future__ import annotations

import glob
import json
import os
import sys
import threading
import time
from typing import TextIO


class RunProgress:
    """Polls ``_manifest/`` and ``_progress/`` of a local output folder and prints progress.

    The line shows WARC files done (those a resumed run found done included), records read in
    this run (finished inputs plus live heartbeats), records/s and elapsed time. Workers write
    those files; nothing is sent between processes. On a terminal the line is rewritten in
    place every ``interval`` seconds; in a log file (stderr not a terminal) a new line is
    written every ``log_interval`` seconds instead, so logs stay readable.
    """

    def __init__(
        self,
        output_dir: str,
        total_inputs: int | None,
        stream: TextIO = sys.stderr,
        interval: float = 2.0,
        log_interval: float = 30.0,
    ):
        self.output_dir = output_dir
        self.total_inputs = total_inputs
        self.stream = stream
        self.terminal = bool(getattr(stream, "isatty", lambda: False)())
        self.interval = interval if self.terminal else log_interval
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._baseline = self._done_names()

    def __enter__(self) -> RunProgress:
        if "://" not in self.output_dir:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
            self._print(final=True)

    def _done_names(self) -> set[str]:
        return set(glob.glob(os.path.join(self.output_dir, "_manifest", "*.json")))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._print(final=False)

    def snapshot(self) -> tuple[int, int]:
        """(inputs finished in this run, records read in this run so far)."""
        done, records = 0, 0
        for path in self._done_names() - self._baseline:
            report = _read_json(path)
            if report:
                done += 1
                records += report.get("records_read", 0)
        for path in glob.glob(os.path.join(self.output_dir, "_progress", "*.json")):
            beat = _read_json(path)
            if beat:
                records += beat.get("records_read", 0)
        return done, records

    def line(self) -> str:
        done, records = self.snapshot()
        resumed = len(self._baseline)
        elapsed = time.monotonic() - self.started
        total = f"/{self.total_inputs}" if self.total_inputs else ""
        earlier = f" ({resumed} done before)" if resumed else ""
        rate = records / elapsed if elapsed > 0 else 0.0
        return (
            f"WARC files done {done + resumed}{total}{earlier} | records {records:,} | "
            f"{rate:,.0f} records/s | elapsed {_clock(elapsed)}"
        )

    def _print(self, final: bool) -> None:
        line = self.line()
        if self.terminal:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _read_json(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None  # being replaced right now; read it next time


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:d}:{minutes:02d}:{secs:02d}"


def funnel_table(stats: dict) -> str:
    """The funnel of ``stats.json`` as a fixed-width table, one row per stage and reason."""
    rows = [("stage", "in", "out", "dropped", "errors", "reason")]
    for stage in stats["funnel"]:
        dropped = sum(stage["dropped"].values())
        rows.append((stage["stage"], stage["in"], stage["out"], dropped, stage["errors"], ""))
        for reason, count in sorted(stage["dropped"].items(), key=lambda kv: -kv[1]):
            rows.append(("", "", "", count, "", reason))
    widths = [
        max(len(f"{row[i]:,}" if isinstance(row[i], int) else str(row[i])) for row in rows)
        for i in range(6)
    ]

    def cell(value, width, left):
        text = f"{value:,}" if isinstance(value, int) else str(value)
        return text.ljust(width) if left else text.rjust(width)

    lines = []
    for n, row in enumerate(rows):
        lines.append(
            "  ".join(
                cell(v, w, i in (0, 5)) for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    closes = "closes" if stats.get("funnel_closes") else "DOES NOT CLOSE"
    lines.append(
        f"records read {stats['records_read']:,} → documents written "
        f"{stats['documents_written']:,}, dead letter {stats['dead_letter']:,} (funnel {closes})"
    )
    return "\n".join(lines)

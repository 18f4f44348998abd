"""What a person sees on the terminal: live progress while a run works, the funnel at the end."""

from __future__ import annotations

import glob
import json
import os
import sys
import threading
import time
from typing import TextIO


class ProgressLine:
    """A line on stderr while a local job runs, redrawn from files the workers write.

    On a terminal the line is rewritten in place every ``interval`` seconds; in a log file
    (the stream is not a terminal) a new line is written every ``log_interval`` seconds
    instead, so logs stay readable. Subclasses say what the line is (``line``). Nothing is sent
    between processes: workers write ``_manifest/`` and ``_progress/`` files, this reads them.
    """

    def __init__(
        self,
        output_dir: str,
        stream: TextIO = sys.stderr,
        interval: float = 2.0,
        log_interval: float = 30.0,
    ):
        self.output_dir = output_dir
        self.stream = stream
        self.terminal = bool(getattr(stream, "isatty", lambda: False)())
        self.interval = interval if self.terminal else log_interval
        self.started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def line(self) -> str:
        raise NotImplementedError

    def __enter__(self):
        if "://" not in self.output_dir:
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
            self._print(final=True)

    def manifests(self) -> set[str]:
        return set(glob.glob(os.path.join(self.output_dir, "_manifest", "*.json")))

    def heartbeats(self) -> list[dict]:
        beats = (
            read_json_if_ready(p)
            for p in glob.glob(os.path.join(self.output_dir, "_progress", "*.json"))
        )
        return [beat for beat in beats if beat]

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self._print(final=False)

    def _print(self, final: bool) -> None:
        line = self.line()
        if self.terminal:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


class RunProgress(ProgressLine):
    """``webweave run``: WARC files done (those a resumed run found done included), records read
    in this run (finished inputs plus live heartbeats), records/s and elapsed time."""

    def __init__(self, output_dir: str, total_inputs: int | None, **kwargs):
        super().__init__(output_dir, **kwargs)
        self.total_inputs = total_inputs
        self._baseline = self.manifests()

    def snapshot(self) -> tuple[int, int]:
        """(inputs finished in this run, records read in this run so far)."""
        done, records = 0, 0
        for path in self.manifests() - self._baseline:
            report = read_json_if_ready(path)
            if report:
                done += 1
                records += report.get("records_read", 0)
        records += sum(beat.get("records_read", 0) for beat in self.heartbeats())
        return done, records

    def line(self) -> str:
        done, records = self.snapshot()
        resumed = len(self._baseline)
        elapsed = self.elapsed()
        total = f"/{self.total_inputs}" if self.total_inputs else ""
        earlier = f" ({resumed} done before)" if resumed else ""
        rate = records / elapsed if elapsed > 0 else 0.0
        return (
            f"WARC files done {done + resumed}{total}{earlier} | records {records:,} | "
            f"{rate:,.0f} records/s | elapsed {clock(elapsed)}"
        )


def read_json_if_ready(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None  # being replaced right now; read it next time


def clock(seconds: float) -> str:
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

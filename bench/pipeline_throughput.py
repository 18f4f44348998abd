"""End-to-end benchmark of ``webweave run``: WARC bytes → Parquet, on real fixture records.

Prints HTML documents per second per core and peak memory, next to a baseline measured in the
same run (bare warcio iteration over the same bytes: the floor any WARC pipeline pays).

    .venv/bin/python bench/pipeline_throughput.py            # throughput + memory at 1x and 500 MB
    .venv/bin/python bench/pipeline_throughput.py --quick    # smaller inputs

Inputs are assembled from the real records of ``../shared/fixtures/warc`` (per-record gzip
members concatenated, so every record is a real Common Crawl / archive record) into a temporary
folder, never into the repository.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("WEBWEAVE_FIXTURES", REPO.parent / "shared" / "fixtures"))
GZIP_WARCS = sorted(
    p
    for p in glob.glob(str(FIXTURES / "warc" / "**" / "*.warc.gz"), recursive=True)
    if ".wat." not in p and ".wet." not in p and "clipped_truncated" not in p
)


def assemble(path: Path, target_bytes: int) -> int:
    """Concatenate the fixture .warc.gz files (whole gzip members) until ``target_bytes``."""
    written = 0
    with open(path, "wb") as out:
        while written < target_bytes:
            for source in GZIP_WARCS:
                with open(source, "rb") as handle:
                    shutil.copyfileobj(handle, out, 1 << 20)
                written += os.path.getsize(source)
    return written


def warcio_baseline(paths: list[Path]) -> tuple[int, float]:
    """Records/s of bare warcio iteration (reading every payload) over the same files."""
    from warcio.archiveiterator import ArchiveIterator

    records, started = 0, time.perf_counter()
    for path in paths:
        with open(path, "rb") as handle:
            for record in ArchiveIterator(handle):
                record.content_stream().read()
                records += 1
    return records, time.perf_counter() - started


class PeakMemory:
    """Samples RSS of a process tree: peak of the largest single process and of the total."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.peak_process = 0
        self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            try:
                procs = [self.root, *self.root.children(recursive=True)]
                sizes = []
                for proc in procs:
                    try:
                        sizes.append(proc.memory_info().rss)
                    except psutil.Error:
                        pass
            except psutil.Error:
                continue
            if sizes:
                self.peak_process = max(self.peak_process, max(sizes))
                self.peak_total = max(self.peak_total, sum(sizes))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


EXTRACTION_ONLY = """\
text_filters: {enabled: false}
dedup: {url_dedup: false, near_duplicates: false, image_url_frequency: false,
        paragraph_dedup: false, image_set_dedup: false}
"""
TEXT_FILTERS = """\
dedup: {url_dedup: false, near_duplicates: false, image_url_frequency: false,
        paragraph_dedup: false, image_set_dedup: false}
"""
FULL = ""  # the published defaults: text filters and every dedup step on
CONFIGS = {
    "extraction only": EXTRACTION_ONLY,
    "+ text filters": TEXT_FILTERS,
    "+ dedup (default)": FULL,
}


def run_pipeline(inputs: list[Path], output: Path, workers: int, config: str = FULL) -> dict:
    config_path = output.with_suffix(".yaml")
    config_path.write_text(config)
    command = [
        str(REPO / ".venv" / "bin" / "webweave"),
        "run",
        "--input",
        *map(str, inputs),
        "--output",
        str(output),
        f"--direct_num_workers={workers}",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    memory = PeakMemory(process.pid)
    code = process.wait()
    seconds = time.perf_counter() - started
    memory.stop()
    if code != 0:
        raise SystemExit(f"webweave run failed with exit code {code}: {' '.join(command)}")
    stats = json.loads((output / "stats.json").read_text())
    html = next(s for s in stats["funnel"] if s["stage"] == "selection")["out"]
    return {
        "seconds": seconds,
        "records": stats["records_read"],
        "html": html,
        "documents": stats["documents_written"],
        "peak_process_mb": memory.peak_process / 2**20,
        "peak_total_mb": memory.peak_total / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs (a smoke run)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if not GZIP_WARCS:
        raise SystemExit(f"no fixture WARCs under {FIXTURES} (set WEBWEAVE_FIXTURES)")
    unit = 10 * 2**20 if args.quick else 60 * 2**20
    large = 60 * 2**20 if args.quick else 500 * 2**20
    with tempfile.TemporaryDirectory(prefix="webweave-bench-") as tmp:
        tmp = Path(tmp)
        # Throughput: one input per core, so every core has work.
        parts = [tmp / f"part-{i}.warc.gz" for i in range(args.cores)]
        for part in parts:
            assemble(part, unit)
        records, seconds = warcio_baseline(parts)
        print(
            f"inputs: {len(parts)} × {unit / 2**20:.0f} MB assembled from {len(GZIP_WARCS)} "
            f"fixture WARCs; cores: {args.cores}"
        )
        print(f"baseline  warcio read only        : {records / seconds:9,.0f} records/s on 1 core")
        rates = {}
        for label, config in CONFIGS.items():
            out = tmp / f"out-{len(rates)}"
            result = run_pipeline(parts, out, args.cores, config)
            rates[label] = result["html"] / result["seconds"] / args.cores
            print(
                f"webweave  {label:<22}: {rates[label]:9,.0f} HTML docs/s per core "
                f"({result['html']:,} HTML docs → {result['documents']:,} documents, "
                f"{result['records']:,} records in {result['seconds']:.1f} s wall incl. start-up; "
                f"peak {result['peak_process_mb']:.0f} MB/process)"
            )
        ratio = rates["+ text filters"] / rates["extraction only"]
        print(
            f"          text filters keep {ratio:.0%} of extraction-only throughput (target ≥ 70%)"
        )
        default = rates["+ dedup (default)"]
        print(f"          end-to-end default: {default:,.0f} HTML docs/s per core (target ≥ 300)")
        # Memory: one WARC at 1x and at the large size, one worker; peak must stay flat.
        small_path, large_path = tmp / "one-1x.warc.gz", tmp / "one-large.warc.gz"
        assemble(small_path, unit)
        size = assemble(large_path, large)
        small = run_pipeline([small_path], tmp / "out-small", 1)
        big = run_pipeline([large_path], tmp / "out-large", 1)
        print(
            f"memory    1 WARC {unit / 2**20:4.0f} MB : peak {small['peak_process_mb']:.0f} MB "
            f"per process ({small['html']:,} HTML docs, {small['html'] / small['seconds']:,.0f}/s)"
        )
        print(
            f"memory    1 WARC {size / 2**20:4.0f} MB : peak {big['peak_process_mb']:.0f} MB "
            f"per process ({big['html']:,} HTML docs, {big['html'] / big['seconds']:,.0f}/s)"
        )
        growth = big["peak_process_mb"] / max(small["peak_process_mb"], 1)
        print(f"          peak growth for {size / unit:.1f}x input: {growth:.2f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""End-to-end benchmark of ``webweave run``: WARC bytes → Parquet, on real fixture records.

Prints HTML documents per second per core for three configurations in the same run (extraction
only; + text filters, whose ratio to extraction-only is issue #3's criterion; + dedup, the
default), next to a baseline (bare warcio iteration over the same bytes: the floor any WARC
pipeline pays), then peak memory of one WARC at 125 MB and 500 MB (worker and runner
processes apart) for extraction only, the default (local runs group on disk, grouping.py), and
the default with Beam's in-memory shuffle (FnApiRunner would hold every shuffle in the runner).

    .venv/bin/python bench/pipeline_throughput.py            # 2 x 250 MB, then 125 vs 500 MB
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
    """Samples RSS of a process tree every 0.2 s.

    ``peak_runner``: the launching process (the CLI and Beam's in-process runner, which holds
    shuffled data: FnApiRunner keeps every GroupByKey in memory). ``peak_worker``: the largest
    SDK worker process (where WARCs are streamed and documents built). ``peak_total``: all.
    """

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.peak_runner = self.peak_worker = self.peak_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.2):
            try:
                runner = self.root.memory_info().rss
                children = self.root.children(recursive=True)
            except psutil.Error:
                continue
            workers = []
            for proc in children:
                try:
                    workers.append(proc.memory_info().rss)
                except psutil.Error:
                    pass
            self.peak_runner = max(self.peak_runner, runner)
            self.peak_worker = max([self.peak_worker, *workers])
            self.peak_total = max(self.peak_total, runner + sum(workers))

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
# The published defaults (text filters, every dedup step), except the guard that fails a dedup
# step removing > 95% of its input: the bench input is the fixtures repeated, so URL dedup
# rightly removes all copies but one.
FULL = "dedup: {max_removed_fraction: null}\n"
CONFIGS = {
    "extraction only": EXTRACTION_ONLY,
    "+ text filters": TEXT_FILTERS,
    "+ dedup (default)": FULL,
}
# The same, grouping with Beam's in-memory shuffle instead of the local disk grouping: the
# memory baseline (FnApiRunner holds every shuffle in the runner process).
FULL_BEAM_SHUFFLE = FULL + "shuffle: {mode: beam}\n"


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
        "--config",
        str(config_path),
        f"--direct_num_workers={workers}",
    ]
    started = time.perf_counter()
    log = output.with_suffix(".log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    memory = PeakMemory(process.pid)
    code = process.wait()
    seconds = time.perf_counter() - started
    memory.stop()
    log.close()
    if code != 0:
        tail = output.with_suffix(".log").read_text()[-3000:]
        raise SystemExit(f"webweave run failed ({code}): {' '.join(command)}\n{tail}")
    stats = json.loads((output / "stats.json").read_text())
    html = next(s for s in stats["funnel"] if s["stage"] == "selection")["out"]
    manifests = [json.loads(p.read_text()) for p in (output / "_manifest").glob("*.json")]
    return {
        "seconds": seconds,
        "records": stats["records_read"],
        "html": html,
        "documents": stats["documents_written"],
        # Per-input time of the streaming step (read → … → extracted/), on one core each.
        "input_seconds": sum(m["seconds"] for m in manifests),
        "peak_runner_mb": memory.peak_runner / 2**20,
        "peak_worker_mb": memory.peak_worker / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small inputs (a smoke run)")
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    if not GZIP_WARCS:
        raise SystemExit(f"no fixture WARCs under {FIXTURES} (set WEBWEAVE_FIXTURES)")
    unit = 10 * 2**20 if args.quick else 125 * 2**20  # 1x WARC of the memory comparison
    part = 10 * 2**20 if args.quick else 250 * 2**20  # per core: start-up stays a small share
    large = 60 * 2**20 if args.quick else 500 * 2**20
    with tempfile.TemporaryDirectory(prefix="webweave-bench-") as tmp:
        tmp = Path(tmp)
        # Throughput: one input per core, so every core has work.
        parts = [tmp / f"part-{i}.warc.gz" for i in range(args.cores)]
        for path in parts:
            assemble(path, part)
        records, seconds = warcio_baseline(parts)
        print(
            f"inputs: {len(parts)} × {part / 2**20:.0f} MB assembled from {len(GZIP_WARCS)} "
            f"fixture WARCs; cores: {args.cores}"
        )
        print(f"baseline  warcio read only        : {records / seconds:9,.0f} records/s on 1 core")
        rates = {}
        for label, config in CONFIGS.items():
            out = tmp / f"out-{len(rates)}"
            result = run_pipeline(parts, out, args.cores, config)
            rates[label] = result["html"] / result["seconds"] / args.cores
            steady = result["html"] / result["input_seconds"]
            print(
                f"webweave  {label:<18}: {rates[label]:5,.0f} HTML docs/s per core end to end "
                f"({result['html']:,} HTML docs → {result['documents']:,} documents, "
                f"{result['seconds']:.1f} s wall incl. start-up); streaming step {steady:,.0f}/s "
                f"per core; peak MB worker {result['peak_worker_mb']:.0f}, "
                f"runner {result['peak_runner_mb']:.0f}"
            )
        ratio = rates["+ text filters"] / rates["extraction only"]
        print(
            f"          text filters keep {ratio:.0%} of extraction-only throughput (target ≥ 70%)"
        )
        # Memory: one WARC at 1x and at the large size, one worker; peaks must stay flat.
        small_path, large_path = tmp / "one-1x.warc.gz", tmp / "one-large.warc.gz"
        assemble(small_path, unit)
        size = assemble(large_path, large)
        memory_configs = {
            "extraction only": EXTRACTION_ONLY,
            "+ dedup (default)": FULL,
            "+ dedup, Beam shuffle": FULL_BEAM_SHUFFLE,
        }
        for label, config in memory_configs.items():
            small = run_pipeline([small_path], tmp / "out-small", 1, config)
            big = run_pipeline([large_path], tmp / "out-large", 1, config)
            for name, result, mb in (("1x", small, unit), (f"{size / unit:.1f}x", big, size)):
                print(
                    f"memory    {label:<18} 1 WARC {mb / 2**20:4.0f} MB ({name}): peak MB worker "
                    f"{result['peak_worker_mb']:.0f}, runner {result['peak_runner_mb']:.0f} "
                    f"({result['html']:,} HTML docs)"
                )
            growth = big["peak_worker_mb"] / max(small["peak_worker_mb"], 1)
            runner = big["peak_runner_mb"] / max(small["peak_runner_mb"], 1)
            print(
                f"          peak growth for {size / unit:.1f}x input: worker {growth:.2f}x, "
                f"runner {runner:.2f}x"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

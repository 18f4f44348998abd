"""Images speed benchmark: fetch (real img2dataset behind the guard) + decode + filter, loopback.

Serves the 16 fixture photographs from a 127.0.0.1 server under distinct URLs (``?copy=k``),
fetches them with ``run_img2dataset`` (the images job's fetch path), then runs the decode and
filter stages on every fetched image. Prints images/s end to end, the decode cost per image,
and img2dataset's own rate (count / duration from its ``*_stats.json``) from the same run.
Loopback only: nothing else is contacted.

    .venv/bin/python bench/images_speed.py [--copies 20] [--threads 16] [--processes 1]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from loopback_images import LoopbackServer, image_routes  # noqa: E402

from webweave.filters.image_checks import ImageDecoder, ImageFilter, ImageItem  # noqa: E402
from webweave.pipelines.images.guarded_fetch import FetchLimits  # noqa: E402
from webweave.pipelines.images.img2dataset_fetch import (  # noqa: E402
    GuardSettings,
    Img2DatasetOptions,
    run_img2dataset,
)

FIXTURES = Path(os.environ.get("WEBWEAVE_FIXTURES", HERE.parent.parent / "shared" / "fixtures"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    photos = sorted(FIXTURES.glob("images/*/*.jpg")) + sorted(FIXTURES.glob("images/*/*.png"))
    settings = GuardSettings(("127.0.0.1/32",), {}, FetchLimits(timeout_seconds=10))
    options = Img2DatasetOptions(args.processes, args.threads, retries=0, samples_per_shard=10_000)
    with LoopbackServer(image_routes(photos, "http://127.0.0.2:9")) as server:
        urls = [
            f"{server.base}/photos/{p.name}?copy={k}" for k in range(args.copies) for p in photos
        ]
        started = time.perf_counter()
        with tempfile.TemporaryDirectory() as work:
            fetched, i2d_stats = run_img2dataset(urls, work, settings, options)
        fetch_seconds = time.perf_counter() - started
        decoder, filters = ImageDecoder(), ImageFilter()
        decode_seconds, kept = 0.0, 0
        for url, (data, _) in fetched.items():
            item = ImageItem(url, data=data)
            tick = time.perf_counter()
            decoded = decoder(item)
            decode_seconds += time.perf_counter() - tick
            kept += isinstance(decoded, ImageItem) and isinstance(filters(decoded), ImageItem)
    total = time.perf_counter() - started
    ok = sum(1 for data, _ in fetched.values() if data is not None)
    megabytes = sum(len(d) for d, _ in fetched.values() if d) / 1e6
    print(f"images: {len(urls)} requested, {ok} fetched, {kept} kept ({megabytes:.1f} MB)")
    print(
        f"fetch+decode+filter: {len(urls) / total:.1f} images/s ({total:.2f} s wall, "
        f"including img2dataset process start-up)"
    )
    print(
        f"fetch (run_img2dataset call): {fetch_seconds:.2f} s; decode+filter: "
        f"{decode_seconds * 1000 / max(ok, 1):.2f} ms/image"
    )
    rate = i2d_stats["count"] / i2d_stats["duration"] if i2d_stats.get("duration") else 0.0
    print(
        f"img2dataset reported: count {i2d_stats['count']}, successes "
        f"{i2d_stats['successes']}, duration {i2d_stats['duration']:.2f} s → {rate:.1f} "
        f"images/s (its shard timer, excludes process start-up)"
    )


if __name__ == "__main__":
    main()

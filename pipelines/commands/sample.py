"""``webweave run --sample --output DIR``: the whole local chain on the WARC shipped with
webweave, offline, for a first run on a new machine.

    DIR/run/      webweave run on the sample (documents/, stats.json, report.html, …)
    DIR/images/   webweave images on that run, images taken from the sample WARC only

It prints where to look. Nothing goes over the network: the images job runs with
``fetch_missing`` off, so an image the sample does not hold is counted ``not_in_warc``.
"""

from __future__ import annotations

import argparse
import os
import sys

from webweave.pipelines.config import Config
from webweave.pipelines.inputs import WarcInput, warc_name


def run_sample(args: argparse.Namespace, config: Config, beam_args: list[str], sample: str) -> int:
    from webweave.pipelines.commands.images import IMAGES_TABLES
    from webweave.pipelines.commands.run import folder_path, read_stats, run_job
    from webweave.pipelines.images.job import run_images_job
    from webweave.pipelines.output_folder import claim, config_fingerprint
    from webweave.pipelines.report import write_report

    root = folder_path(args.output)
    run_dir, images_dir = os.path.join(root, "run"), os.path.join(root, "images")
    code, _ = run_job([WarcInput(sample, warc_name(sample))], run_dir, config, beam_args,
                      args.overwrite)  # fmt: skip
    if code != 0:
        return code
    report = write_report(run_dir)
    images = config.images.replace(fetch_missing=False)
    folder = claim(images_dir, "images", [run_dir, sample], config_fingerprint(images.to_dict()),
                   overwrite=args.overwrite, tables=IMAGES_TABLES)  # fmt: skip
    job = {"run_dir": run_dir, "output": images_dir, "from_warc": [sample], "config": images,
           "attempt": 1}  # fmt: skip
    print("webweave run --sample: images from the sample WARC (offline)", file=sys.stderr)
    code = run_images_job(job, beam_args, work_dir=folder.work_path)
    folder.finish()
    run_stats, image_stats = read_stats(run_dir), read_stats(images_dir)
    print(
        "\nwebweave run --sample: done. Look at:\n"
        f"  {os.path.join(run_dir, 'documents')}/   {run_stats['documents_written']} "
        "interleaved documents (Parquet)\n"
        f"  {report}   funnel, filter scores, dropped samples\n"
        f"  {os.path.join(images_dir, 'stats.json')}   {image_stats['distinct_image_urls']} "
        f"images looked up in the WARC, {image_stats['images_kept']} kept, "
        f"{image_stats['pairs']} image-text pairs (OBELICS image filters; every image's status "
        f"is in {os.path.join(images_dir, 'image_results')}/)"
    )
    return code

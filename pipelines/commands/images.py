"""``webweave images RUN_DIR --output OUT …`` and ``webweave images retry OUT``."""

from __future__ import annotations

import argparse
import json
import os
import sys

from webweave.pipelines.commands.run import folder_path, require_folder
from webweave.pipelines.config import load_config
from webweave.pipelines.errors import UserError
from webweave.pipelines.output_folder import claim, config_fingerprint

IMAGES_TABLES = ("documents", "pairs", "images", "image_results", "dead_letter")


def add_commands(commands: argparse._SubParsersAction) -> None:
    images = commands.add_parser(
        "images",
        help="fetch, check and attach images of a run's documents; write image-text pairs",
        description="Fetch (img2dataset, address policy enforced) or look up in WARC files "
        "(--from-warc) every image of RUN_DIR's documents, check them with the OBELICS image "
        "filters, and write documents/ with image outcomes, images/, pairs/ and stats.json to "
        "OUT. `webweave images retry OUT` re-fetches only the retryable failures. Flags not "
        "listed here must be Beam pipeline options.",
    )
    images.add_argument("run_dir", metavar="RUN_DIR", help="a `webweave run` output folder")
    images.add_argument("--output", required=True, metavar="OUT", help="output folder")
    images.add_argument(
        "--from-warc",
        nargs="+",
        default=[],
        metavar="PATH_OR_GLOB",
        help="WARC files whose response records supply images offline",
    )
    images.add_argument(
        "--allow-network",
        nargs="+",
        default=[],
        metavar="CIDR",
        help="admit these otherwise refused address ranges (e.g. 127.0.0.1/32 for tests)",
    )
    images.add_argument(
        "--offline",
        action="store_true",
        help="fetch nothing; images not in --from-warc WARCs fail as not_in_warc",
    )
    images.add_argument("--config", metavar="FILE", help="YAML with an `images:` section")
    images.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing output folder that holds another job's output",
    )
    images.set_defaults(handler=_images, beam=True)

    retry = commands.add_parser(
        "images retry",
        help="re-fetch only the retryable failures of an images output",
        description="Re-fetch the images of OUT whose fetch failed for a retryable reason "
        "(timeouts, 5xx, connection errors); everything else is kept. Flags not listed here "
        "must be Beam pipeline options.",
    )
    retry.add_argument("output", metavar="OUT", help="a `webweave images` output folder")
    retry.set_defaults(handler=_retry, beam=True)


def _images(args: argparse.Namespace, beam_args: list[str]) -> int:
    from webweave.pipelines.images.job import run_images_job

    run_dir = require_folder(args.run_dir, "a `webweave run` output folder")
    config = load_config(args.config).images
    config = config.replace(
        allowed_networks=[*config.allowed_networks, *args.allow_network],
        fetch_missing=config.fetch_missing and not args.offline,
    )
    from_warc = [os.path.abspath(p) if "://" not in p else p for p in args.from_warc]
    output = folder_path(args.output)
    folder = claim(output, "images", [run_dir, *from_warc], config_fingerprint(config.to_dict()),
                   overwrite=args.overwrite, tables=IMAGES_TABLES)  # fmt: skip
    job = {
        "run_dir": run_dir,
        "output": output,
        "from_warc": from_warc,
        "config": config,
        "attempt": 1,
    }
    code = run_images_job(job, beam_args, work_dir=folder.work_path)
    folder.finish()
    return code


def _retry(args: argparse.Namespace, beam_args: list[str]) -> int:
    from webweave.pipelines.images.job import retry_images_job
    from webweave.pipelines.layout import IMAGES_JOB as JOB_FILE

    output = require_folder(args.output, "a `webweave images` output folder")
    if not os.path.exists(os.path.join(output, JOB_FILE)):
        raise UserError(f"{output} is not a `webweave images` output (no {JOB_FILE})")
    with open(os.path.join(output, JOB_FILE), encoding="utf-8") as handle:
        job = json.load(handle)
    print(f"webweave images retry: attempt {job['attempt'] + 1} in {output}", file=sys.stderr)
    return retry_images_job(job, beam_args)

"""The ``webweave`` command line.

``webweave run`` is the main job; unknown flags pass through to Beam (``--runner``,
``--direct_num_workers``, Dataflow flags). Without ``--runner`` it runs locally on Beam's
in-process FnApiRunner with one worker process per core (Beam's DirectRunner would first try to
download the Prism runner binary).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, TestOptions

from webweave.pipelines import commoncrawl
from webweave.pipelines.config import ConfigError, load_config
from webweave.pipelines.grouping import remove_spill_root
from webweave.pipelines.inputs import WarcInput, expand_pattern, is_url
from webweave.pipelines.obelics_export import export_obelics
from webweave.pipelines.parquet_shards import join
from webweave.pipelines.progress import RunProgress, funnel_table
from webweave.pipelines.run_job import STATS, build_run_pipeline
from webweave.pipelines.warc_source import NotAWarcFile, check_warc_file

log = logging.getLogger("webweave")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    delegated = _delegated(argv)
    if delegated is not None:
        return delegated
    parser = _parser()
    args, beam_args = parser.parse_known_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if (
        not args.verbose
    ):  # Beam forwards every worker's start-up warnings; keep the terminal readable
        logging.getLogger("apache_beam").setLevel(logging.ERROR)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command not in ("run", "refilter") and beam_args:
        parser.error(f"unrecognized arguments: {' '.join(beam_args)}")
    try:
        return args.handler(args, beam_args)
    except (ConfigError, NotAWarcFile, FileNotFoundError) as error:
        print(f"webweave: error: {error}", file=sys.stderr)
        return 2


def _delegated(argv: list[str]) -> int | None:
    """Commands with their own parsers: ``images …`` and ``quality train …``."""
    if argv[:1] == ["images"]:
        logging.getLogger("apache_beam").setLevel(logging.ERROR)
        from webweave.pipelines.images_job import images_main

        return images_main(argv[1:])
    if argv[:2] == ["quality", "train"]:
        from webweave.filters.quality_classifier import train_main

        return train_main(argv[2:])
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="webweave", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    commands = parser.add_subparsers(dest="command")

    run = commands.add_parser(
        "run",
        help="WARC files → interleaved documents (Parquet)",
        description="Extract OBELICS-style interleaved documents from WARC files. "
        "Flags not listed here are Beam pipeline options.",
    )
    source = run.add_mutually_exclusive_group()
    source.add_argument(
        "--input",
        nargs="+",
        metavar="PATH_OR_GLOB",
        help="local, gs:// or s3:// WARC files or globs (.warc, .warc.gz), or https:// URLs",
    )
    source.add_argument("--crawl", metavar="CC-MAIN-YYYY-WW", help="a Common Crawl crawl id")
    run.add_argument(
        "--warcs",
        type=int,
        default=1,
        metavar="N",
        help="with --crawl: the first N WARC files of the crawl (default 1)",
    )
    run.add_argument(
        "--cc-base-url",
        default=None,
        help="Common Crawl base URL (default: commoncrawl.base_url of the config)",
    )
    run.add_argument(
        "--output",
        default="webweave-out",
        metavar="DIR",
        help="output folder, local or gs:// (default: ./webweave-out)",
    )
    run.add_argument("--config", metavar="FILE", help="YAML overriding the default config")
    run.set_defaults(handler=_run)

    export = commands.add_parser(
        "export-obelics", help="write a run's documents in the published OBELICS layout"
    )
    export.add_argument("run_dir", metavar="DIR")
    export.add_argument("out_dir", metavar="OUT")
    export.set_defaults(handler=_export_obelics)

    verify = commands.add_parser(
        "verify",
        help="check a run's output folder: schema, interleaving, unique ids, funnel, manifests",
    )
    verify.add_argument("run_dir", metavar="DIR")
    verify.set_defaults(handler=_verify)

    refilter = commands.add_parser(
        "refilter",
        help="re-apply new text-filter and dedup thresholds to a finished run (no WARC parsing)",
        description="Re-threshold DIR's extracted documents with NEW's text_filters and dedup "
        "sections; the output equals `webweave run` with NEW. Other flags are Beam options.",
    )
    refilter.add_argument("run_dir", metavar="DIR")
    refilter.add_argument("--config", required=True, metavar="NEW", help="YAML with new values")
    refilter.add_argument("--output", required=True, metavar="OUT")
    refilter.set_defaults(handler=_refilter)

    report = commands.add_parser(
        "report", help="write DIR/report.html: funnel, score histograms, languages, samples"
    )
    report.add_argument("run_dir", metavar="DIR")
    report.add_argument("--samples", type=int, default=5, help="dropped documents per reason")
    report.set_defaults(handler=_report)

    commands.add_parser("images", help="fetch, check and attach images (see `images --help`)")
    quality = commands.add_parser("quality", help="`quality train`: the quality classifier")
    quality.add_argument("action", choices=["train"])
    return parser


def _run(args: argparse.Namespace, beam_args: list[str]) -> int:
    config = load_config(args.config)
    if args.cc_base_url:
        config["commoncrawl"]["base_url"] = args.cc_base_url
    inputs = _inputs(args, config)
    options = pipeline_options(beam_args)
    output = _folder(args.output)
    local_inputs = all(isinstance(i, WarcInput) for i in inputs)
    print(
        f"webweave run: {len(inputs)} input(s) → {output}"
        if local_inputs
        else f"webweave run: inputs {' '.join(map(str, inputs))} → {output}",
        file=sys.stderr,
    )
    total = len(inputs) if local_inputs else None
    with RunProgress(output, total), _spill_folder(output, config):
        pipeline = beam.Pipeline(options=options)
        build_run_pipeline(pipeline, inputs, output, config)
        result = pipeline.run()
        result.wait_until_finish()
    if str(options.view_as(TestOptions).dry_run).lower() == "true":
        return 0  # the graph was translated, nothing ran
    stats = _read_stats(output)
    print(funnel_table(stats))
    return 0 if stats.get("funnel_closes") else 1


def _inputs(args: argparse.Namespace, config: dict) -> list[str | WarcInput]:
    """Local inputs are expanded and checked now (fast failure naming a non-WARC file);
    remote globs are matched on the workers."""
    if args.input:
        inputs: list[str | WarcInput] = []
        for pattern in args.input:
            if "://" in pattern and not is_url(pattern):
                inputs.append(pattern)
                continue
            for warc_input in expand_pattern(pattern):
                if not is_url(warc_input.location):
                    check_warc_file(warc_input.location)
                inputs.append(warc_input)
        return inputs
    cc = config["commoncrawl"]
    crawl = args.crawl or cc["default_crawl"]
    if crawl == "latest":
        crawl = commoncrawl.latest_crawl(
            cc["collinfo_url"], cc["fallback_crawl"], cc["timeout_seconds"]
        )
        print(f"webweave run: latest crawl is {crawl}", file=sys.stderr)
    return list(
        commoncrawl.crawl_warc_inputs(crawl, args.warcs, cc["base_url"], cc["timeout_seconds"])
    )


def pipeline_options(beam_args: list[str]) -> PipelineOptions:
    """Beam options from the pass-through flags; local default: FnApiRunner on every core."""
    args = list(beam_args)
    if not any(a == "--runner" or a.startswith("--runner=") for a in args):
        args.append("--runner=FnApiRunner")
        if not any(a.startswith("--direct_num_workers") for a in args):
            args.append(f"--direct_num_workers={os.cpu_count() or 1}")
        if not any(a.startswith("--direct_running_mode") for a in args):
            args.append("--direct_running_mode=multi_processing")
    return PipelineOptions(args)


@contextlib.contextmanager
def _spill_folder(output: str, config: dict) -> Iterator[None]:
    """Sorted runs of a local disk shuffle (grouping.py) never outlive the job: a killed
    earlier run's are removed before, this run's after, whether it succeeds or fails."""
    directory = config["shuffle"]["directory"]
    remove_spill_root(output, directory)
    try:
        yield
    finally:
        remove_spill_root(output, directory)


def _read_stats(output: str) -> dict:
    with FileSystems.open(join(output, STATS)) as handle:
        return json.loads(handle.read())


def _refilter(args: argparse.Namespace, beam_args: list[str]) -> int:
    from webweave.pipelines.refilter_job import build_refilter_pipeline, read_run_config

    run_dir = _folder(args.run_dir)
    output = _folder(args.output)
    old = read_run_config(run_dir)
    new = load_config(args.config)
    options = pipeline_options(beam_args)
    with _spill_folder(output, new):
        pipeline = beam.Pipeline(options=options)
        build_refilter_pipeline(pipeline, run_dir, output, old, new)
        pipeline.run().wait_until_finish()
    stats = _read_stats(output)
    print(funnel_table(stats))
    return 0 if stats.get("funnel_closes") else 1


def _report(args: argparse.Namespace, beam_args: list[str]) -> int:
    from webweave.pipelines.run_report import write_report

    path = write_report(_folder(args.run_dir), samples_per_reason=args.samples)
    print(f"wrote {path}")
    return 0


def _folder(path: str) -> str:
    return path.rstrip("/") if "://" in path else os.path.abspath(path)


def _export_obelics(args: argparse.Namespace, beam_args: list[str]) -> int:
    rows = export_obelics(args.run_dir, args.out_dir)
    print(f"wrote {rows:,} documents in the OBELICS layout to {args.out_dir}")
    return 0


def _verify(args: argparse.Namespace, beam_args: list[str]) -> int:
    from webweave.pipelines.verify import verify_output

    if "://" not in args.run_dir and not os.path.isdir(args.run_dir):
        raise FileNotFoundError(f"{args.run_dir} is not a folder")
    result = verify_output(args.run_dir)
    if result.ok:
        print(f"webweave verify {args.run_dir}: {result.summary()}")
        return 0
    print(f"webweave verify {args.run_dir}: {len(result.problems)} problem(s)", file=sys.stderr)
    for problem in result.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

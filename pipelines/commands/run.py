"""``webweave run``, ``refilter``, ``verify``, ``report`` and ``export-obelics``.

Each handler checks what it can up front (config, inputs, output folder) so a mistake is one
line before any work, then builds and runs the job, then prints where to look.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import TestOptions

from webweave.pipelines import commoncrawl, interrupts
from webweave.pipelines.beam_options import pipeline_options
from webweave.pipelines.config import Config, load_config
from webweave.pipelines.errors import UserError
from webweave.pipelines.grouping import remove_spill_root
from webweave.pipelines.inputs import WarcInput, expand_input, is_url
from webweave.pipelines.layout import (
    DEAD_LETTER,
    DEDUP_CLUSTERS,
    DOCUMENTS,
    EXTRACTED,
    MANIFESTS,
    STATS,
)
from webweave.pipelines.output_folder import OutputFolder, claim, config_fingerprint
from webweave.pipelines.parquet_shards import join
from webweave.pipelines.progress import RunProgress, funnel_table
from webweave.pipelines.warc_source import check_warc_file

# The config sections a run's output depends on (an output folder made under other values
# is another run's: refused unless --overwrite).
RUN_SECTIONS = ("warc", "selection", "extraction", "text_filters", "run", "dedup")
RUN_TABLES = (DOCUMENTS, EXTRACTED, DEAD_LETTER, DEDUP_CLUSTERS, MANIFESTS)


def add_commands(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="WARC files → interleaved documents (Parquet)",
        description="Extract OBELICS-style interleaved documents from WARC files, filter and "
        "deduplicate them. Flags not listed here must be Beam pipeline options (--runner, "
        "--direct_num_workers, Dataflow flags).",
    )
    source = run.add_mutually_exclusive_group()
    source.add_argument(
        "--input",
        nargs="+",
        metavar="PATH_OR_GLOB",
        help="local, gs:// or s3:// WARC files, folders (every WARC file inside, recursively) "
        "or globs (.warc, .warc.gz), or https:// URLs",
    )
    source.add_argument("--crawl", metavar="CC-MAIN-YYYY-WW", help="a Common Crawl crawl id")
    source.add_argument(
        "--sample",
        action="store_true",
        help="the small WARC shipped with webweave (offline): run, images from the WARC and "
        "report, into --output",
    )
    run.add_argument(
        "--warcs", type=int, default=1, metavar="N", help="with --crawl: the first N WARC files"
    )
    run.add_argument(
        "--cc-base-url",
        default=None,
        metavar="URL",
        help="Common Crawl base URL, https:// or file:// for a local mirror "
        "(default: commoncrawl.base_url of the config)",
    )
    _output(run, default="webweave-out")
    run.set_defaults(handler=_run, beam=True)

    refilter = commands.add_parser(
        "refilter",
        help="new text-filter and dedup thresholds on a finished run (no WARC parsing)",
        description="Re-threshold DIR's extracted documents with NEW's text_filters and dedup "
        "sections; the output equals `webweave run` with NEW. Other flags are Beam options.",
    )
    refilter.add_argument("run_dir", metavar="DIR", help="a finished `webweave run` folder")
    refilter.add_argument("--config", required=True, metavar="NEW", help="YAML with new values")
    refilter.add_argument("--output", required=True, metavar="OUT", help="new output folder")
    refilter.add_argument("--overwrite", action="store_true", help=_OVERWRITE_HELP)
    refilter.set_defaults(handler=_refilter, beam=True)

    verify = commands.add_parser(
        "verify",
        help="check a run's output folder: schemas, interleaving, unique ids, funnel, manifests",
    )
    verify.add_argument("run_dir", metavar="DIR", help="a `webweave run` output folder")
    verify.set_defaults(handler=_verify)

    report = commands.add_parser(
        "report",
        help="write DIR/report.html: funnel, score histograms, languages, samples",
    )
    report.add_argument("run_dir", metavar="DIR", help="a `webweave run` output folder")
    report.add_argument("--samples", type=int, default=5, help="dropped documents per reason")
    report.set_defaults(handler=_report)

    export = commands.add_parser(
        "export-obelics",
        help="write a run's documents in the published OBELICS layout",
    )
    export.add_argument("run_dir", metavar="DIR", help="a `webweave run` output folder")
    export.add_argument("out_dir", metavar="OUT", help="folder for the OBELICS-layout Parquet")
    export.set_defaults(handler=_export_obelics)


_OVERWRITE_HELP = (
    "replace an existing output folder that holds another job's output (swapped in when the "
    "new job succeeds)"
)


def _output(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    parser.add_argument(
        "--output",
        default=default,
        required=default is None,
        metavar="DIR",
        help="output folder, local or gs://" + (f" (default: ./{default})" if default else ""),
    )
    parser.add_argument("--config", metavar="FILE", help="YAML overriding the default config")
    parser.add_argument("--overwrite", action="store_true", help=_OVERWRITE_HELP)


def folder_path(path: str) -> str:
    """An output or input folder as jobs see it: absolute when local."""
    return path.rstrip("/") if "://" in path else os.path.abspath(path)


def require_folder(path: str, what: str) -> str:
    """``path`` as an existing folder, or a one-line error naming it."""
    path = folder_path(path)
    if "://" not in path and not os.path.isdir(path):
        raise UserError(f"{path} is not a folder: give {what}")
    return path


# ---------------------------------------------------------------------------------------------
# run


def _run(args: argparse.Namespace, beam_args: list[str]) -> int:
    config = load_config(args.config)
    if config.text_filters.enabled:  # a wrong model path is one line now, not a worker crash
        from webweave.filters.text.language_id import model_path

        model_path(config.text_filters.language_id_model)
    if args.cc_base_url:
        config = config.replace(commoncrawl=config.commoncrawl.replace(base_url=args.cc_base_url))
    if args.sample:
        from webweave.pipelines.commands.sample import run_sample
        from webweave.pipelines.sample_warc import sample_warc_path

        return run_sample(args, config, beam_args, sample_warc_path())
    inputs = resolve_inputs(args, config)
    code, _ = run_job(inputs, folder_path(args.output), config, beam_args, args.overwrite)
    return code


def run_job(
    inputs: list[str | WarcInput],
    output: str,
    config: Config,
    beam_args: list[str],
    overwrite: bool,
    command: str = "run",
) -> tuple[int, OutputFolder | None]:
    """Claim ``output``, run the job on ``inputs``, finish the folder; (exit code, folder)."""
    from webweave.pipelines.run_job import build_run_pipeline

    options = pipeline_options(beam_args)
    if str(options.view_as(TestOptions).dry_run).lower() == "true":
        return _translate_only(inputs, output, config, options), None
    folder = claim_run_folder(output, inputs, config, overwrite, command)
    local_inputs = all(isinstance(i, WarcInput) for i in inputs)
    done = _finished_inputs(folder.work_path) if folder.resumed else 0
    print(
        f"webweave {command}: {len(inputs)} input(s) → {output}"
        + (f" (resuming: {done} already done)" if folder.resumed else "")
        if local_inputs
        else f"webweave {command}: inputs {' '.join(map(str, inputs))} → {output}",
        file=sys.stderr,
    )
    total = len(inputs) if local_inputs else None
    interrupts.on_interrupt(lambda: remove_spill_root(folder.work_path, config.shuffle.directory))
    with RunProgress(folder.work_path, total), spill_folder(folder.work_path, config):
        pipeline = beam.Pipeline(options=options)
        build_run_pipeline(pipeline, inputs, folder.work_path, config)
        pipeline.run().wait_until_finish()
    stats = read_stats(folder.work_path)
    folder.finish({"documents_written": stats["documents_written"]})
    print(funnel_table(stats))
    return (0 if stats.get("funnel_closes") else 1), folder


def _translate_only(inputs: list, output: str, config: Config, options) -> int:
    """``--dry_run``: build and translate the graph (e.g. for Dataflow), touch nothing."""
    from webweave.pipelines.run_job import build_run_pipeline

    pipeline = beam.Pipeline(options=options)
    build_run_pipeline(pipeline, inputs, output, config)
    pipeline.run().wait_until_finish()
    return 0


def claim_run_folder(
    output: str, inputs: list, config: Config, overwrite: bool, command: str = "run"
) -> OutputFolder:
    names = [i.name if isinstance(i, WarcInput) else str(i) for i in inputs]
    sections = {s: getattr(config, s).to_dict() for s in RUN_SECTIONS}
    fingerprint = config_fingerprint(sections)
    adopt = _is_own_legacy_run(output, config)
    return claim(output, command, names, fingerprint, overwrite=overwrite, tables=RUN_TABLES,
                 adopt=adopt)  # fmt: skip


def _is_own_legacy_run(output: str, config: Config) -> bool:
    """A run folder written before ownership records: resumable when its config.yaml shapes
    the output the same way (its manifests then say which inputs are done)."""
    path = join(output, "config.yaml")
    try:
        if not FileSystems.exists(path):
            return False
        old = load_config(path)
    except Exception:  # noqa: BLE001 - unreadable: not adoptable, the claim refuses it
        return False
    return all(getattr(old, s) == getattr(config, s) for s in RUN_SECTIONS)


def _finished_inputs(output: str) -> int:
    return len(FileSystems.match([join(output, MANIFESTS, "*.json")])[0].metadata_list)


def resolve_inputs(args: argparse.Namespace, config: Config) -> list[str | WarcInput]:
    """Local inputs are expanded and checked now (a one-line error naming a file that is not
    a WARC); remote globs are matched on the workers; no input means Common Crawl."""
    if args.input:
        inputs: list[str | WarcInput] = []
        for pattern in args.input:
            if "://" in pattern and not is_url(pattern):
                inputs.append(pattern)
                continue
            for warc_input in expand_input(pattern):
                if not is_url(warc_input.location):
                    check_warc_file(warc_input.location)
                inputs.append(warc_input)
        return inputs
    cc = config.commoncrawl
    crawl = args.crawl or cc.default_crawl
    if crawl == "latest":
        crawl = commoncrawl.latest_crawl(cc.collinfo_url, cc.fallback_crawl, cc.timeout_seconds)
        print(f"webweave run: latest crawl is {crawl}", file=sys.stderr)
    return list(commoncrawl.crawl_warc_inputs(crawl, args.warcs, cc.base_url, cc.timeout_seconds))


@contextlib.contextmanager
def spill_folder(output: str, config: Config) -> Iterator[None]:
    """Sorted runs of a local disk shuffle (grouping.py) never outlive the job: a killed
    earlier run's are removed before, this run's after, whether it succeeds or fails."""
    directory = config.shuffle.directory
    remove_spill_root(output, directory)
    try:
        yield
    finally:
        remove_spill_root(output, directory)


def read_stats(output: str) -> dict:
    with FileSystems.open(join(output, STATS)) as handle:
        return json.loads(handle.read())


# ---------------------------------------------------------------------------------------------
# refilter, verify, report, export-obelics


def _refilter(args: argparse.Namespace, beam_args: list[str]) -> int:
    from webweave.pipelines.refilter_job import (
        build_refilter_pipeline,
        check_refilterable,
        read_run_config,
    )

    run_dir = require_folder(args.run_dir, "a finished `webweave run` folder")
    output = folder_path(args.output)
    if output == run_dir:
        raise UserError("refilter writes a new folder: --output must differ from DIR")
    old, new = read_run_config(run_dir), load_config(args.config)
    check_refilterable(old, new)
    options = pipeline_options(beam_args)
    sections = {s: getattr(new, s).to_dict() for s in RUN_SECTIONS}
    folder = claim(output, "refilter", [run_dir], config_fingerprint(sections),
                   overwrite=args.overwrite, tables=RUN_TABLES)  # fmt: skip
    interrupts.on_interrupt(lambda: remove_spill_root(folder.work_path, new.shuffle.directory))
    with spill_folder(folder.work_path, new):
        pipeline = beam.Pipeline(options=options)
        build_refilter_pipeline(pipeline, run_dir, folder.work_path, old, new)
        pipeline.run().wait_until_finish()
    stats = read_stats(folder.work_path)
    folder.finish({"documents_written": stats["documents_written"]})
    print(funnel_table(stats))
    return 0 if stats.get("funnel_closes") else 1


def _report(args: argparse.Namespace, beam_args: list[str]) -> int:
    from webweave.pipelines.report import write_report

    run_dir = require_folder(args.run_dir, "a `webweave run` output folder")
    if not FileSystems.exists(join(run_dir, EXTRACTED)) and not FileSystems.exists(
        join(run_dir, STATS)
    ):
        raise UserError(f"{run_dir} is not a `webweave run` output (no stats.json, no extracted/)")
    path = write_report(run_dir, samples_per_reason=args.samples)
    print(f"wrote {path}")
    return 0


def _export_obelics(args: argparse.Namespace, beam_args: list[str]) -> int:
    from webweave.pipelines.obelics_export import export_obelics

    run_dir = require_folder(args.run_dir, "a `webweave run` output folder")
    if not FileSystems.match([join(run_dir, DOCUMENTS, "*.parquet")])[0].metadata_list:
        raise UserError(f"{run_dir} has no {DOCUMENTS}/*.parquet: is it a `webweave run` output?")
    rows = export_obelics(run_dir, args.out_dir)
    print(f"wrote {rows:,} documents in the OBELICS layout to {args.out_dir}")
    return 0


def _verify(args: argparse.Namespace, beam_args: list[str]) -> int:
    from webweave.pipelines.verify import verify_output

    run_dir = require_folder(args.run_dir, "a `webweave run` output folder")
    result = verify_output(run_dir)
    if result.ok:
        print(f"webweave verify {args.run_dir}: {result.summary()}")
        return 0
    print(f"webweave verify {args.run_dir}: {len(result.problems)} problem(s)", file=sys.stderr)
    for problem in result.problems:
        print(f"  - {problem}", file=sys.stderr)
    return 1

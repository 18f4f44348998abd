"""CLI wiring of CapFilt (logic in ``webweave.filters.capfilt`` and the ``capfilt_*`` modules).

    webweave capfilt IMAGES_OUT --output OUT [--config FILE] [--mode blip|blip2]
                     [--captioner ID_OR_PATH] [--filter ID_OR_PATH] [--ranker ID_OR_PATH]
                     [--device auto|cpu|cuda] [--write-documents] [--overwrite] [Beam options]
    webweave capfilt refilter OUT --config NEW --output OUT2 [--overwrite] [Beam options]
    webweave export-webdataset OUT DEST [--max-synthetic-share X] [--samples-per-shard N]
    webweave export-blip-json OUT DEST.json [--max-synthetic-share X] [--source all|web|synthetic]

``capfilt`` takes its arguments itself (flags it does not know are Beam pipeline options), so
the top-level parser hands it the rest of the command line untouched. User errors are one
line on stderr, exit 2; a run whose funnel does not close exits 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from fractions import Fraction

from apache_beam.options.pipeline_options import PipelineOptions

from webweave.schemas.config import ConfigError

LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "PrismRunner")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``capfilt``, ``export-webdataset`` and ``export-blip-json``."""
    capfilt = subparsers.add_parser(
        "capfilt",
        help="BLIP CapFilt on an images output: synthetic captions, ITM/CLIP scores, kept texts",
        add_help=False,
        prefix_chars="\0",  # every argument goes to capfilt's own parser (Beam flags too)
    )
    capfilt.add_argument("argv", nargs=argparse.REMAINDER)
    capfilt.set_defaults(handler=_capfilt)

    webdataset = subparsers.add_parser(
        "export-webdataset", help="a CapFilt output as WebDataset tar shards (open_clip)"
    )
    webdataset.add_argument("out_dir", metavar="OUT")
    webdataset.add_argument("dest", metavar="DEST")
    _share(webdataset)
    webdataset.add_argument("--samples-per-shard", type=int, default=10000, metavar="N")
    webdataset.set_defaults(handler=_export_webdataset)

    blip_json = subparsers.add_parser(
        "export-blip-json", help="a CapFilt output in BLIP's released JSON layout"
    )
    blip_json.add_argument("out_dir", metavar="OUT")
    blip_json.add_argument("dest", metavar="DEST.json")
    _share(blip_json)
    blip_json.add_argument(
        "--source",
        choices=["all", "web", "synthetic"],
        default="all",
        help="which kept texts (BLIP released ccs_filtered = web, ccs_synthetic_filtered = all)",
    )
    blip_json.set_defaults(handler=_export_blip_json)


def _share(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-synthetic-share",
        type=_fraction,
        default=None,
        metavar="X",
        help="at most this share (0..1) of exported texts are synthetic captions",
    )


def _fraction(text: str) -> Fraction:
    try:
        value = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text}")
    return value


# ---------------------------------------------------------------- capfilt


def _job_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webweave capfilt",
        description="BLIP CapFilt on a `webweave images` output. Flags not listed here are "
        "Beam pipeline options. `webweave capfilt refilter OUT --config NEW --output OUT2` "
        "re-applies new thresholds without a model run.",
    )
    parser.add_argument("images_dir", metavar="IMAGES_OUT", help="a `webweave images` output")
    parser.add_argument("--output", required=True, metavar="OUT")
    parser.add_argument("--config", metavar="FILE", help="YAML with a `capfilt:` section")
    parser.add_argument("--mode", choices=["blip", "blip2"])
    parser.add_argument("--captioner", metavar="ID_OR_PATH", help="captioner of the mode")
    parser.add_argument("--filter", metavar="ID_OR_PATH", help="ITM filter (mode blip)")
    parser.add_argument("--ranker", metavar="ID_OR_PATH", help="open_clip ranker (mode blip2)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"])
    parser.add_argument(
        "--write-documents",
        action="store_true",
        help="also write documents/ with the kept synthetic captions in image_metadata",
    )
    _overwrite(parser)
    return parser


def _refilter_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="webweave capfilt refilter",
        description="New thresholds (capfilt.itm_threshold, keep_top) on a finished CapFilt "
        "output, no model run; equals `webweave capfilt` with OUT's config + NEW.",
    )
    parser.add_argument("out_dir", metavar="OUT")
    parser.add_argument("--config", required=True, metavar="NEW")
    parser.add_argument("--output", required=True, metavar="OUT2")
    _overwrite(parser)
    return parser


def _overwrite(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an output folder that holds something else (swapped in at the end)",
    )


def _capfilt(args: argparse.Namespace, beam_args: list[str]) -> int:
    argv = list(args.argv) + list(beam_args)
    try:
        if argv[:1] == ["refilter"]:
            return _refilter(argv[1:])
        return _run_job(argv)
    except Exception as error:  # noqa: BLE001 - user errors become one line, bugs re-raise
        line = _user_line(error)
        if line is None:
            raise
        print(line if line.startswith("webweave") else f"webweave {line}", file=sys.stderr)
        return 2


def _user_line(error: BaseException) -> str | None:
    """The one line of a user error (also when Beam re-raises it from a worker)."""
    from webweave.filters.capfilt.models import ModelUnavailable
    from webweave.pipelines.capfilt_job import OutputFolderError

    if isinstance(error, ModelUnavailable | OutputFolderError | ConfigError | FileNotFoundError):
        return str(error).splitlines()[0]
    for line in str(error).splitlines():  # a worker's ModelUnavailable, wrapped by Beam
        if "capfilt: " in line and " model " in line:
            return line[line.index("capfilt: ") :]
    return None


def _config(args: argparse.Namespace):
    from webweave.filters.capfilt.config import CapFiltConfig
    from webweave.pipelines.config import load_section

    config = load_section(CapFiltConfig, args.config)
    if args.mode:
        config = config.replace(mode=args.mode)
    mode = config.mode
    changes = {
        ("blip" if mode == "blip" else "blip2", "captioner"): args.captioner,
        ("blip", "filter"): args.filter,
        ("blip2", "ranker"): args.ranker,
    }
    for (section, key), value in changes.items():
        if value is not None:
            config = config.replace(**{section: {**getattr(config, section).to_dict(), key: value}})
    if args.device:
        config = config.replace(device=args.device)
    if args.write_documents:
        config = config.replace(write_documents=True)
    return config


def _run_job(argv: list[str]) -> int:
    from webweave.pipelines.capfilt_job import CapFiltJob, run_capfilt

    args, beam_args = _job_parser().parse_known_args(argv)
    if not os.path.isdir(os.path.join(args.images_dir, "pairs")) and "://" not in args.images_dir:
        raise FileNotFoundError(f"capfilt: {args.images_dir} has no pairs/ (a `webweave images` "
                                "output is expected)")  # fmt: skip
    config = _config(args)
    options = pipeline_options(beam_args, config)
    if _is_local(beam_args):
        check_models(config)  # one clear line now, not a worker traceback later
    job = CapFiltJob(_folder(args.images_dir), _folder(args.output), config)
    stats = run_capfilt(job, options, overwrite=args.overwrite)
    print(summary(stats))
    return 0 if stats["funnel_closes"] else 1


def _refilter(argv: list[str]) -> int:
    from webweave.pipelines.capfilt_refilter import run_refilter

    args, beam_args = _refilter_parser().parse_known_args(argv)
    options = pipeline_options(beam_args, None)
    stats = run_refilter(
        _folder(args.out_dir), args.config, _folder(args.output), options, args.overwrite
    )
    print(summary(stats))
    return 0 if stats["funnel_closes"] else 1


def check_models(config) -> None:
    """Resolve every model of the mode (cache or download), raising ``ModelUnavailable``."""
    from webweave.filters.capfilt.models import ranker_checkpoint, resolve_hf_folder

    resolve_hf_folder(config.models.captioner, "captioner")
    if config.mode == "blip":
        resolve_hf_folder(config.blip.filter, "filter")
    else:
        ranker_checkpoint(config.blip2.ranker)


def pipeline_options(beam_args: list[str], config) -> PipelineOptions:
    """Beam options; locally the in-process FnApiRunner. On GPU one worker process owns the
    device (decode threads use the cores); on CPU one process per core, each running torch
    single-threaded (``cpu_batch_invariant``)."""
    args = list(beam_args)
    if not any(a == "--runner" or a.startswith("--runner=") for a in args):
        args.append("--runner=FnApiRunner")
        if config is not None and not any(a.startswith("--direct_num_workers") for a in args):
            from webweave.filters.capfilt.engine import resolve_device

            if resolve_device(config.device).type == "cpu":
                args += [f"--direct_num_workers={os.cpu_count() or 1}",
                         "--direct_running_mode=multi_processing"]  # fmt: skip
    return PipelineOptions(args)


def _is_local(beam_args: list[str]) -> bool:
    runners = [a.split("=", 1)[1] for a in beam_args if a.startswith("--runner=")]
    return not runners or runners[-1] in LOCAL_RUNNERS


def _folder(path: str) -> str:
    return path.rstrip("/") if "://" in path else os.path.abspath(path)


def summary(stats: dict) -> str:
    """The lines a person reads at the end of a run."""
    texts = stats["texts"]
    closes = (
        "closes"
        if stats["funnel_closes"]
        else "DOES NOT CLOSE: " + "; ".join(stats["funnel_problems"])
    )
    return (
        f"pairs {stats['pairs_in']:,} → with captions {stats['pairs_with_captions']:,}, "
        f"dead letter {stats['dead_letter']:,} (funnel {closes})\n"
        f"kept texts {texts['kept']:,}: web {texts['web_kept']:,}/{texts['web']:,}, "
        f"synthetic {texts['synthetic_kept']:,}/{texts['synthetic']:,} "
        f"(synthetic share {stats['synthetic_share_of_kept']:.1%})"
    )


# ---------------------------------------------------------------- exports


def _export_webdataset(args: argparse.Namespace, beam_args: list[str]) -> int:
    from webweave.pipelines.capfilt_exports import export_webdataset

    counts = export_webdataset(
        args.out_dir, args.dest, args.max_synthetic_share, args.samples_per_shard
    )
    print(_export_line(counts.to_dict(), f"{len(counts.files)} tar shard(s) in {args.dest}"))
    return 0


def _export_blip_json(args: argparse.Namespace, beam_args: list[str]) -> int:
    from webweave.pipelines.capfilt_exports import export_blip_json

    counts = export_blip_json(args.out_dir, args.dest, args.max_synthetic_share, args.source)
    print(_export_line(counts.to_dict(), args.dest))
    return 0


def _export_line(counts: dict, where: str) -> str:
    return (
        f"wrote {counts['samples']:,} samples to {where}: web texts {counts['web_texts']:,}, "
        f"synthetic {counts['synthetic_texts']:,} (share {counts['synthetic_share']:.1%}), "
        f"left out by the cap {counts['removed_by_synthetic_cap']:,}, "
        f"pairs without kept text {counts['pairs_without_kept_text']:,}"
    )

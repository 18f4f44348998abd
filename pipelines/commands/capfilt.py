"""CLI wiring of CapFilt (logic in ``webweave.filters.capfilt`` and the ``capfilt_*`` modules).

    webweave capfilt IMAGES_OUT --output OUT [--config FILE] [--mode blip|blip2]
                     [--captioner ID_OR_PATH] [--filter ID_OR_PATH] [--ranker ID_OR_PATH]
                     [--device auto|cpu|cuda] [--write-documents] [--overwrite] [Beam options]
    webweave capfilt refilter OUT --config NEW --output OUT2 [--overwrite] [Beam options]
    webweave export-webdataset OUT DEST [--max-synthetic-share X] [--samples-per-shard N]
    webweave export-blip-json OUT DEST.json [--max-synthetic-share X] [--source all|web|synthetic]

``capfilt refilter`` is the same subcommand with ``refilter OUT`` in place of ``IMAGES_OUT``
(one parser: ``--output``, ``--config`` and ``--overwrite`` mean the same in both). Errors
are raised, and the CLI prints them as one line (exit 2); flags that are neither ours nor
Beam's are refused with a suggestion (``pipelines/beam_options.py``).
"""

from __future__ import annotations

import argparse
import os
from fractions import Fraction

from webweave.pipelines.errors import UserError

LOCAL_RUNNERS = ("FnApiRunner", "DirectRunner", "PrismRunner")
MODEL_FLAGS = ("mode", "captioner", "filter", "ranker", "device", "write_documents")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``capfilt``, ``export-webdataset`` and ``export-blip-json``."""
    capfilt = subparsers.add_parser(
        "capfilt",
        help="BLIP CapFilt on an images output: synthetic captions, ITM/CLIP scores, kept texts",
        description="BLIP CapFilt on a `webweave images` output (runbooks/capfilt.md). "
        "`webweave capfilt refilter OUT --config NEW --output OUT2` re-applies new thresholds "
        "to a finished CapFilt output without a model run. Flags not listed here must be Beam "
        "pipeline options.",
        usage="webweave capfilt (IMAGES_OUT | refilter OUT) --output OUT [options] [Beam options]",
    )
    capfilt.add_argument(
        "target",
        nargs="+",
        metavar="IMAGES_OUT | refilter OUT",
        help="a `webweave images` output, or `refilter` and a CapFilt output",
    )
    capfilt.add_argument("--output", required=True, metavar="OUT")
    capfilt.add_argument("--config", metavar="FILE", help="YAML with a `capfilt:` section")
    capfilt.add_argument("--mode", choices=["blip", "blip2"])
    capfilt.add_argument("--captioner", metavar="ID_OR_PATH", help="captioner of the mode")
    capfilt.add_argument("--filter", metavar="ID_OR_PATH", help="ITM filter (mode blip)")
    capfilt.add_argument("--ranker", metavar="ID_OR_PATH", help="open_clip ranker (mode blip2)")
    capfilt.add_argument("--device", choices=["auto", "cpu", "cuda"])
    capfilt.add_argument(
        "--write-documents",
        action="store_true",
        help="also write documents/ with the kept synthetic captions in image_metadata",
    )
    capfilt.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an output folder that holds something else (swapped in at the end)",
    )
    capfilt.set_defaults(handler=_capfilt, beam=True)

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


def _capfilt(args: argparse.Namespace, beam_args: list[str]) -> int:
    target = args.target
    if target[0] == "refilter" and len(target) == 2:
        return _refilter(args, target[1], beam_args)
    if len(target) != 1:
        raise UserError("give one IMAGES_OUT folder, or `refilter OUT`; see `webweave capfilt -h`")
    return _run_job(args, target[0], beam_args)


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


def _run_job(args: argparse.Namespace, images_dir: str, beam_args: list[str]) -> int:
    from webweave.pipelines.capfilt.job import CapFiltJob, run_capfilt

    images_dir = _folder(images_dir)
    if "://" not in images_dir and not os.path.isdir(os.path.join(images_dir, "pairs")):
        raise UserError(f"{images_dir} has no pairs/: give a `webweave images` output folder")
    config = _config(args)
    options = pipeline_options(beam_args, config)
    if _is_local(beam_args):
        check_models(config)  # one clear line now, not a worker traceback later
    job = CapFiltJob(images_dir, _folder(args.output), config)
    stats = run_capfilt(job, options, overwrite=args.overwrite)
    print(summary(stats))
    return 0 if stats["funnel_closes"] else 1


def _refilter(args: argparse.Namespace, out_dir: str, beam_args: list[str]) -> int:
    from webweave.pipelines.capfilt.refilter import run_refilter

    given = [f"--{name.replace('_', '-')}" for name in MODEL_FLAGS if getattr(args, name)]
    if given:
        raise UserError(f"capfilt refilter takes no {given[0]}: it re-decides stored scores")
    if not args.config:
        raise UserError("capfilt refilter needs --config NEW (the thresholds to apply)")
    options = pipeline_options(beam_args, None)
    stats = run_refilter(_folder(out_dir), args.config, _folder(args.output), options,
                         args.overwrite)  # fmt: skip
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


def pipeline_options(beam_args: list[str], config):
    """Beam options as every job builds them; locally on a GPU one worker process owns the
    device (decode threads use the cores), on CPU one process per core, each running torch
    single-threaded (``cpu_batch_invariant``)."""
    from webweave.pipelines.beam_options import pipeline_options as beam_pipeline_options

    args = list(beam_args)
    local = not any(a == "--runner" or a.startswith("--runner=") for a in args)
    if local and config is not None and not any(a.startswith("--direct_num_workers") for a in args):
        from webweave.filters.capfilt.engine import resolve_device

        if resolve_device(config.device).type == "cuda":
            args += ["--direct_num_workers=1", "--direct_running_mode=in_memory"]
    return beam_pipeline_options(args)


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
    from webweave.pipelines.capfilt.exports import export_webdataset

    counts = export_webdataset(
        args.out_dir, args.dest, args.max_synthetic_share, args.samples_per_shard
    )
    print(_export_line(counts.to_dict(), f"{len(counts.files)} tar shard(s) in {args.dest}"))
    return 0


def _export_blip_json(args: argparse.Namespace, beam_args: list[str]) -> int:
    from webweave.pipelines.capfilt.exports import export_blip_json

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

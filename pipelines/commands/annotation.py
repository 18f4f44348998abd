"""CLI wiring of the annotation commands (logic in ``webweave.annotation``).

    webweave nights build --source SRC --output ROUND_DIR [--config FILE] [--seed N]
    webweave nights finalize LAST_ROUND_DIR --output DATASET [--config FILE]
    webweave rounds export ROUND_DIR --tool labelstudio|mturk|groundtruth --output DIR
    webweave rounds ingest ROUND_DIR EXPORT... --output NEXT_ROUND_DIR [--config FILE]
    webweave timed auto DOCUMENTS_DIR --output OUT [--images IMAGES_DIR] [--config FILE]
    webweave timed calibrate DOCUMENTS_OR_AUTO_DIR [--images IMAGES_DIR] [--config FILE]
    webweave timed manifest OUT --output ROUND_DIR [--per-label N] [--seed N]

Every writing command refuses an existing output folder that is not its own finished output
with the same inputs and config (``--overwrite`` replaces it atomically); re-running with the
same inputs is a no-op. Handlers return exit codes; user errors are one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """Register ``nights``, ``rounds`` and ``timed`` on the ``webweave`` parser."""
    _add_nights(subparsers)
    _add_rounds(subparsers)
    _add_timed(subparsers)


# ---------------------------------------------------------------------------------------------
# Parsers


def _common(parser: argparse.ArgumentParser, output: bool = True) -> None:
    parser.add_argument("--config", metavar="FILE", help="YAML overriding the default config")
    if output:
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="replace an existing output folder (atomically) instead of refusing",
        )


def _device(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--device",
        choices=["auto", "cpu", "cuda"],
        default=None,
        help="where the CLIP model runs (default: annotation_clip.device of the config)",
    )


def _add_nights(subparsers: argparse._SubParsersAction) -> None:
    nights = subparsers.add_parser("nights", help="NIGHTS-style image triplets (2AFC)")
    actions = nights.add_subparsers(dest="nights_action", required=True)

    build = actions.add_parser(
        "build",
        help="triplets from generated variations or mined from a corpus → round 1",
        description="SRC: a NIGHTS-layout folder (ref/, distort/), a triplet table "
        "(.csv/.parquet: reference, variant_0, variant_1, …) or a `webweave images` output.",
    )
    build.add_argument("--source", required=True, metavar="SRC")
    build.add_argument("--output", required=True, metavar="ROUND_DIR")
    build.add_argument("--seed", type=int, default=None, metavar="N", help="default nights.seed")
    _device(build)
    _common(build)
    build.set_defaults(handler=_guarded(_nights_build))

    finalize = actions.add_parser(
        "finalize",
        help="the round chain → a dataset in the NIGHTS layout (ref/, distort/, data.csv)",
    )
    finalize.add_argument("last_round", metavar="LAST_ROUND_DIR")
    finalize.add_argument("--output", required=True, metavar="DATASET")
    _common(finalize)
    finalize.set_defaults(handler=_guarded(_nights_finalize))


def _add_rounds(subparsers: argparse._SubParsersAction) -> None:
    rounds = subparsers.add_parser("rounds", help="export a round to a tool; ingest its answers")
    actions = rounds.add_subparsers(dest="rounds_action", required=True)

    export = actions.add_parser("export", help="a round's tasks in a tool's import format")
    export.add_argument("round_dir", metavar="ROUND_DIR")
    export.add_argument("--tool", required=True, choices=["labelstudio", "mturk", "groundtruth"])
    export.add_argument("--output", required=True, metavar="DIR")
    export.add_argument(
        "--image-base",
        metavar="URL",
        help="images as URL/<path under round 1> (https:// for mturk, s3:// for groundtruth); "
        "labelstudio default: local files under --document-root",
    )
    export.add_argument(
        "--document-root",
        metavar="DIR",
        help="labelstudio: LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT (default: round 1's parent)",
    )
    _common(export)
    export.set_defaults(handler=_guarded(_rounds_export))

    ingest = actions.add_parser(
        "ingest", help="a tool's export of a round → the next round plus a report"
    )
    ingest.add_argument("round_dir", metavar="ROUND_DIR")
    ingest.add_argument("exports", nargs="+", metavar="EXPORT")
    ingest.add_argument("--output", required=True, metavar="NEXT_ROUND_DIR")
    _common(ingest)
    ingest.set_defaults(handler=_guarded(_rounds_ingest))


def _add_timed(subparsers: argparse._SubParsersAction) -> None:
    timed = subparsers.add_parser("timed", help="TImeD-style text visualness")
    actions = timed.add_subparsers(dest="timed_action", required=True)

    auto = actions.add_parser("auto", help="CLIP auto labels: visual / non-visual sentences")
    auto.add_argument("documents_dir", metavar="DOCUMENTS_DIR")
    auto.add_argument("--output", required=True, metavar="OUT")
    auto.add_argument(
        "--images",
        metavar="IMAGES_DIR",
        help="`webweave images` output holding the image bytes (default: DOCUMENTS_DIR itself)",
    )
    _device(auto)
    _common(auto)
    auto.set_defaults(handler=_guarded(_timed_auto))

    calibrate = actions.add_parser(
        "calibrate", help="similarity quantiles and the thresholds keeping top 1% / bottom 5%"
    )
    calibrate.add_argument("input_dir", metavar="DOCUMENTS_OR_AUTO_DIR")
    calibrate.add_argument("--images", metavar="IMAGES_DIR")
    _device(calibrate)
    _common(calibrate, output=False)
    calibrate.set_defaults(handler=_guarded(_timed_calibrate))

    manifest = actions.add_parser(
        "manifest", help="sample sentences by auto label → round 1 of 9-rater Likert rounds"
    )
    manifest.add_argument("auto_dir", metavar="OUT")
    manifest.add_argument("--output", required=True, metavar="ROUND_DIR")
    manifest.add_argument("--per-label", type=int, default=None, metavar="N")
    manifest.add_argument("--seed", type=int, default=None, metavar="N", help="default timed.seed")
    _common(manifest)
    manifest.set_defaults(handler=_guarded(_timed_manifest))


# ---------------------------------------------------------------------------------------------
# Errors: one line, exit 2


def _user_errors() -> tuple[type[BaseException], ...]:
    from webweave.annotation.corpus_images import NotACorpus
    from webweave.annotation.output_folder import OutputExists
    from webweave.annotation.round_dir import RoundError
    from webweave.annotation.timed_auto import NoImageStore
    from webweave.annotation.triplet_sources import BadSource
    from webweave.pipelines import config as pipeline_config
    from webweave.schemas import config as schema_config
    from webweave.schemas.registry import SchemaMismatch

    return (
        OutputExists,
        RoundError,
        BadSource,
        NotACorpus,
        NoImageStore,
        SchemaMismatch,
        pipeline_config.ConfigError,
        schema_config.ConfigError,
        FileNotFoundError,
        *_late_user_errors(),
    )


def _late_user_errors() -> tuple[type[BaseException], ...]:
    from webweave.annotation.image_addressing import BadAddressing
    from webweave.annotation.tools.base import BadExport

    return (BadExport, BadAddressing)


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[..., int]:
    """``handler`` with user errors turned into one line on stderr and exit code 2."""

    def run(args: argparse.Namespace, *_: object) -> int:
        try:
            return handler(args)
        except _user_errors() as error:
            print(f"webweave: error: {error}", file=sys.stderr)
            return 2

    run.__name__ = handler.__name__
    return run


def _existing(path: str, what: str) -> Path:
    folder = Path(path)
    if not folder.exists():
        raise FileNotFoundError(f"{what} {path} does not exist")
    return folder


def _seed(given: int | None, default: int) -> int:
    if given is not None and given < 0:
        from webweave.schemas.config import ConfigError

        raise ConfigError(f"--seed {given}: must be >= 0")
    return default if given is None else given


# ---------------------------------------------------------------------------------------------
# Handlers


def _nights_build(args: argparse.Namespace) -> int:
    from webweave.annotation.config import load_annotation_config
    from webweave.annotation.nights_build import COMMAND, build_round_one, read_candidates
    from webweave.annotation.output_folder import (
        file_fingerprint,
        fingerprint,
        folder_fingerprint,
        output_folder,
    )
    from webweave.annotation.round_dir import round_id_of

    config = load_annotation_config(args.config)
    seed = _seed(args.seed, config.nights.seed)
    source = _existing(args.source, "--source")
    source_print = file_fingerprint(source) if source.is_file() else folder_fingerprint(source)
    if source.is_file():
        source_print += folder_fingerprint(source.parent)
    settings = {"config": config.to_dict(), "seed": seed}
    print_ = fingerprint(COMMAND, [source_print], settings)
    with output_folder(args.output, COMMAND, print_, args.overwrite) as plan:
        if plan.up_to_date:
            print(f"{plan.final}: already built from these inputs (nothing to do)")
            return 0
        candidates, provenance = read_candidates(source, config, seed, args.device)
        stats = build_round_one(
            candidates, provenance, plan.folder, round_id_of(print_), config, seed
        )
    counts = stats["counts"]
    print(
        f"wrote round 1 to {plan.final}: {counts['triplets']:,} triplets, "
        f"{counts['checks']:,} attention checks, {counts['images']:,} images"
    )
    return 0 if stats["funnel_closes"] else 1


def _nights_finalize(args: argparse.Namespace) -> int:
    from webweave.annotation.config import load_annotation_config
    from webweave.annotation.nights_finalize import COMMAND, finalize
    from webweave.annotation.output_folder import fingerprint, folder_fingerprint, output_folder
    from webweave.annotation.round_dir import CONFIG_FILE, chain, read_round

    last = read_round(_existing(args.last_round, "LAST_ROUND_DIR"))
    config = load_annotation_config(args.config, recorded=last.folder / CONFIG_FILE)
    inputs = [folder_fingerprint(r.folder) for r in chain(last)]
    print_ = fingerprint(COMMAND, inputs, {"nights": config.nights.to_dict()})
    with output_folder(args.output, COMMAND, print_, args.overwrite) as plan:
        if plan.up_to_date:
            print(f"{plan.final}: already finalized from these rounds (nothing to do)")
            return 0
        stats = finalize(last, config, plan.folder)
    counts = stats["counts"]
    splits = ", ".join(f"{k[6:]} {v:,}" for k, v in counts.items() if k.startswith("split_"))
    print(f"wrote {counts['triplets']:,} unanimous triplets to {plan.final} ({splits})")
    return 0 if stats["funnel_closes"] else 1


def _rounds_export(args: argparse.Namespace) -> int:
    from webweave.annotation.config import load_annotation_config
    from webweave.annotation.output_folder import fingerprint, folder_fingerprint, output_folder
    from webweave.annotation.round_dir import CONFIG_FILE, read_round
    from webweave.annotation.round_export import COMMAND, addressing, export_round

    round_ = read_round(_existing(args.round_dir, "ROUND_DIR"))
    config = load_annotation_config(args.config, recorded=round_.folder / CONFIG_FILE)
    images = addressing(round_, args.tool, args.image_base, args.document_root)
    settings = {
        "tool": args.tool,
        "rounds": config.rounds.to_dict(),
        "images": [images.mode, images.document_root, args.image_base],
    }
    print_ = fingerprint(COMMAND, [folder_fingerprint(round_.folder)], settings)
    with output_folder(args.output, COMMAND, print_, args.overwrite) as plan:
        if plan.up_to_date:
            print(f"{plan.final}: already exported (nothing to do)")
            return 0
        record = export_round(round_, args.tool, config.rounds, images, plan.folder)
    files = ", ".join(batch["file"] for batch in record["batches"])
    print(
        f"exported round {record['round']} ({record['items']:,} items + {record['checks']:,} "
        f"attention checks) for {args.tool} to {plan.final}: {files}"
    )
    if record["storage_path"]:
        print(f"  Label Studio local-files storage path: {record['storage_path']}")
    return 0


def _rounds_ingest(args: argparse.Namespace) -> int:
    from webweave.annotation.config import load_annotation_config
    from webweave.annotation.ingest import COMMAND, ingest_round
    from webweave.annotation.output_folder import (
        file_fingerprint,
        fingerprint,
        folder_fingerprint,
        output_folder,
    )
    from webweave.annotation.round_dir import CONFIG_FILE, read_round, round_id_of

    round_ = read_round(_existing(args.round_dir, "ROUND_DIR"))
    config = load_annotation_config(args.config, recorded=round_.folder / CONFIG_FILE)
    exports = [_existing(path, "EXPORT") for path in args.exports]
    inputs = [folder_fingerprint(round_.folder)] + sorted(file_fingerprint(p) for p in exports)
    print_ = fingerprint(COMMAND, inputs, {"config": config.to_dict()})
    with output_folder(args.output, COMMAND, print_, args.overwrite) as plan:
        if plan.up_to_date:
            print(f"{plan.final}: these exports were already ingested (nothing to do)")
            return 0
        report = ingest_round(round_, exports, config, plan.folder, plan.final, round_id_of(print_))
    _print_ingest(report, plan.final)
    return 0 if report["answers_funnel_closes"] else 1


def _print_ingest(report: dict, folder: Path) -> None:
    nxt = report["next"]
    items = ", ".join(f"{k} {v:,}" for k, v in report["items"].items())
    discarded = sum(w["discarded"] for w in report["workers"])
    print(
        f"round {report['round']}: {report['answers_read']:,} answers read, "
        f"{report['answers_valid']:,} valid, {report['answers_duplicate']:,} duplicates; "
        f"{discarded} of {len(report['workers'])} workers discarded; items: {items}"
    )
    alpha = report["agreement"]["krippendorff_alpha"]
    if alpha is not None:
        print(f"  Krippendorff's alpha ({report['agreement']['level']}): {alpha:.3f}")
    state = "open" if nxt["status"] == "open" else f"stopped ({nxt['stop_reason']})"
    print(
        f"wrote round {nxt['round']} to {folder}: {state}, {nxt['items']:,} items + "
        f"{nxt['checks']:,} attention checks"
    )


def _timed_auto(args: argparse.Namespace) -> int:
    from webweave.annotation.clip_model import load_clip
    from webweave.annotation.config import load_annotation_config
    from webweave.annotation.output_folder import fingerprint, folder_fingerprint, output_folder
    from webweave.annotation.timed_auto import COMMAND, image_store_for, run_auto

    config = load_annotation_config(args.config)
    documents = _existing(args.documents_dir, "DOCUMENTS_DIR")
    images = _existing(args.images, "--images") if args.images else None
    store = image_store_for(documents, images)
    inputs = [folder_fingerprint(documents)] + ([folder_fingerprint(images)] if images else [])
    settings = {"annotation_clip": config.clip.to_dict(), "timed": config.timed.to_dict()}
    print_ = fingerprint(COMMAND, inputs, settings)
    with output_folder(args.output, COMMAND, print_, args.overwrite) as plan:
        if plan.up_to_date:
            print(f"{plan.final}: already labelled from these documents (nothing to do)")
            return 0
        encoder = load_clip(config.clip, args.device)
        stats = run_auto(documents, store, encoder, config, plan.folder)
    counts = stats["counts"]
    print(
        f"wrote {counts['sentences']:,} sentences to {plan.final}: {counts['visual']:,} visual, "
        f"{counts['non_visual']:,} non-visual (t_pos {config.timed.t_pos}, "
        f"t_neg {config.timed.t_neg}; {stats['provenance']['device']})"
    )
    return 0 if stats["funnel_closes"] else 1


def _timed_calibrate(args: argparse.Namespace) -> int:
    from webweave.annotation.config import load_annotation_config
    from webweave.annotation.timed_calibrate import (
        best_similarities_of_auto,
        calibration,
        is_auto_output,
        report_text,
    )

    config = load_annotation_config(args.config)
    folder = _existing(args.input_dir, "DOCUMENTS_OR_AUTO_DIR")
    if is_auto_output(folder):
        best = best_similarities_of_auto(folder)
    else:
        import numpy as np

        from webweave.annotation.clip_model import load_clip
        from webweave.annotation.timed_auto import AutoLabeller, image_store_for, read_documents

        images = _existing(args.images, "--images") if args.images else None
        store = image_store_for(folder, images)
        labeller = AutoLabeller(load_clip(config.clip, args.device), store, config.timed)
        rows = labeller.rows(read_documents(folder))
        best = np.array([r["best_similarity"] for r in rows if r["best_similarity"] is not None])
    print(report_text(calibration(best, config.timed), config.timed))
    return 0


def _timed_manifest(args: argparse.Namespace) -> int:
    from webweave.annotation.config import load_annotation_config
    from webweave.annotation.output_folder import fingerprint, folder_fingerprint, output_folder
    from webweave.annotation.round_dir import round_id_of
    from webweave.annotation.timed_manifest import COMMAND, build_manifest, read_auto
    from webweave.schemas.config import ConfigError

    config = load_annotation_config(args.config)
    seed = _seed(args.seed, config.timed.seed)
    per_label = config.timed.per_label if args.per_label is None else args.per_label
    if per_label < 1:
        raise ConfigError(f"--per-label {per_label}: must be >= 1")
    auto_dir = _existing(args.auto_dir, "OUT")
    settings = {"config": config.to_dict(), "seed": seed, "per_label": per_label}
    print_ = fingerprint(COMMAND, [folder_fingerprint(auto_dir)], settings)
    with output_folder(args.output, COMMAND, print_, args.overwrite) as plan:
        if plan.up_to_date:
            print(f"{plan.final}: already built from this auto-label output (nothing to do)")
            return 0
        stats = build_manifest(
            read_auto(auto_dir), per_label, config, seed, plan.folder, round_id_of(print_)
        )
    counts = stats["counts"]
    sampled = ", ".join(f"{k[8:]} {v:,}" for k, v in counts.items() if k.startswith("sampled_"))
    short = [f"{k[6:]} short by {v:,}" for k, v in counts.items() if k.startswith("short_")]
    print(
        f"wrote round 1 to {plan.final}: {sampled}; {counts['checks']:,} attention checks"
        + (f" ({'; '.join(short)})" if short else "")
    )
    return 0 if stats["funnel_closes"] else 1

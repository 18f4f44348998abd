"""``webweave quality train``: the document quality classifier of the text filters."""

from __future__ import annotations

import argparse

from webweave.pipelines.errors import UserError


def add_commands(commands: argparse._SubParsersAction) -> None:
    quality = commands.add_parser(
        "quality",
        help="`quality train`: the document quality classifier",
        description="The quality classifier (hashed word and character n-grams, logistic "
        "regression) that text_filters.quality.model names.",
    )
    actions = quality.add_subparsers(dest="quality_action", required=True, metavar="ACTION")
    train = actions.add_parser(
        "train",
        help="train on positive and negative documents, print held-out ROC AUC, save",
        description="Train the document quality classifier. SRC: a text file (one document), "
        ".jsonl/.json (a `text` field per line, optionally .gz), .parquet (a `text` column or "
        "webweave documents), or a folder of those.",
    )
    train.add_argument("--positive", nargs="+", required=True, metavar="SRC",
                       help="documents of the quality to keep")  # fmt: skip
    train.add_argument("--negative", nargs="+", required=True, metavar="SRC",
                       help="documents of the quality to drop")  # fmt: skip
    train.add_argument("--out", required=True, metavar="MODEL", help="model file (joblib)")
    train.add_argument("--seed", type=int, default=0, help="split and model seed (default 0)")
    train.add_argument("--test-fraction", type=float, default=0.2,
                       help="held-out share for the ROC AUC (default 0.2)")  # fmt: skip
    train.set_defaults(handler=_train)


def _train(args: argparse.Namespace, beam_args: list[str]) -> int:
    from webweave.filters.text.quality_classifier import read_all, train, training_metadata

    try:
        positives, negatives = read_all(args.positive), read_all(args.negative)
        model, metrics = train(
            positives, negatives, seed=args.seed, test_fraction=args.test_fraction
        )
    except (OSError, ValueError) as error:
        raise UserError(f"quality train: {error}") from None
    counts = {"positive": len(positives), "negative": len(negatives)}
    model.metadata = training_metadata(args.positive, args.negative, counts, metrics)
    sidecar = model.save(args.out)
    print(f"documents: {counts['positive']} positive, {counts['negative']} negative")
    print(f"held-out ROC AUC: {metrics['roc_auc_held_out']:.4f} on {metrics['test_docs']} docs")
    print(f"model: {args.out}  metadata: {sidecar}")
    return 0

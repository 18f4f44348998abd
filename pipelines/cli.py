"""The ``webweave`` command line: one parser, one way to fail.

Every subcommand lives in ``pipelines/commands/`` (one module per area) and is added to the one
parser here. What the user sees when something goes wrong is decided here too
(``pipelines/errors.py``): a mistake they can fix is one line and exit code 2, checked before
any work where it can be; a bug is one line and the path of a saved traceback, exit code 1;
Ctrl-C stops the job and exits 130 (``pipelines/interrupts.py``). Flags a Beam-running command
does not know pass to Beam only when Beam knows them.

Exit codes: 0 done (and the funnel closes), 1 the funnel does not close or a bug, 2 a usage
error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import PackageNotFoundError, version

from webweave.filters.decision import StageError
from webweave.pipelines import interrupts
from webweave.pipelines.beam_options import check_beam_args, reject_args
from webweave.pipelines.commands import annotation, capfilt, images, quality, run
from webweave.pipelines.errors import save_traceback, user_message
from webweave.pipelines.warc_source import NotAWarcFile
from webweave.schemas.config import ConfigError

log = logging.getLogger("webweave")
DESCRIPTION = (
    "Build multimodal training data from the web: WARC files → interleaved image-text "
    "documents → images and image-text pairs → captions and annotation rounds."
)
# Two-word commands whose second word is not a flag or a path: parsed as one command name.
COMPOUND_COMMANDS = ("images retry",)
USER_ERRORS = (ConfigError, NotAWarcFile, FileNotFoundError, NotADirectoryError, StageError)


def main(argv: list[str] | None = None) -> int:
    """Entry point; ``argv`` None means the real command line (Ctrl-C handling installed)."""
    if argv is None:
        interrupts.install()
        argv = sys.argv[1:]
    parser, subparsers = build_parser()
    args, extra = parser.parse_known_args(_compound(list(argv)))
    _configure_logging(args.verbose)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        own = _flags(subparsers[args.command])
        if getattr(args, "beam", False):
            check_beam_args(extra, own, args.command)
        else:
            reject_args(extra, own, args.command)
        code = args.handler(args, extra)
    except Exception as error:  # noqa: BLE001 - the one place that decides what a user sees
        interrupts.hold_if_interrupted()  # a job stopped by Ctrl-C: its failure is not news
        return _report_failure(error)
    interrupts.hold_if_interrupted()
    return code


def _report_failure(error: Exception) -> int:
    message = user_message(error)
    if message is None and isinstance(error, USER_ERRORS):
        message = str(error)
    if message is not None:
        print(f"webweave: error: {message}", file=sys.stderr)
        return 2
    path = save_traceback(error)
    first = (str(error).strip().splitlines() or [""])[0][:300]
    print(
        f"webweave: internal error: {type(error).__name__}: {first} (full traceback in "
        f"{path}; please report it)",
        file=sys.stderr,
    )
    return 1


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    """The ``webweave`` parser and its subcommand parsers by name."""
    parser = argparse.ArgumentParser(prog="webweave", description=DESCRIPTION, allow_abbrev=False)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    parser.add_argument("--version", action="version", version=f"webweave {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for area in (run, images, quality, capfilt, annotation):
        area.add_commands(commands)
    subparsers = dict(commands.choices)
    for name, sub in subparsers.items():
        sub.prog = f"webweave {name}"
        _add_common_flags(sub)
    return parser, subparsers


def _add_common_flags(parser: argparse.ArgumentParser) -> None:
    """``-v`` before or after the command, on every (nested) subcommand; SUPPRESS keeps a
    subcommand's default from resetting a -v given before it. No abbreviated flags."""
    parser.allow_abbrev = False
    if "-v" not in {flag for action in parser._actions for flag in action.option_strings}:
        parser.add_argument(
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
            help="log at INFO level",
        )  # fmt: skip
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for nested in action.choices.values():
                _add_common_flags(nested)


def _compound(argv: list[str]) -> list[str]:
    """``images retry OUT`` → ``["images retry", "OUT"]`` (one subcommand name)."""
    for name in COMPOUND_COMMANDS:
        words = name.split()
        if argv[: len(words)] == words:
            return [name, *argv[len(words) :]]
    return argv


def _flags(parser: argparse.ArgumentParser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:  # Beam forwards every worker's start-up warnings; keep the terminal readable
        logging.getLogger("apache_beam").setLevel(logging.ERROR)


def _version() -> str:
    try:
        return version("webweave")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())

"""Beam pipeline options from the flags webweave does not know itself.

Flags a subcommand does not define pass through to Beam (``--runner``, ``--direct_num_workers``,
Dataflow flags), but only when Beam knows them: a typo (``--ouput``) is an error with a
suggestion instead of a silently ignored option. Without ``--runner`` a job runs on Beam's
in-process FnApiRunner with one worker process per core (Beam's DirectRunner would first try
to download the Prism runner binary).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable

from apache_beam.options.pipeline_options import PipelineOptions, _BeamArgumentParser

from webweave.pipelines.errors import UserError


def beam_flags() -> set[str]:
    """Every option string Beam's registered option classes define (``--runner``, …)."""
    parser = _BeamArgumentParser(allow_abbrev=False)
    seen: set[str] = set()
    for cls in PipelineOptions.__subclasses__():
        if str(cls) in seen:
            continue
        seen.add(str(cls))
        cls._add_argparse_args(parser)  # noqa: SLF001 - Beam's own way of listing options
    return {flag for action in parser._actions for flag in action.option_strings}


def check_beam_args(args: Iterable[str], own_flags: Iterable[str], command: str) -> None:
    """UserError for the first flag that neither the command nor Beam knows."""
    known = beam_flags()
    for arg in args:
        if not arg.startswith("-") or arg == "--":
            continue
        flag = arg.split("=", 1)[0]
        if flag in known:
            continue
        candidates = sorted({*own_flags, *known})
        close = difflib.get_close_matches(flag, candidates, n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UserError(
            f"unknown flag {flag} for `webweave {command}`{hint}; see `webweave {command} --help`"
        )


def reject_args(args: Iterable[str], own_flags: Iterable[str], command: str) -> None:
    """UserError for extra arguments of a command that takes no Beam options."""
    for arg in args:
        flag = arg.split("=", 1)[0]
        close = difflib.get_close_matches(flag, sorted(own_flags), n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        what = "flag" if arg.startswith("-") else "argument"
        raise UserError(
            f"unknown {what} {flag} for `webweave {command}`{hint}; see `webweave {command} --help`"
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

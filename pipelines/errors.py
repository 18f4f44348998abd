"""What the command line tells a user when something goes wrong: one line, never a traceback.

Three kinds of failure reach the CLI:

- a problem the user can fix (a bad flag, config value, input or output folder, an unreachable
  URL, a dedup guard that tripped): ``UserError`` and its kin (``ConfigError``, ...). The CLI
  prints the message as one line and exits 2, before any work when it can be checked up front.
- the same, raised inside a Beam worker: Beam re-raises it in the launching process wrapped in
  its own error whose text holds the worker's traceback. ``UserError`` messages carry a marker
  (``MARK``) so ``user_message`` can find the line again in that text.
- anything else is a bug in webweave: one line naming the error and the path of a file holding
  the full traceback (``save_traceback``), exit 1.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
import traceback

MARK = "[webweave] "
# The message after the marker, without the step name Beam appends to a worker's error.
_MARKED = re.compile(re.escape(MARK) + r"([^\n]+?)(?: \[while running '[^\n]*'\])?$", re.M)


class UserError(Exception):
    """A problem the user can fix; its message is one line saying what and how."""

    def __str__(self) -> str:
        return MARK + super().__str__()

    @property
    def line(self) -> str:
        return super().__str__()


class NetworkError(UserError):
    """A URL could not be read; the message names it and what to do instead."""


class OutputFolderError(UserError):
    """The output folder cannot be used as asked (another job's, a file, not writable)."""


def user_message(error: BaseException) -> str | None:
    """The one line of a ``UserError`` in ``error`` (itself, a cause, or Beam's wrapped text)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UserError):  # Beam may re-raise it with its step name appended
            found = _MARKED.search(MARK + current.line.replace(MARK, ""))
            return found.group(1).strip() if found else current.line
        current = current.__cause__ or current.__context__
    found = _MARKED.search(str(error))
    return found.group(1).strip() if found else None


def save_traceback(error: BaseException) -> str:
    """Write the full traceback of a bug to a file and return its path."""
    folder = os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"),
        "webweave",
        "tracebacks",
    )
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        folder = tempfile.gettempdir()
    path = os.path.join(folder, f"webweave-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("".join(traceback.format_exception(error)))
    return path

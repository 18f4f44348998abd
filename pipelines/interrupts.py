"""Ctrl-C that never hangs: the first one stops the job's workers and exits 130, a second one
exits at once.

Beam's local runner starts worker processes in the terminal's process group, so a Ctrl-C
reaches every one of them: workers died mid-bundle while the launching process kept waiting
for them (issue #12: one SIGINT in twelve hung the job for ten minutes). Here the launching
process ignores and blocks SIGINT before the job starts (workers inherit "ignored", so they
never see the terminal's Ctrl-C) and one watcher thread waits for it with ``sigwait``. On the
first Ctrl-C the watcher prints one line, kills the child processes, runs the job's cleanup
and ends the process with exit code 130; the main thread, should the stopped job fail first,
waits for it (``hold_if_interrupted``) instead of exiting with the job's error.
Nothing is left half-done: every shard, manifest and stats file is written under a temporary
name and renamed when complete, and a re-run resumes from the manifests.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable

import psutil

EXIT_INTERRUPTED = 130
MESSAGE = "webweave: interrupted; run the same command to resume"

_cleanups: list[Callable[[], None]] = []
_installed = False
_interrupted = threading.Event()


def interrupted() -> bool:
    """True once a Ctrl-C has started stopping the job."""
    return _interrupted.is_set()


def hold_if_interrupted() -> None:
    """Called by the main thread on its way out: while an interrupt is being handled the
    process ends with its exit code (130), not with whatever the stopped job raised."""
    if _interrupted.is_set():
        threading.Event().wait()  # the stopping thread ends the process


def on_interrupt(cleanup: Callable[[], None]) -> None:
    """Run ``cleanup`` (best effort) before exiting on Ctrl-C."""
    _cleanups.append(cleanup)


def install() -> None:
    """Route SIGINT to the watcher thread (call once, from the command line entry point)."""
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    # Ignored *and* blocked: child processes inherit the ignored disposition (kept across
    # exec, the shell Beam starts workers with, and Python's start-up), so workers never see
    # the terminal's Ctrl-C; here, blocked signals are queued for ``sigwait`` even while
    # ignored (Linux keeps a blocked signal pending whatever its disposition).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    threading.Thread(target=_watch, name="webweave-interrupts", daemon=True).start()
    _installed = True


def _watch() -> None:
    signal.sigwait({signal.SIGINT})
    _interrupted.set()
    threading.Thread(target=_stop, name="webweave-stop", daemon=True).start()
    signal.sigwait({signal.SIGINT})  # a second Ctrl-C: leave now, whatever is still running
    os._exit(EXIT_INTERRUPTED)


def _stop() -> None:
    _interrupted.set()
    print(f"\n{MESSAGE}", file=sys.stderr, flush=True)
    _silence_stderr()  # the runner's threads report the workers' end: not the user's business
    stop_children()
    for cleanup in _cleanups:
        try:
            cleanup()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass
    sys.stderr.flush()
    os._exit(EXIT_INTERRUPTED)


def _silence_stderr() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stderr.fileno())
    except (OSError, ValueError):
        pass


def stop_children() -> None:
    """Kill every descendant process at once. Nothing of theirs is half-written (every file is
    written under a temporary name and renamed when complete), and a killed worker cannot
    fill the terminal with its own shutdown messages."""
    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return
    for child in children:
        try:
            child.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(children, timeout=5)

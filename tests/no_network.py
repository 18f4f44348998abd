"""Refuse and record every network access that leaves the machine, in this process and children.

An audit hook (PEP 578) sees each ``socket.getaddrinfo``, ``socket.connect`` and
``urllib.Request`` before it happens. While ``WEBWEAVE_NETWORK_LOG`` names a file, the hook
appends one line per attempt to a host outside loopback, then raises ``OSError`` so the attempt
fails. ``forbid_network`` turns it on for the test process and, through a ``sitecustomize``
on ``PYTHONPATH``, for every Python child (Beam's worker subprocesses), which also append one
``started`` line each, so a test can tell the guard was really in place.

gRPC between Beam's runner and its workers runs in C on loopback and is not seen (nor meant).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

LOG_VARIABLE = "WEBWEAVE_NETWORK_LOG"
TESTS_DIR = Path(__file__).resolve().parent
_installed = False

SITECUSTOMIZE = f"""\
import os, sys
if os.environ.get({LOG_VARIABLE!r}):
    sys.path.insert(0, {str(TESTS_DIR)!r})
    import no_network
    no_network.install(announce=True)
"""


def _is_local(host) -> bool:
    if host is None or host in ("", "localhost"):
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _log(line: str) -> None:
    with open(os.environ[LOG_VARIABLE], "a") as handle:
        handle.write(line + "\n")


def _hook(event: str, args: tuple) -> None:
    if not os.environ.get(LOG_VARIABLE):
        return
    if event == "socket.getaddrinfo":
        host = args[0]
    elif event == "socket.connect":
        address = args[1]
        if not isinstance(address, tuple):
            return  # a Unix socket path
        host = address[0]
    elif event == "urllib.Request":
        url = urlsplit(str(args[0]))
        if url.scheme == "file":
            return
        host = url.hostname
    else:
        return
    if _is_local(host):
        return
    _log(f"{os.getpid()} {event} {host}")
    raise OSError(f"network access refused by the test: {event} {host}")


def install(announce: bool = False) -> None:
    """Add the hook once per process (audit hooks cannot be removed; it idles when unset)."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    if announce:
        _log(f"{os.getpid()} started")


def forbid_network(log: Path, site_dir: Path, monkeypatch) -> None:
    """Guard this process and its Python children until the test's monkeypatch is undone."""
    site_dir.mkdir(parents=True, exist_ok=True)
    (site_dir / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log.touch()
    paths = [str(site_dir), *filter(None, [os.environ.get("PYTHONPATH")])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.setenv(LOG_VARIABLE, str(log))
    install()


def attempts(log: Path) -> list[str]:
    """Recorded network attempts (``started`` lines left out)."""
    return [line for line in log.read_text().splitlines() if not line.endswith(" started")]


def guarded_children(log: Path) -> int:
    return sum(1 for line in log.read_text().splitlines() if line.endswith(" started"))

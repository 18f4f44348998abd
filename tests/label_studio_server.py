"""A real Label Studio server on 127.0.0.1 for tests, in its own virtual environment.

Label Studio's pins (Django, pandas 3, …) clash with Beam's, so it lives in its own venv:
``$WEBWEAVE_LABEL_STUDIO_VENV`` or ``REPO/.venv-ls``, created here on first use with
``label-studio==1.23.2 label-studio-sdk==2.1.2`` (about 80 s, 1 GB) so the README's test
command works on a fresh machine. The SDK is driven from that venv's Python
(``label_studio_driver.py`` as a subprocess); webweave's own code never imports it.

Start-up follows the verified recipe (reference label_studio.md): sqlite, a temporary HOME
and data dir, a fixed admin token with legacy tokens enabled, local-files serving under a
document root, and every outbound call switched off (PyPI version check, Sentry, telemetry,
browser; proxies point at a closed loopback port). The first start migrates an empty
database (~30 s) and keeps it as a template; later starts copy it (~3 s).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PINS = ["label-studio==1.23.2", "label-studio-sdk==2.1.2"]
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@webweave.test", "admin-pass-123"
ADMIN_TOKEN = "0123456789abcdef0123456789abcdef01234567"
DRIVER = Path(__file__).with_name("label_studio_driver.py")
TEMPLATE_DB = "webweave-template.sqlite3"


def venv_dir() -> Path:
    return Path(os.environ.get("WEBWEAVE_LABEL_STUDIO_VENV", REPO / ".venv-ls"))


def venv_python() -> Path:
    """The Label Studio venv's python, creating the venv first if it is missing."""
    folder = venv_dir()
    python = folder / "bin" / "python"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with _locked(folder.parent / f".{folder.name}.lock"):
        if not (folder / "bin" / "label-studio").exists():
            subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *PINS], check=True)
    return python


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_env(home: Path, data_dir: Path, document_root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LABEL_STUDIO_", "HEARTEX_"))}
    for name in ("USERNAME", "PASSWORD", "PORT", "HOST", "DJANGO_DB"):  # LS reads them unprefixed
        env.pop(name, None)
    env.update(
        HOME=str(home),
        LABEL_STUDIO_BASE_DATA_DIR=str(data_dir),
        DJANGO_DB="sqlite",
        LABEL_STUDIO_USERNAME=ADMIN_EMAIL,
        LABEL_STUDIO_PASSWORD=ADMIN_PASSWORD,
        LABEL_STUDIO_USER_TOKEN=ADMIN_TOKEN,
        LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN="true",
        LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED="true",
        LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=str(document_root),
        COLLECT_ANALYTICS="false",
        LATEST_VERSION_CHECK="false",
        SENTRY_DSN="",
        FRONTEND_SENTRY_DSN="",
        HTTP_PROXY="http://127.0.0.1:9",
        HTTPS_PROXY="http://127.0.0.1:9",
        http_proxy="http://127.0.0.1:9",
        https_proxy="http://127.0.0.1:9",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
    )
    return env


@dataclass
class LabelStudio:
    """A running server: where it is and how to drive it."""

    base_url: str
    python: Path
    document_root: Path
    log: Path

    def drive(self, plan: dict, timeout: float = 120) -> dict:
        """Run ``label_studio_driver.py`` with ``plan`` (JSON in, JSON out) in the LS venv."""
        request = {"base_url": self.base_url, "admin_token": ADMIN_TOKEN, **plan}
        env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
            env.pop(name, None)
        done = subprocess.run(
            [str(self.python), str(DRIVER)],
            input=json.dumps(request),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
        if done.returncode != 0:
            raise RuntimeError(f"label_studio_driver failed:\n{done.stderr[-4000:]}")
        return json.loads(done.stdout)


@contextlib.contextmanager
def label_studio(document_root: Path, start_timeout: float = 180) -> Iterator[LabelStudio]:
    """A fresh server (fresh database copied from the template) serving ``document_root``."""
    python = venv_python()
    template = venv_dir() / TEMPLATE_DB
    with tempfile.TemporaryDirectory(prefix="webweave-ls-") as scratch:
        home, data_dir = Path(scratch) / "home", Path(scratch) / "data"
        home.mkdir()
        data_dir.mkdir()
        with _locked(venv_dir().parent / f".{venv_dir().name}.lock"):
            if not template.exists():
                with _server(python, home, data_dir, document_root, start_timeout):
                    pass  # migrations ran, the admin exists: keep the database
                shutil.copy(data_dir / "label_studio.sqlite3", template)
        shutil.copy(template, data_dir / "label_studio.sqlite3")
        with _server(python, home, data_dir, document_root, start_timeout) as server:
            yield server


@contextlib.contextmanager
def _server(
    python: Path, home: Path, data_dir: Path, document_root: Path, timeout: float
) -> Iterator[LabelStudio]:
    port = free_port()
    log = data_dir / "server.log"
    command = [
        str(python.parent / "label-studio"), "start", "--no-browser",
        "--internal-host", "127.0.0.1", "--port", str(port),
    ]  # fmt: skip
    with open(log, "w") as output:
        process = subprocess.Popen(
            command,
            env=server_env(home, data_dir, document_root),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base_url = f"http://127.0.0.1:{port}"
        _wait_healthy(base_url, process, log, timeout)
        yield LabelStudio(base_url, python, document_root, log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_healthy(base_url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"label-studio exited with {process.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            with opener.open(f"{base_url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"label-studio not healthy after {timeout} s:\n{log.read_text()[-3000:]}")

"""Fetch a batch of image URLs with img2dataset (as a library) behind webweave's address guard.

img2dataset runs unchanged: its reader shards the URL list, its multiprocessing distributor
spawns worker processes, its thread pool, retry loop, writer (parquet output, original bytes:
``disable_all_reencoding=True``, so no resize and no re-encode, OBELICS lesson 13) and its
per-sample ``status``/``error_message`` columns and ``*_stats.json`` files are its own.

What webweave replaces is the one function that opens connections. img2dataset builds its
``Downloader`` in ``img2dataset.main.download`` and pickles it into *spawned* worker processes,
so a patch made in the parent would not reach them. Instead, for the duration of one
``download`` call (under a lock), ``img2dataset.main.Downloader`` is swapped for a factory
that returns ``GuardedDownloader``, a subclass carrying the guard settings. When a worker
process unpickles it and calls it, it first installs, in that worker, webweave's
``download_image`` and ``download_image_with_retry`` in ``img2dataset.downloader`` (both go
through ``GuardedFetcher``: policy on every hop, pinned addresses, byte cap, per-host time
budget) and a guarded global urllib opener as a second line. It then checks the patch is in
place and refuses to run otherwise (fail closed if a future img2dataset renames them).

Errors come back through img2dataset's ``error_message`` column as
``webweave:<reason>:<refused 0|1>:<detail>`` so each URL gets an exact reason.
"""

from __future__ import annotations

import glob
import importlib
import io
import json
import os
import shutil
import threading
import urllib.request
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from webweave.filters.url_policy import UrlPolicy
from webweave.pipelines.images.guarded_fetch import FetchLimits, FetchResult, GuardedFetcher

# Before img2dataset is imported (here and in its spawned workers, which inherit the
# environment): albumentations (an img2dataset dependency) otherwise asks PyPI for its latest
# version at import time, and wandb must never be enabled. The job sends no request but images.
os.environ["NO_ALBUMENTATIONS_UPDATE"] = "1"
os.environ["WANDB_MODE"] = "disabled"
os.environ["WANDB_SILENT"] = "true"

from img2dataset import downloader as i2d  # noqa: E402
from img2dataset.downloader import Downloader  # noqa: E402

# ``img2dataset.main`` the attribute is the CLI function; the module is what builds Downloader.
i2d_main = importlib.import_module("img2dataset.main")

ERROR_PREFIX = "webweave:"
# Reasons worth another try (img2dataset's own retry loop, and ``webweave images retry``).
RETRYABLE = frozenset(
    {
        "timeout",
        "connection_refused",
        "connection_reset",
        "incomplete_read",
        "download_error",
        "unresolvable_host",
        "host_time_budget_exhausted",
        "http_408",
        "http_429",
        "http_500",
        "http_502",
        "http_503",
        "http_504",
    }
)
_PATCH_LOCK = threading.Lock()


@dataclass(frozen=True)
class GuardSettings:
    """Everything a worker process needs to rebuild the guard (picklable plain data)."""

    allowed_networks: tuple[str, ...] = ()
    static_hosts: dict[str, list[str]] = field(default_factory=dict)
    limits: FetchLimits = FetchLimits()

    def fetcher(self) -> GuardedFetcher:
        return GuardedFetcher(
            UrlPolicy(self.allowed_networks), self.limits, static_hosts=self.static_hosts
        )


@dataclass(frozen=True)
class Img2DatasetOptions:
    """img2dataset knobs the images job exposes (the rest are fixed, see module docstring)."""

    processes: int = 1
    threads: int = 16
    retries: int = 1
    samples_per_shard: int = 10_000
    user_agent_token: str | None = "webweave"
    disallowed_header_directives: tuple[str, ...] = ("noai", "noimageai")


_FETCHER: GuardedFetcher | None = None
_FETCHER_SETTINGS: GuardSettings | None = None


def _process_fetcher(settings: GuardSettings) -> GuardedFetcher:
    global _FETCHER, _FETCHER_SETTINGS
    if _FETCHER is None or _FETCHER_SETTINGS != settings:
        _FETCHER, _FETCHER_SETTINGS = settings.fetcher(), settings
    return _FETCHER


def _encode_error(result: FetchResult) -> str:
    return f"{ERROR_PREFIX}{result.reason}:{int(result.refused)}:{result.detail}"


def decode_error(message: str | None) -> tuple[str, bool, str]:
    """(reason, refused, detail) from img2dataset's ``error_message`` column."""
    if not message:
        return "download_error", False, ""
    if message.startswith(ERROR_PREFIX):
        reason, refused, detail = message[len(ERROR_PREFIX) :].split(":", 2)
        return reason, refused == "1", detail
    if "X-Robots-Tag" in message:
        return "x_robots_tag_disallowed", False, message
    if message == "hash mismatch":
        return "hash_mismatch", False, message
    return "download_error", False, message[:200]


def _make_download_image(settings: GuardSettings):
    def download_image(row, timeout, user_agent_token, disallowed_header_directives):
        """Drop-in for ``img2dataset.downloader.download_image``, through the guard."""
        key, url = row
        result = _process_fetcher(settings).fetch(url)
        if result.reason is not None:
            return key, None, _encode_error(result)
        headers = result.extra.get("headers")
        if disallowed_header_directives and headers is not None:
            if i2d.is_disallowed(headers, user_agent_token, disallowed_header_directives):
                return key, None, "Use of image disallowed by X-Robots-Tag directive"
        return key, io.BytesIO(result.data), None

    def download_image_with_retry(
        row, timeout, retries, user_agent_token, disallowed_header_directives
    ):
        """Like img2dataset's, but never retries a refusal or a permanent HTTP error."""
        for _ in range(retries + 1):
            key, stream, error = download_image(
                row, timeout, user_agent_token, disallowed_header_directives
            )
            if stream is not None or decode_error(error)[0] not in RETRYABLE:
                break
        return key, stream, error

    return download_image, download_image_with_retry


def install_guard(settings: GuardSettings) -> None:
    """Route every img2dataset fetch in this process through the guard (idempotent)."""
    download_image, with_retry = _make_download_image(settings)
    i2d.download_image = download_image
    i2d.download_image_with_retry = with_retry
    fetcher = _process_fetcher(settings)
    urllib.request.install_opener(fetcher.opener)  # second line: any stray urlopen is guarded
    if i2d.download_image is not download_image or i2d.download_image_with_retry is not with_retry:
        raise RuntimeError("img2dataset guard could not be installed; refusing to fetch")


class GuardedDownloader(Downloader):
    """img2dataset's Downloader that installs the guard in its (spawned) process first."""

    guard_settings: GuardSettings

    def __call__(self, row):
        install_guard(self.guard_settings)
        return super().__call__(row)


class _DownloaderFactory:
    """Stands in for ``img2dataset.main.Downloader`` during one ``download`` call."""

    def __init__(self, settings: GuardSettings):
        self.settings = settings

    def __call__(self, **kwargs) -> GuardedDownloader:
        downloader = GuardedDownloader(**kwargs)
        downloader.guard_settings = self.settings
        return downloader


def run_img2dataset(
    urls: list[str], work_dir: str, settings: GuardSettings, options: Img2DatasetOptions
) -> tuple[dict[str, tuple[bytes | None, str | None]], dict]:
    """Fetch ``urls``; returns url → (bytes, error_message) and img2dataset's summed stats."""
    os.makedirs(work_dir, exist_ok=True)
    url_list = os.path.join(work_dir, "urls.parquet")
    pq.write_table(pa.table({"url": pa.array(urls, pa.string())}), url_list)
    output = os.path.join(work_dir, "out")
    shutil.rmtree(output, ignore_errors=True)  # a fresh folder: nothing is skipped as done
    with _PATCH_LOCK:
        original = i2d_main.Downloader
        i2d_main.Downloader = _DownloaderFactory(settings)
        try:
            i2d_main.download(
                url_list=url_list,
                output_folder=output,
                processes_count=options.processes,
                thread_count=options.threads,
                resize_mode="no",
                disable_all_reencoding=True,
                output_format="parquet",
                input_format="parquet",
                url_col="url",
                number_sample_per_shard=options.samples_per_shard,
                extract_exif=False,
                compute_hash=None,
                timeout=max(1, int(settings.limits.timeout_seconds)),
                retries=options.retries,
                enable_wandb=False,
                distributor="multiprocessing",
                incremental_mode="incremental",  # "overwrite" deletes its own _tmp (bug)
                user_agent_token=options.user_agent_token,
                disallowed_header_directives=list(options.disallowed_header_directives),
            )
        finally:
            i2d_main.Downloader = original
    return _read_output(output)


def _read_output(output: str) -> tuple[dict[str, tuple[bytes | None, str | None]], dict]:
    results: dict[str, tuple[bytes | None, str | None]] = {}
    for path in sorted(glob.glob(os.path.join(output, "*.parquet"))):
        table = pq.read_table(path, columns=["url", "status", "error_message", "jpg"])
        for row in table.to_pylist():
            if row["status"] == "success":
                results[row["url"]] = (row["jpg"], None)
            else:
                results[row["url"]] = (None, row["error_message"] or row["status"])
    stats = {"count": 0, "successes": 0, "failed_to_download": 0, "duration": 0.0}
    for path in glob.glob(os.path.join(output, "*_stats.json")):
        with open(path, encoding="utf-8") as handle:
            shard = json.load(handle)
        for key in stats:
            stats[key] += shard.get(key, 0)
    return results, stats

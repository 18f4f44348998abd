"""Common Crawl over HTTPS: a crawl's WARC list and robust, resumable downloads.

Beam has no http(s) filesystem (apache/beam#33330), so ``--crawl`` runs fetch inside the DoFn:
each WARC is downloaded to a worker-local temporary file with retries and HTTP Range resume,
then streamed from disk. Only the first N paths of ``warc.paths.gz`` are read, streaming.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from webweave.pipelines.errors import NetworkError
from webweave.pipelines.inputs import WarcInput, warc_name
from webweave.schemas.config import Count, Seconds, Section

log = logging.getLogger(__name__)
USER_AGENT = "webweave/0.1 (+https://github.com/webweave/webweave)"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class CommonCrawlConfig(Section):
    """``commoncrawl:``: where crawls are listed and fetched from, and how patiently."""

    yaml_name = "commoncrawl"

    base_url: str
    default_crawl: str
    collinfo_url: str
    fallback_crawl: str
    timeout_seconds: Seconds
    retries: Count


def latest_crawl(collinfo_url: str, fallback: str, timeout: float) -> str:
    """The newest crawl id in Common Crawl's crawl list, or ``fallback`` when unreadable.

    ``collinfo.json`` lists crawls newest first (``[{"id": "CC-MAIN-…", …}, …]``). A run that
    cannot reach it still starts, on a crawl known to exist, and says which.
    """
    request = urllib.request.Request(collinfo_url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            crawls = json.loads(response.read())
        return next(c["id"] for c in crawls if str(c.get("id", "")).startswith("CC-MAIN-"))
    except (OSError, ValueError, StopIteration, KeyError, TypeError) as error:
        log.warning("cannot read %s (%s); using crawl %s", collinfo_url, error, fallback)
        return fallback


OFFLINE_HINT = (
    "without network, run `webweave run --sample`, give your own WARC files with --input, or "
    "point --cc-base-url at a local mirror (file:///path/to/mirror/, holding crawl-data/…)"
)


def crawl_warc_inputs(crawl: str, count: int, base_url: str, timeout: float) -> list[WarcInput]:
    """The first ``count`` WARC files of ``crawl`` as inputs (URLs under ``base_url``; a
    ``file://`` base is a local mirror of Common Crawl's layout: its files are read in place)."""
    base = base_url if base_url.endswith("/") else base_url + "/"
    listing = f"{base}crawl-data/{crawl}/warc.paths.gz"
    request = urllib.request.Request(listing, headers={"User-Agent": USER_AGENT})
    paths: list[str] = []
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            with gzip.GzipFile(fileobj=response) as lines:
                for line in lines:
                    path = line.decode("utf-8").strip()
                    if path:
                        paths.append(path)
                    if len(paths) >= count:
                        break
    except (urllib.error.URLError, OSError, EOFError) as error:
        raise NetworkError(f"cannot read {listing} ({_reason(error)}); {OFFLINE_HINT}") from None
    if not paths:
        raise NetworkError(f"{listing} lists no WARC files")
    if base.startswith("file://"):
        root = urllib.request.url2pathname(base[len("file://") :])
        return [WarcInput(os.path.join(root, path), warc_name(path)) for path in paths]
    return [WarcInput(base + path, warc_name(path)) for path in paths]


def attempts(retries: int) -> str:
    return "1 attempt" if retries == 0 else f"{retries + 1} attempts"


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or getattr(error, "strerror", None) or error
    return str(reason)


def download(url: str, destination: str, *, timeout: float, retries: int) -> int:
    """Download ``url`` to ``destination``; resume with Range after a dropped connection.

    Returns the number of bytes. Raises the last error after ``retries`` failed attempts.
    """
    attempt = 0
    while True:
        have = os.path.getsize(destination) if os.path.exists(destination) else 0
        headers = {"User-Agent": USER_AGENT}
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                resumed = response.status == 206
                with open(destination, "ab" if resumed else "wb") as out:
                    shutil.copyfileobj(response, out, _CHUNK)
            return os.path.getsize(destination)
        except urllib.error.HTTPError as error:
            if error.code == 416 and have:  # nothing left to fetch
                return have
            if error.code < 500 and error.code != 429:
                raise NetworkError(f"cannot download {url} (HTTP {error.code})") from None
            failure: Exception = error
        except (urllib.error.URLError, OSError, TimeoutError) as error:
            failure = error
        attempt += 1
        if attempt > retries:
            raise NetworkError(
                f"cannot download {url} after {attempts(retries)} ({_reason(failure)}); "
                f"{OFFLINE_HINT}"
            ) from None
        delay = min(2**attempt, 60)
        log.warning("download of %s failed (%s); retry %d in %ds", url, failure, attempt, delay)
        time.sleep(delay)

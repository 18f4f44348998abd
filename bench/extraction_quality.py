"""Extraction quality and speed: webweave against trafilatura, same pages, same run.

Run ``.venv/bin/python bench/extraction_quality.py``. Fixtures come from ``$WEBWEAVE_FIXTURES``
(default ``<repo>/../shared/fixtures``). Every extractor gets the same already-decoded ``str``
input, so pages/s compares extraction alone; webweave's bytes path (charset decoding included)
is timed on an extra line. Speed is the best of ``--repeats`` passes over both sets together.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from extraction_metrics import (  # noqa: E402
    extract_all,
    fixtures_root,
    load_article_pages,
    load_snippet_pages,
    snippet_scores,
    token_scores,
)

from webweave.filters.extraction import extract  # noqa: E402

Extractor = Callable[[str, str], str]


def decode(body: bytes) -> str:
    """Decode the way webweave does, so every extractor sees the same characters."""
    try:
        from webweave.filters.charset import decode_html
    except ImportError:  # the charset module is optional for the bench
        return body.decode("utf-8", "replace")
    return decode_html(body, None).text


def webweave_text(html: str | bytes, url: str) -> str:
    return extract(html, url).joined_text()


def trafilatura_extractor(fast: bool) -> Extractor:
    import trafilatura

    def run(html: str, url: str) -> str:
        return trafilatura.extract(html, url=url, fast=fast) or ""

    return run


def pages_per_second(extractor: Callable, inputs: list, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        extract_all(extractor, inputs)
        best = min(best, time.perf_counter() - start)
    return len(inputs) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="timing passes (best is kept)")
    args = parser.parse_args()

    root = fixtures_root()
    snippet_pages = load_snippet_pages(root)
    article_pages = load_article_pages(root)
    snippet_inputs = [(decode(p.html), p.url) for p in snippet_pages]
    article_inputs = [(decode(p.html), p.url) for p in article_pages]
    all_inputs = snippet_inputs + article_inputs
    print(
        f"fixtures: {root}  trafilatura set {len(snippet_pages)} pages, "
        f"scrapinghub set {len(article_pages)} pages"
    )

    extractors: dict[str, Extractor] = {
        "webweave": webweave_text,
        "trafilatura fast": trafilatura_extractor(fast=True),
        "trafilatura": trafilatura_extractor(fast=False),
    }
    header = (
        f"{'extractor':<18} {'traf P':>7} {'traf R':>7} {'traf F1':>7} | "
        f"{'sh P':>6} {'sh R':>6} {'sh F1':>6} {'sh F1mi':>7} | {'pages/s':>8}"
    )
    print(header)
    print("-" * len(header))
    speeds = {}
    for name, extractor in extractors.items():
        snippets = snippet_scores(snippet_pages, extract_all(extractor, snippet_inputs))
        micro, macro = token_scores(article_pages, extract_all(extractor, article_inputs))
        speeds[name] = pages_per_second(extractor, all_inputs, args.repeats)
        print(
            f"{name:<18} {snippets.precision:7.3f} {snippets.recall:7.3f} {snippets.f1:7.3f} | "
            f"{macro.precision:6.3f} {macro.recall:6.3f} {macro.f1:6.3f} {micro.f1:7.3f} | "
            f"{speeds[name]:8.1f}"
        )
    bytes_inputs = [(p.html, p.url) for p in snippet_pages] + [
        (p.html, p.url) for p in article_pages
    ]
    bytes_speed = pages_per_second(webweave_text, bytes_inputs, args.repeats)
    print(f"webweave from bytes (charset decoding included): {bytes_speed:.1f} pages/s")
    ratio = speeds["webweave"] / speeds["trafilatura fast"]
    print(f"speed ratio webweave / trafilatura fast: {ratio:.1f}x")
    print("sh P/R/F1 = scrapinghub token scores, macro-averaged; sh F1mi = micro-averaged F1")


if __name__ == "__main__":
    main()

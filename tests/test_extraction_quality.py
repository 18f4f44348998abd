"""Main-text quality of ``extract`` on the real-page fixture sets (quality only, no timing).

Targets: F1 >= 0.90 on the trafilatura evaluation snippets and >= 0.94 token F1 (micro) on the
scrapinghub article-extraction benchmark; the metric code is shared with
``bench/extraction_quality.py``.
"""

from __future__ import annotations

import sys

import pytest

from conftest import REPO_ROOT, fixture_path

sys.path.insert(0, str(REPO_ROOT / "bench"))

from extraction_metrics import (  # noqa: E402
    SCRAPINGHUB_DIR,
    TRAFILATURA_DIR,
    extract_all,
    load_article_pages,
    load_snippet_pages,
    snippet_scores,
    token_scores,
)

from webweave.filters.extraction import extract  # noqa: E402


def _text(html: bytes, url: str) -> str:
    return extract(html, url).joined_text()


def test_trafilatura_set_f1():
    fixture_path(f"{TRAFILATURA_DIR}/evaldata_cache.json")
    pages = load_snippet_pages(fixture_path("."))
    assert len(pages) >= 100
    scores = snippet_scores(pages, extract_all(_text, [(p.html, p.url) for p in pages]))
    assert scores.f1 >= 0.90, scores


def test_scrapinghub_set_f1():
    fixture_path(f"{SCRAPINGHUB_DIR}/ground-truth-part1.json")
    pages = load_article_pages(fixture_path("."))
    assert len(pages) >= 90
    micro, macro = token_scores(pages, extract_all(_text, [(p.html, p.url) for p in pages]))
    assert micro.f1 >= 0.94, (micro, macro)


@pytest.mark.parametrize("loader", [load_snippet_pages, load_article_pages])
def test_every_fixture_page_extracts_cleanly(loader):
    """No fixture page raises, and every result keeps the interleaving invariant."""
    for page in loader(fixture_path(".")):
        document = extract(page.html, page.url)
        document.check_interleaving()
        assert all(text for text in document.texts if text is not None)

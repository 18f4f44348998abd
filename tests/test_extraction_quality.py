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
    load_split,
    pages_of_half,
    snippet_scores,
    split_by_hash,
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


def test_split_is_the_seeded_hash_of_every_fixture_page():
    """``bench/extraction_split.json`` is what ``split_by_hash`` gives for the fixture pages:
    nobody moved a page between the halves by hand, and no page is in neither half."""
    root = fixture_path(".")
    split = load_split()
    for name, pages in (
        ("trafilatura", load_snippet_pages(root)),
        ("scrapinghub", load_article_pages(root)),
    ):
        ids = split[name]
        assert ids == split_by_hash(page.page_id for page in pages)
        assert not set(ids["tuning"]) & set(ids["validation"])
        assert len(pages_of_half(pages, ids, "validation")) == len(ids["validation"])

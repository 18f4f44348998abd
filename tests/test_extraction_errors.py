"""The error kinds of ``bench/extraction_errors.py`` on pages built here, one kind at a time."""

from __future__ import annotations

import sys
from collections import Counter

from conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "bench"))

from extraction_errors import (  # noqa: E402
    article_page_errors,
    snippet_page_errors,
    tally_errors,
    visible_text,
)
from extraction_metrics import ArticlePage, SnippetPage  # noqa: E402

A, B, C, D = "Alpha opens it", "Bravo goes on", "Charlie goes on", "Delta closes it"
PAGE_TEXT = f"Menu {A} some text {B} more {C} and {D} Footer"
SNIPPETS = SnippetPage("p", "http://x.org", b"", (A, B, C, D), ("Menu", "Footer"))


def test_snippets_missing_at_either_end_are_truncated():
    kinds = snippet_page_errors(SNIPPETS, f"{B} {C} Menu", PAGE_TEXT)
    assert kinds == Counter({"truncated": 2, "boilerplate kept": 1})


def test_snippet_missing_between_found_ones_is_lost():
    assert snippet_page_errors(SNIPPETS, f"{A} {C} {D}", PAGE_TEXT) == Counter(
        {"main text lost": 1}
    )


def test_empty_extraction_loses_everything():
    assert snippet_page_errors(SNIPPETS, "", PAGE_TEXT) == Counter({"main text lost": 4})


def test_boilerplate_instead_of_the_text_is_a_wrong_block():
    """Fewer than half the snippets, more boilerplate snippets than text ones: every missing
    and every extra snippet counts as the wrong block, and nothing else."""
    kinds = snippet_page_errors(SNIPPETS, f"Menu Footer {A}", PAGE_TEXT)
    assert kinds == Counter({"wrong block": 3 + 2})


GOLD = "one two three four\n\nfive six seven\neight nine ten eleven twelve"


def article(gold: str = GOLD) -> ArticlePage:
    return ArticlePage("a", "http://x.org", b"", gold)


def test_article_tokens_by_kind():
    page_text = "nav " + GOLD.replace("\n", " ") + " footer"
    # last paragraph missing (5 tokens, truncated); 2 tokens of boilerplate
    kinds = article_page_errors(
        article(), "nav one two three four five six seven footer", page_text
    )
    assert kinds == Counter({"truncated": 5, "boilerplate kept": 2})
    # middle paragraph missing: lost inside the text
    kinds = article_page_errors(
        article(), "one two three four eight nine ten eleven twelve", page_text
    )
    assert kinds == Counter({"main text lost": 3})
    # mostly something else: a wrong block
    kinds = article_page_errors(article(), "nav footer menu login one two", page_text)
    assert kinds == Counter({"wrong block": 12 - 2 + 4})


def test_tally_counts_pages_once_per_kind():
    texts = [f"{B} {C}", f"{A} {D}", f"{C} {D}"]
    tally = tally_errors([SNIPPETS] * 3, texts, [PAGE_TEXT] * 3)
    assert tally.units == Counter({"truncated": 2 + 2, "main text lost": 2})
    assert tally.pages == Counter({"truncated": 2, "main text lost": 1})
    assert sorted(tally.by_page) == ["p"]  # one id: the same page three times


def test_visible_text_leaves_out_scripts():
    html = b"<html><body><p>Hello <b>you</b></p><script>var x;</script></body></html>"
    assert visible_text(html) == "Hello you"

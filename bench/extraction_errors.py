"""Extraction errors by kind, so the next change aims at the biggest one.

The gold main text of a page is cut into units: the ``with`` snippets of a trafilatura page
(counted one each) and the paragraphs (lines) of a scrapinghub gold body (counted by their
whitespace tokens). A unit is *found* when the extraction holds it: a snippet as a substring
(whitespace collapsed, as ``snippet_scores``); a paragraph when at least half of its word
trigrams occur in the extraction (its whole text for paragraphs under three words), which
tolerates the small differences in punctuation and spacing between extractors.

Units are put in page order (their position in the page's visible text; a unit not found there
keeps its gold order after the located ones). Each page's errors fall into four kinds:

* **wrong block**: the extraction is not empty, holds less than half of the main text, and holds
  more that is not main text than main text (trafilatura set: fewer than half the ``with``
  snippets found and more ``without`` snippets found than ``with`` ones; scrapinghub set: token
  precision and recall both under 0.5). All of that page's missing and extra units count here,
  and under no other kind.
* **truncated**: missing units that form a run at the start or at the end of the main text in
  page order while a unit on the other side of the run was found: the extraction began late or
  stopped early.
* **main text lost**: every other missing unit (a gap inside the main text, or all of it when
  the extraction found none).
* **boilerplate kept**: text that is not main text on a page that is not a wrong block: each
  ``without`` snippet found (trafilatura set), each extracted token beyond the bag-of-words
  overlap with the gold body (scrapinghub set).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from extraction_metrics import ArticlePage, SnippetPage
from selectolax.lexbor import LexborHTMLParser

KINDS = ("boilerplate kept", "main text lost", "truncated", "wrong block")
_HIDDEN_TEXT = ["script", "style", "noscript", "template"]


@dataclass
class ErrorTally:
    """Error units and pages per kind over a set of pages (a page counts once per kind)."""

    units: Counter = field(default_factory=Counter)
    pages: Counter = field(default_factory=Counter)
    by_page: dict[str, Counter] = field(default_factory=dict)

    def add(self, page_id: str, kinds: Counter) -> None:
        kinds = +kinds
        if kinds:
            self.by_page[page_id] = kinds
        self.units.update(kinds)
        self.pages.update(kinds.keys())


def _squash(text: str) -> str:
    return " ".join(text.split())


def visible_text(html: str | bytes) -> str:
    """The page's body text without scripts and styles, whitespace collapsed."""
    tree = LexborHTMLParser(html)
    tree.strip_tags(_HIDDEN_TEXT)
    body = tree.body
    return _squash(body.text(separator=" ")) if body is not None else ""


def _page_order(units: list[str], page_text: str) -> list[int]:
    """Indices of ``units`` sorted by where each first occurs in the page (unlocated ones
    last, in gold order)."""
    positions = []
    for index, unit in enumerate(units):
        where = page_text.find(unit)
        positions.append((where if where >= 0 else len(page_text) + index, index))
    return [index for _, index in sorted(positions)]


def _missing_kinds(found_in_order: list[bool], weights: list[int]) -> Counter:
    """Missing units split into ``truncated`` (an edge run with a found unit beyond it) and
    ``main text lost`` (the rest), weighted."""
    kinds: Counter = Counter()
    if not any(found_in_order):
        kinds["main text lost"] += sum(weights)
        return kinds
    first = found_in_order.index(True)
    last = len(found_in_order) - 1 - found_in_order[::-1].index(True)
    for position, (found, weight) in enumerate(zip(found_in_order, weights, strict=True)):
        if found:
            continue
        kind = "truncated" if position < first or position > last else "main text lost"
        kinds[kind] += weight
    return kinds


def snippet_page_errors(page: SnippetPage, text: str, page_text: str) -> Counter:
    """Error kinds of one trafilatura-set page, in snippets."""
    flat = _squash(text)
    withs = [_squash(s) for s in page.with_snippets]
    found = [s in flat for s in withs]
    kept_boilerplate = sum(1 for s in page.without_snippets if _squash(s) in flat)
    found_count = sum(found)
    if flat and found_count * 2 < len(withs) and kept_boilerplate > found_count:
        return Counter({"wrong block": len(withs) - found_count + kept_boilerplate})
    order = _page_order(withs, page_text)
    kinds = _missing_kinds([found[i] for i in order], [1] * len(order))
    kinds["boilerplate kept"] += kept_boilerplate
    return kinds


def _trigrams(words: list[str]) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def _paragraph_found(paragraph: str, flat: str, grams: set) -> bool:
    words = paragraph.split()
    if len(words) < 3:
        return paragraph in flat
    own = _trigrams(words)
    return len(own & grams) * 2 >= len(own)


def article_page_errors(page: ArticlePage, text: str, page_text: str) -> Counter:
    """Error kinds of one scrapinghub-set page, in whitespace tokens."""
    predicted, gold = Counter(text.split()), Counter(page.gold.split())
    overlap = sum((predicted & gold).values())
    n_predicted, n_gold = sum(predicted.values()), sum(gold.values())
    extra = n_predicted - overlap
    if n_predicted and overlap * 2 < n_gold and overlap * 2 < n_predicted:
        return Counter({"wrong block": n_gold - overlap + extra})
    paragraphs = [_squash(line) for line in page.gold.splitlines() if line.strip()]
    flat = _squash(text)
    grams = _trigrams(flat.split())
    order = _page_order(paragraphs, page_text)
    found = [_paragraph_found(paragraphs[i], flat, grams) for i in order]
    kinds = _missing_kinds(found, [len(paragraphs[i].split()) for i in order])
    kinds["boilerplate kept"] += extra
    return kinds


def tally_errors(pages: list, texts: list[str], page_texts: list[str]) -> ErrorTally:
    """Errors by kind over pages of one set (snippet or article pages)."""
    tally = ErrorTally()
    for page, text, page_text in zip(pages, texts, page_texts, strict=True):
        if isinstance(page, SnippetPage):
            kinds = snippet_page_errors(page, text or "", page_text)
        else:
            kinds = article_page_errors(page, text or "", page_text)
        tally.add(page.page_id, kinds)
    return tally

"""The work of ``extract`` grows linearly with page size and with nesting depth (issue #16).

Counted, not timed: the lines of webweave's ``filters`` modules that run while one generated
page is extracted (``sys.settrace``), for a page and one twice as large, or twice as deep.
Linear work doubles (a little less: the fixed cost per page stays); anything that climbs the
ancestors of every element, or rescans what it has seen, grows four times. Each level of the
deep page holds what such climbs used to trip on: a ``<header>`` outside any ``<article>``,
a ``<figcaption>`` outside any ``<figure>``, a captioned figure, a comment box, a script.

What runs inside lexbor's C code (``text(deep=True)`` of a container, CSS queries) is not
counted here; ``boilerplate.remove`` measures each character once by construction.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import webweave.filters
from webweave.filters.extraction import extract

URL = "http://example.org/a"
FILTERS_DIR = str(Path(webweave.filters.__file__).resolve().parent)
MAX_GROWTH = 2.1  # work(2n) / work(n) for linear work, with slack for rounding


def executed_lines(html: str) -> int:
    """Lines of ``webweave.filters`` code that run while ``html`` is extracted."""
    count = 0

    def count_lines(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1
        return count_lines

    ours: dict[str, bool] = {}  # code file -> inside webweave.filters (symlinks resolved)

    def enter(frame, event, arg):
        name = frame.f_code.co_filename
        if name not in ours:
            ours[name] = os.path.realpath(name).startswith(FILTERS_DIR)
        return count_lines if ours[name] else None

    sys.settrace(enter)
    try:
        extract(html, URL)
    finally:
        sys.settrace(None)
    return count


def level(index: int, inner: str = "") -> str:
    """One section of a generated page: prose with links, headings, images, boilerplate."""
    return (
        f"<div class='section-{index}'><header><b>Section {index} header</b></header>"
        f"<h2>Heading {index}</h2><p>Paragraph {index} is prose with <a href='/l{index}'>a link"
        f"</a> and some more words, long enough to count as text.</p>"
        f"<figure><a href='/i{index}'><img src='/img/{index}.jpg'></a>"
        f"<figcaption>Caption {index}</figcaption></figure><figcaption>Loose {index}</figcaption>"
        f"<div class='comments'><p>Comment {index} on the section.</p></div>"
        f"<ul><li><a href='/m{index}'>Menu {index}</a></li></ul>{inner}"
        f"<script>var s{index} = 1;</script></div>"
    )


def wide_page(sections: int) -> str:
    return "<html><body>" + "".join(level(i) for i in range(sections)) + "</body></html>"


def deep_page(depth: int) -> str:
    inner = ""
    for index in range(depth):
        inner = level(index, inner)
    return "<html><body>" + inner + "</body></html>"


@pytest.mark.parametrize(("make", "size"), [(wide_page, 400), (deep_page, 110)])
def test_work_grows_linearly(make, size):
    small, large = executed_lines(make(size)), executed_lines(make(2 * size))
    assert small > 10 * size  # the walk really ran over every section
    assert large <= MAX_GROWTH * small, (small, large)


def test_deep_page_extracts_every_level():
    """The deep page is real content, not refused: every level's paragraph comes out."""
    doc = extract(deep_page(110), URL)
    paragraphs = [t for t in doc.texts if t and t.startswith("Paragraph")]
    assert len(paragraphs) == 110

"""The general content rules of ``extraction`` (issue #16), each on a small page built here,
and the nesting pre-scan that guards the parser."""

from __future__ import annotations

import pytest

from webweave.filters.boilerplate import NAME_CACHE, NOT_BOILERPLATE, STRONG, WEAK, name_strength
from webweave.filters.extraction import DomTooDeep, ExtractionOptions, extract, normal_text

URL = "http://example.org/wiki/Bridge"
P1 = "The council met on Tuesday, and the vote on the new bridge passed by a wide margin."
P2 = "Residents said the bridge, first proposed in 1998, would cut their commute in half."
P3 = "Construction starts next spring, the mayor said, and should take about two years."


def page(body: str, head: str = "") -> str:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def article(*parts: str) -> str:
    inner = f"<h1>Bridge vote</h1><p>{P1}</p>{''.join(parts)}<p>{P2}</p><p>{P3}</p>"
    return page(f"<nav><a href='/'>Home</a> <a href='/n'>News</a></nav><article>{inner}</article>")


def texts(html: str) -> list[str]:
    return [t for t in extract(html, URL).texts if t is not None]


# An encyclopedia-style sentence: 6 links, 59 of 145 characters inside links (41%): the old
# cost of 3 per link character made it negative, and it is not mostly links.
LINKED = (
    "Escopete is a <a href='/m'>municipality</a> of the <a href='/p'>province of Guadalajara</a>"
    " in Castile-La Mancha, <a href='/s'>Spain</a>, in the <a href='/a'>Alcarria"
    "</a> comarca, near the <a href='/t'>Tajo</a> and the <a href='/h'>Henares</a> rivers."
)
LINKED_TEXT = (
    "Escopete is a municipality of the province of Guadalajara in Castile-La Mancha, Spain, in "
    "the Alcarria comarca, near the Tajo and the Henares rivers."
)


MENU = "".join(f"<li><a href='/s{n}'>Section number {n}</a></li>" for n in range(6))


def test_linked_prose_counts_as_prose():
    """Two paragraphs of link-dense prose are the content, not the short plain line above the
    menu: the links are words of the sentences."""
    html = page(
        f"<div><p>Short plain line of the site header.</p></div><ul>{MENU}</ul>"
        f"<div id='content'><h1>Escopete</h1><p>{LINKED}</p><p>{LINKED}</p></div>"
    )
    assert texts(html) == ["Escopete", LINKED_TEXT, LINKED_TEXT]


def test_menu_with_plain_separators_is_not_linked_prose():
    """Long enough, but no phrase of plain text between its links: a menu bar stays out."""
    bar = " | ".join(f"<a href='/s{n}'>Section number {n}</a>" for n in range(8))
    html = article().replace("</article>", f"</article><p>{bar}</p>")
    assert texts(html) == ["Bridge vote", P1, P2, P3]


def test_cross_reference_inside_content_dropped():
    """'Read more: <link>' points to another page; a lone link without a label is kept."""
    reference = "<p>Read more: <a href='/s/9'>Bridges of the region and their history</a></p>"
    assert texts(article(reference)) == ["Bridge vote", P1, P2, P3]
    lone = "<p><a href='/s/9'>Bridges of the region and their history</a></p>"
    assert "Bridges of the region and their history" in texts(article(lone))


def test_copyright_line_dropped_even_inside_the_content():
    notice = "<p>© 2024 Town News Media Group. All rights reserved.</p>"
    assert texts(article(notice)) == ["Bridge vote", P1, P2, P3]
    cited = f"<p>The photo (© Jane Doe) shows the old bridge. {P1} {P2}</p>"
    assert f"The photo (© Jane Doe) shows the old bridge. {P1} {P2}" in texts(article(cited))


def test_text_title_and_captions_are_nfc():
    decomposed = "Bru\u0308cke u\u0308ber den Fluss"  # "Brücke über den Fluss", combining marks
    figure = f"<figure><img src='/b.jpg'><figcaption>{decomposed}</figcaption></figure>"
    doc = extract(
        article(f"<p>{decomposed}, gebaut 1998.</p>", figure).replace(
            "<head>", f"<head><title>{decomposed}</title>"
        ),
        URL,
    )
    assert doc.title == "Brücke über den Fluss"
    assert "Brücke über den Fluss, gebaut 1998." in doc.texts
    assert [m.caption for m in doc.image_metadata if m] == ["Brücke über den Fluss"]
    assert normal_text(" a\xadb \u200b c\u0301 ") == "ab \u0107"


def test_caption_of_nearest_captioned_figure():
    """An image takes its own figure's caption; a figure nested deeper than the climb limit
    from its image is not searched."""
    inner = "<figure><img src='/in.jpg'><figcaption>Inner caption</figcaption></figure>"
    outer = f"<figure><img src='/out.jpg'>{inner}<figcaption>Outer caption</figcaption></figure>"
    far = "<figure>" + "<div>" * 8 + "<img src='/far.jpg'>" + "</div>" * 8
    far += "<figcaption>Far caption</figcaption></figure>"
    doc = extract(article(outer, far), URL)
    captions = {m.original_src: m.caption for m in doc.image_metadata if m}
    assert captions == {"/out.jpg": "Outer caption", "/in.jpg": "Inner caption", "/far.jpg": None}


# --- the nesting pre-scan -----------------------------------------------------------------


def test_prescan_refuses_a_deep_run_of_opening_tags():
    """3,000 nested <div>s, with <br> and unclosed <a> (each closes the one before) between
    them: over the 2,048-tag run the pre-scan allows (4 x max_dom_depth), so the page is
    refused before parsing."""
    html = page("<div>x<br><a href='/'>y" * 3000 + "<p>filler text</p>" * 20000)
    with pytest.raises(DomTooDeep, match="nested opening tags in a row"):
        extract(html, URL)


@pytest.mark.parametrize("tag", ["p", "li", "td", "option", "dd"])
def test_prescan_passes_long_runs_of_self_closing_tags(tag):
    """Old pages leave <p>, <li>, <td>... unclosed; the next one closes them, so a run of 25,000
    does not nest and the page extracts."""
    html = page(f"<{tag}>item text " * 25_000)
    assert extract(html, URL).texts  # parsed and extracted, not refused


def test_prescan_limit_follows_max_dom_depth():
    html = page("<div>x" * 2500 + "</div>" * 2500 + "<p>filler text</p>" * 20000)
    with pytest.raises(DomTooDeep):
        extract(html, URL)
    roomy = ExtractionOptions.default().replace(max_dom_depth=3000)
    assert extract(html, URL, options=roomy).texts


# --- class and id names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "strength"),
    [
        ("comment-list", STRONG),
        ("commentsArea", STRONG),  # substring, any case
        ("share-buttons top", STRONG),
        ("yarpp-related", STRONG),
        ("sidebar-left", WEAK),
        ("menu-item menu-item-4711", WEAK),  # the token "menu"
        ("mainNav", WEAK),  # camelCase token "Nav"
        ("x-ad", WEAK),
        ("site-header", WEAK),
        ("dropDown", NOT_BOILERPLATE),  # tokens "drop", "Down": not the word "dropdown"
        ("loadMore", NOT_BOILERPLATE),  # "ad" inside "load" is no token
        ("post-1234 col-md-6", NOT_BOILERPLATE),
        ("article-body", NOT_BOILERPLATE),
    ],
)
def test_name_strength(name, strength):
    NAME_CACHE.clear()
    assert name_strength(name) == strength
    assert name_strength(name) == strength  # the cached answer


def test_generated_names_share_one_classification():
    NAME_CACHE.clear()
    assert name_strength("menu-item-4711") == name_strength("menu-item-815") == WEAK
    assert NAME_CACHE["menu-item-0000"] == WEAK  # classified once, by shape

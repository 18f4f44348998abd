"""Unit tests of ``webweave.filters.extraction`` on small pages built here."""

from __future__ import annotations

import time

import pytest

from webweave.filters.document import ImageCandidate, ImageMetadata
from webweave.filters.extraction import (
    DomTooDeep,
    ExtractionOptions,
    ExtractionTimeout,
    PageTooLarge,
    extract,
)
from webweave.filters.image_sources import largest_candidate, parse_size, parse_srcset
from webweave.pipelines.config import default_config

URL = "http://example.org/news/story.html"
P1 = "The council met on Tuesday, and the vote on the new bridge passed by a wide margin."
P2 = "Residents said the bridge, first proposed in 1998, would cut their commute in half."
P3 = "Construction starts next spring, the mayor said, and should take about two years."


def page(body: str, head: str = "") -> str:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def article(*parts: str, head: str = "", outside: str = "") -> str:
    """A page whose main content is an <article> with real paragraphs around ``parts``."""
    inner = f"<h1>Bridge vote</h1><p>{P1}</p>{''.join(parts)}<p>{P2}</p><p>{P3}</p>"
    return page(f"{outside}<article>{inner}</article>", head)


def texts(doc) -> list[str]:
    return [t for t in doc.texts if t is not None]


# --- text ----------------------------------------------------------------------------------


def test_title_and_paragraphs_in_order():
    doc = extract(article(head="<title>  Bridge   vote | Town News </title>"), URL)
    assert doc.title == "Bridge vote | Town News"
    assert doc.texts == ["Bridge vote", P1, P2, P3]
    doc.check_interleaving()


def test_whitespace_normalised_and_inline_tags_merged():
    html = article("<p>  A <b>bold</b>\n\n  <em>claim</em>,&nbsp;made <span>in</span>line. </p>")
    assert "A bold claim, made inline." in extract(html, URL).texts


def test_scripts_styles_nav_footer_forms_dropped():
    html = (
        article(
            "<script>var x = 'script text';</script><style>p { color: red }</style>",
            "<noscript>Enable JavaScript please</noscript><template>template text</template>",
            "<svg><text>svg text</text></svg><form>Search the site <input></form>",
            outside="<nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
            "<div class='cookie-banner'>We use cookies to improve your experience.</div>",
        )
        + "<footer>Copyright 2024 Town News, all rights reserved, imprint and contact.</footer>"
    )
    doc = extract(html, URL)
    assert texts(doc) == ["Bridge vote", P1, P2, P3]


def test_comment_section_dropped():
    comments = (
        "<div id='comments'><p>Great article, thanks a lot for writing it up, well done!</p>"
        "<p>I disagree with the mayor, the bridge is a waste of money for this town.</p></div>"
    )
    doc = extract(article(comments), URL)
    assert texts(doc) == ["Bridge vote", P1, P2, P3]


def test_lists_and_tables_kept():
    parts = (
        "<ul><li>First item of the list</li><li>Second <b>item</b></li></ul>",
        "<table><tr><th>Year</th><th>Cost</th></tr><tr><td>1998</td><td>$2m</td></tr></table>",
    )
    doc = extract(article(*parts), URL)
    assert texts(doc) == [
        "Bridge vote",
        P1,
        "First item of the list",
        "Second item",
        "Year Cost",
        "1998 $2m",
        P2,
        P3,
    ]


def test_lists_and_tables_can_be_dropped():
    parts = ("<ul><li>First item of the list</li></ul>", "<table><tr><td>1998</td></tr></table>")
    options = ExtractionOptions.default().replace(keep_lists=False, keep_tables=False)
    assert texts(extract(article(*parts), URL, options=options)) == ["Bridge vote", P1, P2, P3]


def test_link_lists_inside_content_dropped():
    tags = "<p><a href='/t/a'>bridges</a>, <a href='/t/b'>council</a>, <a href='/t/c'>vote</a></p>"
    assert texts(extract(article(tags), URL)) == ["Bridge vote", P1, P2, P3]


def test_soft_hyphens_removed():
    assert "Construction" in extract(article("<p>Con\xadstruc\xadtion</p>"), URL).texts


def test_no_empty_strings_and_empty_page():
    doc = extract(page("<div> </div><p>\n</p>"), URL)
    assert doc.texts == [] and doc.images == [] and doc.title is None
    assert all(t for t in extract(article("<p> </p><div>\t</div>"), URL).texts if t is not None)


# --- images --------------------------------------------------------------------------------


def test_reading_order_of_text_and_images():
    doc = extract(article('<img src="/a.jpg" alt=" A  bridge ">', "<p>Between.</p>"), URL)
    assert doc.texts == ["Bridge vote", P1, None, "Between.", P2, P3]
    assert doc.images == [None, None, "http://example.org/a.jpg", None, None, None]
    assert doc.image_metadata[2] == ImageMetadata(
        original_src="/a.jpg",
        source_attribute="src",
        alt_text="A bridge",
        candidates=[ImageCandidate("http://example.org/a.jpg", "/a.jpg", "src")],
    )
    doc.check_interleaving()


def test_srcset_largest_candidate():
    img = '<img src="small.jpg" srcset="a-480.jpg 480w, a-1080.jpg 1080w, a-800.jpg 800w">'
    doc = extract(article(img), URL)
    assert doc.images[2] == "http://example.org/news/a-1080.jpg"
    assert doc.image_metadata[2].original_src == "a-1080.jpg"
    assert doc.image_metadata[2].source_attribute == "srcset"


def test_srcset_density_descriptors_and_commas_in_urls():
    assert largest_candidate("a.jpg, b.jpg 2x, c.jpg 1.5x") == "b.jpg"
    assert parse_srcset("/c/w_300,h_200/x.jpg 300w, /c/w_600,h_400/x.jpg 600w") == [
        ("/c/w_300,h_200/x.jpg", "300w"),
        ("/c/w_600,h_400/x.jpg", "600w"),
    ]
    assert largest_candidate("/c/w_300,h_200/x.jpg 300w, /c/w_600,h_400/x.jpg 600w") == (
        "/c/w_600,h_400/x.jpg"
    )


def test_picture_source_srcset():
    picture = (
        '<picture><source type="image/webp" srcset="/p-400.webp 400w, /p-1600.webp 1600w">'
        '<img src="/p-fallback.jpg"></picture>'
    )
    doc = extract(article(picture), URL)
    assert doc.images[2] == "http://example.org/p-1600.webp"
    assert doc.image_metadata[2].source_attribute == "srcset"


def test_base_href_and_protocol_relative_urls():
    head = '<base href="/static/">'
    parts = ('<img src="img/a.png">', '<img src="//cdn.example.net/b.png">')
    doc = extract(article(*parts, head=head), URL)
    assert [i for i in doc.images if i] == [
        "http://example.org/static/img/a.png",
        "http://cdn.example.net/b.png",
    ]
    https_doc = extract(article(parts[1]), "https://example.org/x")
    assert [i for i in https_doc.images if i] == ["https://cdn.example.net/b.png"]


def test_lazy_images_with_placeholder_src():
    parts = (
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/lazy/a.jpg">',
        '<img src="/img/blank.gif" data-lazy-src="/lazy/b.jpg">',
        '<img data-srcset="/lazy/c-1.jpg 1x, /lazy/c-2.jpg 2x">',
        '<img src="/real.jpg" data-src="/lazy/ignored.jpg">',
    )
    doc = extract(article(*parts), URL)
    assert [i for i in doc.images if i] == [
        "http://example.org/lazy/a.jpg",
        "http://example.org/lazy/b.jpg",
        "http://example.org/lazy/c-2.jpg",
        "http://example.org/real.jpg",
    ]
    attributes = [m.source_attribute for m in doc.image_metadata if m]
    assert attributes == ["data-src", "data-lazy-src", "data-srcset", "src"]
    assert not doc.dropped_images


def test_dropped_images_counted_with_reasons():
    parts = (
        '<img src="data:image/png;base64,iVBORw0KGgo=">',
        '<img src="/pixel.php?id=1" width="1" height="1">',
        '<img src="javascript:alert(1)">',
        '<img src="ftp://example.org/a.png">',
        '<img src="http://[bad-host/a.png">',
        '<img src="/a.png">',
        '<img src="http://example.org/a.png">',
    )
    doc = extract(article(*parts), URL)
    assert [i for i in doc.images if i] == ["http://example.org/a.png"]
    assert doc.dropped_images == {
        "data_uri": 1,
        "tracking_pixel": 1,
        "unsupported_scheme": 2,
        "invalid_url": 1,
        "duplicate_in_document": 1,
    }


def test_too_many_images():
    parts = [f'<img src="/i/{n}.png">' for n in range(5)]
    doc = extract(
        article(*parts), URL, options=ExtractionOptions.default().replace(max_images_per_document=2)
    )
    assert doc.num_images == 2
    assert doc.dropped_images == {"too_many_images": 3}


def test_images_in_boilerplate_are_counted():
    outside = "<nav><img src='/logo.png'><a href='/'>Home</a></nav>"
    html = article("<p><img src='/in.png'></p>", outside=outside) + (
        "<footer><img src='/f1.png'><img src='/f2.png'></footer><img alt='no source'>"
    )
    doc = extract(html, URL)
    assert [i for i in doc.images if i] == ["http://example.org/in.png"]
    assert doc.dropped_images == {"in_boilerplate": 3}


def test_every_sourced_image_is_placed_or_counted():
    imgs = [
        '<img src="/a.png">',
        '<img src="/a.png">',
        '<img src="data:,x">',
        '<img src="mailto:x@example.org">',
        '<img src="/t.gif" width="2" height="2">',
    ]
    html = article(*imgs, outside="<aside>" + "".join(imgs) + "</aside>")
    doc = extract(html, URL, options=ExtractionOptions.default().replace(max_images_per_document=1))
    assert doc.num_images + sum(doc.dropped_images.values()) == 10


def test_width_and_height_attributes_parsed_leniently():
    parts = ('<img src="/a.png" width="300px" height=" 200 ">', '<img src="/b.png" width="100%">')
    doc = extract(article(*parts), URL)
    sizes = [(m.width_attr, m.height_attr) for m in doc.image_metadata if m]
    assert sizes == [(300, 200), (None, None)]
    assert [parse_size(v) for v in ("40", "40.5", "40 px", "auto", "", None, "-3")] == [
        40,
        40,
        40,
        None,
        None,
        None,
        None,
    ]


# --- bytes and charsets --------------------------------------------------------------------


def test_bytes_with_meta_charset():
    html = article("<p>Caf\xe9 cr\xe8me \u20ac5</p>", head='<meta charset="windows-1252">')
    doc = extract(html.encode("cp1252"), URL)
    assert "Café crème €5" in doc.texts


def test_bytes_utf8():
    html = article("<p>日本語のテキスト、そして Ünïcödé</p>", head="<title>Ünï</title>")
    doc = extract(html.encode("utf-8"), URL)
    assert doc.title == "Ünï"
    assert "日本語のテキスト、そして Ünïcödé" in doc.texts


# --- options and limits --------------------------------------------------------------------


def test_options_from_config_match_defaults():
    assert default_config().extraction == ExtractionOptions.default()
    assert ExtractionOptions.default().max_dom_depth == 512
    with pytest.raises(ValueError, match="unknown config key 'extraction.max_html_char'"):
        ExtractionOptions.parse({**ExtractionOptions.default().to_dict(), "max_html_char": 5})


def test_page_too_large():
    with pytest.raises(PageTooLarge) as error:
        extract(
            "<p>" + "x" * 200, URL, options=ExtractionOptions.default().replace(max_html_chars=100)
        )
    assert error.value.kind == "page_too_large"


def test_100k_nested_divs_fail_fast():
    html = page("<div>" * 100_000 + "deep" + "</div>" * 100_000)
    start = time.perf_counter()
    with pytest.raises(DomTooDeep) as error:
        extract(html, URL)
    assert error.value.kind == "dom_too_deep"
    assert time.perf_counter() - start < 5


def test_dom_depth_limit_after_parse():
    html = page("<div>" * 600 + "deep" + "</div>" * 600)
    with pytest.raises(DomTooDeep):
        extract(html, URL)
    assert extract(
        html, URL, options=ExtractionOptions.default().replace(max_dom_depth=1000)
    ).texts == ["deep"]


def test_tiny_time_budget():
    html = article(*[f"<p>Paragraph number {n} of a long page.</p>" for n in range(2000)])
    with pytest.raises(ExtractionTimeout) as error:
        extract(html, URL, options=ExtractionOptions.default().replace(time_budget_seconds=1e-9))
    assert error.value.kind == "extraction_timeout"


def test_a_million_images_end_bounded():
    html = page('<img src="/i.png">' * 1_000_000)
    options = ExtractionOptions.default().replace(max_html_chars=50_000_000)
    start = time.perf_counter()
    try:
        doc = extract(html, URL, options=options)
    except ExtractionTimeout:
        pass
    else:
        assert doc.num_images <= options.max_images_per_document
    assert time.perf_counter() - start < 30


def test_figcaption_becomes_image_caption_not_text():
    figure = (
        "<figure><img src='/bridge.jpg' alt='bridge'><img src='/plan.png'>"
        "<figcaption>The  new bridge, <b>seen</b> from the east bank.</figcaption></figure>"
    )
    doc = extract(article(figure, "<img src='/other.jpg'>"), URL)
    assert texts(doc) == ["Bridge vote", P1, P2, P3]
    captions = {m.original_src: m.caption for m in doc.image_metadata if m}
    assert captions == {
        "/bridge.jpg": "The new bridge, seen from the east bank.",
        "/plan.png": "The new bridge, seen from the east bank.",
        "/other.jpg": None,
    }
    assert doc.image_metadata[2].to_row()["caption"] == "The new bridge, seen from the east bank."


def test_article_split_over_sibling_sections_stays_whole():
    sections = "".join(
        f"<section class='story-part'><h2>Part {n}</h2><p>{text}</p></section>"
        for n, text in enumerate((P1, P2, P3), start=1)
    )
    teasers = "".join(f"<li><a href='/s/{n}'>Another story number {n}</a></li>" for n in range(8))
    html = page(f"<div class='wrap'>{sections}<ul class='more'>{teasers}</ul></div>")
    assert texts(extract(html, URL)) == ["Part 1", P1, "Part 2", P2, "Part 3", P3]


def test_lone_link_paragraph_inside_content_kept():
    link = "<p><a href='/report.pdf'>Read the full report of the bridge commission</a></p>"
    assert texts(extract(article(link), URL)) == [
        "Bridge vote",
        P1,
        "Read the full report of the bridge commission",
        P2,
        P3,
    ]

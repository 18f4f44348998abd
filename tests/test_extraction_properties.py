"""Property-based tests (issue #6): random HTML and random byte damage to real records.

* extraction on generated HTML (nesting, entities, scripts, images, malformed tags) never
  raises anything but its own ``StageError`` kinds, ends within its time budget plus slack,
  keeps the interleaving invariant, and every generated ``<img>`` with a valid http(s) URL is
  either placed or counted in ``dropped_images``;
* the reader on real records with random damage never raises, never loops, keeps every
  undamaged record at its offset, and the stages after it fail only with ``StageError``.

Examples are derandomized so CI is reproducible; hypothesis still shrinks a failure.
"""

from __future__ import annotations

import functools
import gzip
import io
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_warc_source import members_of

from webweave.filters.decision import Drop, StageError
from webweave.filters.decoding import PageDecoder
from webweave.filters.extraction import ExtractionOptions, extract
from webweave.filters.extraction_stage import DocumentBuilder, DocumentRow
from webweave.filters.record_selection import RecordSelector
from webweave.pipelines.config import default_config
from webweave.pipelines.warc_source import WarcReadError, WarcRecord, iter_warc_records

OPTIONS = ExtractionOptions.default().replace(time_budget_seconds=1.0)
SLACK = 2.0
PROPERTY = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,  # derandomized: nothing to replay, and nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- generated HTML -------------------------------------------------------------------------

WORDS = st.sampled_from(
    "the quick brown fox jumps over a lazy dog, and then Москва 東京 café naïve — "
    "résumé 1,000 items; (see below) “quoted” text".split()
)
ENTITIES = st.sampled_from(
    ["&amp;", "&lt;", "&gt;", "&nbsp;", "&#x41;", "&#169;", "&bogus;", "&#99999999;", "&", "&#;"]
)
MALFORMED = st.sampled_from(
    [
        "</div>",
        "</p>",
        "<p>",
        "<b><i>x</b></i>",
        "<foo-bar>",
        "</span></span>",
        "a < b",
        "<>",
        "<!---->",
        "<!-- unclosed comment -->",
        "<br/>",
        "</br>",
        "<p <",
        "<<div>>",
        "<div/>",
        "<table><tr>cell</tr></table>",
        "<a href='http://x.example/'>link</a>",
    ]
)
BLOCKS = st.sampled_from(
    [
        "div",
        "p",
        "section",
        "article",
        "main",
        "ul",
        "li",
        "td",
        "span",
        "a",
        "h1",
        "h2",
        "blockquote",
        "figure",
        "header",
        "footer",
        "nav",
        "aside",
        "table",
        "tr",
    ]
)
CLASSES = st.sampled_from(["", " class='content'", " class='sidebar'", " id='main'"])
URLS = st.builds(
    "{}://{}/{}.jpg".format,
    st.sampled_from(["http", "https"]),
    st.sampled_from(["example.com", "img.example.org", "cdn.example.net:8080"]),
    st.text("abcdefghij0123456789-_/", min_size=1, max_size=12).map(lambda s: s.strip("/") or "x"),
)


@st.composite
def image(draw) -> tuple[str, str]:
    """An ``<img>`` with a valid absolute URL, in one of the source attributes extraction reads."""
    url = draw(URLS)
    attribute = draw(st.sampled_from(["src", "data-src", "srcset"]))
    value = f"{url} 2x" if attribute == "srcset" else url
    size = draw(st.sampled_from(["", " width='1' height='1'", " width='300' height='200'"]))
    alt = draw(st.sampled_from(["", " alt='a picture'", ' alt="x &amp; y"']))
    return f"<img {attribute}='{value}'{size}{alt}>", url


@st.composite
def fragment(draw, depth: int = 0) -> tuple[str, list[str]]:
    """HTML text and the URLs of the real images in it (not those inside scripts/comments)."""
    parts, urls = [], []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["text", "entity", "image", "malformed", "script", "element"]))
        if kind == "text":
            parts.append(" ".join(draw(st.lists(WORDS, min_size=1, max_size=30))))
        elif kind == "entity":
            parts.append(draw(ENTITIES))
        elif kind == "image":
            tag, url = draw(image())
            parts.append(tag)
            urls.append(url)
        elif kind == "malformed":
            parts.append(draw(MALFORMED))
        elif kind == "script":
            fake = draw(URLS)
            wrapper = draw(
                st.sampled_from(
                    [
                        "<script>{}</script>",
                        "<style>{}</style>",
                        "<!-- {} -->",
                        "<noscript>{}</noscript>",
                    ]
                )
            )
            parts.append(wrapper.format(f"var s = '<img src=\"{fake}\">'; if (a < b) {{}}"))
        elif depth < 6:
            tag = draw(BLOCKS)
            inner, inner_urls = draw(fragment(depth + 1))
            close = draw(st.sampled_from([f"</{tag}>", f"</{tag}>", ""]))
            parts.append(f"<{tag}{draw(CLASSES)}>{inner}{close}")
            urls.extend(inner_urls)
    return "".join(parts), urls


@st.composite
def page(draw) -> tuple[str, list[str]]:
    body, urls = draw(fragment())
    head = draw(st.sampled_from(["", "<head><title>T</title></head>", "<base href='/x/'>"]))
    return f"<!doctype html><html>{head}<body>{body}</body></html>", urls


@PROPERTY
@given(page())
def test_extraction_on_random_html(generated) -> None:
    html, urls = generated
    started = time.perf_counter()
    try:
        document = extract(html, "https://example.com/page.html", options=OPTIONS)
    except StageError as error:
        assert error.kind in ("page_too_large", "dom_too_deep", "extraction_timeout")
        return
    finally:
        assert time.perf_counter() - started <= OPTIONS.time_budget_seconds + SLACK
    document.check_interleaving()
    placed = {url for url in document.images if url is not None}
    assert placed <= set(urls), "an image that was not in the page"
    missing = {url for url in urls if url not in placed}
    assert len(missing) <= sum(document.dropped_images.values()), (
        missing,
        dict(document.dropped_images),
    )
    assert all(text and text.strip() for text in document.texts if text is not None)


# --- random damage to real records ----------------------------------------------------------

SOURCE = "warc/commoncrawl_whirlwind.warc.gz"  # warcinfo, request, response, metadata
CONFIG = default_config()


@functools.cache
def real_members() -> tuple[bytes, ...]:
    """Not a fixture: hypothesis would print all of its bytes with every failing example."""
    return tuple(members_of(SOURCE))


DAMAGE = st.tuples(
    st.sampled_from(["flip", "insert", "delete", "truncate", "zero"]),
    st.floats(0, 1),
    st.binary(min_size=1, max_size=64),
)


def damage(data: bytes, how: tuple[str, float, bytes]) -> bytes:
    kind, where, payload = how
    at = min(int(where * len(data)), len(data) - 1)
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ (payload[0] or 1)]) + data[at + 1 :]
    if kind == "insert":
        return data[:at] + payload + data[at:]
    if kind == "delete":
        return data[:at] + data[at + len(payload) :]
    if kind == "zero":
        return data[:at] + b"\0" * len(payload) + data[at + len(payload) :]
    return data[: max(at, 1)]


def run_stages(record: WarcRecord) -> None:
    """Selection, decoding, extraction: only their own StageErrors may come out."""
    item = RecordSelector(CONFIG.selection, CONFIG.warc)(record)
    if isinstance(item, Drop):
        return
    try:
        page_ = PageDecoder(CONFIG.warc)(item)
        result = DocumentBuilder(OPTIONS)(page_)
    except StageError:
        return
    if isinstance(result, DocumentRow):
        assert len(result.row["texts"]) == len(result.row["images"])


@PROPERTY
@given(how=DAMAGE, compressed=st.booleans(), middle=st.sampled_from([1, 2]))
def test_reader_survives_random_damage(how, compressed, middle) -> None:
    real = real_members()
    members = real if compressed else [gzip.decompress(m) for m in real]
    before, after = members[:middle], members[middle + 1 :]
    broken = damage(members[middle], how)
    data = b"".join(before) + broken + b"".join(after)
    started = time.perf_counter()
    outputs = list(iter_warc_records(io.BytesIO(data), "x.warc.gz", max_record_bytes=1 << 24))
    assert time.perf_counter() - started < 5
    assert all(isinstance(o, WarcRecord | WarcReadError) for o in outputs)
    records = {o.offset: o for o in outputs if isinstance(o, WarcRecord)}
    offset = 0
    for member in before:
        assert offset in records
        offset += len(member)
    offset += len(broken)
    for member in after:
        assert offset in records, (how, [(type(o).__name__, o.offset) for o in outputs])
        offset += len(member)
    for record in records.values():
        run_stages(record)

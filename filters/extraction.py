"""HTML page → interleaved ``Document``: main-content paragraphs and images in reading order.

The steps, each cheap because lexbor does the heavy lifting in C:

1. Guard: size limit before parsing, a nesting pre-scan for tag-heavy pages (lexbor's parse is
   quadratic in ``<div>`` depth); the walk of step 3 enforces the depth limit.
2. Clean: one walk over the elements (``boilerplate.survey``) finds scripts/styles/svg...,
   navigation, hidden markup and comment/share/related containers, and lists the images and
   figure captions. Images are counted and captions set aside for them before the junk and
   boilerplate are removed.
3. Walk: one pre-order walk (selectolax's iterative ``traverse``, never Python recursion) cuts
   the page into blocks: paragraphs with their link statistics, and images, in document order.
4. Choose: each paragraph gets a value, positive for prose and negative for links, scraps and
   layout boilerplate; the main content is the run of blocks with the largest total (maximum
   subsequence, as in Pasternack & Roth, WWW 2009). An article split over sibling sections or
   interrupted by a short box stays whole; menus and teasers at its edges fall away.
5. Emit: the chosen paragraphs and images go into the ``Document``.

Every ``<img>`` with a source is either placed or counted in ``Document.dropped_images``.
"""

from __future__ import annotations

import re
import time
import unicodedata
from dataclasses import dataclass, field

from selectolax.lexbor import LexborHTMLParser, LexborNode

from webweave.filters import boilerplate, image_sources
from webweave.filters.decision import StageError
from webweave.filters.document import Document, ImageMetadata
from webweave.schemas.config import Count, PositiveInt, Seconds, Section


class PageTooLarge(StageError):
    kind = "page_too_large"


class DomTooDeep(StageError):
    kind = "dom_too_deep"


class ExtractionTimeout(StageError):
    kind = "extraction_timeout"


@dataclass(frozen=True)
class ExtractionOptions(Section):
    """The ``extraction:`` section of the job config (defaults: ``default_config.yaml``)."""

    yaml_name = "extraction"

    max_html_chars: PositiveInt
    max_dom_depth: PositiveInt
    time_budget_seconds: Seconds
    keep_lists: bool
    keep_tables: bool
    tracking_pixel_max_side: Count
    max_images_per_document: Count


# Formatting tags: their text belongs to the enclosing block's paragraph. Every other element
# (p, div, li, h1..., and unknown custom elements) starts a paragraph of its own.
INLINE_TAGS = frozenset(
    "a span b strong em i u font small big abbr time mark cite sup sub q label tt ins del s "
    "strike bdi bdo data var kbd samp dfn nobr code wbr td th acronym".split()
)
_CELL_TAGS = frozenset(("td", "th"))  # cells of one row paragraph, joined with a space
# How the walk treats a node, by its tag; every other tag starts a block (a paragraph).
_BLOCK, _TEXT, _INLINE, _LINK, _CELL, _IMAGE, _NOT_CONTENT = range(7)
_WALK_KINDS = {
    **dict.fromkeys(INLINE_TAGS, _INLINE),
    **dict.fromkeys(_CELL_TAGS, _CELL),
    "a": _LINK,
    "img": _IMAGE,
    "-text": _TEXT,
    "-comment": _NOT_CONTENT,
    "-doctype": _NOT_CONTENT,
    "-document": _NOT_CONTENT,
    None: _NOT_CONTENT,  # other non-element nodes
}
_HEADING_TAGS = frozenset("h1 h2 h3 h4 h5 h6".split())
_TAG_RUN_WITHOUT_CLOSE = 4  # the pre-scan flags runs of opening tags this many times the limit
_PRESCAN_MIN_TAGS = 20_000  # below this many '<', even worst-case nesting parses quickly
_SHORTEST_TAG = 3  # "<b>": a page under 3 characters per tag holds fewer tags than that
_CHECK_EVERY = 512  # nodes between two deadline checks (a power of two)
_CHECK_MASK = _CHECK_EVERY - 1
_MAX_INLINE_CLIMB = 8  # inline ancestors ``_space_before`` looks through
_FIGURE_CLIMB = 6  # levels between a <figure> and its caption or images


def extract(html: str | bytes, url: str, *, options: ExtractionOptions | None = None) -> Document:
    """The main content of one page as an interleaved ``Document``.

    Raises ``PageTooLarge``, ``DomTooDeep`` or ``ExtractionTimeout`` (all ``StageError``) for
    pages over the configured limits, so the runner dead-letters them instead of hanging.
    """
    options = options or ExtractionOptions.default()
    deadline = time.perf_counter() + options.time_budget_seconds
    text = _decode(html)
    _check_size(text, options)
    tree = LexborHTMLParser(text)
    head = tree.head
    document = Document(title=_title(head))
    body = tree.body
    if body is None:
        return document
    base = image_sources.base_url(_base_href(head), url)
    found = boilerplate.survey(body, lambda: _check_deadline(deadline))
    images_before = _count_sourced_images(found.images, deadline)
    captions = _figure_captions(found.figcaptions, found.images)
    _clean(tree, body, found, options)
    blocks = _walk(body, found.weak, options.max_dom_depth - 2, deadline)
    _emit(choose_content(blocks), document, base, options, captions)
    _book_boilerplate_images(document, images_before)
    return document


# --- step 1: guards -------------------------------------------------------------------------


def _decode(html: str | bytes) -> str:
    if isinstance(html, str):
        return html
    try:
        from webweave.filters.charset import decode_html
    except ImportError:  # TODO: drop once filters/charset.py has landed
        return html.decode("utf-8", "replace")
    return decode_html(html, None).text


def _check_size(text: str, options: ExtractionOptions) -> None:
    """Refuse pages over the size limit, and tag soups nested so deep that parsing would crawl."""
    if len(text) > options.max_html_chars:
        raise PageTooLarge(f"page has {len(text)} characters > {options.max_html_chars}")
    if len(text) < _SHORTEST_TAG * _PRESCAN_MIN_TAGS or text.count("<") < _PRESCAN_MIN_TAGS:
        return  # the length test first: counting costs 3% of a typical page's extraction
    run = max(options.max_dom_depth * _TAG_RUN_WITHOUT_CLOSE, 2000)
    if _has_opening_run(text, run):
        raise DomTooDeep(
            f"more than {run} nested opening tags in a row (a DOM deeper than "
            f"extraction.max_dom_depth = {options.max_dom_depth} elements)"
        )


# Elements that never hold the tags after them: void elements, and those that an opening tag
# of their own kind or a sibling's closes (HTML's optional end tags; ``<a>`` by the adoption
# agency). They do not deepen the nesting, so a run does not count them.
_NOT_NESTING_TAG = re.compile(
    r"<(?:area|base|br|col|embed|hr|img|input|link|meta|param|source|track|wbr|basefont|"
    r"bgsound|frame|keygen|p|li|dt|dd|option|optgroup|td|th|tr|tbody|thead|tfoot|colgroup|"
    r"caption|rb|rt|rp|a)\b",
    re.IGNORECASE,
)
_NOT_A_TAG = re.compile(r"<(?![a-zA-Z])")  # a comment, doctype, or a bare '<' in text


def _has_opening_run(text: str, run: int) -> bool:
    """Whether ``run`` nesting opening tags follow each other with no closing tag, comment or
    bare '<' between: what deep nesting looks like raw.

    Linear and mostly in C: the text is cut at closing tags (a literal split), and only the
    rare pieces long enough to hold ``run`` tags are cut further and counted.
    """
    shortest = run * _SHORTEST_TAG
    pieces = text.split("</")
    if max(map(len, pieces)) < shortest:
        return False
    for piece in pieces:
        if len(piece) < shortest:
            continue
        for part in _NOT_A_TAG.split(piece):
            if part.count("<") - len(_NOT_NESTING_TAG.findall(part)) >= run:
                return True
    return False


def _check_deadline(deadline: float) -> None:
    if time.perf_counter() > deadline:
        raise ExtractionTimeout("extraction ran past its time budget")


# --- step 2: clean --------------------------------------------------------------------------


def _title(head: LexborNode | None) -> str | None:
    node = head.css_first("title") if head is not None else None
    title = normal_text(node.text()) if node is not None else ""
    return title or None


def _base_href(head: LexborNode | None) -> str | None:
    node = head.css_first("base[href]") if head is not None else None
    return node.attrs.get("href") if node is not None else None


def _figure_captions(figcaptions: list[LexborNode], images: list[LexborNode]) -> dict[int, str]:
    """Caption text per image ``mem_id``: a ``<figcaption>`` describes the images of its figure.

    Captions are not main text in either gold set, so ``boilerplate`` removes them; for an
    image-text corpus they are the best description of the image, so they travel as metadata.
    An image takes the caption of the nearest captioned ``<figure>`` at most ``_FIGURE_CLIMB``
    levels up (figure > link > picture > img is three), so the work stays linear in the page
    whatever its depth.
    """
    by_figure: dict[int, str] = {}
    for caption in figcaptions:
        text = normal_text(caption.text(deep=True))
        figure = _ancestor_within(caption, _FIGURE_CLIMB, lambda node: node.tag == "figure")
        if text and figure is not None:
            by_figure.setdefault(figure.mem_id, text)
    captions: dict[int, str] = {}
    if by_figure:
        for img in images:
            figure = _ancestor_within(img, _FIGURE_CLIMB, lambda node: node.mem_id in by_figure)
            if figure is not None:
                captions[img.mem_id] = by_figure[figure.mem_id]
    return captions


def _ancestor_within(node: LexborNode, levels: int, wanted) -> LexborNode | None:
    """The nearest ancestor of ``node`` at most ``levels`` up for which ``wanted`` holds."""
    for _ in range(levels):
        node = node.parent
        if node is None:
            return None
        if wanted(node):
            return node
    return None


def _clean(
    tree: LexborHTMLParser, body: LexborNode, found: boilerplate.Survey, options: ExtractionOptions
) -> None:
    """Remove junk and strong boilerplate, and lists or tables when the options say so."""
    boilerplate.remove(body, found)
    dropped = ([] if options.keep_lists else ["ul", "ol", "dl"]) + (
        [] if options.keep_tables else ["table"]
    )
    if dropped:
        tree.strip_tags(dropped)


# --- step 3: walk ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Block:
    """One paragraph (the text of one block element up to the next block) or one image."""

    tag: str  # the block element's tag; "img" for an image
    weak: tuple[int, ...]  # the layout-boilerplate containers around it, outermost first
    key: int = 0  # mem_id of the block element, to tell where the paragraph ends
    node: LexborNode | None = None  # the <img>, for images
    pieces: list[str] = field(default_factory=list)
    link_chars: int = 0
    links: int = 0
    last_link: int = 0
    text: str = ""  # normalised text, set by ``_finish``
    is_weak: bool = False  # inside a layout container that does not wrap the content
    value: float = 0.0  # set by ``choose_content``


def _walk(body: LexborNode, weak: set[int], max_depth: int, deadline: float) -> list[_Block]:
    """Paragraphs and images of ``body`` in document order, with link statistics.

    Each element's context (its paragraph's block, the link it sits in, the layout containers
    around it, its depth below ``body``) is looked up from its parent's, which the pre-order
    walk has always seen first. Raises ``DomTooDeep`` below ``max_depth``.
    """
    blocks: list[_Block] = []
    body_key = body.mem_id
    context: dict[int, tuple[int, str, int, tuple, int]] = {body_key: (body_key, "body", 0, (), 0)}
    lookup = context.get
    current: _Block | None = None
    # Whitespace-only text nodes (40% of all nodes) are skipped in C; ``_space_before`` puts
    # back the word break one of them made between two inline elements.
    for count, node in enumerate(body.traverse(include_text=True, skip_empty=True)):
        if not count & _CHECK_MASK:
            _check_deadline(deadline)
        tag = node.tag
        kind = _WALK_KINDS.get(tag, _BLOCK)
        if kind == _TEXT:
            text = node.text_content
            if not text or (current is None and text.isspace()):
                continue
            parent = lookup(node.parent.mem_id)
            if parent is None:
                continue
            if current is None or current.key != parent[0]:
                if text.isspace():
                    continue
                current = _Block(parent[1], parent[3], parent[0])
                blocks.append(current)
            elif not text[0].isspace() and not current.pieces[-1][-1:].isspace():
                if _space_before(node):
                    current.pieces.append(" ")
            current.pieces.append(text)
            link_key = parent[2]
            if link_key:
                current.link_chars += len(text.strip())
                if link_key != current.last_link:
                    current.links += 1
                    current.last_link = link_key
            continue
        if kind == _NOT_CONTENT:
            continue
        key = node.mem_id
        parent = lookup(node.parent.mem_id)
        if parent is None:  # body itself, or a node under a skipped one
            continue
        block_key, block_tag, link_key, weak_chain, depth = parent
        depth += 1
        if depth > max_depth:
            raise DomTooDeep(f"DOM deeper than extraction.max_dom_depth = {max_depth + 2} elements")
        if key in weak:
            weak_chain = (*weak_chain, key)
        if kind == _BLOCK:
            current = None
            context[key] = (key, tag, link_key, weak_chain, depth)
        elif kind == _IMAGE:
            current = None
            blocks.append(_Block("img", weak_chain, key, node))
        else:  # inline: the text goes on in the enclosing block's paragraph
            if kind == _LINK:
                link_key = key
            elif kind == _CELL and current is not None and current.key == block_key:
                current.pieces.append(" ")
            context[key] = (block_key, block_tag, link_key, weak_chain, depth)
    return blocks


def _space_before(text_node: LexborNode) -> bool:
    """Whether a skipped whitespace-only node sits just before this text (``<a>x</a> <a>y``),
    looking through the inline elements it starts."""
    node = text_node
    for _ in range(_MAX_INLINE_CLIMB):
        previous = node.prev
        if previous is not None:
            return previous.is_text_node and not (previous.text_content or "").strip(" \t\n\r\f")
        node = node.parent
        if node is None or node.tag not in INLINE_TAGS:
            return False
    return False


# --- step 4: choose -------------------------------------------------------------------------

_MIN_PROSE_CHARS = 25  # shorter blocks are headings, captions, dates, menu entries
_PROSE_LINK_COST = 3.0  # in a prose block, a link character cancels this many plain ones
_ONE_LINK_COST = 2.0  # ... when the block has a single link
_LINKED_PROSE_CHARS = 100  # a block this long with links spread through it is prose ...
_PLAIN_PER_LINK = 8  # ... when it has this many plain characters per link (a phrase)
_LINK_COST = 3.0  # cost of a link character in a short block
_SCRAP_COST = 0.1  # cost of a plain character in a short block: near neutral, so that lists,
# recipes and tables between prose stay in, while a run never starts or ends with them
_WEAK_COST = 1.0  # cost of a character inside layout boilerplate
_WRAPPER_SHARE = 0.5  # a layout container with this share of the content's prose wraps it
_SCATTERED_SHARE = 0.8  # ... and when this share sits in small layout containers, none counts
_LEAD_IN = 3  # headings and images just before the run that still belong to it
_NOTICE_MAX_CHARS = 200  # a copyright line is shorter; a paragraph citing © may be longer


def choose_content(blocks: list[_Block]) -> list[_Block]:
    """The main content: the run of blocks with the largest total value, cleaned of link lists.

    Layout containers (sidebars, footers, ad slots) lower the value of their text, except the
    ones that wrap the content: a first pass without them finds the content, a second pass
    counts only the containers that do not wrap it. When no run has a positive value (no prose
    on the page), every block outside layout boilerplate that is not mostly links is kept.
    """
    texts = [b for b in blocks if b.tag != "img"]
    for block in texts:
        _finish(block)
        block.value = _value(block)
    start, end = _best_run(blocks)
    exempt = _wrappers(blocks[start:end])
    for block in blocks:
        block.is_weak = bool(block.weak) and not exempt.issuperset(block.weak)
        if not block.is_weak and block.tag != "img" and _is_notice(block):
            block.is_weak = True
        if block.is_weak and block.tag != "img":
            block.value = -_WEAK_COST * len(block.text) - _LINK_COST * block.link_chars
    start, end = _best_run(blocks)
    if start >= end:
        return [b for b in blocks if not b.is_weak and (b.tag == "img" or not _is_linky(b))]
    end = _trim_tail(blocks, start, end)
    lead = _lead_in(blocks, start)
    chosen = blocks[start:end]
    return blocks[lead:start] + [b for i, b in enumerate(chosen) if _keep_inside(chosen, i)]


def _finish(block: _Block) -> None:
    """Join and normalise the paragraph's text."""
    block.text = normal_text("".join(block.pieces))


def normal_text(text: str) -> str:
    """Text as the document stores it: soft hyphens and zero-width spaces removed, whitespace
    collapsed, and Unicode NFC, so that a word written with a combining mark ("u" + U+0308)
    and with a precomposed letter ("ü") is the same string downstream."""
    if not text.isascii():
        if "\xad" in text or "\u200b" in text:
            text = text.replace("\xad", "").replace("\u200b", "")
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def _value(block: _Block) -> float:
    """Positive for prose, negative for link lists; headings and short scraps near zero.

    In running prose links are words of the sentence (an encyclopedia paragraph links every
    other noun): a paragraph-length block with a phrase of plain text per link on average is
    prose whatever its share of link text, and only its plain text counts. A table row with a
    link is data (a product name linked in its first cell), not a menu.
    """
    chars = len(block.text)
    links = block.link_chars
    if _is_linked_prose(block):
        return chars - links
    if block.tag == "tr" and links:
        return -_SCRAP_COST * chars
    if chars >= _MIN_PROSE_CHARS and block.tag not in _HEADING_TAGS:
        if block.links == 1:  # a sentence with a link, or one link standing for a sentence
            return chars - _ONE_LINK_COST * links
        return chars - _PROSE_LINK_COST * links
    return -(_LINK_COST * links + _SCRAP_COST * (chars - links))


def _is_linked_prose(block: _Block) -> bool:
    """A paragraph-length block with several links and a phrase of plain text per link."""
    return (
        block.links > 1
        and len(block.text) >= _LINKED_PROSE_CHARS
        and len(block.text) - block.link_chars >= _PLAIN_PER_LINK * block.links
        and block.tag not in _HEADING_TAGS
    )


def _is_notice(block: _Block) -> bool:
    """A copyright line ("© 2019 Example Media. All rights reserved."): a short block with
    the copyright sign is a site's legal notice, whatever its markup, not the page's text."""
    return "\N{COPYRIGHT SIGN}" in block.text and len(block.text) < _NOTICE_MAX_CHARS


def _is_linky(block: _Block) -> bool:
    """Mostly link text: a menu entry, a tag list, a teaser headline (or an empty block)."""
    return block.link_chars * 2 >= len(block.text)


def _is_cross_reference(block: _Block) -> bool:
    """A label and a link ("Read more: <headline>", "See also: <page>"): the link text ends
    the paragraph and the plain text before it ends with a colon. It points to another page."""
    label = block.text[: len(block.text) - block.link_chars].rstrip()
    return label.endswith(":")


def _wrappers(run: list[_Block]) -> set[int]:
    """Layout containers that are not boilerplate on this page: they wrap the content.

    One container holding most of the run's prose is a mis-named wrapper ("content-with-
    sidebar", ASP.NET's page-wide ``<form>``). When most of the prose sits in containers that
    each hold a small part (page builders call every block a "widget"; "section--ads"), the
    names say nothing on this page and every container in the run is spared.
    """
    total = 0.0
    by_container: dict[int, float] = {}
    for block in run:
        if block.value > 0:
            total += block.value
            for key in block.weak:
                by_container[key] = by_container.get(key, 0.0) + block.value
    wrappers = {key for key, value in by_container.items() if value >= total * _WRAPPER_SHARE}
    scattered = sum(
        b.value for b in run if b.value > 0 and any(key not in wrappers for key in b.weak)
    )
    if scattered >= total * _SCATTERED_SHARE:
        wrappers.update(by_container)
    return wrappers


def _best_run(blocks: list[_Block]) -> tuple[int, int]:
    """[start, end) of the maximum-sum run of block values (Kadane); empty if none is > 0."""
    best, best_start, best_end = 0.0, 0, 0
    total, start = 0.0, 0
    for index, block in enumerate(blocks):
        if total <= 0:
            total, start = 0.0, index
        total += block.value
        if total > best:
            best, best_start, best_end = total, start, index + 1
    return best_start, best_end


def _trim_tail(blocks: list[_Block], start: int, end: int) -> int:
    """Drop headings and lead-ins ("Read also:") that end the run: what they announce was
    left out."""
    while end > start + 1:
        block = blocks[end - 1]
        if block.tag not in _HEADING_TAGS and not block.text.endswith(":"):
            break
        end -= 1
    return end


def _lead_in(blocks: list[_Block], start: int) -> int:
    """Move ``start`` back over the headline and lead images just before the chosen run.

    The headline often sits in a page-level ``<header>``, so layout flags do not stop it.
    """
    for _ in range(_LEAD_IN):
        previous = start - 1
        if previous < 0:
            break
        block = blocks[previous]
        if block.tag == "img" or (block.tag in _HEADING_TAGS and not block.link_chars):
            start = previous
        else:
            break
    return start


def _keep_inside(chosen: list[_Block], index: int) -> bool:
    """Inside the content, drop layout boilerplate and link lists.

    A lone link paragraph between prose ("Read the full report", a URL) is content; runs of
    link paragraphs, link headlines and paragraphs with several links are menus and teasers.
    """
    block = chosen[index]
    if block.is_weak:
        return False
    if block.tag == "img" or not _is_linky(block):
        return True
    if not block.text or block.links != 1 or block.tag in _HEADING_TAGS:
        return False
    if _is_cross_reference(block):
        return False
    for other in (index - 1, index + 1):
        if 0 <= other < len(chosen) and chosen[other].tag != "img" and _is_linky(chosen[other]):
            return False
    return True


# --- step 5: emit ---------------------------------------------------------------------------


def _emit(
    blocks: list[_Block],
    document: Document,
    base: str,
    options: ExtractionOptions,
    captions: dict[int, str],
) -> None:
    placed: set[str] = set()
    for block in blocks:
        if block.node is not None:
            _add_image(block.node, document, base, options, placed, captions)
        elif block.text:
            document.add_text(block.text)


def _add_image(
    node: LexborNode,
    document: Document,
    base: str,
    options: ExtractionOptions,
    placed: set,
    captions: dict[int, str],
) -> None:
    """Place one ``<img>`` or count why not (data_uri, tracking_pixel, invalid_url, ...)."""
    attrs = node.attributes  # a dict: cheaper than ``attrs`` for several lookups
    picture_srcsets = _picture_srcsets(node)
    source = image_sources.choose_source(attrs, picture_srcsets)
    if source is None:
        return
    dropped = document.dropped_images
    if source.value.startswith("data:"):
        dropped["data_uri"] += 1
        return
    width = image_sources.parse_size(attrs.get("width"))
    height = image_sources.parse_size(attrs.get("height"))
    max_side = options.tracking_pixel_max_side
    if width is not None and height is not None and width <= max_side and height <= max_side:
        dropped["tracking_pixel"] += 1
        return
    absolute, reason = image_sources.resolve(source.value, base)
    if absolute is None:
        dropped[reason] += 1
        return
    if absolute in placed:
        dropped["duplicate_in_document"] += 1
        return
    if len(placed) >= options.max_images_per_document:
        dropped["too_many_images"] += 1
        return
    placed.add(absolute)
    alt = attrs.get("alt")
    metadata = ImageMetadata(
        original_src=source.value,
        source_attribute=source.attribute,
        alt_text=" ".join(alt.split()) if alt is not None else None,
        width_attr=width,
        height_attr=height,
        caption=captions.get(node.mem_id),
        candidates=image_sources.image_candidates(attrs, picture_srcsets, base),
    )
    document.add_image(absolute, metadata)


def _picture_srcsets(img: LexborNode) -> list[str]:
    """``srcset`` values of the ``<source>`` siblings when the image sits in a ``<picture>``."""
    parent = img.parent
    if parent is None or parent.tag != "picture":
        return []
    return [s.attrs.get("srcset") or "" for s in parent.css("source[srcset]")]


# --- accounting -----------------------------------------------------------------------------


def _count_sourced_images(images: list[LexborNode], deadline: float) -> int:
    """``<img>`` elements that have any source attribute: each must be placed or counted."""
    count = 0
    for index, img in enumerate(images, start=1):
        if index % _CHECK_EVERY == 0:
            _check_deadline(deadline)
        attrs = img.attributes
        src = attrs.get("src")
        if (src and not src.isspace()) or image_sources.choose_source(
            attrs, _picture_srcsets(img)
        ) is not None:
            count += 1
    return count


def _book_boilerplate_images(document: Document, images_before: int) -> None:
    """Images seen at the start but neither placed nor dropped for a reason were in boilerplate."""
    accounted = document.num_images + sum(document.dropped_images.values())
    if images_before > accounted:
        document.dropped_images["in_boilerplate"] += images_before - accounted

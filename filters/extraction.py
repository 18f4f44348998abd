"""HTML page → interleaved ``Document``: main-content paragraphs and images in reading order.

The steps, each cheap because lexbor does the heavy lifting in C:

1. Guard: size limit before parsing, a nesting pre-scan for tag-heavy pages (lexbor's parse is
   quadratic in ``<div>`` depth), a depth check after parsing.
2. Clean: drop scripts/styles/svg..., then navigation, footers, ads, comments (``boilerplate``);
   unwrap inline tags so that text nodes sit directly in their block.
3. Choose the content: readability-style scoring of blocks (text length, commas, link density,
   class/id hints) picks a content root and its related siblings.
4. Emit: one walk over the chosen roots (selectolax's iterative ``traverse``, never Python
   recursion) turns blocks into paragraphs and ``<img>`` into images, in document order.

Every ``<img>`` with a source is either placed or counted in ``Document.dropped_images``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, fields

from selectolax.lexbor import LexborHTMLParser, LexborNode

from webweave.filters import boilerplate, image_sources
from webweave.filters.decision import StageError
from webweave.filters.document import Document, ImageMetadata


class PageTooLarge(StageError):
    kind = "page_too_large"


class DomTooDeep(StageError):
    kind = "dom_too_deep"


class ExtractionTimeout(StageError):
    kind = "extraction_timeout"


@dataclass(frozen=True)
class ExtractionOptions:
    """The ``extraction:`` section of the job config (defaults = ``default_config.yaml``)."""

    max_html_chars: int = 8_000_000
    max_dom_depth: int = 512
    time_budget_seconds: float = 2.0
    keep_lists: bool = True
    keep_tables: bool = True
    tracking_pixel_max_side: int = 2
    max_images_per_document: int = 1000

    @classmethod
    def from_config(cls, section: dict) -> ExtractionOptions:
        """Build from ``config["extraction"]``; unknown keys are an error, not a silent no-op."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(section) - set(known)
        if unknown:
            raise ValueError(f"unknown extraction options: {sorted(unknown)}")
        return cls(**section)


# Elements that start a new paragraph. td/th are cells of a row paragraph, not blocks.
BLOCK_TAGS = frozenset(
    "p div section article main aside header footer nav h1 h2 h3 h4 h5 h6 ul ol li dl dt dd "
    "table tbody thead tfoot tr caption blockquote pre figure figcaption address center "
    "details summary hr br body html fieldset legend hgroup".split()
)
# Formatting tags unwrapped before scoring so text nodes sit directly in their block.
INLINE_TAGS = (
    "span b strong em i u font small big abbr time mark cite sup sub q label tt ins del s "
    "strike bdi bdo data var kbd samp dfn nobr code wbr"
).split()
_TAG_RUN_WITHOUT_CLOSE = 4  # the pre-scan flags runs of opening tags this many times the limit
_PRESCAN_MIN_TAGS = 20_000  # below this many '<', even worst-case nesting parses quickly
_CHECK_EVERY = 512  # nodes between two deadline checks
_POSITIVE_NAME = re.compile(
    r"article|body|content|entry|main|page|post|text|blog|story|hentry|single|news|artikel|"
    r"inhalt|beitrag",
    re.IGNORECASE,
)
_NEGATIVE_NAME = re.compile(
    r"comment|combx|contact|foot|footer|footnote|masthead|media|meta|outbrain|promo|related|"
    r"scroll|shoutbox|sidebar|sponsor|shopping|tags|tool|widget|teaser|nav|menu|header",
    re.IGNORECASE,
)
_MIN_BLOCK_CHARS = 25
_MAX_LINK_SHARE = 0.5  # paragraphs with more link text than this are menus, tags, teasers
_WIDEN_MARGIN = 200  # net prose chars a wider root must add ...
_WIDEN_RATIO = 0.6  # ... and at least this share of what it had
_WIDEN_LEVELS = 2  # how far above the top candidate a root may move
_LINK_COST = 3.0  # net-prose cost of a link character in a scrap block
_SCRAP_COST = 2.0  # net-prose cost of a character of a short, non-link block


def extract(html: str | bytes, url: str, *, options: ExtractionOptions | None = None) -> Document:
    """The main content of one page as an interleaved ``Document``.

    Raises ``PageTooLarge``, ``DomTooDeep`` or ``ExtractionTimeout`` (all ``StageError``) for
    pages over the configured limits, so the runner dead-letters them instead of hanging.
    """
    options = options or ExtractionOptions()
    deadline = time.perf_counter() + options.time_budget_seconds
    text = _decode(html)
    _check_size(text, options)
    tree = LexborHTMLParser(text)
    _check_depth(tree, options.max_dom_depth)
    document = Document(title=_title(tree))
    body = tree.body
    if body is None:
        return document
    base = image_sources.base_url(_base_href(tree), url)
    images_before = _count_sourced_images(body, deadline)
    strengths = _clean(tree, body, options)
    roots = choose_content_roots(body, strengths, deadline)
    _emit(roots, document, base, options, deadline)
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
    if text.count("<") < _PRESCAN_MIN_TAGS:
        return
    run = max(options.max_dom_depth * _TAG_RUN_WITHOUT_CLOSE, 2000)
    if _opening_run_pattern(run).search(text):
        raise DomTooDeep(f"more than {run} nested opening tags in a row")


_RUN_PATTERNS: dict[int, re.Pattern] = {}


def _opening_run_pattern(run: int) -> re.Pattern:
    """``run`` opening tags with no closing tag between: what deep nesting looks like raw."""
    if run not in _RUN_PATTERNS:
        void = "area|base|br|col|embed|hr|img|input|link|meta|source|track|wbr|p|li|option|td|tr"
        _RUN_PATTERNS[run] = re.compile(
            rf"(?:<(?!(?:{void})\b)[a-zA-Z][^<>]*>[^<]*){{{run}}}", re.IGNORECASE
        )
    return _RUN_PATTERNS[run]


def _check_depth(tree: LexborHTMLParser, max_depth: int) -> None:
    """Raise DomTooDeep if any element is nested deeper than ``max_depth`` (checked in C)."""
    root = tree.root
    if root is None:
        return
    shallow = min(max_depth, 64)
    if not root.any_css_matches((" > ".join(["*"] * (shallow + 1)),)):
        return
    if shallow < max_depth and not root.any_css_matches((" > ".join(["*"] * (max_depth + 1)),)):
        return
    raise DomTooDeep(f"DOM deeper than {max_depth} elements")


def _tick(count: int, deadline: float) -> None:
    if count % _CHECK_EVERY == 0 and time.perf_counter() > deadline:
        raise ExtractionTimeout("extraction ran past its time budget")


# --- step 2: clean --------------------------------------------------------------------------


def _title(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("title")
    title = " ".join(node.text().split()) if node is not None else ""
    return title or None


def _base_href(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("base[href]")
    return node.attrs.get("href") if node is not None else None


def _clean(tree: LexborHTMLParser, body: LexborNode, options: ExtractionOptions) -> dict[int, int]:
    """Strip junk and strong boilerplate; returns class/id strengths for ``remove_weak``."""
    boilerplate.strip_junk(tree)
    strengths = boilerplate.remove_strong(body)
    dropped = ([] if options.keep_lists else ["ul", "ol", "dl"]) + (
        [] if options.keep_tables else ["table"]
    )
    if dropped:
        tree.strip_tags(dropped)
    tree.unwrap_tags(INLINE_TAGS)
    body.merge_text_nodes()
    return strengths


# --- step 3: choose the content -------------------------------------------------------------


@dataclass(slots=True)
class _Candidate:
    node: LexborNode
    score: float = 0.0
    chars: int = 0
    link_chars: int = 0


def choose_content_roots(
    body: LexborNode, strengths: dict[int, int], deadline: float
) -> list[LexborNode]:
    """The subtrees that hold the main content, in document order (``[body]`` as fallback)."""
    blocks = _text_blocks(body, deadline)
    candidates: dict[int, _Candidate] = {}
    for block in blocks.values():
        if block.chars < _MIN_BLOCK_CHARS:
            continue
        text_score = 1 + block.score + min(block.chars / 100, 3)
        text_score *= 1 - block.link_chars / block.chars
        parent = block.node.parent
        for divider in (1, 2, 3):
            if parent is None or parent.tag in ("html",):
                break
            candidate = candidates.get(parent.mem_id)
            if candidate is None:
                candidate = candidates[parent.mem_id] = _Candidate(parent)
            candidate.score += text_score / divider
            candidate.chars += block.chars
            candidate.link_chars += block.link_chars
            parent = parent.parent
    if not candidates:
        protected = _self_and_ancestors(body)
        boilerplate.remove_weak(body, strengths, protected, len(body.text(deep=True)))
        return [body]
    for candidate in candidates.values():
        link_share = candidate.link_chars / max(candidate.chars, 1)
        candidate.score *= (1 - link_share) * max(0.2, 1 + _name_weight(candidate.node) / 50)
    top = max(candidates.values(), key=lambda c: c.score)
    root = _widen(top.node, blocks)
    if root.mem_id != top.node.mem_id:
        top = candidates.get(root.mem_id) or _Candidate(root, score=top.score)
    boilerplate.remove_weak(body, strengths, _self_and_ancestors(top.node), top.chars)
    return _with_siblings(top, candidates, blocks)


def _net_prose(block: _Candidate) -> float:
    """Prose characters a block adds to a subtree, minus what its link or scrap text costs."""
    if block.chars >= _MIN_BLOCK_CHARS and block.link_chars * 2 < block.chars:
        return block.chars - 2 * block.link_chars
    return -(_LINK_COST * block.link_chars + _SCRAP_COST * block.chars)


def _widen(top: LexborNode, blocks: dict[int, _Candidate]) -> LexborNode:
    """The ancestor of ``top`` (itself included) whose subtree holds the most net prose.

    Readability's top candidate is often one of several sibling sections of an article; the
    ancestor that gains more prose than link text and scraps gathers them all.
    """
    chain = []
    node = top
    while node is not None and node.tag != "html" and len(chain) <= _WIDEN_LEVELS:
        chain.append(node)
        if node.tag == "body":
            break
        node = node.parent
    level_of = {n.mem_id: i for i, n in enumerate(chain)}
    gained = [0.0] * len(chain)
    for block in blocks.values():
        level = _chain_level(block.node, level_of)
        if level is not None:
            gained[level] += _net_prose(block)
    best, best_total, total = 0, float("-inf"), 0.0
    for level, gain in enumerate(gained):
        total += gain
        if level == 0 or total > best_total + max(_WIDEN_MARGIN, best_total * _WIDEN_RATIO):
            best, best_total = level, total
    return chain[best]


def _chain_level(node: LexborNode, level_of: dict[int, int]) -> int | None:
    """Index in the ancestor chain of the first chain node above ``node`` (memoised walk)."""
    path = []
    key = node.mem_id
    while key not in level_of:
        path.append(key)
        node = node.parent
        if node is None:
            return None
        key = node.mem_id
    level = level_of[key]
    for visited in path:
        level_of[visited] = level
    return level


def _self_and_ancestors(node: LexborNode) -> frozenset[int]:
    keys = []
    while node is not None:
        keys.append(node.mem_id)
        node = node.parent
    return frozenset(keys)


def _text_blocks(body: LexborNode, deadline: float) -> dict[int, _Candidate]:
    """Per block element: text chars, link chars and commas (in ``score``) of its own text."""
    blocks: dict[int, _Candidate] = {}
    count = 0
    for node in body.traverse(include_text=True):
        count += 1
        _tick(count, deadline)
        if node.tag != "-text":
            continue
        text = node.text_content
        if not text or text.isspace():
            continue
        parent = node.parent
        in_link = False
        while parent is not None and parent.tag == "a":
            in_link = True
            parent = parent.parent
        if parent is None:
            continue
        block = blocks.get(parent.mem_id)
        if block is None:
            block = blocks[parent.mem_id] = _Candidate(parent)
        chars = len(text.strip())
        block.chars += chars
        if in_link:
            block.link_chars += chars
        block.score += text.count(",") + text.count("，") + text.count("、")
    return blocks


def _name_weight(node: LexborNode) -> float:
    """Readability's class/id weight, plus a bonus for semantic article markup."""
    tag = node.tag
    if tag in ("article", "main"):
        weight = 25.0
    elif tag in ("td", "li", "blockquote", "form", "ul", "ol", "dl"):
        weight = -5.0
    else:
        weight = 0.0
    attrs = node.attrs
    name = f"{attrs.get('class') or ''} {attrs.get('id') or ''}"
    if attrs.get("itemprop") == "articleBody":
        weight += 50
    if name.strip():
        if _NEGATIVE_NAME.search(name):
            weight -= 25
        if _POSITIVE_NAME.search(name):
            weight += 25
    return weight


def _with_siblings(
    top: _Candidate, candidates: dict[int, _Candidate], blocks: dict[int, _Candidate]
) -> list[LexborNode]:
    """The top candidate plus siblings that look like more of the same content."""
    parent = top.node.parent
    if parent is None or top.node.tag == "body":
        return [top.node]
    threshold = max(10.0, top.score * 0.2)
    roots = []
    for sibling in _children(parent):
        key = sibling.mem_id
        if key == top.node.mem_id:
            roots.append(sibling)
            continue
        candidate = candidates.get(key) or blocks.get(key)
        if candidate is not None and candidate.score >= threshold and candidate.chars:
            roots.append(sibling)
        elif sibling.tag in ("figure", "img") or (
            candidate is not None
            and sibling.tag in ("p", "h1", "h2")
            and candidate.chars >= 80
            and candidate.link_chars < candidate.chars * 0.25
        ):
            roots.append(sibling)
    return roots


def _children(node: LexborNode) -> Iterable[LexborNode]:
    child = node.child
    while child is not None:
        if child.tag != "-text" and child.tag != "_comment":
            yield child
        child = child.next


# --- step 4: emit ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Paragraph:
    """Text collected for the current block until the next block boundary."""

    key: int = -1
    pieces: list[str] | None = None
    chars: int = 0
    link_chars: int = 0


def _emit(
    roots: list[LexborNode],
    document: Document,
    base: str,
    options: ExtractionOptions,
    deadline: float,
) -> None:
    placed: set[str] = set()
    paragraph = _Paragraph(pieces=[])
    count = 0
    for root in roots:
        for node in root.traverse(include_text=True):
            count += 1
            _tick(count, deadline)
            tag = node.tag
            if tag == "-text":
                _add_text(node, paragraph, document)
            elif tag == "img":
                _flush(paragraph, document)
                _add_image(node, document, base, options, placed)
            elif tag in BLOCK_TAGS:
                _flush(paragraph, document)
            elif tag in ("td", "th") and paragraph.pieces:
                paragraph.pieces.append(" ")
        _flush(paragraph, document)


def _add_text(node: LexborNode, paragraph: _Paragraph, document: Document) -> None:
    text = node.text_content
    if not text:
        return
    parent = node.parent
    in_link = False
    while parent is not None and parent.tag in ("a", "td", "th"):
        in_link = in_link or parent.tag == "a"
        parent = parent.parent
    key = parent.mem_id if parent is not None else -1
    if key != paragraph.key:
        _flush(paragraph, document)
        paragraph.key = key
    paragraph.pieces.append(text)
    chars = len(text.strip())
    paragraph.chars += chars
    if in_link:
        paragraph.link_chars += chars


def _flush(paragraph: _Paragraph, document: Document) -> None:
    """Close the current paragraph: keep it unless empty or mostly link text (menus, tags)."""
    if paragraph.pieces:
        text = "".join(paragraph.pieces)
        if "\xad" in text or "\u200b" in text:  # soft hyphens, zero-width spaces
            text = text.replace("\xad", "").replace("\u200b", "")
        text = " ".join(text.split())
        if text and paragraph.link_chars <= paragraph.chars * _MAX_LINK_SHARE:
            document.add_text(text)
        paragraph.pieces = []
    paragraph.key = -1
    paragraph.chars = paragraph.link_chars = 0


def _add_image(
    node: LexborNode, document: Document, base: str, options: ExtractionOptions, placed: set
) -> None:
    """Place one ``<img>`` or count why not (data_uri, tracking_pixel, invalid_url, ...)."""
    attrs = node.attrs
    source = image_sources.choose_source(attrs, _picture_srcsets(node))
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
    )
    document.add_image(absolute, metadata)


def _picture_srcsets(img: LexborNode) -> list[str]:
    """``srcset`` values of the ``<source>`` siblings when the image sits in a ``<picture>``."""
    parent = img.parent
    if parent is None or parent.tag != "picture":
        return []
    return [s.attrs.get("srcset") or "" for s in parent.css("source[srcset]")]


# --- accounting -----------------------------------------------------------------------------


def _count_sourced_images(body: LexborNode, deadline: float) -> int:
    """``<img>`` elements that have any source attribute: each must be placed or counted."""
    count = 0
    for index, img in enumerate(body.css("img"), start=1):
        _tick(index, deadline)
        if image_sources.choose_source(img.attrs, _picture_srcsets(img)) is not None:
            count += 1
    return count


def _book_boilerplate_images(document: Document, images_before: int) -> None:
    """Images seen at the start but neither placed nor dropped for a reason were in boilerplate."""
    accounted = document.num_images + sum(document.dropped_images.values())
    if images_before > accounted:
        document.dropped_images["in_boilerplate"] += images_before - accounted

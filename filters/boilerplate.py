"""Markup that never carries main text: scripts and styles, then navigation, footers, ads, comments.

Everything here runs as three lexbor CSS queries (each walks the whole tree in C, so they are
few) plus a cached regex test per class/id string, so the per-page Python cost stays small.
Images inside removed markup are not counted here: the extractor counts every ``<img>`` before
and after, and books the difference as ``in_boilerplate``.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborNode

# Removed with their content before anything else looks at the page.
JUNK_TAGS = [
    "script",
    "style",
    "noscript",
    "template",
    "svg",
    "math",
    "iframe",
    "object",
    "embed",
    "canvas",
    "select",
    "textarea",
    "button",
    "input",
    "link",
    "meta",
    "head",
    "dialog",
    "map",
]
_JUNK_SELECTOR = ", ".join(JUNK_TAGS)
# Boilerplate that is safe to remove before the content is chosen: navigation, hidden markup,
# and figure captions (photo credits and captions are not main text in either gold set).
_STRONG_STRUCTURAL = (
    "nav, figcaption, [role=navigation], [role=search], [role=menu], [role=menubar], "
    "[role=dialog], [role=alertdialog], [hidden], [aria-hidden=true], "
    '[style*="display:none"], [style*="display: none"], [style*="visibility:hidden"]'
)
# Class/id words that name boilerplate whatever the layout (substring match, lowercased).
_STRONG_NAMES = re.compile(
    r"comment|cookie|consent|gdpr|breadcrumb|newsletter|disqus|outbrain|taboola|"
    r"sharing|share-|-share|socialmedia|social-|shariff|recommend|shoutbox|pagination|popup|"
    r"skiplink|skip-link|more-stories|morestories|most-popular|mostpopular|author-bio|"
    r"authorbio|byline|dateline|post-meta|entry-meta|postmeta|article-meta|signup|sign-up|"
    r"tagcloud|tag-cloud|tags-list|post-tags|entry-tags|jp-relatedposts|yarpp|related|"
    r"paywall|subscri|advertis|sponsor|follow-us|followus|breaking-news|ticker|trending"
)
# Words that name layout boilerplate (sidebars, menus, ads): whole tokens, or substrings for
# the long ones; spared when they wrap the chosen content ("content-with-sidebar").
_WEAK_NAMES = re.compile(r"sidebar|side-bar|footer|navbar|navigation|masthead|toolbar|banner")
_WEAK_TOKENS = frozenset(
    "nav menu share shares social ad ads advert adv promo modal overlay pager widget "
    "author skip print dropdown offcanvas secondary complementary sitemap "
    "copyright legal imprint impressum login header footer".split()
)
_TOKEN_SPLIT = re.compile(r"[\s_\-]+|(?<=[a-z])(?=[A-Z])")
# A container this share of the page text is the page, not its boilerplate (ASP.NET forms).
_MAX_TEXT_SHARE = 0.5
_MIN_WRAPPER_CHARS = 250  # ... on pages with more than twice this much text
_NAME_CACHE: dict[str, int] = {}
NOT_BOILERPLATE, WEAK, STRONG = 0, 1, 2
# Layout-level boilerplate: lowered, not removed, since a page wrapper often carries one of
# these names ("content-with-sidebar", ASP.NET's page-wide <form>).
_WEAK_TAGS = frozenset(("footer", "aside", "form", "menu", "header"))
_WEAK_ROLES = "[role=banner], [role=contentinfo], [role=complementary]"
_STRONG_ROLES = frozenset("navigation search menu menubar dialog alertdialog".split())
_SPECIAL = f"{_STRONG_STRUCTURAL}, {_WEAK_ROLES}"  # the few elements judged by tag or attribute
_NEVER_BOILERPLATE = frozenset(("body", "html", "article", "main"))
# Every element the boilerplate rules look at, in one query (document order).
_CANDIDATES = f"{_STRONG_STRUCTURAL}, footer, aside, form, menu, header, [class], [id]"


def strip_junk(body: LexborNode) -> None:
    """Drop elements whose content is never reading text (scripts, styles, svg, widgets).

    One query for all tags (each query walks the whole tree), innermost first.
    """
    for node in reversed(body.css(_JUNK_SELECTOR)):
        node.decompose()


def name_strength(class_and_id: str) -> int:
    """STRONG for comment/share/related... names, WEAK for sidebar/menu/ad names, else 0."""
    strength = _NAME_CACHE.get(class_and_id)
    if strength is None:
        lowered = class_and_id.lower()
        if _STRONG_NAMES.search(lowered):
            strength = STRONG
        elif _WEAK_NAMES.search(lowered) or any(
            token.lower() in _WEAK_TOKENS for token in _TOKEN_SPLIT.split(class_and_id)
        ):
            strength = WEAK
        else:
            strength = NOT_BOILERPLATE
        if len(_NAME_CACHE) < 100_000:
            _NAME_CACHE[class_and_id] = strength
    return strength


def remove_strong(body: LexborNode) -> set[int]:
    """Remove navigation, hidden markup and comment/share/related containers, sparing any that
    holds most of the page's text (a mis-named page wrapper).

    Returns the ``mem_id`` of every remaining layout-boilerplate container (footer, sidebar,
    menu, ad... by tag, role or class/id): the extractor lowers the value of the text inside
    them. Two CSS queries in all: each one walks the whole tree in C, which costs more than
    the Python that classifies the elements they return.
    """
    special = {node.mem_id: _special_strength(node) for node in body.css(_SPECIAL)}
    weak = {key for key, strength in special.items() if strength == WEAK}
    doomed: list[LexborNode] = []
    cache = _NAME_CACHE  # class names repeat a lot: a dict hit beats two function calls
    for node in body.css(_CANDIDATES):  # document order
        key = node.mem_id
        if special.get(key) == STRONG:
            doomed.append(node)
            continue
        tag = node.tag
        if tag in _NEVER_BOILERPLATE:
            continue
        class_name = node.attrs.get("class")
        strength = cache.get(class_name, -1) if class_name else NOT_BOILERPLATE
        if strength < 0:
            strength = name_strength(class_name)
        if strength != STRONG:
            node_id = node.id
            if node_id:
                id_strength = cache.get(node_id, -1)
                strength = max(strength, name_strength(node_id) if id_strength < 0 else id_strength)
        if strength == STRONG:
            doomed.append(node)
        elif (strength == WEAK or tag in _WEAK_TAGS) and not (
            tag == "header" and _inside_article(node)
        ):
            weak.add(key)
    if doomed:
        _decompose(body, doomed)
    return weak


def _special_strength(node: LexborNode) -> int:
    """STRONG for navigation, captions and hidden markup; WEAK for banner/sidebar roles."""
    if node.tag in ("nav", "figcaption"):
        return STRONG
    attrs = node.attrs
    if attrs.get("role") in _STRONG_ROLES or "hidden" in attrs:
        return STRONG
    if attrs.get("aria-hidden") == "true":
        return STRONG
    style = attrs.get("style") or ""
    if "display:none" in style or "display: none" in style or "visibility:hidden" in style:
        return STRONG
    return WEAK


def _inside_article(node: LexborNode) -> bool:
    """An ``<article>``'s or ``<main>``'s own ``<header>`` holds its headline, not site chrome."""
    parent = node.parent
    while parent is not None:
        if parent.tag in ("article", "main"):
            return True
        parent = parent.parent
    return False


def _decompose(body: LexborNode, doomed: list[LexborNode]) -> None:
    """Decompose innermost first (reverse document order), so no node is freed twice; a
    container holding most of the page's text is a mis-named wrapper and stays."""
    page_chars = -1  # measured only when a container is large enough to matter
    for node in reversed(doomed):
        chars = len(node.text(deep=True))
        if chars > _MIN_WRAPPER_CHARS:
            if page_chars < 0:
                page_chars = len(body.text(deep=True))
            if chars > page_chars * _MAX_TEXT_SHARE:
                continue
        node.decompose()

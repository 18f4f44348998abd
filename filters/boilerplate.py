"""Markup that never carries main text: scripts and styles, then navigation, footers, ads, comments.

Everything here runs as lexbor CSS queries plus one small regex test per element that has a
``class`` or ``id``, so the per-page Python cost stays small. Images inside removed markup are
not counted here: the extractor counts every ``<img>`` before and after, and books the
difference as ``in_boilerplate``.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

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
# Boilerplate that is safe to remove before the content is chosen: navigation, hidden markup,
# and figure captions (photo credits and captions are not main text in either gold set).
_STRONG_STRUCTURAL = (
    "nav, figcaption, [role=navigation], [role=search], [role=menu], [role=menubar], "
    "[role=dialog], [role=alertdialog], [hidden], [aria-hidden=true], "
    '[style*="display:none"], [style*="display: none"], [style*="visibility:hidden"]'
)
# Layout-level boilerplate, removed only outside the chosen content's ancestry.
_WEAK_STRUCTURAL = (
    "footer, aside, form, menu, header, [role=banner], [role=contentinfo], [role=complementary]"
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
# Inside the chosen content, a weakly named part this share of its text is content.
_MAX_CONTENT_SHARE = 0.25
_NAME_CACHE: dict[str, int] = {}
NOT_BOILERPLATE, WEAK, STRONG = 0, 1, 2


def strip_junk(tree: LexborHTMLParser) -> None:
    """Drop elements whose content is never reading text (scripts, styles, svg, widgets)."""
    tree.strip_tags(JUNK_TAGS)


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


def remove_strong(body: LexborNode) -> dict[int, int]:
    """Before scoring: remove navigation, hidden markup and comment/share/related containers,
    sparing any that holds most of the page's text (a mis-named page wrapper).

    Returns the class/id strength of every named element by ``mem_id``, for ``remove_weak``.
    """
    strengths: dict[int, int] = {}
    for node in body.css("[class], [id]"):
        if node.tag not in ("body", "html", "article", "main"):
            name = f"{node.attrs.get('class') or ''} {node.id or ''}"
            strengths[node.mem_id] = name_strength(name)
    page_chars = len(body.text(deep=True))
    limit = page_chars * _MAX_TEXT_SHARE if page_chars > 500 else None
    _remove(body, _STRONG_STRUCTURAL, strengths, STRONG, frozenset(), limit)
    return strengths


def remove_weak(
    body: LexborNode, strengths: dict[int, int], protected: frozenset[int], content_chars: int
) -> None:
    """After scoring: remove footers, sidebars, menus, ads, except the chosen content, its
    ancestors (``protected`` mem_ids) and parts holding a large share of the content's text
    (a section named "...--Ads" because it also carries an ad slot)."""
    limit = max(content_chars * _MAX_CONTENT_SHARE, 200)
    structural = f"{_WEAK_STRUCTURAL}, {_STRONG_STRUCTURAL}"
    _remove(body, structural, strengths, WEAK, protected, limit)


def _remove(
    body: LexborNode,
    structural: str,
    strengths: dict[int, int],
    min_strength: int,
    protected: frozenset[int],
    max_chars: float | None,
) -> None:
    """Decompose matches innermost first (reverse document order), so no node is freed twice."""
    by_tag = {node.mem_id for node in body.css(structural)}
    doomed: dict[int, LexborNode] = {}
    for node in body.css(f"{structural}, [class], [id]"):  # one query: document order
        key = node.mem_id
        if key in doomed or key in protected:
            continue
        if key in by_tag or strengths.get(key, NOT_BOILERPLATE) >= min_strength:
            doomed[key] = node
    for node in reversed(list(doomed.values())):
        if max_chars is not None and len(node.text(deep=True)) > max_chars:
            continue
        node.decompose()

"""Markup that never carries main text: scripts and styles, then navigation, footers, ads, comments.

One walk over the page's elements (``survey``), in Python over lexbor's C traversal, sorts them:

* junk (scripts, styles, svg, form controls...): removed with their content, never looked into;
* strong boilerplate (navigation, hidden markup, figure captions, and containers whose class or
  id names comments, sharing, related links...): removed, unless it holds most of the page's
  text (then it is a mis-named page wrapper);
* weak boilerplate (layout containers: footers, sidebars, menus, ads, by tag, role or name):
  kept, but the extractor lowers the value of their text unless they wrap the content.

One walk is cheaper than CSS queries: lexbor checks every selector of a query against every
node, so the ~30 selectors these rules take cost more than reading each element's attributes
once. The walk also lists the ``<img>`` and ``<figcaption>`` elements, junk included, since the
extractor reads both before anything is removed: it counts every image before and after, and
books the difference as ``in_boilerplate``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from selectolax.lexbor import LexborNode

# Removed with their content before anything else looks at the page.
JUNK_TAGS = frozenset(
    "script style noscript template svg math iframe object embed canvas select textarea button "
    "input link meta head dialog map".split()
)
# Strong boilerplate by tag or attribute: navigation, figure captions (photo credits and
# captions are not main text in either gold set; see ``_TAG_RULES``), and hidden markup.
_STRONG_ROLES = frozenset("navigation search menu menubar dialog alertdialog".split())
_HIDDEN_STYLES = ("display:none", "display: none", "visibility:hidden")
_MARKING_ATTRIBUTES = frozenset(("role", "hidden", "aria-hidden", "style"))
# Class/id words that name boilerplate whatever the layout (substring match, lowercased).
_STRONG_WORDS = (
    "comment cookie consent gdpr breadcrumb newsletter disqus outbrain taboola "
    "sharing share- -share socialmedia social- shariff recommend shoutbox pagination popup "
    "skiplink skip-link more-stories morestories most-popular mostpopular author-bio "
    "authorbio byline dateline post-meta entry-meta postmeta article-meta signup sign-up "
    "tagcloud tag-cloud tags-list post-tags entry-tags jp-relatedposts yarpp related "
    "paywall subscri advertis sponsor follow-us followus breaking-news ticker trending"
)
# Words that name layout boilerplate (sidebars, menus, ads): whole tokens, or substrings for
# the long ones; spared when they wrap the chosen content ("content-with-sidebar").
_WEAK_WORDS = "sidebar side-bar footer navbar navigation masthead toolbar banner"
_WEAK_TOKENS = frozenset(
    "nav menu share shares social ad ads advert adv promo modal overlay pager widget "
    "author skip print dropdown offcanvas secondary complementary sitemap "
    "copyright legal imprint impressum login header footer".split()
)
_SEPARATORS = str.maketrans("_-", "  ")  # tokens split at whitespace, '_', '-' ...
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])")  # ... and camelCase
# Layout boilerplate by tag or role: lowered, not removed, since a page wrapper often is one
# (ASP.NET's page-wide <form>).
_WEAK_TAGS = frozenset(("footer", "aside", "form", "menu", "header"))
_WEAK_ROLES = frozenset(("banner", "contentinfo", "complementary"))
_NEVER_BOILERPLATE = frozenset(("body", "html", "article", "main"))  # whatever their names
# A container this share of the page text is the page, not its boilerplate (ASP.NET forms).
_MAX_TEXT_SHARE = 0.5
_MIN_WRAPPER_CHARS = 250  # ... on pages with more than twice this much text
_CHECK_MASK = 511  # elements between two deadline checks, minus one (a power of two)
NOT_BOILERPLATE, WEAK, STRONG = 0, 1, 2


def _any_word(words: str) -> re.Pattern:
    """A regex that finds any of the space-separated literal ``words`` as a substring.

    Built as a trie ("co(?:mment|nsent|okie)|..."): at each position the engine follows the
    one branch of the next character instead of trying every word, which halves the cost of
    classifying a class name the cache has not seen (most of a page's ids and many classes).
    """
    trie: dict = {}
    for word in words.split():
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}  # a word ends here

    def branches(node: dict) -> str:
        options = [re.escape(char) + branches(node[char]) for char in sorted(node) if char]
        if not options:
            return ""
        joined = options[0] if len(options) == 1 else "(?:" + "|".join(options) + ")"
        return f"(?:{joined})?" if "" in node else joined

    return re.compile(branches(trie))


_STRONG_NAMES = _any_word(_STRONG_WORDS)
_STRONG_SET = frozenset(_STRONG_WORDS.split())
_BOILERPLATE_NAMES = _any_word(_STRONG_WORDS + " " + _WEAK_WORDS)
# Verdict per class or id string, shared by every page a worker extracts (class names repeat
# across pages and sites; ids often do not). ``bench/extraction_quality.py`` resets it so that
# it times unseen pages, not pages whose names it has already classified.
NAME_CACHE: dict[str, int] = {}
_NAME_CACHE_SIZE = 100_000  # names kept; later ones are classified each time
_DIGITS_AS_ZERO = str.maketrans("123456789", "000000000")


# What the survey does with an element, by its tag; every other tag is judged by its names.
_BY_NAME, _IMAGE, _CAPTION, _JUNK, _STRONG_TAG, _WEAK_TAG, _NEVER, _NOT_ELEMENT = range(8)
_TAG_RULES = {
    **dict.fromkeys(JUNK_TAGS, _JUNK),
    "img": _IMAGE,  # listed, then judged by its names like any element
    "figcaption": _CAPTION,  # listed, and strong
    "nav": _STRONG_TAG,
    **dict.fromkeys(_WEAK_TAGS, _WEAK_TAG),
    **dict.fromkeys(_NEVER_BOILERPLATE, _NEVER),
    "-comment": _NOT_ELEMENT,
    "-doctype": _NOT_ELEMENT,
    "-document": _NOT_ELEMENT,
    None: _NOT_ELEMENT,  # other non-element nodes
}


@dataclass(slots=True)
class Survey:
    """What one walk over the page found, each list in document order."""

    junk: list[LexborNode] = field(default_factory=list)
    strong: list[LexborNode] = field(default_factory=list)  # strong boilerplate, outside junk
    weak: set[int] = field(default_factory=set)  # ``mem_id`` of the layout containers
    images: list[LexborNode] = field(default_factory=list)  # every <img>, junk included
    figcaptions: list[LexborNode] = field(default_factory=list)  # junk included


def survey(body: LexborNode, check_deadline: Callable[[], None]) -> Survey:
    """Sort the elements of ``body`` (itself included) into junk and boilerplate, and list its
    images and captions. Nothing is removed yet: see ``remove``.

    ``check_deadline`` is called every 512 elements; it raises to end a walk that runs long.
    """
    found = Survey()
    strong, weak = found.strong, found.weak
    body_key = body.mem_id
    skip_to = None  # inside junk: mem_id of the first node after it (0: the end of the page)
    in_article: dict[int, bool] = {}  # ``_inside_article`` answers, per ancestor
    for count, node in enumerate(body.traverse()):  # elements and comments, no text
        if not count & _CHECK_MASK:
            check_deadline()
        rule = _TAG_RULES.get(node.tag, _BY_NAME)
        if rule or skip_to is not None:  # tags with a rule of their own, and the inside of junk
            if rule == _IMAGE:
                found.images.append(node)
            elif rule == _CAPTION:
                found.figcaptions.append(node)
            if skip_to is not None:
                if node.mem_id != skip_to:
                    continue
                skip_to = None
            if rule == _JUNK:
                found.junk.append(node)
                skip_to = _end_of_subtree(node, body_key)
                continue
            if rule == _STRONG_TAG or rule == _CAPTION:
                strong.append(node)
                continue
            if rule == _NOT_ELEMENT:
                continue
        attrs = node.attributes
        strength = NOT_BOILERPLATE
        if attrs:
            if not _MARKING_ATTRIBUTES.isdisjoint(attrs):
                if _is_hidden_or_navigation(attrs):
                    strong.append(node)
                    continue
                if attrs.get("role") in _WEAK_ROLES:
                    weak.add(node.mem_id)
            if rule != _NEVER:
                strength = _names_strength(attrs.get("class"), attrs.get("id"))
        if strength == STRONG:
            strong.append(node)
        elif (strength == WEAK or rule == _WEAK_TAG) and not (
            node.tag == "header" and _inside_article(node, in_article)
        ):
            weak.add(node.mem_id)
    return found


def _end_of_subtree(node: LexborNode, root_key: int) -> int:
    """``mem_id`` of the first element or comment after ``node``'s subtree in document order,
    within the walk's root; 0 when the subtree runs to the end."""
    while node is not None and node.mem_id != root_key:
        following = node.next
        while following is not None:
            if not following.is_text_node:
                return following.mem_id
            following = following.next
        node = node.parent
    return 0


def _is_hidden_or_navigation(attrs: dict) -> bool:
    """Hidden markup, or a navigation/search/dialog role (attribute values as written)."""
    if attrs.get("role") in _STRONG_ROLES or "hidden" in attrs:
        return True
    if attrs.get("aria-hidden") == "true":
        return True
    style = attrs.get("style")
    return bool(style) and any(hidden in style for hidden in _HIDDEN_STYLES)


def _names_strength(class_name: str | None, node_id: str | None) -> int:
    """The stronger verdict of an element's class and id (``name_strength``), cached."""
    cache = NAME_CACHE  # class names repeat a lot: a dict hit beats the regexes
    strength = NOT_BOILERPLATE
    if class_name:
        strength = cache.get(class_name, -1)
        if strength < 0:
            strength = name_strength(class_name)
    if node_id and strength != STRONG:
        id_strength = cache.get(node_id, -1)
        strength = max(strength, name_strength(node_id) if id_strength < 0 else id_strength)
    return strength


def name_strength(class_and_id: str) -> int:
    """STRONG for comment/share/related... names, WEAK for sidebar/menu/ad names, else 0.

    No boilerplate word holds a digit, so the verdict of "menu-item-4711" is that of its shape
    "menu-item-0000": generated names ("post-123", "menu-item-456") share one classification.
    """
    strength = NAME_CACHE.get(class_and_id)
    if strength is None:
        shape = class_and_id.translate(_DIGITS_AS_ZERO)
        strength = NAME_CACHE.get(shape)
        if strength is None:
            strength = _classify(shape)
            _remember(shape, strength)
        _remember(class_and_id, strength)
    return strength


def _classify(class_and_id: str) -> int:
    """One pass for the words of both lists; the strong list is searched again, from the
    first word found, only when that word is a weak one (a strong word may start there too,
    or later)."""
    lowered = class_and_id.lower()
    found = _BOILERPLATE_NAMES.search(lowered)
    if found is not None:
        if found.group() in _STRONG_SET or _STRONG_NAMES.search(lowered, found.start()):
            return STRONG
        return WEAK
    return WEAK if _has_weak_token(class_and_id) else NOT_BOILERPLATE


def _remember(class_and_id: str, strength: int) -> None:
    if len(NAME_CACHE) < _NAME_CACHE_SIZE:
        NAME_CACHE[class_and_id] = strength


def _has_weak_token(name: str) -> bool:
    """Whether a token of ``name`` (cut at whitespace, '_', '-' and camelCase) is a weak word."""
    for piece in name.translate(_SEPARATORS).split():
        if piece.islower():  # no camelCase inside: the piece is one token
            if piece in _WEAK_TOKENS:
                return True
            continue
        for token in _CAMEL_BOUNDARY.split(piece):
            if token.lower() in _WEAK_TOKENS:
                return True
    return False


def _inside_article(node: LexborNode, known: dict[int, bool]) -> bool:
    """An ``<article>``'s or ``<main>``'s own ``<header>`` holds its headline, not site chrome.

    ``known`` keeps the answer for every ancestor passed, so a later climb stops at the first
    one already answered: each element is climbed past once per page, whatever the depth.
    """
    passed = []
    parent = node.parent
    inside = False
    while parent is not None:
        key = parent.mem_id
        answer = known.get(key)
        if answer is not None:
            inside = answer
            break
        if parent.tag in ("article", "main"):
            inside = True
            break
        passed.append(key)
        parent = parent.parent
    for key in passed:
        known[key] = inside
    return inside


def remove(body: LexborNode, found: Survey) -> None:
    """Remove the junk, then the strong boilerplate, sparing any container that holds most of
    the page's text (a mis-named wrapper).

    Innermost first (reverse document order), so an outer container is measured without what
    was removed inside it: each character is measured once. A container around a spared one
    holds more text still, so it is spared unmeasured. ``decompose`` only unlinks nodes, so one
    already cut off with an enclosing container is harmless.
    """
    for node in reversed(found.junk):
        node.decompose()
    page_chars = -1  # measured only when a container is large enough to matter
    around_spared: set[int] = set()  # mem_id of the ancestors of spared containers
    for node in reversed(found.strong):
        if node.mem_id in around_spared:
            continue
        chars = len(node.text(deep=True))
        if chars > _MIN_WRAPPER_CHARS:
            if page_chars < 0:
                page_chars = len(body.text(deep=True))
            if chars > page_chars * _MAX_TEXT_SHARE:
                _mark_ancestors(node, around_spared)
                continue
        node.decompose()


def _mark_ancestors(node: LexborNode, marked: set[int]) -> None:
    """Add the ancestors of ``node`` to ``marked``, stopping at one already there."""
    parent = node.parent
    while parent is not None and parent.mem_id not in marked:
        marked.add(parent.mem_id)
        parent = parent.parent

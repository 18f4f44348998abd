"""Archive URL keys: how an image URL of a page is matched against WARC-Target-URIs.

Replay tools do not compare URLs as strings. pywb looks a URL up in its CDX index by its SURT
key (``pywb/utils/canonicalize.py`` calls ``surt.surt``), and the ``surt`` package
(internetarchive/surt, ``surt/GoogleURLCanonicalizer.py`` then ``IAURLCanonicalizer``) builds
that key. This module follows the Google canonicalizer step for step:

- the fragment and any ``user:password@`` are dropped;
- the host is percent-decoded, IDNA-encoded when not ASCII, lower-cased, with ``..`` collapsed
  and leading/trailing dots removed; the default port (80 for http, 443 for https) is dropped;
- path and query are percent-decoded repeatedly, then escaped once: every byte outside
  printable ASCII, and ``%``, ``#`` and space, becomes ``%XX`` (upper-case hex). So ``%2C`` and
  ``,`` match, as do ``%7E`` and ``~``, ``é`` and ``%C3%A9``, ``%2520`` and ``%20``;
- ``.`` and ``..`` path segments are resolved and repeated slashes collapsed; an empty path is
  ``/``; an empty query (``?`` alone) is dropped (IA ``query_strip_empty``).

It deliberately keeps what the IA canonicalizer's lossy defaults throw away: the case of path
and query (``path_lowercase``/``query_lowercase``: most servers are case-sensitive, Wikimedia
file names are), the order of query arguments (``query_alpha_reorder``: a server may read
them in order) and session-id-like parameters.

Two keys, two match kinds after an exact string match (``match_kind``):

- ``canonical_url``: scheme (lower-case) + the canonical rest: the **canonical** match;
- ``surt_key``: SURT order (``org,example)/path?query``) without the scheme and without a
  leading ``www``/``wwwN`` label (IA ``host_massage``), exactly the granularity of a pywb
  lookup: the **scheme_insensitive** match, a second choice (``http`` ↔ ``https``).

No DNS: surt resolves decimal and octal IP hosts through the resolver; these keys never touch
the network.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote_from_bytes, unquote_to_bytes, urlsplit

# What surt's escapeOnce leaves alone (letters, digits and these); everything else is %XX.
_SAFE = b"!\"$&'()*+,-./:;<=>?@[\\]^_`{|}~"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_WWW = re.compile(r"^www\d*\.")

EXACT, CANONICAL, SCHEME_INSENSITIVE = "exact", "canonical", "scheme_insensitive"
MATCH_KINDS = (EXACT, CANONICAL, SCHEME_INSENSITIVE)  # best first


@lru_cache(maxsize=65536)
def _parts(url: str) -> tuple[str, str, str, str]:
    """(scheme, host[:port], path, query) in canonical form (see the module docstring)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return "", "", _escape_once(url.strip()), ""
    scheme = parts.scheme.lower()
    host = _canonical_host(parts.netloc.rpartition("@")[2])
    path = _escape_once(_normalize_path(_unescape_repeatedly(parts.path)))
    query = _escape_once(_unescape_repeatedly(parts.query))
    return scheme, _strip_default_port(host, scheme), path, query


def canonical_url(url: str) -> str:
    """The canonical form of ``url``, scheme kept (the ``canonical`` match)."""
    scheme, host, path, query = _parts(url)
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


def surt_key(url: str) -> str:
    """The scheme-free SURT key of ``url`` (``org,example)/a.jpg?x=1``), ``www`` label dropped."""
    _, host, path, query = _parts(url)
    name, colon, port = host.rpartition(":") if not host.endswith("]") else (host, "", "")
    if not colon or not port.isdigit():
        name, port = host, ""
    name = _WWW.sub("", name)
    reversed_host = ",".join(reversed(name.split("."))) if not name.startswith("[") else name
    return f"{reversed_host}{':' + port if port else ''}){path}" + (f"?{query}" if query else "")


def match_kind(wanted: str, captured: str) -> str | None:
    """How the capture URI ``captured`` matches ``wanted``: exact, canonical,
    scheme_insensitive, or None when replay would not consider it the same URL."""
    if wanted == captured:
        return EXACT
    if canonical_url(wanted) == canonical_url(captured):
        return CANONICAL
    if surt_key(wanted) == surt_key(captured):
        return SCHEME_INSENSITIVE
    return None


def _unescape_repeatedly(text: str) -> bytes:
    data = text.encode("utf-8", "surrogatepass")
    while True:
        decoded = unquote_to_bytes(data)
        if decoded == data:
            return data
        data = decoded


def _escape_once(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    return quote_from_bytes(data, safe=_SAFE)


def _normalize_path(path: bytes) -> bytes:
    """Resolve ``.``/``..`` segments, collapse repeated slashes; ``/`` for an empty path."""
    if not path:
        return b"/"
    kept: list[bytes] = []
    segments = path.split(b"/")[1:] if path.startswith(b"/") else path.split(b"/")
    for segment in segments:
        if segment == b".":
            continue
        if segment == b"..":
            if kept:
                kept.pop()
            continue
        kept.append(segment)
    trailing = path.endswith((b"/", b"/.", b"/..")) and bool(kept)
    inner = b"/".join(s for s in kept if s)
    return b"/" + inner + (b"/" if trailing and inner else b"")


def _canonical_host(netloc: str) -> str:
    host, port = netloc, ""
    if netloc.startswith("["):  # IPv6 literal keeps its brackets and colons
        end = netloc.find("]")
        host, port = netloc[: end + 1], netloc[end + 2 :] if end >= 0 else ""
    elif ":" in netloc:
        host, _, port = netloc.rpartition(":")
    raw = _unescape_repeatedly(host)
    try:
        name = raw.decode("ascii")
    except UnicodeDecodeError:
        try:
            name = raw.decode("utf-8", "ignore").encode("idna").decode("ascii")
        except UnicodeError:
            name = raw.decode("utf-8", "replace")
    while ".." in name:
        name = name.replace("..", ".")
    name = _escape_once(name.strip(".").lower())
    return f"{name}:{port}" if port else name


def _strip_default_port(host: str, scheme: str) -> str:
    name, colon, port = host.rpartition(":")
    if colon and not host.endswith("]") and port.isdigit():
        if _DEFAULT_PORTS.get(scheme) == int(port):
            return name
        return f"{name}:{int(port)}"
    return host

"""URL normalisation for URL dedup, and registered domains for per-domain paragraph dedup.

``normalize_url`` decisions (each one makes two captures of the same page compare equal):
- scheme and host lower-cased; a trailing dot on the host removed; IDNA hosts kept as written;
- default ports dropped (``:80`` for http, ``:443`` for https); userinfo kept;
- fragment dropped (never sent to the server);
- tracking parameters dropped: a name in ``drop_params`` or starting with a prefix in
  ``drop_param_prefixes`` (case-insensitive), default ``utm_*``, fbclid, gclid, ...;
- remaining query parameters **sorted** by name, then value (stable for equal pairs), because
  crawlers and CMSes emit the same parameters in different orders; blank values are kept;
- an empty path becomes ``/``; the path is otherwise kept byte for byte (no case folding, no
  percent-decoding, no dot-segment removal: servers may treat those as different pages);
- ``http`` and ``https`` stay distinct by default (``merge_http_https=True`` folds them to https).

``registered_domain`` uses tldextract's public suffix list snapshot that ships inside the
package; it never fetches the list (no cache directory, no suffix list URLs).
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import tldextract

DEFAULT_DROP_PARAMS: frozenset[str] = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "igshid",
        "ref_src",
        "spm",
    }
)
DEFAULT_DROP_PARAM_PREFIXES: tuple[str, ...] = ("utm_",)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(
    url: str,
    drop_params: frozenset[str] | set[str] = DEFAULT_DROP_PARAMS,
    drop_param_prefixes: tuple[str, ...] = DEFAULT_DROP_PARAM_PREFIXES,
    merge_http_https: bool = False,
) -> str:
    """The canonical form of ``url`` used as the URL-dedup key (rules in the module doc)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if merge_http_https and scheme == "http":
        scheme = "https"
    netloc = _normalize_netloc(parts, scheme)
    path = parts.path or "/"
    query = _normalize_query(parts.query, drop_params, drop_param_prefixes)
    return urlunsplit((scheme, netloc, path, query, ""))


def _normalize_netloc(parts, scheme: str) -> str:
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # IPv6 literal: urlsplit strips the brackets
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a non-numeric port: keep the netloc as written, lower-cased
        return parts.netloc.lower()
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        host = f"{host}:{port}"
    userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
    return f"{userinfo}@{host}" if userinfo else host


def _normalize_query(
    query: str, drop_params: frozenset[str] | set[str], drop_param_prefixes: tuple[str, ...]
) -> str:
    if not query:
        return ""
    kept = [
        (name, value)
        for name, value in parse_qsl(query, keep_blank_values=True)
        if not _is_tracking_param(name.lower(), drop_params, drop_param_prefixes)
    ]
    return urlencode(sorted(kept))


def _is_tracking_param(
    name: str, drop_params: frozenset[str] | set[str], drop_param_prefixes: tuple[str, ...]
) -> bool:
    return name in drop_params or name.startswith(drop_param_prefixes)


@lru_cache(maxsize=2)
def _offline_extractor(include_private: bool) -> tldextract.TLDExtract:
    """tldextract on its bundled snapshot only: no cache dir, no URLs, so nothing is fetched."""
    return tldextract.TLDExtract(
        cache_dir=None,
        suffix_list_urls=(),
        fallback_to_snapshot=True,
        include_psl_private_domains=include_private,
    )


def registered_domain(url: str, include_private: bool = True) -> str:
    """The registrable domain (eTLD+1) of ``url``'s host, lower-case.

    ``include_private=True`` counts private suffixes (``blogspot.com``, ``github.io``) as public,
    so every blog on a shared host is its own domain: their boilerplate differs, and pooling
    them would remove paragraphs that are common only across unrelated sites. A host with no
    registrable domain (an IP address, ``localhost``, a bare suffix) is returned as the host.
    """
    host = (urlsplit(url.strip()).hostname or "").rstrip(".").lower()
    if not host:
        return ""
    extracted = _offline_extractor(include_private)(host)
    if extracted.domain and extracted.suffix:
        return f"{extracted.domain}.{extracted.suffix}"
    return host

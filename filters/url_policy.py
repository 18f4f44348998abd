"""Which image URLs the images job may fetch: a pure function of (URL, resolved addresses).

The fetcher asks twice, for every hop (the first URL and each redirect target):

1. ``check_url(url)`` before anything else: scheme, credentials, host syntax, IP literals. No
   name resolution, so a refused URL costs nothing and sends nothing.
2. ``check_addresses(addresses)`` with the addresses the host resolved to, at connection time,
   just before the socket connects; the fetcher then connects to exactly the address that was
   checked (pinning), so DNS cannot answer differently between the check and the connect.

Refusal reasons (stable snake_case, counted in ``stats.json``): ``scheme_not_http``,
``credentials_in_url``, ``missing_host``, ``ip_literal`` (a public address written as a
literal), ``unresolvable_host``, ``loopback_address``, ``private_address``,
``link_local_address`` (169.254.169.254, the cloud metadata service, is here),
``multicast_address``, ``reserved_address`` (unspecified, reserved, shared 100.64/10:
anything else that is not globally routable). Ranges follow Python's ``ipaddress`` (the IANA
special-purpose registries), so documentation ranges such as 198.51.100/24 are
``private_address``.

Choices:

* Any refused address among a host's addresses refuses the host (an attacker controlling DNS
  could otherwise mix a public and a private answer).
* An IP literal in a non-public range is refused with its range's reason (more telling than
  ``ip_literal``); a public literal is refused as ``ip_literal`` (OBELICS-era crawls contain
  them for trackers and CDNs that move; an allow-list admits them).
* The allow-list (``allowed_networks``, CIDR strings) admits addresses, literal or resolved, in
  any range: tests admit ``127.0.0.1/32``. It never admits a bad scheme or credentials.
* IPv4-mapped IPv6 addresses (``::ffff:10.0.0.1``) are judged as the IPv4 address they carry.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from webweave.filters.decision import Drop

ALLOWED_SCHEMES = frozenset({"http", "https"})
REFUSAL_REASONS = (
    "scheme_not_http",
    "credentials_in_url",
    "missing_host",
    "ip_literal",
    "unresolvable_host",
    "loopback_address",
    "private_address",
    "link_local_address",
    "multicast_address",
    "reserved_address",
    "too_many_redirects",
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a URL or an address may not be fetched; ``detail`` names the offending part."""

    reason: str
    detail: str = ""


def parse_address(text: str) -> IPAddress | None:
    """The IP address ``text`` spells (brackets and IPv6 zone ids tolerated), else None."""
    candidate = text.strip("[]").split("%", 1)[0]
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def address_class(address: IPAddress) -> str | None:
    """The refusal reason for a non-public address, or None when it is globally routable.

    Order matters: Python's ``is_private`` is also true for loopback and link-local ranges,
    so the specific classes are tested first.
    """
    if address.is_loopback:
        return "loopback_address"
    if address.is_link_local:
        return "link_local_address"
    if address.is_multicast:
        return "multicast_address"
    if address.is_unspecified or address.is_reserved:
        return "reserved_address"
    if address.is_private:
        return "private_address"
    if not address.is_global:
        return "reserved_address"  # e.g. shared address space 100.64.0.0/10
    return None


class UrlPolicy:
    """The address policy; plain data (picklable), so each worker builds its own copy."""

    def __init__(self, allowed_networks: Iterable[str] = ()):
        self.allowed_networks = tuple(str(n) for n in allowed_networks)
        self._networks = tuple(ipaddress.ip_network(n, strict=False) for n in self.allowed_networks)

    def __reduce__(self):
        return (UrlPolicy, (self.allowed_networks,))

    def admitted(self, address: IPAddress) -> bool:
        """True when the allow-list covers ``address``."""
        return any(address.version == n.version and address in n for n in self._networks)

    def check_url(self, url: str) -> Refusal | None:
        """The checks that need no resolution: scheme, credentials, host, IP literals."""
        try:
            parts = urlsplit(url)
            host = parts.hostname
            _ = parts.port  # raises ValueError on a malformed port
        except ValueError:
            return Refusal("missing_host", url[:200])
        if parts.scheme.lower() not in ALLOWED_SCHEMES:
            return Refusal("scheme_not_http", parts.scheme or "(none)")
        if parts.username is not None or parts.password is not None or "@" in parts.netloc:
            return Refusal("credentials_in_url", parts.netloc.rpartition("@")[2])
        if not host:
            return Refusal("missing_host", url[:200])
        literal = parse_address(host)
        if literal is not None:
            return self.check_addresses([literal], literal=True)
        return None

    def check_addresses(
        self, addresses: Sequence[IPAddress | str], *, literal: bool = False
    ) -> Refusal | None:
        """Refuse unless every address is public or admitted by the allow-list."""
        if not addresses:
            return Refusal("unresolvable_host")
        for raw in addresses:
            address = parse_address(raw) if isinstance(raw, str) else raw
            if address is None:
                return Refusal("unresolvable_host", str(raw))
            if self.admitted(address):
                continue
            reason = address_class(address)
            if reason is not None:
                return Refusal(reason, str(address))
            if literal:
                return Refusal("ip_literal", str(address))
        return None

    def decide(self, url: str, addresses: Sequence[IPAddress | str] | None) -> Refusal | None:
        """The whole policy for one hop: None means the fetch may connect.

        ``addresses`` are what the host resolved to; ``None`` means the host is an IP literal
        (or the caller only wants the syntactic checks).
        """
        refusal = self.check_url(url)
        if refusal is not None or addresses is None:
            return refusal
        host = urlsplit(url).hostname or ""
        if parse_address(host) is not None:
            return None  # the literal was already judged by check_url
        return self.check_addresses(addresses)


class UrlPolicyStage:
    """Stage: refuse, before any request, URLs the policy rejects without resolving them."""

    name = "url_policy"

    def __init__(self, policy: UrlPolicy):
        self.policy = policy

    def __call__(self, item):
        refusal = self.policy.check_url(item.url)
        if refusal is None:
            return item
        return Drop(refusal.reason, {"detail": refusal.detail})

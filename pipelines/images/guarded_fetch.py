"""An HTTP(S) fetcher that applies ``UrlPolicy`` at connection time, on every hop.

How the guard works (it is the only code in webweave that opens image connections):

* ``GuardedFetcher.fetch`` checks the URL syntactically (``UrlPolicy.check_url``) before
  anything else; a refused URL sends nothing and resolves nothing.
* The urllib opener is built by hand from four handlers only: no proxy handler (environment
  proxies would move the connection elsewhere), no file/ftp/data handlers (unknown schemes
  fail closed). Each HTTP(S) connection class replaces ``_create_connection``: it resolves the
  host (``static_hosts`` first, a curl ``--resolve``-style map that also keeps tests free of
  DNS), checks *all* addresses with ``UrlPolicy.check_addresses`` and connects the TCP socket
  to the first checked address (pinning). HTTPS still verifies the certificate against the
  host name (SNI), only the TCP peer is pinned.
* Redirects are followed by urllib, so each hop opens a new connection through the same
  guard; the redirect handler also runs the syntactic check and caps the hop count
  (``too_many_redirects``).
* Bodies are read in chunks up to ``max_bytes`` (``too_many_bytes`` beyond; a larger
  ``Content-Length`` is refused before reading), within ``timeout_seconds`` overall.
* ``host_time_budget_seconds``: wall time spent per host in this process; once spent, further
  URLs of that host are refused as ``host_time_budget_exhausted`` (a tarpit host cannot eat
  the worker). The budget is per worker process, not global (see the runbook).

Residual risk (runbook): the check and the connect use the same resolved address, so DNS
rebinding between them is closed; but a host admitted by a broad allow-list is trusted for
every address in it, and HTTPS certificate checks are the only protection against a wrong
peer once the address is admitted.

Every outcome is a ``FetchResult`` with a stable snake_case ``reason`` on failure.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from webweave.filters.url_policy import REFUSAL_REASONS, Refusal, UrlPolicy, parse_address

CHUNK = 65536
USER_AGENT = "webweave-images/1.0 (+https://github.com/webweave)"


class PolicyRefused(urllib.error.URLError):
    """The address policy refused a hop; raised inside urllib so it aborts the request."""

    def __init__(self, refusal: Refusal, hop_url: str):
        super().__init__(f"refused {refusal.reason}: {refusal.detail} ({hop_url})")
        self.refusal = refusal
        self.hop_url = hop_url


class FetchLimitExceeded(Exception):
    """A limit of the fetcher (bytes, time budget) stopped the fetch."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout_seconds: float = 10.0
    max_bytes: int = 16 * 1024 * 1024
    max_redirects: int = 5
    host_time_budget_seconds: float = 300.0


@dataclass(slots=True)
class FetchResult:
    url: str
    data: bytes | None = None
    reason: str | None = None  # None on success
    detail: str = ""
    refused: bool = False  # the address policy refused a hop
    final_url: str | None = None
    content_type: str | None = None
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


Resolver = Callable[[str, int], list[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``getaddrinfo`` returns for ``host`` (TCP), in its order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


class AddressGuard:
    """Resolves, checks and pins one connection's peer address."""

    def __init__(self, policy: UrlPolicy, static_hosts: dict[str, list[str]], resolver: Resolver):
        self.policy = policy
        self.static_hosts = {k.lower(): list(v) for k, v in static_hosts.items()}
        self.resolver = resolver
        self.connections: list[tuple[str, str]] = []  # (host, address) admitted, for tests

    def resolve(self, host: str, port: int) -> list[str]:
        literal = parse_address(host)
        if literal is not None:
            return [str(literal)]
        if host.lower() in self.static_hosts:
            return self.static_hosts[host.lower()]
        try:
            return self.resolver(host, port)
        except (OSError, UnicodeError):
            return []

    def admit(self, host: str, port: int) -> str:
        """The address to connect to, or raise ``PolicyRefused``."""
        addresses = self.resolve(host, port)
        refusal = self.policy.check_addresses(addresses)
        if refusal is not None:
            raise PolicyRefused(refusal, f"{host}:{port}")
        self.connections.append((host, addresses[0]))
        return addresses[0]

    def create_connection(self, host_port, timeout=None, source_address=None):
        host, port = host_port
        address = self.admit(host, port)
        return socket.create_connection((address, port), timeout, source_address)


def _guarded(connection_class, guard: AddressGuard):
    """A connection class whose TCP connect goes through ``guard``."""

    class Guarded(connection_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = guard.create_connection

    return Guarded


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, guard: AddressGuard):
        super().__init__()
        self.connection_class = _guarded(http.client.HTTPConnection, guard)

    def http_open(self, req):
        return self.do_open(self.connection_class, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, guard: AddressGuard):
        super().__init__(context=ssl.create_default_context())
        self.connection_class = _guarded(http.client.HTTPSConnection, guard)

    def https_open(self, req):
        return self.do_open(self.connection_class, req, context=self._context)


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    def __init__(self, policy: UrlPolicy, max_redirects: int):
        super().__init__()
        self.policy = policy
        self.max_redirections = max_redirects + 1  # urllib's own cap stays as a backstop
        self.max_redirects = max_redirects

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        hops = len(getattr(req, "redirect_dict", {}))
        if hops >= self.max_redirects:
            raise PolicyRefused(Refusal("too_many_redirects", str(hops)), newurl)
        refusal = self.policy.check_url(newurl)
        if refusal is not None:
            raise PolicyRefused(refusal, newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def build_opener(guard: AddressGuard, limits: FetchLimits) -> urllib.request.OpenerDirector:
    """An opener with the guarded handlers only (no proxies, no file/ftp/data schemes)."""
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.UnknownHandler(),
        _HTTPHandler(guard),
        _HTTPSHandler(guard),
        urllib.request.HTTPDefaultErrorHandler(),
        _RedirectHandler(guard.policy, limits.max_redirects),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


class _HostClock:
    """Seconds spent per host in this process (thread-safe)."""

    def __init__(self):
        self.spent: dict[str, float] = {}
        self.lock = threading.Lock()

    def exhausted(self, host: str, budget: float) -> bool:
        with self.lock:
            return self.spent.get(host, 0.0) >= budget

    def add(self, host: str, seconds: float) -> None:
        with self.lock:
            self.spent[host] = self.spent.get(host, 0.0) + seconds


class GuardedFetcher:
    """Fetches one URL under the policy and limits; thread-safe (img2dataset uses threads)."""

    def __init__(
        self,
        policy: UrlPolicy,
        limits: FetchLimits = FetchLimits(),
        static_hosts: dict[str, list[str]] | None = None,
        resolver: Resolver = system_resolver,
        user_agent: str = USER_AGENT,
    ):
        self.policy = policy
        self.limits = limits
        self.guard = AddressGuard(policy, static_hosts or {}, resolver)
        self.opener = build_opener(self.guard, limits)
        self.user_agent = user_agent
        self.clock = _HostClock()

    def fetch(self, url: str) -> FetchResult:
        started = time.monotonic()
        result = self._fetch(url, started)
        result.seconds = time.monotonic() - started
        host = (urlsplit(url).hostname or "").lower()
        self.clock.add(host, result.seconds)
        return result

    def _fetch(self, url: str, started: float) -> FetchResult:
        refusal = self.policy.check_url(url)
        if refusal is not None:
            return FetchResult(url, reason=refusal.reason, detail=refusal.detail, refused=True)
        host = (urlsplit(url).hostname or "").lower()
        if self.clock.exhausted(host, self.limits.host_time_budget_seconds):
            return FetchResult(url, reason="host_time_budget_exhausted", detail=host)
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent})
        try:
            with self.opener.open(request, timeout=self.limits.timeout_seconds) as response:
                data = self._read(response, started)
                return FetchResult(
                    url,
                    data=data,
                    final_url=response.geturl(),
                    content_type=response.headers.get("Content-Type"),
                    extra={"headers": response.headers},
                )
        except FetchLimitExceeded as error:
            return FetchResult(url, reason=error.reason, detail=error.detail)
        except Exception as error:  # noqa: BLE001 - every failure becomes a per-image status
            reason, detail = classify_error(error)
            return FetchResult(url, reason=reason, detail=detail, refused=is_refusal(reason))

    def _read(self, response, started: float) -> bytes:
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > self.limits.max_bytes:
            raise FetchLimitExceeded("too_many_bytes", f"Content-Length {declared}")
        chunks, size = [], 0
        while True:
            if time.monotonic() - started > self.limits.timeout_seconds:
                raise FetchLimitExceeded("timeout", "total time")
            chunk = response.read(CHUNK)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > self.limits.max_bytes:
                raise FetchLimitExceeded("too_many_bytes", f"> {self.limits.max_bytes}")
            chunks.append(chunk)


def classify_error(error: BaseException) -> tuple[str, str]:
    """A stable reason for a fetch exception (status codes, timeouts, TLS, connection)."""
    if isinstance(error, PolicyRefused):
        return error.refusal.reason, error.hop_url
    if isinstance(error, urllib.error.HTTPError):
        return f"http_{error.code}", str(error.reason)[:200]
    cause = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(cause, PolicyRefused):
        return cause.refusal.reason, cause.hop_url
    if isinstance(cause, TimeoutError | socket.timeout):
        return "timeout", str(cause)[:200]
    if isinstance(cause, ssl.SSLError | ssl.CertificateError):
        return "tls_error", str(cause)[:200]
    if isinstance(cause, ConnectionRefusedError):
        return "connection_refused", str(cause)[:200]
    if isinstance(cause, ConnectionResetError | http.client.RemoteDisconnected):
        return "connection_reset", str(cause)[:200]
    if isinstance(cause, http.client.IncompleteRead):
        return "incomplete_read", str(cause)[:200]
    if isinstance(cause, socket.gaierror):
        return "unresolvable_host", str(cause)[:200]
    if isinstance(error, urllib.error.URLError) and "unknown url type" in str(error):
        return "scheme_not_http", str(error)[:200]
    return "download_error", f"{type(cause).__name__}: {cause}"[:200]


def is_refusal(reason: str | None) -> bool:
    """True when ``reason`` is an address-policy refusal (status ``refused``)."""
    return reason in REFUSAL_REASONS

"""The address policy as a pure function (no request, no DNS), and the live refusal on loopback.

Private, link-local and reserved addresses are only ever judged here as data; the one live
test talks to a 127.0.0.1 server whose request log must stay empty.
"""

from __future__ import annotations

import pytest
from loopback_images import LoopbackServer

from webweave.filters.url_policy import UrlPolicy, address_class, parse_address
from webweave.pipelines.images.guarded_fetch import GuardedFetcher


def _no_dns(host, port):
    raise AssertionError(f"DNS lookup attempted for {host}")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/a.jpg", "scheme_not_http"),
        ("file:///etc/passwd", "scheme_not_http"),
        ("javascript:alert(1)", "scheme_not_http"),
        ("data:image/png;base64,AAAA", "scheme_not_http"),
        ("http://user:pw@example.com/a.jpg", "credentials_in_url"),
        ("http://user@example.com/a.jpg", "credentials_in_url"),
        ("http:///a.jpg", "missing_host"),
        ("http://example.com:99999/a.jpg", "missing_host"),
        ("http://93.184.216.34/a.jpg", "ip_literal"),
        ("http://[2606:2800:220:1::]/a.jpg", "ip_literal"),
        ("http://127.0.0.1/a.jpg", "loopback_address"),
        ("http://[::1]/a.jpg", "loopback_address"),
        ("http://10.0.0.7/a.jpg", "private_address"),
        ("http://192.168.1.1/a.jpg", "private_address"),
        ("http://172.16.5.4/a.jpg", "private_address"),
        ("http://[fd00::1]/a.jpg", "private_address"),
        ("http://169.254.169.254/latest/meta-data/", "link_local_address"),
        ("http://[fe80::1]/a.jpg", "link_local_address"),
        ("http://224.0.0.1/a.jpg", "multicast_address"),
        ("http://0.0.0.0/a.jpg", "reserved_address"),
        ("http://240.0.0.1/a.jpg", "reserved_address"),
        ("http://100.64.0.1/a.jpg", "reserved_address"),
        ("http://[::ffff:10.0.0.1]/a.jpg", "private_address"),
    ],
)
def test_url_refusals(url, reason):
    refusal = UrlPolicy().check_url(url)
    assert refusal is not None and refusal.reason == reason


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        ([], "unresolvable_host"),
        (["10.1.1.1"], "private_address"),
        (["93.184.216.34", "10.1.1.1"], "private_address"),  # one bad answer refuses
        (["169.254.169.254"], "link_local_address"),
        (["127.0.0.53"], "loopback_address"),
        (["239.255.255.250"], "multicast_address"),
        (["198.51.100.7"], "private_address"),  # documentation range: IANA "private"
        (["not-an-address"], "unresolvable_host"),
        (["93.184.216.34", "2606:2800:220:1::"], None),
    ],
)
def test_resolved_address_refusals(addresses, reason):
    refusal = UrlPolicy().decide("https://images.example.com/a.jpg", addresses)
    assert (refusal.reason if refusal else None) == reason


def test_allow_list_admits_only_its_ranges():
    policy = UrlPolicy(["127.0.0.1/32", "10.8.0.0/16"])
    assert policy.check_url("http://127.0.0.1:8080/a.jpg") is None
    assert policy.check_url("http://127.0.0.2:8080/a.jpg").reason == "loopback_address"
    assert policy.decide("http://cdn.test/a.jpg", ["10.8.3.4"]) is None
    assert policy.decide("http://cdn.test/a.jpg", ["10.9.3.4"]).reason == "private_address"
    # the allow-list never admits a bad scheme or credentials
    assert policy.check_url("ftp://127.0.0.1/a.jpg").reason == "scheme_not_http"
    assert policy.check_url("http://u:p@127.0.0.1/a.jpg").reason == "credentials_in_url"


def test_address_helpers():
    assert parse_address("[::ffff:192.168.0.1]") == parse_address("192.168.0.1")
    assert parse_address("example.com") is None
    assert address_class(parse_address("8.8.8.8")) is None


def test_live_refusal_with_empty_allow_list_sends_nothing():
    with LoopbackServer({}) as server:
        fetcher = GuardedFetcher(
            UrlPolicy(), static_hosts={"images.test": ["127.0.0.1"]}, resolver=_no_dns
        )
        literal = fetcher.fetch(f"{server.base}/photo.jpg")
        named = fetcher.fetch(f"http://images.test:{server.port}/photo.jpg")
        assert (literal.reason, literal.refused) == ("loopback_address", True)
        assert (named.reason, named.refused) == ("loopback_address", True)
        assert server.requests == []


def test_guard_pins_the_checked_address_and_checks_redirect_hops():
    routes = {"/hop": lambda h: _redirect(h, "http://rebind.test:1/x.jpg")}
    with LoopbackServer(routes) as server:
        fetcher = GuardedFetcher(
            UrlPolicy(["127.0.0.1/32"]),
            static_hosts={"images.test": ["127.0.0.1"], "rebind.test": ["169.254.169.254"]},
            resolver=_no_dns,
        )
        result = fetcher.fetch(f"http://images.test:{server.port}/hop")
        assert (result.reason, result.refused) == ("link_local_address", True)
        assert server.requests == ["/hop"]
        assert fetcher.guard.connections == [("images.test", "127.0.0.1")]


def _redirect(handler, location):
    handler.send_response(302)
    handler.send_header("Location", location)
    handler.send_header("Content-Length", "0")
    handler.end_headers()

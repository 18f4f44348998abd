"""URL normalisation (URL-dedup key) and registered domains from the packaged suffix list."""

from __future__ import annotations

import socket

import pytest

from webweave.filters.url_normalization import normalize_url, registered_domain


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM/Path", "http://example.com/Path"),  # path case kept
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),  # not http's default port
        ("https://example.com", "https://example.com/"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com./a", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        ("https://example.com/a?a=2&a=1", "https://example.com/a?a=1&a=2"),
        ("https://example.com/a?utm_source=x&UTM_Medium=y&id=7", "https://example.com/a?id=7"),
        ("https://example.com/a?fbclid=1&gclid=2&msclkid=3", "https://example.com/a"),
        ("https://example.com/a?q=", "https://example.com/a?q="),  # blank values kept
        ("https://user@Example.com/a", "https://user@example.com/a"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("  https://example.com/a  ", "https://example.com/a"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_tracking_params_are_configurable() -> None:
    url = "https://example.com/a?ref=home&utm_source=x&page=2"
    assert normalize_url(url, drop_params={"ref"}, drop_param_prefixes=()) == (
        "https://example.com/a?page=2&utm_source=x"
    )


def test_http_and_https_stay_distinct_unless_merged() -> None:
    assert normalize_url("http://example.com/a") != normalize_url("https://example.com/a")
    assert normalize_url("http://example.com/a", merge_http_https=True) == ("https://example.com/a")


def test_same_page_different_captures_share_a_key() -> None:
    captures = [
        "https://www.Example.com:443/story?id=5&utm_campaign=spring#comments",
        "HTTPS://www.example.com/story?fbclid=abc&id=5",
        "https://www.example.com/story?id=5",
    ]
    assert len({normalize_url(url) for url in captures}) == 1


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.bbc.co.uk/news/1", "bbc.co.uk"),
        ("https://news.example.com/a", "example.com"),
        ("https://EXAMPLE.com./a", "example.com"),
        ("https://a.b.c.example.com.au/", "example.com.au"),
        ("https://myblog.blogspot.com/2020/post", "myblog.blogspot.com"),  # private suffix
        ("http://192.168.0.1/x", "192.168.0.1"),
        ("http://localhost:8000/x", "localhost"),
        ("not a url", ""),
    ],
)
def test_registered_domain(url: str, expected: str) -> None:
    assert registered_domain(url) == expected


def test_registered_domain_icann_only() -> None:
    assert registered_domain("https://myblog.blogspot.com/p", include_private=False) == (
        "blogspot.com"
    )


def test_registered_domain_never_touches_the_network(monkeypatch) -> None:
    def no_network(*args, **kwargs):
        raise AssertionError("registered_domain tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    from webweave.filters import url_normalization

    url_normalization._offline_extractor.cache_clear()
    assert registered_domain("https://shop.example.co.jp/x") == "example.co.jp"

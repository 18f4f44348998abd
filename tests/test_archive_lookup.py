"""Archive URL keys and capture resolution (issue #17), as pure functions."""

from __future__ import annotations

from webweave.filters.archive_lookup import (
    Capture,
    Lookup,
    Resolution,
    decide,
    first_lookups,
    step,
)
from webweave.filters.archive_urls import canonical_url, match_kind, surt_key

WIKI = "https://upload.wikimedia.org/wikipedia/commons/thumb/e/ec"


def test_canonical_form_follows_surts_google_canonicalizer():
    assert canonical_url(f"{WIKI}/Mona_Lisa%2C_by_Leonardo.jpg") == (
        f"{WIKI}/Mona_Lisa,_by_Leonardo.jpg"
    )
    assert canonical_url(
        "HTTP://User:pw@WWW.Example.ORG:80/a/./b/../c%7e/%C3%A9 x.jpg?B=2&a=1#f"
    ) == (
        "http://www.example.org/a/c~/%C3%A9%20x.jpg?B=2&a=1"  # query order and case kept
    )
    assert canonical_url("https://example.org:8443//a//b/") == "https://example.org:8443/a/b/"
    assert canonical_url("http://example.org/%2525") == "http://example.org/%25"  # once, %→%25
    assert canonical_url("http://bücher.example/x?") == "http://xn--bcher-kva.example/x"


def test_surt_key_is_scheme_and_www_free():
    assert surt_key("https://www.example.org/Photo.JPG?x=1") == "org,example)/Photo.JPG?x=1"
    assert surt_key("http://www2.example.org:8080/a") == "org,example:8080)/a"
    assert surt_key("http://[2001:db8::1]:443/a") == "[2001:db8::1]:443)/a"


def test_match_kinds():
    page = f"{WIKI}/220px-Mona_Lisa,_by_Leonardo.jpg"
    assert match_kind(page, page) == "exact"
    assert match_kind(page, page.replace(",", "%2C")) == "canonical"
    assert match_kind(page, page.replace("https:", "http:")) == "scheme_insensitive"
    assert match_kind("http://example.org/a.jpg", "http://www.example.org/a.jpg") == (
        "scheme_insensitive"
    )
    assert match_kind(page, page.replace("Mona", "mona")) is None  # path case matters
    assert match_kind("http://e.org/a?x=1&y=2", "http://e.org/a?y=2&x=1") is None  # order kept


def capture(uri, status=200, record_type="response", date="2013-05-01T10:00:00Z", **extra):
    return Capture(uri, date, "a.warc.gz", "/a.warc.gz", 100, 0, record_type, status, **extra)


def run(lookup: Lookup, index: dict[str, list[Capture]], max_hops: int = 5) -> Resolution:
    """Steps a lookup through an in-memory index, as the Beam rounds do."""
    for _ in range(max_hops + 1):
        outcome = step(lookup, index.get(lookup.key, []), max_hops)
        if isinstance(outcome, Resolution):
            return outcome
        lookup = outcome
    raise AssertionError("did not end")


def index_of(*captures: Capture) -> dict[str, list[Capture]]:
    index: dict[str, list[Capture]] = {}
    for item in captures:
        index.setdefault(surt_key(item.uri), []).append(item)
    return index


def test_an_image_response_beats_a_better_url_match_that_is_not_an_image():
    url = "http://example.org/a.jpg"
    page_404 = capture(url, 404, declared_non_image=True)
    image = capture("https://example.org/a.jpg")
    resolution = run(Lookup(url, 0, url), index_of(page_404, image))
    assert (resolution.capture, resolution.match, resolution.kind) == (
        image,
        "scheme_insensitive",
        "scheme_insensitive",
    )
    assert run(Lookup(url, 0, url), index_of(page_404)).reason == "warc_http_404"
    html = capture(url, 200, declared_non_image=True)
    assert run(Lookup(url, 0, url), index_of(html)).reason == "warc_non_image_type"
    assert run(Lookup(url, 0, url), {}).reason == "not_captured"


def test_exact_before_scheme_insensitive_and_the_next_capture_when_one_leads_nowhere():
    url = "https://e.org/logo.svg"
    original = capture("http://e.org/logo.svg", payload_digest="sha1:L")
    revisit = capture(url, record_type="revisit", date="2013-06-01T00:00:00Z",
                      payload_digest="sha1:L", refers_to_uri=url)  # fmt: skip
    resolution = run(Lookup(url, 0, url), index_of(original, revisit))
    assert (resolution.capture, resolution.match, resolution.kind) == (
        original,
        "exact",
        "via_revisit",
    )  # fmt: skip  (the exact capture, a revisit, is the one replay shows)
    orphan = capture(url, record_type="revisit", payload_digest="sha1:GONE", refers_to_uri=url)
    image = capture("http://e.org/logo.svg", payload_digest="sha1:L")
    resolution = run(Lookup(url, 0, url), index_of(orphan, image))
    assert (resolution.capture, resolution.kind) == (image, "scheme_insensitive")
    dead_end = run(Lookup(url, 0, url), index_of(orphan, capture("http://e.org/logo.svg", 404)))
    assert (dead_end.found, dead_end.reason) == (False, "warc_revisit_original_missing")


def test_revisit_follows_refers_to_uri_date_and_digest():
    original = capture("http://example.org/orig.jpg", payload_digest="sha1:AAA")
    decoy = capture(
        "http://example.org/orig.jpg", date="2013-05-01T10:00:01Z", payload_digest="sha1:BBB"
    )
    revisit = capture(
        "http://example.org/copy.jpg",
        record_type="revisit",
        date="2013-06-01T00:00:00Z",
        payload_digest="sha1:AAA",
        refers_to_uri="http://example.org/orig.jpg",
        refers_to_date="2013-05-01T10:00:00Z",
    )
    url = "http://example.org/copy.jpg"
    resolution = run(Lookup(url, 0, url), index_of(original, decoy, revisit))
    assert (resolution.capture, resolution.via, resolution.kind) == (
        original,
        ("revisit",),
        "via_revisit",
    )
    missing = run(Lookup(url, 0, url), index_of(decoy, revisit))  # digest differs
    assert missing.reason == "warc_revisit_original_missing"


def test_digest_only_revisit_picks_the_closest_original_with_that_digest():
    earlier = capture("http://e.org/x.png", date="2013-01-01T00:00:00Z", payload_digest="sha1:D")
    later = capture("http://e.org/x.png", date="2013-03-01T00:00:00Z", payload_digest="sha1:D")
    revisit = capture(
        "http://e.org/x.png",
        record_type="revisit",
        status=0,  # an old-style revisit without HTTP headers
        date="2013-03-02T00:00:00Z",
        payload_digest="sha1:D",
    )
    lookup = Lookup("http://e.org/x.png", 0, "http://e.org/x.png", revisit_of=revisit)
    assert step(lookup, [earlier, later, revisit], 5).capture == later


def test_redirects_followed_until_an_image_bounded_and_loop_checked():
    a = capture("http://e.org/a.jpg", 301, redirect_to="http://e.org/b.jpg")
    b = capture("http://e.org/b.jpg", 302, redirect_to="https://cdn.e.org/c.jpg")
    c = capture("https://cdn.e.org/c.jpg")
    url = "http://e.org/a.jpg"
    resolution = run(Lookup(url, 0, url), index_of(a, b, c))
    assert (resolution.capture, resolution.via, resolution.kind) == (
        c,
        ("redirect", "redirect"),
        "via_redirect",
    )
    assert run(Lookup(url, 0, url), index_of(a, b, c), max_hops=1).reason == "warc_too_many_hops"
    assert run(Lookup(url, 0, url), index_of(a, b)).reason == "warc_redirect_not_captured"
    back = capture("http://e.org/b.jpg", 302, redirect_to="http://e.org/a.jpg")
    assert run(Lookup(url, 0, url), index_of(a, back)).reason == "warc_redirect_loop"


def test_decide_takes_found_candidates_in_order_and_names_why_not():
    url = "http://e.org/440.jpg"
    found = Resolution(url, 2, capture("http://e.org/220.jpg"), match="exact")
    also = Resolution(url, 1, capture("http://e.org/330.jpg"), match="canonical")
    missing = Resolution(url, 0, None, "not_captured")
    lookup = decide(url, [found, missing, also])
    assert lookup.found == (also, found) and lookup.kind == "other_candidate"
    assert decide(url, [missing]).reason == "not_in_warc"
    gone = Resolution(url, 1, None, "warc_http_410")
    assert (decide(url, [missing, gone]).kind, decide(url, [missing, gone]).reason) == (
        "captured_without_image",
        "warc_http_410",
    )
    assert [lk.url for lk in first_lookups(url, (url, "http://e.org/220.jpg"))] == [
        url,
        "http://e.org/220.jpg",
    ]

"""decode_html: BOM, HTTP charset, meta prescan, detector fallback, WHATWG labels, speed."""

from __future__ import annotations

import time

import pytest

from webweave.filters.charset import DecodedHtml, decode_html, meta_charset, normalize_label

RUSSIAN = (
    "Москва — столица России, город федерального значения, административный центр "
    "Центрального федерального округа и центр Московской области. "
) * 20
JAPANESE = "日本語のウェブページです。東京は日本の首都であり、多くの人々が住んでいます。" * 10


def page(body_text: str, head: str = "") -> str:
    head_html = f"<head>{head}<title>t</title></head>"
    return f"<!DOCTYPE html><html>{head_html}<body><p>{body_text}</p></body></html>"


def test_cp1251_declared_in_http_header() -> None:
    body = page(RUSSIAN).encode("cp1251")
    result = decode_html(body, "text/html; charset=windows-1251")
    assert result == DecodedHtml(page(RUSSIAN), "cp1251", "http_header")


def test_shift_jis_via_meta() -> None:
    html = page(JAPANESE, '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">')
    result = decode_html(html.encode("shift_jis"), "text/html")
    assert result == DecodedHtml(html, "shift_jis", "meta")


def test_meta_charset_attribute_and_x_sjis_label() -> None:
    html = page(JAPANESE, "<meta charset='x-sjis'>")
    assert decode_html(html.encode("shift_jis"), None) == DecodedHtml(html, "shift_jis", "meta")


@pytest.mark.parametrize(
    ("codec", "bom", "expected"),
    [
        ("utf-16-le", b"\xff\xfe", "utf-16-le"),
        ("utf-16-be", b"\xfe\xff", "utf-16-be"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "utf-32-le"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8"),
    ],
)
def test_bom_wins_over_declarations(codec: str, bom: bytes, expected: str) -> None:
    html = page(RUSSIAN, '<meta charset="windows-1251">')
    result = decode_html(bom + html.encode(codec), "text/html; charset=iso-8859-1")
    assert result == DecodedHtml(html, expected, "bom")


def test_utf8_declared_but_cp1251_bytes_goes_to_detector() -> None:
    body = page(RUSSIAN, '<meta charset="utf-8">').encode("cp1251")
    result = decode_html(body, "text/html; charset=UTF-8")
    assert result.source == "detected"
    assert result.charset == "cp1251"
    assert "Москва — столица России" in result.text


def test_utf8_with_a_stray_byte_stays_utf8() -> None:
    body = page("Grüße aus Köln " * 200).encode() + b"\xff"
    result = decode_html(body, "text/html; charset=utf-8")
    assert (result.charset, result.source) == ("utf-8", "http_header")
    assert result.text.endswith("\ufffd")


@pytest.mark.parametrize("label", ["iso-8859-1", "latin1", "ISO_8859-1", "ascii", "US-ASCII"])
def test_latin1_labels_mean_windows_1252(label: str) -> None:
    body = page("price \x80 5 \x93quoted\x94").encode("latin-1")
    result = decode_html(body, f"text/html; charset={label}")
    assert (result.charset, result.source) == ("cp1252", "http_header")
    assert "price € 5 “quoted”" in result.text


def test_windows_1252_unassigned_bytes_are_c1_controls() -> None:
    result = decode_html(b"<p>a\x81b\x9dc</p>", "text/html; charset=windows-1252")
    assert result == DecodedHtml("<p>a\x81b\x9dc</p>", "cp1252", "http_header")


def test_unknown_label_is_ignored() -> None:
    html = page("hello", '<meta charset="no-such-charset">')
    result = decode_html(html.encode(), "text/html; charset=bogus")
    assert result == DecodedHtml(html, "utf-8", "default")


def test_non_text_codec_label_is_ignored() -> None:
    assert normalize_label("base64") is None
    assert normalize_label("rot13") is None
    assert normalize_label("UTF8") == "utf-8"
    assert normalize_label("gbk") == "gb18030"


def test_meta_beyond_prescan_window_is_not_used() -> None:
    html = "<html><head>" + "<!-- padding -->" * 300 + '<meta charset="windows-1251"></head></html>'
    assert meta_charset(html.encode()) is None


def test_meta_utf16_means_utf8() -> None:
    assert meta_charset(b'<meta charset="utf-16">') == "utf-8"


def test_undeclared_utf8_is_default() -> None:
    html = page("Grüße")
    assert decode_html(html.encode(), "text/html") == DecodedHtml(html, "utf-8", "default")


def test_undeclared_cp1251_is_detected() -> None:
    result = decode_html(page(RUSSIAN).encode("cp1251"), None)
    assert (result.charset, result.source) == ("cp1251", "detected")


def test_utf8_fast_path_is_fast() -> None:
    text = page("Hello wörld, ünïcode — text with some accents. " * 2000)
    body = text.encode()[:100_000]
    body = body.decode("utf-8", "ignore").encode()
    assert len(body) >= 99_000
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(100):
            decode_html(body, "text/html; charset=utf-8")
        best = min(best, (time.perf_counter() - start) / 100)
    assert best < 0.0002, f"{best * 1e3:.3f} ms per 100 KB page"


def test_utf16_without_bom_is_recognised_from_its_nul_pattern():
    from webweave.filters.charset import utf16_without_bom

    page = "<html><head><title>Привет</title></head><body><p>Hello world</p></body></html>"
    assert utf16_without_bom(page.encode("utf-16-le")) == "utf-16-le"
    assert utf16_without_bom(page.encode("utf-16-be")) == "utf-16-be"
    assert utf16_without_bom(page.encode("utf-8")) is None
    decoded = decode_html(page.encode("utf-16-le"), "text/html; charset=utf-8")
    assert (decoded.text, decoded.charset, decoded.source) == (page, "utf-16-le", "detected")

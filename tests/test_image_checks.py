"""Image stages as pure functions: URL words, decode checks (bomb cap before decoding), OBELICS
filters in OBELICS order, pHash; and that every rule can fire (OBELICS lesson 2)."""

from __future__ import annotations

import io

from loopback_images import jpeg, png, png_bomb
from PIL import Image

from webweave.filters.decision import Drop
from webweave.filters.image_checks import (
    FetchOutcome,
    ImageDecoder,
    ImageFilter,
    ImageItem,
    UrlWordFilter,
    hamming,
    sniff_format,
)

from conftest import fixture_path


def _decoded(data: bytes, **kwargs) -> ImageItem | Drop:
    return ImageDecoder(**kwargs)(ImageItem("http://x.test/a", data=data))


def test_url_words_are_obelics_words():
    stage = UrlWordFilter()
    assert stage(ImageItem("http://x.test/img/Site-LOGO.png")).reason == "url_word"
    assert stage(ImageItem("http://x.test/share-button.png")).scores == {"word": "button"}
    assert isinstance(stage(ImageItem("http://x.test/photo.jpg")), ImageItem)


def test_fetch_outcome_turns_failures_into_drops():
    failed = ImageItem("u", fetch_error="http_404")
    assert FetchOutcome()(failed).reason == "http_404"
    assert isinstance(FetchOutcome()(ImageItem("u", data=b"x")), ImageItem)


def test_decode_real_photo_keeps_size_format_hashes():
    path = fixture_path("images/matplotlib/grace_hopper.jpg")
    item = _decoded(path.read_bytes())
    assert isinstance(item, ImageItem)
    assert (item.width, item.height, item.format) == (512, 600, "jpeg")
    assert len(item.sha256) == 64 and len(item.phash) == 16


def test_bomb_refused_from_header_before_decoding():
    result = _decoded(png_bomb(30_000, 30_000))
    assert result.reason == "decompression_bomb"
    assert _decoded(png(200, 200), max_pixels=100 * 100).reason == "decompression_bomb"


def test_truncated_html_and_oversized_bytes():
    whole = jpeg(400, 300)
    assert _decoded(whole[: len(whole) // 2]).reason == "truncated_image"
    assert _decoded(b"<!doctype html><html></html>").reason == "not_an_image"
    assert _decoded(b"").reason == "not_an_image"
    assert _decoded(whole, max_bytes=100).reason == "too_many_bytes"


def test_filters_in_obelics_order():
    stage = ImageFilter()

    def item(width, height, fmt="jpeg"):
        return ImageItem("u", width=width, height=height, format=fmt)

    assert stage(item(100, 100, "bmp")).reason == "unsupported_format"  # format first
    assert stage(item(100, 100, "gif")).reason == "unsupported_format_gif"  # counted apart
    assert stage(item(100, 100, "svg")).reason == "unsupported_format_svg"
    assert stage(item(149, 149)).reason == "too_small"
    assert stage(item(20_001, 15_000)).reason == "too_large"
    assert stage(item(10_000, 200)).reason == "bad_aspect_ratio"
    assert stage(item(200, 401)).reason == "bad_aspect_ratio"
    assert isinstance(stage(item(150, 300)), ImageItem)  # w/h = 1/2 is inside
    assert isinstance(stage(item(640, 427, "webp")), ImageItem)


def test_phash_is_stable_under_reencoding_and_differs_across_photos():
    hopper = fixture_path("images/matplotlib/grace_hopper.jpg").read_bytes()
    buffer = io.BytesIO()
    Image.open(io.BytesIO(hopper)).resize((256, 300)).save(buffer, "PNG")
    first, resized = _decoded(hopper), _decoded(buffer.getvalue())
    other = _decoded(fixture_path("images/sklearn/china.jpg").read_bytes())
    assert first.sha256 != resized.sha256
    assert hamming(first.phash, resized.phash) <= 4
    assert hamming(first.phash, other.phash) > 16


def test_sniff_format():
    assert sniff_format(jpeg(10, 10)) == "jpeg"
    assert sniff_format(png(10, 10)) == "png"
    assert sniff_format(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert sniff_format(b"GIF89a....") == "gif"
    assert sniff_format(b"<html>") is None
    assert sniff_format(b'<?xml version="1.0"?>\n<!-- map -->\n<svg xmlns="x"/>') == "svg"
    assert sniff_format(b"<!doctype html><html><body><svg></svg>") is None  # HTML, not SVG


def _gif(frames: list[tuple[int, int, int]], size=(300, 200), transparent=False) -> bytes:
    images = [Image.new("P", size, 0) for _ in frames]
    for image, color in zip(images, frames, strict=True):
        image.putpalette([*color, 255, 255, 255] + [0] * 762)
    buffer = io.BytesIO()
    extra = {"transparency": 0} if transparent else {}
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], **extra)
    return buffer.getvalue()


def test_svg_is_recognised_hashed_and_filtered_apart():
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="300"/>'
    item = _decoded(svg)
    assert (item.format, item.width, item.sha256 is not None) == ("svg", None, True)
    assert ImageFilter()(item).reason == "unsupported_format_svg"


def test_gif_filtered_by_default_and_first_frame_converted_when_asked():
    animated = _gif([(200, 30, 30), (30, 30, 200)])
    item = _decoded(animated)
    assert (item.format, item.converted_from) == ("gif", None)
    assert ImageFilter()(item).reason == "unsupported_format_gif"

    converted = _decoded(animated, gif_first_frame=True)
    assert (converted.format, converted.converted_from) == ("png", "gif")
    assert (converted.width, converted.height) == (300, 200)
    assert converted.data.startswith(b"\x89PNG")
    frame = Image.open(io.BytesIO(converted.data))
    assert (frame.mode, frame.getpixel((5, 5))) == ("RGB", (200, 30, 30))  # the first frame
    assert isinstance(ImageFilter()(converted), ImageItem)

    still = _decoded(_gif([(10, 20, 30)], transparent=True), gif_first_frame=True)
    assert Image.open(io.BytesIO(still.data)).mode == "RGBA"
    assert _decoded(animated[: len(animated) // 3], gif_first_frame=True).reason == (
        "truncated_image"
    )

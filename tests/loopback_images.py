"""A loopback HTTP server for the images job: the fixture photographs plus built bad cases.

Binds to 127.0.0.1 only (and, as the "forbidden" host, 127.0.0.2); every request is recorded
so tests can assert that a refused URL was never requested. Bad cases are built here, not
stored as fixtures: 404, a slow response, a truncated JPEG, a decompression bomb (a PNG whose
header declares 30,000 x 30,000 pixels), a redirect to the forbidden host, an HTML page served
as image/jpeg, a 10,000-pixel-wide strip, an oversized body and a too-small image.
"""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image

SLOW_SECONDS = 3.0
PHOTO_TYPES = {".jpg": "image/jpeg", ".png": "image/png"}


def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid-looking PNG that declares ``width`` x ``height`` grey pixels (a few bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1) * 4)  # four rows; the rest never arrives
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def jpeg(width: int, height: int, color=(90, 140, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (10, 200, 30)).save(buffer, "PNG")
    return buffer.getvalue()


class _Recorder:
    def __init__(self):
        self.requests: list[str] = []
        self.lock = threading.Lock()

    def add(self, path: str) -> None:
        with self.lock:
            self.requests.append(path)


def _handler(routes: dict, recorder: _Recorder):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            recorder.add(self.path)
            route = routes.get(self.path.split("?", 1)[0])
            if route is None:
                self.send_error(404)
                return
            route(self)

        def log_message(self, *args):  # quiet
            pass

    return Handler


def _send(handler, body: bytes, content_type: str, status: int = 200, extra=None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (extra or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    try:
        handler.wfile.write(body)
    except (BrokenPipeError, ConnectionResetError):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # img2dataset opens many connections at once


class LoopbackServer:
    """A threaded HTTP server on ``host`` (loopback only) with recorded requests."""

    def __init__(self, routes: dict, host: str = "127.0.0.1"):
        if not host.startswith("127."):
            raise ValueError("test servers bind to loopback only")
        self.recorder = _Recorder()
        self.server = _Server((host, 0), _handler(routes, self.recorder))
        self.host = host
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[str]:
        return list(self.recorder.requests)

    def __enter__(self) -> LoopbackServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def image_routes(photos: list[Path], forbidden_base: str, slow_seconds: float = SLOW_SECONDS):
    """Routes: ``/photos/<name>`` for each photo plus the bad cases (see module docstring)."""
    routes = {}
    for photo in photos:
        data = photo.read_bytes()
        kind = PHOTO_TYPES[photo.suffix]
        routes[f"/photos/{photo.name}"] = lambda h, d=data, k=kind: _send(h, d, k)
    whole = jpeg(400, 300)
    strip = jpeg(10_000, 200)
    bomb = png_bomb()
    small = png(60, 60)
    big = jpeg(300, 300) + b"\x00" * 1_200_000  # over the tests' 1 MB cap

    def slow(handler):
        time.sleep(slow_seconds)
        _send(handler, whole, "image/jpeg")

    def redirect(handler):
        handler.send_response(302)
        handler.send_header("Location", f"{forbidden_base}/stolen.jpg")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    routes.update(
        {
            "/slow.jpg": slow,
            "/truncated.jpg": lambda h: _send(h, whole[: len(whole) // 2], "image/jpeg"),
            "/bomb.png": lambda h: _send(h, bomb, "image/png"),
            "/redirect-refused.jpg": redirect,
            "/page.jpg": lambda h: _send(
                h, b"<!doctype html><html><body>hi</body></html>" * 20, "image/jpeg"
            ),
            "/strip.jpg": lambda h: _send(h, strip, "image/jpeg"),
            "/small.png": lambda h: _send(h, small, "image/png"),
            "/huge.jpg": lambda h: _send(h, big, "image/jpeg"),
            "/noai.jpg": lambda h: _send(h, whole, "image/jpeg", extra={"X-Robots-Tag": "noai"}),
        }
    )
    return routes

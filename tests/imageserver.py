"""A real HTTP server on 127.0.0.1 serving generated images and every fault.

Used by tests/test_images_*.py (fixtures in tests/conftest_images.py) and by
bench/bench_images.py. Each request is counted per path, with its headers, so
tests can assert what was asked and that a rebuild asks nothing.

Routes (the part after the route name is free, so tests use fresh paths):
    /img/<name>            a generated image (see `make_images`)
    /gen/<n>.jpg           a distinct generated JPEG for every n (benchmark)
    /404/...               404
    /flaky/...             503 twice, then the photo
    /busy/<secs>/...       429 with Retry-After: <secs> once, then the photo
    /html-as-jpeg/...      an HTML page labelled image/jpeg
    /endless/...           an endless body without Content-Length
    /huge/...              a Content-Length far over any limit
    /trickle/...           one byte every 0.2 s, forever
    /trickle-headers/...   the header lines one byte at a time
    /redirect?to=<url>     302 to <url>
    /loop/<n>              302 to /loop/<n+1>, for ever
    /no-referer/...        403 whenever a Referer is sent, else the photo
    /needs-referer/...     403 unless Referer is https://origin.example/
    /etag/...              the PNG with an ETag; 304 for If-None-Match
    /chunked/...           the photo in chunked transfer encoding
    /slow/...              the small PNG after 0.3 s; `max_in_flight` records overlap
    /_stats                how many requests were counted (itself not counted)
"""
from __future__ import annotations

import io
import itertools
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw

from sitegen.images import ImageDoc, ImageSettings, LocaliseResult, localise


def make_images() -> dict[str, bytes]:
    """Every test image, generated with Pillow."""
    images = {}
    photo = gradient(2000, 1000, seed=1)
    images["photo.jpg"] = encode(photo, "JPEG", quality=90)
    images["small.png"] = encode(gradient(300, 200, seed=2), "PNG")
    alpha = Image.new("RGBA", (800, 600), (0, 0, 0, 0))
    ImageDraw.Draw(alpha).ellipse((100, 100, 700, 500), fill=(200, 30, 30, 255))
    images["alpha.png"] = encode(alpha, "PNG")
    frames = [Image.new("RGB", (200, 100), color) for color in ("red", "green", "blue")]
    for index, frame in enumerate(frames):
        ImageDraw.Draw(frame).rectangle((index * 50, 20, index * 50 + 40, 80), fill="white")
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    images["anim.gif"] = buffer.getvalue()
    # Stored 400 wide and 200 high, with EXIF orientation 6: shown 200 wide, 400 high.
    rotated = gradient(400, 200, seed=3)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "SecretCamera"  # Make: must not survive processing
    images["exif.jpg"] = encode(rotated, "JPEG", exif=exif.tobytes())
    # 8000 x 8000 = 64 million pixels, a few kilobytes on the wire.
    images["bomb.png"] = encode(Image.new("1", (8000, 8000)), "PNG", optimize=True)
    images["truncated.jpg"] = images["photo.jpg"][: len(images["photo.jpg"]) // 2]
    images["page.html"] = b"<!DOCTYPE html><html><body><h1>Hotlinking denied</h1></body></html>"
    images["icon.svg"] = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    return images


def gradient(width: int, height: int, seed: int) -> Image.Image:
    """A photo-like image: a gradient with some random shapes, different for every seed."""
    rng = random.Random(seed)
    base = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (base, base.rotate(90).resize((width, height)),
                                Image.new("L", (width, height), rng.randrange(256))))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(width), rng.randrange(height)
        size = rng.randrange(10, max(11, width // 4))
        draw.ellipse((x, y, x + size, y + size), fill=tuple(rng.randrange(256) for _ in range(3)))
    return image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


class ImageServer:
    """A threaded HTTP server on 127.0.0.1 with request counting."""

    def __init__(self, images: dict[str, bytes] | None = None, gen_dir: Path | None = None):
        self.images = images if images is not None else make_images()
        self.gen_dir = gen_dir
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[float, str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0  # most /slow/ requests served at the same moment
        handler = type("Handler", (_Handler,), {"owner": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> ImageServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def unique(self, path: str) -> str:
        """A URL no earlier test has used: same route, fresh path for counting."""
        sep = "&" if "?" in path else "?"
        return self.url(f"{path}{sep}t={next(_TOKENS)}")

    def path_of(self, url: str) -> str:
        parts = urlsplit(url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def total(self) -> int:
        with self.lock:
            return sum(self.counts.values())

    def count(self, path: str) -> int:
        with self.lock:
            return self.counts[path]

    def headers_for(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [headers for _, p, headers in self.log if p == path]

    def times_for(self, path: str) -> list[float]:
        with self.lock:
            return [when for when, p, _ in self.log if p == path]

    def record(self, path: str, headers: dict[str, str]) -> int:
        with self.lock:
            self.counts[path] += 1
            self.log.append((time.monotonic(), path, headers))
            return self.counts[path]


_TOKENS = itertools.count(1)


def settings_for(server: ImageServer, **overrides: object) -> ImageSettings:
    """Settings allowing only `server`, with small limits so fault tests stay quick."""
    values: dict = {"allow_hosts": (server.host,), "deadline": 2.0, "timeout_connect": 1.0,
                    "backoff": 0.01, "retries": 2, "retry_after_cap": 2.0,
                    "max_bytes": 2_000_000}
    values.update(overrides)
    return ImageSettings(**values)


def localise_html(server: ImageServer, cache_dir: Path, html: str = "",
                  fields: dict | None = None, **overrides: object) -> LocaliseResult:
    """Localise one document, "_posts/a.md", with `settings_for(server)`."""
    options = {k: overrides.pop(k) for k in ("offline", "refetch", "url_prefix")
               if k in overrides}
    doc = ImageDoc("_posts/a.md", html, fields or {})
    return localise([doc], settings_for(server, **overrides), cache_dir=cache_dir, **options)


class _Handler(BaseHTTPRequestHandler):
    owner: ImageServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        server = self.owner
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/_stats":  # for the benchmark, which runs the server in another process
            return self.send(200, str(server.total()).encode(), "text/plain")
        seen = server.record(self.path, {k.lower(): v for k, v in self.headers.items()})
        route = path.split("/")[1] if path.count("/") >= 1 else ""
        try:
            getattr(self, "route_" + route.replace("-", "_"), self.route_missing)(
                path, parse_qs(parts.query), seen)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should

    # -- helpers -----------------------------------------------------------
    def send(self, status: int, body: bytes, content_type: str = "application/octet-stream",
             extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def photo(self) -> None:
        self.send(200, self.owner.images["photo.jpg"], "image/jpeg")

    # -- routes ------------------------------------------------------------
    def route_missing(self, path: str, query: dict, seen: int) -> None:
        self.send(404, b"not found", "text/plain")

    route_404 = route_missing

    def route_img(self, path: str, query: dict, seen: int) -> None:
        name = path.split("/")[-1]
        data = self.owner.images.get(name)
        if data is None:
            return self.route_missing(path, query, seen)
        self.send(200, data, "image/jpeg")  # the same type for all: it must not matter

    def route_gen(self, path: str, query: dict, seen: int) -> None:
        name = path.split("/")[-1]
        if self.owner.gen_dir is None or not (self.owner.gen_dir / name).is_file():
            return self.route_missing(path, query, seen)
        self.send(200, (self.owner.gen_dir / name).read_bytes(), "image/jpeg")

    def route_flaky(self, path: str, query: dict, seen: int) -> None:
        if seen <= 2:
            return self.send(503, b"try later", "text/plain")
        self.photo()

    def route_busy(self, path: str, query: dict, seen: int) -> None:
        if seen == 1:
            return self.send(429, b"slow down", "text/plain",
                             {"Retry-After": path.split("/")[2]})
        self.photo()

    def route_html_as_jpeg(self, path: str, query: dict, seen: int) -> None:
        self.send(200, self.owner.images["page.html"], "image/jpeg")

    def route_svg(self, path: str, query: dict, seen: int) -> None:
        self.send(200, self.owner.images["icon.svg"], "image/svg+xml")

    def route_endless(self, path: str, query: dict, seen: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Connection", "close")
        self.end_headers()
        chunk = self.owner.images["photo.jpg"][:2] + b"\0" * 65534
        for _ in range(4000):  # 256 MB at most, in case a client never stops
            self.wfile.write(chunk)
        self.close_connection = True

    def route_huge(self, path: str, query: dict, seen: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(10**10))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"\xff\xd8" + b"\0" * 1000)
        self.close_connection = True

    def route_trickle(self, path: str, query: dict, seen: int) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Connection", "close")
        self.end_headers()
        self.trickle(self.owner.images["photo.jpg"])

    def route_trickle_headers(self, path: str, query: dict, seen: int) -> None:
        self.trickle(b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10000)

    def trickle(self, data: bytes) -> None:
        self.close_connection = True
        for index in range(min(len(data), 150)):  # 30 s at most
            self.wfile.write(data[index:index + 1])
            self.wfile.flush()
            time.sleep(0.2)

    def route_redirect(self, path: str, query: dict, seen: int) -> None:
        self.send(302, b"", "text/plain", {"Location": query["to"][0]})

    def route_loop(self, path: str, query: dict, seen: int) -> None:
        step = int(path.split("/")[2])
        self.send(302, b"", "text/plain", {"Location": f"/loop/{step + 1}"})

    def route_no_referer(self, path: str, query: dict, seen: int) -> None:
        if self.headers.get("Referer") is not None:
            return self.send(403, b"hotlinking denied", "text/html")
        self.photo()

    def route_needs_referer(self, path: str, query: dict, seen: int) -> None:
        if self.headers.get("Referer") != "https://origin.example/":
            return self.send(403, b"hotlinking denied", "text/html")
        self.send(200, self.owner.images["small.png"], "image/png")

    def route_etag(self, path: str, query: dict, seen: int) -> None:
        if self.headers.get("If-None-Match") == '"v1"':
            self.send_response(304)
            self.send_header("ETag", '"v1"')
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            return
        self.send(200, self.owner.images["small.png"], "image/png", {"ETag": '"v1"'})

    def route_slow(self, path: str, query: dict, seen: int) -> None:
        server = self.owner
        with server.lock:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        time.sleep(0.3)
        with server.lock:
            server.in_flight -= 1
        self.send(200, server.images["small.png"], "image/png")

    def route_chunked(self, path: str, query: dict, seen: int) -> None:
        data = self.owner.images["photo.jpg"]
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()
        for start in range(0, len(data), 7000):
            piece = data[start:start + 7000]
            self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        self.wfile.write(b"0\r\n\r\n")
        self.close_connection = True

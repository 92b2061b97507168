"""Helpers for the `sitegen serve` tests: a preview running in a thread, a raw SSE client.

No tests live here; test_serve_http.py and test_serve_browser.py import it.
"""
from __future__ import annotations

import http.client
import json
import shutil
import socket
import textwrap
import threading
import time
from pathlib import Path
from typing import Self

from sitegen.server import ServeInfo, serve

REPO = Path(__file__).resolve().parents[1]
MINIMAL_THEME = REPO / "tests" / "themes" / "minimal"
WAIT = 30.0  # seconds to wait for a rebuild before a test gives up (not a speed target)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def post_text(title: str, date: str = "2024-01-02 10:00:00", body: str = "Body text.") -> str:
    return f"---\ntitle: {title}\ndate: {date}\n---\n\n{body}\n"


def make_preview_site(root: Path, url: str = "http://example.com") -> Path:
    """A small sitegen site with the minimal theme: three posts and some assets."""
    root.mkdir(parents=True, exist_ok=True)
    write(root / "sitegen.toml", f'theme = "minimal"\n[site]\ntitle = "Preview"\n[url]\nurl = "{url}"\n')
    shutil.copytree(MINIMAL_THEME, root / "themes" / "minimal")
    posts = root / "content" / "_posts"
    write(posts / "first.md", post_text("First post", "2024-01-01 10:00:00"))
    write(posts / "second.md", post_text("Second post", "2024-01-02 10:00:00"))
    write(posts / "third.md", post_text("Third post", "2024-01-03 10:00:00"))
    return root


class Preview:
    """`serve()` in a thread on a free 127.0.0.1 port, stopped by `close()`."""

    def __init__(self, site: Path, start_timeout: float = WAIT, **options) -> None:
        self.site = site
        self.lines: list[str] = []
        self.stop = threading.Event()
        self.info: ServeInfo | None = None
        ready = threading.Event()
        options.setdefault("port", 0)
        options.setdefault("images", False)
        options.setdefault("jobs", 1)
        options.setdefault("quiet", 0.05)
        self.status: int | None = None

        def run() -> None:
            self.status = serve(site, log=self.lines.append, ready=ready, stop=self.stop,
                                on_ready=self._ready, **options)
            ready.set()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        if not ready.wait(start_timeout) or self.info is None:
            raise RuntimeError("the preview did not start:\n" + "\n".join(self.lines))

    def _ready(self, info: ServeInfo) -> None:
        self.info = info

    @property
    def port(self) -> int:
        return self.info.port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, headers: dict | None = None, method: str = "GET"):
        """(status, headers, body) for a raw request target, sent exactly as given."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=WAIT)
        try:
            conn.putrequest(method, path, skip_host=headers is not None and "Host" in headers,
                            skip_accept_encoding=True)
            for key, value in (headers or {}).items():
                conn.putheader(key, value)
            conn.endheaders()
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def text(self, path: str) -> str:
        status, _, body = self.get(path)
        assert status == 200, (path, status)
        return body.decode("utf-8")

    def events(self, host: str | None = None) -> EventStream:
        return EventStream(self.port, f"127.0.0.1:{self.port}" if host is None else host)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(WAIT)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class EventStream:
    """A minimal SSE client over a raw socket, so the Host header is whatever the test says."""

    def __init__(self, port: int, host: str, origin: str | None = None) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        extra = f"Origin: {origin}\r\n" if origin else ""
        self.sock.sendall(f"GET /__sitegen/events HTTP/1.1\r\nHost: {host}\r\n{extra}"
                          "Accept: text/event-stream\r\n\r\n".encode())
        self.file = self.sock.makefile("rb")
        self.status = int(self.file.readline().split()[1])
        self.headers = {}
        while (line := self.file.readline().strip()):
            key, _, value = line.decode().partition(":")
            self.headers[key.strip().lower()] = value.strip()

    def next(self, timeout: float = WAIT) -> dict:
        """The next event's JSON payload."""
        self.sock.settimeout(timeout)
        data = []
        while True:
            line = self.file.readline()
            if not line:
                raise EOFError("the event stream closed")
            line = line.rstrip(b"\r\n")
            if line.startswith(b"data:"):
                data.append(line[5:].strip())
            elif not line and data:
                return json.loads(b"\n".join(data))

    def wait_for(self, kind: str | tuple[str, ...], timeout: float = WAIT) -> dict:
        """Skip events until one of type `kind` (or of any type in a tuple) arrives."""
        kinds = (kind,) if isinstance(kind, str) else kind
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {kind!r} event within {timeout} s")
            event = self.next(left)
            if event["type"] in kinds:
                return event

    def close(self) -> None:
        self.file.close()
        self.sock.close()

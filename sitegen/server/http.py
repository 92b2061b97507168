"""The preview's HTTP side: static files from the output, the 404 page, the reload endpoints.

Requests take the read side of the build lock while they pick and open a
file, so a response always comes from one finished build; the bytes are then
sent outside the lock (an open file survives the build's atomic renames).
"""
from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO

from sitegen.server import reload
from sitegen.server.inject import CLIENT_PATH, EVENTS_PATH, inject, snippet
from sitegen.server.paths import content_type, not_found_page, route, split_target
from sitegen.server.state import LiveState, Snapshot

CLIENT_JS = Path(__file__).with_name("client.js")
PORT_TRIES = 21  # the asked-for port and the next 20
_FALLBACK_404 = (b"<!doctype html><meta charset=\"utf-8\"><title>Not found</title>"
                 b"<h1>Not found</h1><p>There is no page at this address.</p>")


class PreviewServer(ThreadingHTTPServer):
    """ThreadingHTTPServer carrying what the handlers need; one thread per connection."""

    daemon_threads = True
    live: LiveState
    clients: reload.Clients
    bound_host: str
    log: Callable[[str], None]
    client_js: bytes

    def handle_error(self, request, client_address) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return  # the browser went away mid-answer
        self.log(f"preview server: {type(exc).__name__}: {exc}")


class IPv6Server(PreviewServer):
    address_family = socket.AF_INET6


@dataclass(frozen=True)
class Opened:
    """A file picked and opened under the read lock, ready to send."""

    status: int
    file: BinaryIO | None
    name: str
    size: int
    mtime_ns: int
    snapshot: Snapshot


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    protocol_version = "HTTP/1.1"
    server_version = "sitegen-preview"
    sys_version = ""

    def log_message(self, format: str, *args) -> None:
        pass  # the terminal is for build news, not for every asset request

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def _answer(self, head: bool) -> None:
        raw, _ = split_target(self.path)
        if raw.startswith("/__sitegen/"):
            return self._internal(raw, head)
        live = self.server.live
        with live.lock.read():
            snap = live.snapshot
            r = route(self.path, snap.output_dir, snap.root)
            if r.location is not None:
                return self._redirect(r.status, r.location)
            if r.status == 400:
                return self._plain(400, b"Bad request: this path is not allowed.", head)
            opened = _open(r.file, 200, snap) if r.status == 200 else None
            if opened is None:
                opened = _open(not_found_page(snap.output_dir), 404, snap)
        if opened is None:
            return self._html(404, _FALLBACK_404, live.snapshot, head)
        with opened.file:
            if opened.name.lower().endswith((".html", ".htm")):
                return self._html(opened.status, opened.file.read(), opened.snapshot, head)
            self._static(opened, head)

    def _internal(self, raw: str, head: bool) -> None:
        if raw == EVENTS_PATH:
            return self._events()
        if raw == CLIENT_PATH:
            return self._send(200, self.server.client_js, "text/javascript; charset=utf-8",
                              head, {"Cache-Control": "no-cache"})
        self._plain(404, b"Not found.", head)

    def _events(self) -> None:
        host, port = self.server.bound_host, self.server.server_address[1]
        if not (reload.host_allowed(self.headers.get("Host"), host, port)
                and reload.origin_allowed(self.headers.get("Origin"), host, port)):
            return self._plain(403, b"Forbidden: this Host may not use the live-reload stream.",
                               False)
        snap = self.server.live.snapshot
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.send_header("X-Accel-Buffering", "no")
        self.end_headers()
        hello = {"type": "hello", "epoch": snap.epoch, "problems": list(snap.problems)}
        reload.stream(self.wfile, self.server.clients, hello)

    def _html(self, status: int, page: bytes, snap: Snapshot, head: bool) -> None:
        body = inject(page, snippet(snap.epoch, status, snap.problems))
        self._send(status, body, "text/html; charset=utf-8", head, {"Cache-Control": "no-store"})

    def _static(self, opened: Opened, head: bool) -> None:
        etag = f'"{opened.size:x}-{opened.mtime_ns:x}"'
        headers = {"Cache-Control": "no-cache", "ETag": etag, "Accept-Ranges": "bytes"}
        ctype = content_type(opened.name)
        if self.headers.get("If-None-Match") == etag:
            return self._send(304, b"", None, True, headers)
        start, end = _byte_range(self.headers.get("Range"), opened.size)
        status = 200
        if start is None:
            return self._send(416, b"", None, head, {"Content-Range": f"bytes */{opened.size}"})
        if (start, end) != (0, opened.size):
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{opened.size}"
        self._head(status, ctype, end - start, headers)
        if head:
            return
        opened.file.seek(start)
        left = end - start
        while left > 0:
            chunk = opened.file.read(min(left, 1 << 16))
            if not chunk:
                break
            self.wfile.write(chunk)
            left -= len(chunk)

    def _redirect(self, status: int, location: str) -> None:
        self._send(status, b"", None, True, {"Location": location, "Cache-Control": "no-store"})

    def _plain(self, status: int, text: bytes, head: bool) -> None:
        self._send(status, text + b"\n", "text/plain; charset=utf-8", head,
                   {"Cache-Control": "no-store"})

    def _send(self, status: int, body: bytes, ctype: str | None, head: bool,
              headers: dict[str, str]) -> None:
        self._head(status, ctype, len(body), headers)
        if not head and body:
            self.wfile.write(body)

    def _head(self, status: int, ctype: str | None, length: int, headers: dict[str, str]) -> None:
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        if status != 304:
            self.send_header("Content-Length", str(length))
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()


def _open(path: Path | None, status: int, snap: Snapshot) -> Opened | None:
    if path is None:
        return None
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the caller after sending
    except OSError:
        return None  # removed between the check and the open: treat as missing
    st = os.fstat(f.fileno())
    return Opened(status, f, path.name, st.st_size, st.st_mtime_ns, snap)


def _byte_range(header: str | None, size: int) -> tuple[int | None, int]:
    """(start, end) of a single `bytes=a-b` range; (0, size) without one; (None, 0) if unsatisfiable."""
    if not header or not header.startswith("bytes=") or "," in header:
        return 0, size
    first, _, last = header[6:].strip().partition("-")
    try:
        if first:
            start, end = int(first), (int(last) + 1 if last else size)
        else:
            start, end = max(0, size - int(last)), size
    except ValueError:
        return 0, size
    end = min(end, size)
    if start >= size or start >= end:
        return None, 0
    return start, end


def bind(host: str, port: int, live: LiveState, clients: reload.Clients,
         log: Callable[[str], None]) -> tuple[PreviewServer, int]:
    """A server on `port`, or the next free one (up to +20). Raises OSError with a clear message."""
    cls = IPv6Server if ":" in host else PreviewServer
    last: OSError | None = None
    tries = 1 if port == 0 else PORT_TRIES
    for candidate in range(port, port + tries):
        try:
            server = cls((host.strip("[]"), candidate), PreviewHandler)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise OSError(exc.errno, f"cannot listen on {host}:{candidate}: {exc.strerror}") \
                    from None
            last = exc
            continue
        server.live, server.clients, server.bound_host, server.log = live, clients, host, log
        server.client_js = CLIENT_JS.read_bytes()
        return server, server.server_address[1]
    raise OSError(getattr(last, "errno", errno.EADDRINUSE),
                  f"ports {port}-{port + tries - 1} on {host} are all in use; pick another with --port")

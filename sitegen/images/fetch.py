"""Download one image over HTTP(S) with the standard library, safely and within limits.

Each hop is resolved by `safety.resolve`, and the socket is connected to one of
the checked addresses itself; http.client only speaks HTTP over that socket.
A watchdog closes the socket when the per-image deadline passes, so a server
that trickles bytes (even in the headers) cannot hold a worker.
"""
from __future__ import annotations

import email.utils
import http.client
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from sitegen.images.safety import Refused, Target, parse_target, resolve
from sitegen.images.settings import ImageSettings

_REDIRECTS = (301, 302, 303, 307, 308)
_CHUNK = 64 * 1024


class FetchError(Exception):
    """A download that failed; `reason` is the short word shown in the report."""

    def __init__(self, reason: str, detail: str = "", *, retryable: bool = False,
                 retry_after: float | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class Fetched:
    """A finished download. `data` is None when the server said 304 Not Modified."""

    data: bytes | None
    final_url: str
    etag: str | None
    last_modified: str | None
    content_type: str | None


@dataclass
class Fetcher:
    """Downloads images with one settings object and one TLS context; counts its traffic."""

    settings: ImageSettings
    accept: str = "image/webp,image/png,image/jpeg,image/gif,image/*;q=0.8"
    sleep: Callable[[float], None] = time.sleep
    ssl_context: ssl.SSLContext = field(default_factory=ssl.create_default_context)
    requests: int = 0
    bytes_downloaded: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fetch(self, url: str, validators: dict[str, str] | None = None) -> Fetched:
        """Fetch `url`, retrying 429, 5xx and connection errors with backoff."""
        settings = self.settings
        for attempt in range(settings.retries + 1):
            try:
                return self._fetch_once(url, validators or {})
            except FetchError as exc:
                if not exc.retryable or attempt == settings.retries:
                    raise
                wait = exc.retry_after
                if wait is None:  # exponential backoff with jitter so hosts are not hammered
                    wait = settings.backoff * (2**attempt) * (1 + random.random() / 2)
                self.sleep(min(wait, settings.retry_after_cap))
        raise AssertionError("unreachable")

    def _fetch_once(self, url: str, validators: dict[str, str]) -> Fetched:
        deadline = time.monotonic() + self.settings.deadline
        for _hop in range(self.settings.max_redirects + 1):
            try:
                target = parse_target(url)
            except Refused as exc:
                raise FetchError(exc.reason, exc.detail) from None
            result = self._request(target, validators, deadline)
            if isinstance(result, Fetched):
                return result
            url = result  # a redirect: the next hop is parsed and checked like the first
        raise FetchError("too many redirects", f"more than {self.settings.max_redirects}")

    def _request(self, target: Target, validators: dict[str, str],
                 deadline: float) -> Fetched | str:
        with self._connect(target, deadline) as (sock, watchdog):
            conn = http.client.HTTPConnection(target.host, target.port)
            conn.sock = sock  # already connected to a checked address: no second lookup
            try:
                self._send(conn, target, validators)
                with self._lock:
                    self.requests += 1
                response = conn.getresponse()
                result = self._handle(target, response, deadline, bool(validators))
                if watchdog.fired:  # the socket was shut mid-body: what arrived is cut short
                    raise FetchError("timeout", f"over {self.settings.deadline:g}s")
                return result
            except FetchError:
                raise
            except (OSError, http.client.HTTPException) as exc:
                if watchdog.fired or time.monotonic() >= deadline:
                    raise FetchError("timeout", f"over {self.settings.deadline:g}s") from None
                raise FetchError("connection failed", _describe(exc), retryable=True) from None
            finally:
                conn.close()

    def _send(self, conn: http.client.HTTPConnection, target: Target,
              validators: dict[str, str]) -> None:
        conn.putrequest("GET", target.request_path, skip_host=True, skip_accept_encoding=True)
        headers = {
            "Host": target.host_header,
            "User-Agent": self.settings.user_agent,
            "Accept": self.accept,
            "Accept-Encoding": "identity",
            "Connection": "close",
            **validators,
            **self.settings.header_for(target.host),  # e.g. a Referer one CDN insists on
        }
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()

    def _handle(self, target: Target, response: http.client.HTTPResponse,
                deadline: float, conditional: bool) -> Fetched | str:
        status = response.status
        if status in _REDIRECTS:
            location = response.getheader("Location")
            if not location:
                raise FetchError("bad redirect", f"{status} without Location")
            return urljoin(target.url, location.strip())
        if status == 304 and conditional:
            return Fetched(None, target.url, response.getheader("ETag"),
                           response.getheader("Last-Modified"), None)
        if status == 429 or 500 <= status <= 599:
            raise FetchError(str(status), response.reason or "", retryable=True,
                             retry_after=_retry_after(response.getheader("Retry-After")))
        if not 200 <= status <= 299 or status in (204, 206):
            raise FetchError(str(status), response.reason or "")
        data = self._read_body(response, deadline)
        return Fetched(data, target.url, response.getheader("ETag"),
                       response.getheader("Last-Modified"), response.getheader("Content-Type"))

    def _read_body(self, response: http.client.HTTPResponse, deadline: float) -> bytes:
        limit = self.settings.max_bytes
        declared = response.getheader("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            raise FetchError("too large", f"Content-Length {declared} > {limit} bytes")
        chunks, total = [], 0
        while True:
            if time.monotonic() >= deadline:
                raise FetchError("timeout", f"over {self.settings.deadline:g}s")
            chunk = response.read1(_CHUNK)  # whatever has arrived: a trickle cannot block it
            if not chunk:
                break
            total += len(chunk)
            with self._lock:
                self.bytes_downloaded += len(chunk)
            if total > limit:  # counted as it streams, whatever the headers claimed
                raise FetchError("too large", f"more than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    def _connect(self, target: Target, deadline: float) -> _Connection:
        try:
            addresses = resolve(target, self.settings.allow_hosts)
        except Refused as exc:
            raise FetchError(exc.reason, exc.detail) from None
        last: Exception | None = None
        for family, sockaddr in addresses:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise FetchError("timeout", f"over {self.settings.deadline:g}s")
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(min(self.settings.timeout_connect, remaining))
            try:
                sock.connect(sockaddr)  # the checked address, never the name again
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                if target.scheme == "https":
                    sock = self.ssl_context.wrap_socket(sock, server_hostname=target.host)
                return _Connection(sock, deadline)
            except ssl.SSLError as exc:
                sock.close()
                raise FetchError("TLS error", _describe(exc)) from None
            except OSError as exc:
                sock.close()
                last = exc
        kind = "timeout" if isinstance(last, TimeoutError) else "connection failed"
        raise FetchError(kind, _describe(last), retryable=True)


class _Connection:
    """Context manager for one socket with a watchdog that shuts it at the deadline."""

    def __init__(self, sock: socket.socket, deadline: float):
        self.sock = sock
        self.fired = False
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes a blocked recv in the worker
        except OSError:
            pass

    def __enter__(self) -> tuple[socket.socket, _Connection]:
        self._timer.start()
        return self.sock, self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        self.sock.close()


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "no address could be connected to"
    text = str(exc) or type(exc).__name__
    return text if len(text) < 200 else text[:200] + "…"

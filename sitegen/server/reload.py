"""Live reload over Server-Sent Events: the client registry, the stream, the Host check.

Every open page holds one event stream (or one per browser, through the
client's shared worker). Events are JSON objects with a "type":
  hello  {epoch, problems}   sent first on every (re)connection
  reload {epoch, paths}      output changed; paths = changed URL paths, or null for "all"
  css    {epoch, paths}      only stylesheets changed: swap them in place
  error  {epoch, problems}   the last rebuild failed; show the overlay
  ok     {epoch}             the error is gone and nothing else changed
"""
from __future__ import annotations

import ipaddress
import json
import queue
import threading
from typing import BinaryIO
from urllib.parse import urlsplit

KEEPALIVE_SECONDS = 15.0
RETRY_MS = 1000  # how soon EventSource reconnects after the server went away
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
_WILDCARD = {"0.0.0.0", "::", ""}


def encode(event: dict) -> bytes:
    """One SSE message; json.dumps never emits a newline, so one data line suffices."""
    return b"data: " + json.dumps(event, ensure_ascii=False).encode("utf-8") + b"\n\n"


class Clients:
    """The open event streams; each has its own queue, so a slow page delays no other."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: set[queue.SimpleQueue] = set()
        self._closed = False

    def connect(self) -> queue.SimpleQueue:
        q: queue.SimpleQueue = queue.SimpleQueue()
        with self._lock:
            if self._closed:
                q.put(None)
            self._queues.add(q)
        return q

    def disconnect(self, q: queue.SimpleQueue) -> None:
        with self._lock:
            self._queues.discard(q)

    def broadcast(self, event: dict) -> int:
        data = encode(event)
        with self._lock:
            for q in self._queues:
                q.put(data)
            return len(self._queues)

    def close(self) -> None:
        """End every stream (server shutdown)."""
        with self._lock:
            self._closed = True
            for q in self._queues:
                q.put(None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._queues)


def stream(out: BinaryIO, clients: Clients, hello: dict,
           keepalive: float = KEEPALIVE_SECONDS) -> None:
    """Write events to one client until it goes away or the server stops."""
    q = clients.connect()
    try:
        out.write(f"retry: {RETRY_MS}\n".encode() + encode(hello))
        out.flush()
        while True:
            try:
                data = q.get(timeout=keepalive)
            except queue.Empty:
                data = b": keepalive\n\n"  # also how a vanished client is noticed
            if data is None:
                return
            out.write(data)
            out.flush()
    except OSError:
        return  # the page closed or reloaded
    finally:
        clients.disconnect(q)


def _split_host(value: str) -> tuple[str, str | None]:
    """("host", "port" or None) from a Host header value; IPv6 stays bracket-free."""
    value = value.strip()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host, rest[1:] if rest.startswith(":") else None
    host, sep, port = value.rpartition(":")
    return (host, port) if sep else (value, None)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def host_allowed(header: str | None, bound_host: str, port: int) -> bool:
    """Refuse DNS-rebinding: a Host must name this machine, at this server's port.

    Allowed: localhost (and *.localhost), 127.0.0.1, [::1], the host the server
    was bound to, and, when bound to every interface, any IP literal (a rebinding
    attack needs a DNS name, never an address).
    """
    if not header:
        return False
    host, given_port = _split_host(header)
    if (given_port or "80") != str(port):
        return False
    host = host.lower().rstrip(".")
    bound = bound_host.strip("[]").lower()
    if host in _LOOPBACK or host.endswith(".localhost") or host == bound:
        return True
    return bound in _WILDCARD and _is_ip(host)


def origin_allowed(origin: str | None, bound_host: str, port: int) -> bool:
    """A cross-site page may not listen in: an Origin, when sent, must pass the Host rule."""
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and host_allowed(parts.netloc, bound_host, port)

"""Which URLs may be fetched, and which addresses may be connected to.

The rule is checked on the address we actually connect to, after our own
resolution, so tricks in how a URL is spelt (decimal or octal IPs, `user@host`,
IPv4-mapped IPv6) cannot reach an internal service: whatever the spelling,
the socket goes to an address that passed `is_public`.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

# Characters left as they are when a path or query is percent-encoded for the request line.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_HOSTNAME = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_V4_COMPAT = ipaddress.ip_network("::/96")
_TAB_NEWLINE = re.compile(r"[\t\n\r]")


class Refused(Exception):
    """A URL that will not be fetched; `reason` is a short report word."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Target:
    """One parsed http(s) URL: where to connect and what to ask for."""

    scheme: str
    host: str  # lower-case ASCII; an IPv6 literal without brackets
    port: int
    request_path: str  # path and query, percent-encoded, as sent on the request line
    url: str  # normalised absolute URL, without user info or fragment

    @property
    def default_port(self) -> bool:
        return self.port == (443 if self.scheme == "https" else 80)

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.default_port else f"{host}:{self.port}"


def clean_url(raw: str) -> str:
    """Strip what browsers strip from a URL attribute: outer whitespace, tabs and newlines."""
    return _TAB_NEWLINE.sub("", raw.strip(" \t\n\r\f"))


def is_remote(url: str) -> bool:
    """True for http:, https: (any case) and protocol-relative URLs."""
    url = clean_url(url).replace("\\", "/")
    return url.startswith("//") or bool(re.match(r"(?i)^https?:", url))


def parse_target(raw: str) -> Target:
    """Parse a remote image URL into a Target, or raise Refused("invalid URL")."""
    url = clean_url(raw).replace("\\", "/")  # browsers read "\" as "/" in http(s) URLs
    if url.startswith("//"):
        url = "https:" + url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Refused("invalid URL", str(exc)) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused("invalid URL", f"scheme {scheme or 'missing'!r} is not http(s)")
    host = _canonical_host(parts.hostname or "")
    port = port or (443 if scheme == "https" else 80)
    if not 0 < port < 65536:
        raise Refused("invalid URL", f"port {port}")
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    if not path.startswith("/"):
        path = "/" + path
    query = "?" + quote(parts.query, safe=_QUERY_SAFE) if parts.query else ""
    shown = f"[{host}]" if ":" in host else host
    default = port == (443 if scheme == "https" else 80)
    url = f"{scheme}://{shown}{'' if default else f':{port}'}{path}{query}"
    return Target(scheme, host, port, path + query, url)


def _canonical_host(host: str) -> str:
    if not host:
        raise Refused("invalid URL", "no host")
    if ":" in host or host.startswith("["):  # IPv6 literal (urlsplit drops the brackets)
        try:
            return str(ipaddress.IPv6Address(host.split("%")[0]))
        except ValueError:
            raise Refused("invalid URL", f"bad IPv6 address {host!r}") from None
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise Refused("invalid URL", f"bad host name {host!r}") from None
    if not _HOSTNAME.match(host) or len(host) > 253:
        raise Refused("invalid URL", f"bad host name {host!r}")
    return host


def host_allowed(target: Target, allow_hosts: tuple[str, ...]) -> bool:
    """True when `host` or `host:port` of the target is listed in images.allow_hosts."""
    shown = f"[{target.host}]" if ":" in target.host else target.host
    return shown in allow_hosts or f"{shown}:{target.port}" in allow_hosts


def is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True only for globally routable unicast addresses.

    Refuses loopback, private, link-local, CGNAT (100.64/10), multicast, reserved,
    unspecified and documentation ranges, and IPv6 forms that embed such an IPv4
    address (mapped, compatible, 6to4, NAT64, Teredo).
    """
    if ip.is_multicast or not ip.is_global:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        for inner in _embedded_ipv4(ip):
            if not is_public(inner):
                return False
    return True


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    found = []
    if ip.ipv4_mapped:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour:
        found.append(ip.sixtofour)
    if ip.teredo:
        found.extend(ip.teredo)
    if ip in _V4_COMPAT or any(ip in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def resolve(target: Target, allow_hosts: tuple[str, ...]) -> list[tuple[int, tuple]]:
    """Addresses (family, sockaddr) the target may be connected to, checked one by one.

    Raises Refused("blocked address") when every address is internal and the
    host is not allowed, and Refused("host not found") when DNS has no answer.
    """
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM,
                                   proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise Refused("host not found", f"{target.host}: {exc}") from None
    allowed = host_allowed(target, allow_hosts)
    usable, blocked = [], []
    for family, _type, _proto, _name, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if allowed or is_public(ip):
            usable.append((family, sockaddr))
        else:
            blocked.append(str(ip))
    if not usable:
        raise Refused("blocked address", f"{target.host} resolves to {', '.join(blocked)}")
    return usable

"""The `images.*` settings as one frozen object, parsed from the config mapping.

Every value is checked here, so later stages can trust it; errors name the
file and the key.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from sitegen import __version__
from sitegen.errors import ConfigError

# Bumped whenever processing changes its output, so cached results are redone.
PROCESS_VERSION = 1

_SIZE_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3,
               "kib": 1024, "mib": 1024**2, "gib": 1024**3}
_TIME_UNITS = {"": 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


@dataclass(frozen=True)
class ImageSettings:
    """How remote and local images are fetched, checked, processed and named."""

    enabled: bool = True
    fields: tuple[str, ...] = ("headimg", "thumbnail", "cover", "banner", "photos")
    max_width: int = 1600
    widths: tuple[int, ...] = (480, 960, 1600)
    thumb_width: int = 480
    quality: int = 80
    effort: int = 2  # libwebp "method" 0-6: 2 is ~2.5x faster than 4 at about the same size
    max_bytes: int = 20_000_000
    max_pixels: int = 50_000_000
    timeout_connect: float = 5.0
    deadline: float = 30.0
    concurrency: int = 8
    per_host: int = 2
    retries: int = 3
    retry_after_cap: float = 30.0
    backoff: float = 0.5  # first retry waits this long, then doubles
    max_redirects: int = 5
    user_agent: str = f"sitegen/{__version__} (+static site image localiser)"
    headers: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    allow_hosts: tuple[str, ...] = ()
    retry_failed_after: float = 86400.0
    output_dir: str = "images"

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, source: str = "config") -> ImageSettings:
        """Build settings from the `images` table; unknown or bad keys raise ConfigError."""
        data = dict(data or {})
        known = {f.name: f for f in fields(cls)}
        aliases = {"connect_timeout": "timeout_connect", "thumbnail_width": "thumb_width"}
        values: dict[str, Any] = {}
        for raw_key, value in data.items():
            key = aliases.get(raw_key, raw_key)
            if key not in known:
                hint = ", ".join(sorted(known))
                raise ConfigError(f"{source}: images.{raw_key}: unknown setting (known: {hint})")
            values[key] = _PARSERS[key](value, f"{source}: images.{raw_key}")
        # Widths above max_width are clamped when used, so setting max_width alone works.
        return cls(**values)

    def header_for(self, host: str) -> dict[str, str]:
        """Extra request headers configured for one host (exact, case-insensitive match)."""
        host = host.lower()
        for name, extra in self.headers.items():
            if name.lower() == host:
                return dict(extra)
        return {}

    def processing_key(self) -> str:
        """Hash of everything that changes processed output; part of every output name."""
        material = {
            "v": PROCESS_VERSION, "max_width": self.max_width, "widths": list(self.widths),
            "thumb": self.thumb_width, "quality": self.quality, "effort": self.effort,
            "max_pixels": self.max_pixels,
        }
        return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ConfigError(f"{where}: expected true or false, got {value!r}")


def _positive_int(value: Any, where: str, low: int = 1, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: expected a whole number, got {value!r}")
    if value < low or (high is not None and value > high):
        span = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{where}: must be {span}, got {value}")
    return value


def _units(value: Any, where: str, units: dict[str, int], what: str) -> float:
    if isinstance(value, bool):
        raise ConfigError(f"{where}: expected {what}, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", value)
        if not match or match.group(2).lower() not in units:
            raise ConfigError(f"{where}: expected {what}, got {value!r}")
        number = float(match.group(1)) * units[match.group(2).lower()]
    else:
        raise ConfigError(f"{where}: expected {what}, got {value!r}")
    if number < 0:
        raise ConfigError(f"{where}: must not be negative, got {value!r}")
    return number


def _size(value: Any, where: str) -> int:
    number = int(_units(value, where, _SIZE_UNITS, 'a size such as 20000000 or "20MB"'))
    if number < 1:
        raise ConfigError(f"{where}: must be at least 1 byte")
    return number


def _seconds(value: Any, where: str) -> float:
    return _units(value, where, _TIME_UNITS, 'seconds, or a duration such as "30s", "12h", "1d"')


def _positive_seconds(value: Any, where: str) -> float:
    number = _seconds(value, where)
    if number <= 0:
        raise ConfigError(f"{where}: must be more than 0 seconds")
    return number


def _str_tuple(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}: expected a list of names, got {value!r}")
    return tuple(value)


def _widths(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{where}: expected a list of pixel widths, got {value!r}")
    return tuple(sorted({_positive_int(v, where, 16) for v in value}))


def _allow_hosts(value: Any, where: str) -> tuple[str, ...]:
    hosts = _str_tuple(value, where)
    for host in hosts:
        if not re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[^\s/:@\[\]]+)(:[0-9]{1,5})?", host):
            raise ConfigError(f"{where}: {host!r} is not `host` or `host:port`")
    return tuple(h.lower() for h in hosts)


def _headers(value: Any, where: str) -> Mapping[str, Mapping[str, str]]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a table of host = {{header = value}}")
    result: dict[str, Mapping[str, str]] = {}
    for host, extra in value.items():
        if not isinstance(host, str) or not isinstance(extra, Mapping):
            raise ConfigError(f"{where}: {host!r} must map to a table of headers")
        checked: dict[str, str] = {}
        for name, text in extra.items():
            if not isinstance(name, str) or not _HEADER_NAME.match(name):
                raise ConfigError(f"{where}.{host}: {name!r} is not a header name")
            if not isinstance(text, str) or any(c in text for c in "\r\n\0"):
                raise ConfigError(f"{where}.{host}.{name}: expected one line of text")
            checked[name] = text
        result[host.lower()] = MappingProxyType(checked)
    return MappingProxyType(result)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip() or any(c in value for c in "\r\n\0"):
        raise ConfigError(f"{where}: expected one line of text, got {value!r}")
    return value


def _output_dir(value: Any, where: str) -> str:
    text = _text(value, where).strip("/")
    parts = text.split("/")
    if not text or any(p in ("", ".", "..") for p in parts) or "\\" in text:
        raise ConfigError(f"{where}: expected a folder inside the output, such as \"images\"")
    return text


_PARSERS = {
    "enabled": _bool,
    "fields": _str_tuple,
    "max_width": lambda v, w: _positive_int(v, w, 16),
    "widths": _widths,
    "thumb_width": lambda v, w: _positive_int(v, w, 16),
    "quality": lambda v, w: _positive_int(v, w, 1, 100),
    "effort": lambda v, w: _positive_int(v, w, 0, 6),
    "max_bytes": _size,
    "max_pixels": _size,
    "timeout_connect": _positive_seconds,
    "deadline": _positive_seconds,
    "concurrency": lambda v, w: _positive_int(v, w, 1, 256),
    "per_host": lambda v, w: _positive_int(v, w, 1, 64),
    "retries": lambda v, w: _positive_int(v, w, 0, 10),
    "retry_after_cap": _seconds,
    "backoff": _seconds,
    "max_redirects": lambda v, w: _positive_int(v, w, 0, 20),
    "user_agent": _text,
    "headers": _headers,
    "allow_hosts": _allow_hosts,
    "retry_failed_after": _seconds,
    "output_dir": _output_dir,
}

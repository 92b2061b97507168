"""The settings that change how a file parses (kept light: no Markdown imports)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ParseSettings:
    """The settings that change how a file parses; part of its cache key."""

    tz: Any  # tzinfo
    author: str
    new_post_name: str
    excerpt_length: int
    sanitize: bool
    iframe_hosts: tuple[str, ...]
    updated_option: str
    fingerprint: str  # hash of all of the above plus the sitegen version

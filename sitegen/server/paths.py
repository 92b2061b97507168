"""Map a request target to a file inside the output folder, or refuse it.

Every form of escape is closed here: `..` and `.` segments (raw or
percent-encoded), encoded slashes and backslashes, empty segments (`//`),
NUL and control characters, invalid UTF-8, and symlinks that lead out of
the tree (the resolved file must stay inside the resolved output folder).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

CONTENT_TYPES = {
    ".html": "text/html", ".htm": "text/html", ".css": "text/css",
    ".js": "text/javascript", ".mjs": "text/javascript", ".json": "application/json",
    ".map": "application/json", ".webmanifest": "application/manifest+json",
    ".xml": "application/xml", ".rss": "application/rss+xml", ".atom": "application/atom+xml",
    ".xsl": "application/xml", ".txt": "text/plain", ".md": "text/markdown", ".csv": "text/csv",
    ".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
    ".gif": "image/gif", ".webp": "image/webp", ".avif": "image/avif", ".ico": "image/x-icon",
    ".bmp": "image/bmp", ".apng": "image/apng", ".woff": "font/woff", ".woff2": "font/woff2",
    ".ttf": "font/ttf", ".otf": "font/otf", ".eot": "application/vnd.ms-fontobject",
    ".mp4": "video/mp4", ".webm": "video/webm", ".mp3": "audio/mpeg", ".ogg": "audio/ogg",
    ".wav": "audio/wav", ".m4a": "audio/mp4", ".pdf": "application/pdf",
    ".wasm": "application/wasm", ".zip": "application/zip", ".gz": "application/gzip",
}
_URL_SAFE = "/%:@!$&'()*+,;=-._~"
_TEXT_APPS = ("application/json", "application/xml", "application/manifest+json",
              "application/rss+xml", "application/atom+xml", "image/svg+xml")


def content_type(name: str) -> str:
    """The Content-Type for a file name; text types declare UTF-8."""
    dot = name.rfind(".")
    kind = CONTENT_TYPES.get(name[dot:].lower(), "application/octet-stream") if dot >= 0 \
        else "application/octet-stream"
    if kind.startswith("text/") or kind in _TEXT_APPS:
        return kind + "; charset=utf-8"
    return kind


@dataclass(frozen=True)
class Route:
    """What to answer: a file (200), a redirect, a refusal (400) or not found (404)."""

    status: int
    file: Path | None = None
    location: str | None = None


class BadPath(ValueError):
    """A request path that no honest link produces."""


def split_target(target: str) -> tuple[str, str]:
    """(raw path, query) from a request target, absolute-form included."""
    if target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        return parts.path or "/", parts.query
    path, _, query = target.partition("?")
    return path.partition("#")[0], query


def decode_segments(raw: str) -> list[str]:
    """The decoded segments of a raw path; raises BadPath on any unsafe form."""
    if not raw.startswith("/") or any(ord(c) < 32 or ord(c) == 127 for c in raw):
        raise BadPath(raw)
    pieces = raw[1:].split("/")
    segments = []
    for i, piece in enumerate(pieces):
        if piece == "":
            if i == len(pieces) - 1:
                break  # the trailing slash of a folder URL
            raise BadPath(raw)  # "//" has no place in a link
        try:
            seg = unquote(piece, errors="strict")
        except UnicodeDecodeError:
            raise BadPath(raw) from None
        if seg in (".", "..") or "/" in seg or "\\" in seg or "\x00" in seg \
                or any(ord(c) < 32 for c in seg):
            raise BadPath(raw)
        segments.append(seg)
    return segments


def root_segments(root: str) -> list[str]:
    return [unquote(s) for s in root.strip("/").split("/") if s]


def _inside(path: Path, base: Path) -> Path | None:
    """The real path if it is inside `base` (after following symlinks), else None."""
    try:
        real = path.resolve()
    except (OSError, RuntimeError):
        return None
    return real if real == base or real.is_relative_to(base) else None


def route(target: str, output_dir: Path, root: str) -> Route:
    """Decide how to answer GET `target` for a site built into `output_dir` under `root`."""
    raw, query = split_target(target)
    suffix = "?" + query if query else ""
    try:
        segments = decode_segments(raw)
    except BadPath:
        return Route(400)
    base = output_dir.resolve()
    prefix = root_segments(root)
    if segments[: len(prefix)] != prefix:
        return Route(302, location=quote(root, safe=_URL_SAFE)) if raw == "/" else Route(404)
    rel = segments[len(prefix):]
    folder_url = raw.endswith("/")
    if not rel and not folder_url:
        return Route(301, location=raw + "/" + suffix)  # "/archive" -> "/archive/"
    real = _inside(base.joinpath(*rel), base)
    if real is None:
        return Route(404)
    if real.is_dir():
        if not folder_url:
            return Route(301, location=raw + "/" + suffix)
        index = _inside(real / "index.html", base)
        return Route(200, index) if index is not None and index.is_file() else Route(404)
    if real.is_file() and not folder_url:
        return Route(200, real)
    if rel and not folder_url:
        # Like GitHub Pages: /about serves about.html (Hexo's pretty_urls.trailing_html: false).
        html = _inside(base.joinpath(*rel[:-1], rel[-1] + ".html"), base)
        if html is not None and html.is_file():
            return Route(200, html)
    return Route(404)


def not_found_page(output_dir: Path) -> Path | None:
    """The site's own 404.html, if the build made one inside the output."""
    base = output_dir.resolve()
    page = _inside(base / "404.html", base)
    return page if page is not None and page.is_file() else None

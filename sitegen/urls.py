"""The only place that turns things into output paths and URLs.

A *path* is relative to the site root and never starts with "/"
("2021/10/11/a/", "categories/Foo/"). An *output* is the file under the
output folder ("2021/10/11/a/index.html"). A *URL* carries the root prefix
and is percent-encoded ("/archive/categories/%E6%96%B0/").
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from urllib.parse import quote

from sitegen.hexo.permalink import permalink_to_output_path

# Characters kept as they are in URLs; everything else (CJK, spaces, %) is encoded.
_SAFE = "/:@!$&'()*+,;=-._~"


_NEEDS_QUOTE = re.compile(r"[^A-Za-z0-9_.~/:@!$&'()*+,;=-]")


@lru_cache(maxsize=65536)
def _quote(path: str) -> str:
    # Listings link the same categories and authors thousands of times.
    return quote(path, safe=_SAFE)


def _encode(path: str) -> str:
    return path if _NEEDS_QUOTE.search(path) is None else _quote(path)


class UnsafePath(ValueError):
    """A path that would escape the output folder."""


_PLAIN = re.compile(r"(?:[^/\x00-\x1f\\.]|\.(?!\.|/|$))+(?:/(?:[^/\x00-\x1f\\.]|\.(?!\.|/|$))+)*/?")


def safe_path(path: str) -> str:
    """Normalise a root-relative path, refusing anything that could escape the output."""
    if _PLAIN.fullmatch(path) and not path.startswith("."):
        return path  # the common case: nothing to normalise
    if "\x00" in path or any(ord(c) < 32 for c in path):
        raise UnsafePath(f"path contains a control character: {path!r}")
    if "\\" in path:
        raise UnsafePath(f"path contains a backslash: {path!r}")
    trailing = path.endswith("/")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafePath(f"path climbs out of the site with '..': {path!r}")
    clean = "/".join(parts)
    return clean + "/" if trailing and clean else clean


def output_for(path: str) -> str:
    """Hexo's router rule (a path ending in "/" gets index.html), refusing escapes."""
    try:
        return permalink_to_output_path(path.split("#", 1)[0])
    except ValueError as exc:
        raise UnsafePath(str(exc)) from None


def path_for_output(output: str) -> str:
    """The link path of an output file: "a/index.html" -> "a/"."""
    if output == "index.html":
        return ""
    if output.endswith("/index.html"):
        return output[: -len("index.html")]
    return output


def join(*parts: str) -> str:
    """Join path pieces into a directory path ending in "/" ("" stays the root)."""
    joined = "/".join(p.strip("/") for p in parts if p and p.strip("/"))
    return joined + "/" if joined else ""


@dataclass(frozen=True)
class Urls:
    """URL rules for one site: root prefix, directories and pagination."""

    root: str  # "/" or "/archive/"
    base_url: str  # "https://user.github.io/archive" (no trailing slash)
    pagination_dir: str = "page"
    archive_dir: str = "archives"
    category_dir: str = "categories"
    tag_dir: str = "tags"
    author_dir: str = "authors"

    @classmethod
    def from_config(cls, config) -> Urls:
        return cls(
            root=config.root,
            base_url=config.base_url,
            pagination_dir=config.pagination_dir.strip("/") or "page",
            archive_dir=config.archive_dir.strip("/") or "archives",
            category_dir=config.category_dir.strip("/") or "categories",
            tag_dir=config.tag_dir.strip("/") or "tags",
            author_dir=config.author_dir.strip("/") or "authors",
        )

    # --- paths of generated pages -------------------------------------------------
    def paged(self, base: str, number: int) -> str:
        """Page N of a listing at `base`: page 1 is `base` itself."""
        return base if number <= 1 else join(base, self.pagination_dir, str(number))

    def category(self, slug: str) -> str:
        return join(self.category_dir, slug)

    def tag(self, slug: str) -> str:
        return join(self.tag_dir, slug)

    def author(self, slug: str) -> str:
        return join(self.author_dir, slug)

    def archive(self, year: int | None = None, month: int | None = None) -> str:
        if year is None:
            return join(self.archive_dir)
        if month is None:
            return join(self.archive_dir, f"{year:04d}")
        return join(self.archive_dir, f"{year:04d}", f"{month:02d}")

    # --- URLs -----------------------------------------------------------------------
    def url(self, path: str) -> str:
        """Root-prefixed, percent-encoded URL of a root-relative path."""
        if path.startswith(("http://", "https://", "//", "mailto:", "#", "data:")):
            return path
        return _encode(self.root + path.lstrip("/"))

    @cached_property
    def origin(self) -> str:
        """Scheme and host of the site url."""
        site = self.base_url
        origin_end = site.find("/", site.find("//") + 2)
        return site if origin_end < 0 else site[:origin_end]

    def full_url(self, path: str) -> str:
        """Absolute URL (scheme and host) of a root-relative path."""
        if path.startswith(("http://", "https://")):
            return path
        return self.origin + self.url(path)



_ROOT_LINK = re.compile(
    r"""(\s(?:href|src|poster|data-src|data-original|action)\s*=\s*["'])/(?!/)""", re.IGNORECASE)
_SRCSET_ATTR = re.compile(r"""(\ssrcset\s*=\s*)(["'])(.*?)\2""", re.IGNORECASE | re.DOTALL)


def prefix_root_links(html: str, root: str) -> str:
    """Make root-absolute links in body HTML ("/a/b") live under the site root ("/archive/a/b").

    Authors write links as if the site sat at the domain root; under a project
    subpath those links would leave the site. Links already under root are kept.
    """
    if root == "/" or "/" not in html:
        return html
    inner = root[1:]

    def attr(m: re.Match) -> str:
        rest = html[m.end(): m.end() + len(inner)]
        return m.group(0) if rest == inner else m.group(1) + root

    def srcset(m: re.Match) -> str:
        parts = []
        for item in m.group(3).split(","):
            stripped = item.strip()
            if stripped.startswith("/") and not stripped.startswith(("//", root)):
                item = item.replace(stripped, root + stripped[1:], 1)
            parts.append(item)
        return f"{m.group(1)}{m.group(2)}{','.join(parts)}{m.group(2)}"

    return _SRCSET_ATTR.sub(srcset, _ROOT_LINK.sub(attr, html))


def prefix_root(url: str, root: str) -> str:
    """One root-absolute URL under the site root; other URLs unchanged."""
    if root != "/" and url.startswith("/") and not url.startswith(("//", root)):
        return root + url[1:]
    return url

"""Find image URLs in rendered HTML and front matter, with their exact byte spans.

The scanner follows the HTML tokenizer closely enough for real pages: it skips
comments and raw-text elements (script, style, textarea...), reads quoted and
unquoted attributes, and records where each attribute value sits, so the
rewrite can splice new URLs in without re-serialising anything.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sitegen.images.safety import clean_url, is_remote

# Attributes holding one image URL, and attributes holding a srcset, per element.
URL_ATTRS = {
    "img": ("src", "data-src", "data-original", "data-lazy-src"),
    "video": ("poster",),
    "source": (),
}
SRCSET_ATTRS = {
    "img": ("srcset", "data-srcset"),
    "source": ("srcset", "data-srcset"),
    "video": (),
}
# Links whose target is an image of the same document follow it to the local copy
# (lightbox galleries link the full-size original); links are never fetched.
LINK_ATTRS = {"a": ("href",)}
_WANTED = frozenset({"img", "source", "video", "picture", "/picture", "a"})
_RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "iframe", "noembed",
                       "noframes"})
_SPACE = "\t\n\f\r "
_OPEN = re.compile(r"<(?:(!--)|(/?)([a-zA-Z][^\t\n\f\r />]*)|[!?])")
_GAP = re.compile(r"[\t\n\f\r /]*")
_NAME = re.compile(r"[^\t\n\f\r />][^\t\n\f\r />=]*")
_EQUALS = re.compile(r"[\t\n\f\r ]*=[\t\n\f\r ]*")
_UNQUOTED = re.compile(r"[^\t\n\f\r >]*")


@dataclass(frozen=True)
class Attr:
    """One attribute. `start`/`end` span the raw value inside any quotes."""

    name: str  # lower-case
    value: str  # entities decoded
    start: int
    end: int
    quote: str | None  # '"', "'", "" (unquoted) or None (no value at all)


@dataclass(frozen=True)
class Tag:
    """A start tag of interest (or "/picture"). `insert_at` is where new attributes go."""

    name: str
    start: int
    end: int
    insert_at: int
    attrs: tuple[Attr, ...]

    def get(self, name: str) -> Attr | None:
        for attr in self.attrs:  # the first of duplicated attributes wins, as in browsers
            if attr.name == name:
                return attr
        return None


@dataclass(frozen=True)
class Candidate:
    """One srcset entry: the URL's span inside the decoded attribute value."""

    url: str
    start: int
    end: int


def scan(markup: str) -> list[Tag]:
    """All img, source and video start tags and picture end tags, in document order."""
    return list(_scan(markup))


def _scan(markup: str) -> Iterator[Tag]:
    pos, size = 0, len(markup)
    while True:
        pos = markup.find("<", pos)
        if pos < 0:
            return
        match = _OPEN.match(markup, pos)
        if not match:
            pos += 1
        elif match.group(1):  # a comment
            end = markup.find("-->", pos + 4)
            pos = size if end < 0 else end + 3
        elif match.group(3) is None:  # <!DOCTYPE ...>, <?...>: bogus comments
            end = markup.find(">", pos)
            pos = size if end < 0 else end + 1
        else:
            name = match.group(3).lower()
            if match.group(2):  # an end tag: its attributes mean nothing
                end = markup.find(">", pos)
                pos = size if end < 0 else end + 1
                if name == "picture":
                    yield Tag("/picture", match.start(), pos, pos, ())
                continue
            tag = _read_tag(markup, name, match.start(), match.end())
            if tag is None:
                return  # a tag left open at the end of the document
            if name in _WANTED:
                yield tag
            pos = _skip_raw_text(markup, name, tag.end)


def _read_tag(markup: str, name: str, start: int, pos: int) -> Tag | None:
    attrs: list[Attr] = []
    insert_at = pos
    while True:
        pos = _GAP.match(markup, pos).end()
        if pos >= len(markup):
            return None
        if markup[pos] == ">":
            if markup[pos - 1] == "/" and insert_at < pos:  # keep a self-closing slash last
                insert_at = min(insert_at, pos - 1)
            return Tag(name, start, pos + 1, insert_at, tuple(attrs))
        attr_match = _NAME.match(markup, pos)
        attr_name = attr_match.group().lower()
        pos = attr_match.end()
        equals = _EQUALS.match(markup, pos)
        if not equals:
            attrs.append(Attr(attr_name, "", pos, pos, None))
            insert_at = pos
            continue
        pos = equals.end()
        quote = markup[pos] if pos < len(markup) and markup[pos] in "\"'" else ""
        if quote:
            close = markup.find(quote, pos + 1)
            if close < 0:
                return None
            value_start, value_end, pos = pos + 1, close, close + 1
        else:
            value_start = pos
            pos = value_end = _UNQUOTED.match(markup, pos).end()
        raw = markup[value_start:value_end]
        attrs.append(Attr(attr_name, html.unescape(raw), value_start, value_end, quote))
        insert_at = pos


def _skip_raw_text(markup: str, name: str, pos: int) -> int:
    """After <script>, <style> and the like, jump past the matching end tag."""
    if name not in _RAW_TEXT:
        return pos
    pattern = re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE)
    match = pattern.search(markup, pos)
    return len(markup) if match is None else match.start()


def parse_srcset(value: str) -> list[Candidate]:
    """Split a srcset into candidates the way browsers do (URLs may contain commas)."""
    candidates, pos, size = [], 0, len(value)
    while pos < size:
        while pos < size and (value[pos] in _SPACE or value[pos] == ","):
            pos += 1
        start = pos
        while pos < size and value[pos] not in _SPACE:
            pos += 1
        end = pos
        while end > start and value[end - 1] == ",":
            end -= 1  # "a.jpg," ends the candidate with no descriptor
        if end > start:
            candidates.append(Candidate(value[start:end], start, end))
        if end < pos:
            continue
        depth = 0  # skip descriptors up to a comma outside parentheses
        while pos < size and not (value[pos] == "," and depth == 0):
            depth += {"(": 1, ")": -1}.get(value[pos], 0)
            pos += 1
    return candidates


def image_urls_in_tag(tag: Tag) -> Iterator[str]:
    """Every URL an img/source/video tag refers to as an image, in attribute order."""
    for attr in tag.attrs:
        if attr.name in URL_ATTRS.get(tag.name, ()):
            yield attr.value
        elif attr.name in SRCSET_ATTRS.get(tag.name, ()):
            yield from (c.url for c in parse_srcset(attr.value))


def field_urls(fields: Mapping[str, object], names: tuple[str, ...]) -> Iterator[str]:
    """Image URLs in the configured front-matter fields (strings or lists of strings)."""
    for name in names:
        value = fields.get(name)
        items = value if isinstance(value, (list, tuple)) else [value]
        yield from (item for item in items if isinstance(item, str) and item.strip())


def source_key(url: str, base_dir: Path | None,
               page_url: str | None = None) -> tuple[str, str] | None:
    """("remote", url) or ("local", absolute path) for a localisable URL, else None.

    Relative paths resolve against `base_dir`; so do root-absolute paths under
    `page_url` (Hexo's asset_img writes "/2020/01/02/post/x.png" for a file in the
    post's asset folder). None means "leave it alone": data: and other schemes,
    fragments, other root-absolute site paths, and relative paths without a folder.
    """
    url = clean_url(url)
    if not url or url.startswith("#"):
        return None
    if is_remote(url):
        return ("remote", url)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url) or base_dir is None:
        return None
    path = unquote(urlsplit(url).path)
    if url.startswith(("/", "\\")):
        prefix = unquote(page_url or "")
        if not prefix.startswith("/") or not prefix.endswith("/") or \
                not path.startswith(prefix):
            return None
        path = path[len(prefix):]
    return ("local", str(Path(base_dir, path))) if path else None

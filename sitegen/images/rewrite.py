"""Splice local URLs into HTML: only URL attributes change, every other byte is kept.

Edits are (start, end, text) replacements on the original string, computed from
the spans `discover.scan` recorded, and applied back to front.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sitegen.images.discover import LINK_ATTRS, SRCSET_ATTRS, URL_ATTRS, Attr, Tag, parse_srcset


@dataclass(frozen=True)
class LocalImage:
    """Where a localised image lives now, and what an <img> needs to show it well."""

    src: str
    width: int
    height: int
    srcset: str  # "…-480.webp 480w, …-960.webp 960w"
    thumb_src: str
    thumb_width: int
    thumb_height: int


@dataclass(frozen=True)
class Failed:
    """An image that stays remote; the reason is for the report."""

    reason: str


Outcome = LocalImage | Failed | None  # None: not an image this stage handles
Lookup = Callable[[str], Outcome]
Edit = tuple[int, int, str]


def rewrite_html(markup: str, tags: list[Tag], lookup: Lookup) -> str:
    """Apply every URL change to `markup` in one pass."""
    edits: list[Edit] = []
    picture_failed = False  # a <source> that failed makes its <img> no-referrer
    for tag in tags:
        if tag.name == "/picture":
            picture_failed = False
        elif tag.name == "img":
            edits.extend(_img_edits(tag, lookup, picture_failed))
            picture_failed = False
        elif tag.name in LINK_ATTRS:
            edits.extend(_link_edits(tag, lookup))
        else:
            tag_edits, failed = _url_edits(tag, lookup)
            edits.extend(tag_edits)
            picture_failed = picture_failed or (failed and tag.name == "source")
    return apply_edits(markup, edits)


def apply_edits(markup: str, edits: list[Edit]) -> str:
    pieces, pos = [], 0
    for start, end, text in sorted(edits, key=lambda e: (e[0], e[1])):
        pieces.append(markup[pos:start])
        pieces.append(text)
        pos = end
    pieces.append(markup[pos:])
    return "".join(pieces)


def _link_edits(tag: Tag, lookup: Lookup) -> list[Edit]:
    """Point a link at the local copy when it targets an image this document shows."""
    edits = []
    for attr in tag.attrs:
        if attr.name in LINK_ATTRS[tag.name]:
            outcome = lookup(attr.value)
            if isinstance(outcome, LocalImage):
                edits.append(_set_value(attr, outcome.src))
    return edits


def _url_edits(tag: Tag, lookup: Lookup) -> tuple[list[Edit], bool]:
    """Replace URLs in the tag's URL and srcset attributes; report whether any failed."""
    edits, failed = [], False
    for attr in tag.attrs:
        if attr.name in URL_ATTRS.get(tag.name, ()):
            outcome = lookup(attr.value)
            if isinstance(outcome, LocalImage):
                edits.append(_set_value(attr, outcome.src))
            failed = failed or isinstance(outcome, Failed)
        elif attr.name in SRCSET_ATTRS.get(tag.name, ()):
            value, changed, bad = _rewrite_srcset(attr.value, lookup)
            if changed:
                edits.append(_set_value(attr, value))
            failed = failed or bad
    return edits, failed


def _rewrite_srcset(value: str, lookup: Lookup) -> tuple[str, bool, bool]:
    replacements, failed = [], False
    for candidate in parse_srcset(value):
        outcome = lookup(candidate.url)
        if isinstance(outcome, LocalImage):
            replacements.append((candidate.start, candidate.end, outcome.src))
        failed = failed or isinstance(outcome, Failed)
    return apply_edits(value, replacements), bool(replacements), failed


def _img_edits(tag: Tag, lookup: Lookup, picture_failed: bool) -> list[Edit]:
    edits, failed = _url_edits(tag, lookup)
    primary = _primary(tag, lookup)
    added: list[tuple[str, str]] = []
    if primary is not None:
        src = tag.get("src")
        if src is None or not src.value.strip() or src.value.strip().lower().startswith("data:"):
            # A lazy-loading placeholder: the real image was in data-src; show it without JS.
            if src is None:
                added.append(("src", primary.src))
            else:
                edits.append(_set_value(src, primary.src))
        if tag.get("srcset") is None and "," in primary.srcset:
            added.append(("srcset", primary.srcset))
            if tag.get("sizes") is None:
                added.append(("sizes", f"(max-width: {primary.width}px) 100vw, {primary.width}px"))
        if tag.get("width") is None and tag.get("height") is None:
            added += [("width", str(primary.width)), ("height", str(primary.height))]
        for name, value in (("loading", "lazy"), ("decoding", "async")):
            if tag.get(name) is None:
                added.append((name, value))
    if (failed or picture_failed) and tag.get("referrerpolicy") is None:
        added.append(("referrerpolicy", "no-referrer"))  # hotlink-protected origins
    if added:
        text = "".join(f' {name}="{_escape(value, chr(34))}"' for name, value in added)
        edits.append((tag.insert_at, tag.insert_at, text))
    return edits


def _primary(tag: Tag, lookup: Lookup) -> LocalImage | None:
    """The image an <img> shows: src, or the lazy-loading attribute holding the real one."""
    for name in URL_ATTRS["img"]:
        attr = tag.get(name)
        if attr is not None:
            outcome = lookup(attr.value)
            if isinstance(outcome, LocalImage):
                return outcome
    return None


def _set_value(attr: Attr, value: str) -> Edit:
    if attr.quote is None:  # a bare attribute: give it a value
        return (attr.end, attr.end, f'="{_escape(value, chr(34))}"')
    if attr.quote:
        return (attr.start, attr.end, _escape(value, attr.quote))
    if any(c in value for c in " \t\n\f\r\"'=<>`") or not value:
        return (attr.start, attr.end, f'"{_escape(value, chr(34))}"')
    return (attr.start, attr.end, value.replace("&", "&amp;"))


def _escape(value: str, quote: str) -> str:
    value = value.replace("&", "&amp;")
    return value.replace('"', "&quot;") if quote == '"' else value.replace("'", "&#39;")

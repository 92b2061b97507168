"""Machine-readable outputs: atom.xml, sitemap.xml, robots.txt and search.json.

Built with ElementTree and json rather than templates, so they are always
well-formed whatever a title contains.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime

from sitegen.model import Site
from sitegen.urls import Urls

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="seconds")


def atom_feed(site: Site, urls: Urls, meta: dict, body: Callable[[int], str], limit: int) -> bytes:
    """The newest `limit` posts with full content and absolute URLs."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "title", meta.get("title") or "")
    if meta.get("subtitle"):
        _text(feed, "subtitle", meta["subtitle"])
    ET.SubElement(feed, f"{{{ATOM}}}link", href=urls.full_url("atom.xml"), rel="self")
    ET.SubElement(feed, f"{{{ATOM}}}link", href=urls.full_url(""))
    newest = max((p.doc.updated for p in site.posts), default=datetime(1970, 1, 1, tzinfo=UTC))
    _text(feed, "updated", _iso(newest))
    _text(feed, "id", urls.full_url(""))
    author = ET.SubElement(feed, f"{{{ATOM}}}author")
    _text(author, "name", meta.get("author") or "")
    _text(feed, "generator", "sitegen")
    by_date = sorted(range(len(site.posts)), key=lambda i: site.posts[i].doc.date, reverse=True)
    for i in by_date[: max(limit, 0)]:
        post = site.posts[i]
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "title", post.doc.title)
        ET.SubElement(entry, f"{{{ATOM}}}link", href=urls.full_url(post.path))
        _text(entry, "id", urls.full_url(post.path))
        _text(entry, "published", _iso(post.doc.date))
        _text(entry, "updated", _iso(post.doc.updated))
        who = ET.SubElement(entry, f"{{{ATOM}}}author")
        _text(who, "name", post.doc.author)
        content = ET.SubElement(entry, f"{{{ATOM}}}content", type="html")
        content.text = absolutise(body(i), urls)
        if post.doc.summary:
            _text(entry, "summary", post.doc.summary)
        for slug in post.categories:
            term = site.categories.get(slug)
            if term:
                ET.SubElement(entry, f"{{{ATOM}}}category", term=term.name,
                              scheme=urls.full_url(urls.category(slug)))
        for slug in post.tags:
            term = site.tags.get(slug)
            if term:
                ET.SubElement(entry, f"{{{ATOM}}}category", term=term.name,
                              scheme=urls.full_url(urls.tag(slug)))
    return _xml(feed)


_ROOT_RELATIVE = re.compile(r'(\s(?:src|href|poster|data-src)=")/(?!/)')
_SRCSET = re.compile(r'(\ssrcset=")([^"]*)(")')


def absolutise(html: str, urls: Urls) -> str:
    """Feed readers have no base URL: make root-relative src/href/srcset absolute."""
    origin = urls.full_url("/")[: -len(urls.url("/"))]

    def srcset(m: re.Match) -> str:
        parts = [p.strip() for p in m.group(2).split(",")]
        fixed = [origin + p if p.startswith("/") and not p.startswith("//") else p for p in parts]
        return m.group(1) + ", ".join(fixed) + m.group(3)

    return _SRCSET.sub(srcset, _ROOT_RELATIVE.sub(lambda m: m.group(1) + origin + "/", html))


def xml_escape(text: str) -> str:
    # xml.sax.saxutils would do, but importing it loads urllib.request (30 ms at start-up).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sitemap_lines(entries: list[tuple[str, datetime | None]], urls: Urls,
                  path_of: Callable[[str], str], last: dict | None = None
                  ) -> list[tuple[float | None, str]]:
    """(lastmod stamp, <url> line) per (output file, lastmod) entry. `last` (output ->
    the same pair, from the last build, for this url and time zone) is reused where
    the stamp matches."""
    last = last or {}
    out = []
    for output, when in entries:
        stamp = when.timestamp() if when is not None else None
        found = last.get(output)
        if found is None or found[0] != stamp:
            found = (stamp, sitemap_line(path_of(output), when, urls))
        out.append(found)
    return out


def sitemap_line(path: str, when: datetime | None, urls: Urls) -> str:
    loc = xml_escape(urls.full_url(path))
    mod = f"<lastmod>{_iso(when)}</lastmod>" if when is not None else ""
    return f"<url><loc>{loc}</loc>{mod}</url>"


def sitemap_xml(lines: list[str]) -> bytes:
    # Written directly: ElementTree takes seconds for the ~27,000 URLs of a 10k-post site.
    head = ['<?xml version="1.0" encoding="utf-8"?>', f'<urlset xmlns="{SITEMAP}">']
    return "\n".join([*head, *lines, "</urlset>\n"]).encode()


def robots(urls: Urls) -> bytes:
    return f"User-agent: *\nAllow: {urls.root}\n\nSitemap: {urls.full_url('sitemap.xml')}\n".encode()


def search_parts(site: Site, urls: Urls, cards: list[str] | None = None,
                 last: dict | None = None) -> list[bytes]:
    """Each post's search entry as JSON, newest first.

    `cards` (plan.card_keys) say what each post shows; `last` (source -> (card,
    date stamp, JSON) from the last build, for this url) is reused where both match.
    """
    last = last or {}
    parts = []
    for i, post in enumerate(site.posts):
        found = last.get(post.doc.source)
        if (found is not None and cards is not None and found[0] == cards[i]
                and found[1] == post.doc.date.timestamp()):
            parts.append(found[2])
        else:
            parts.append(search_entry(site, urls, i))
    return parts


def search_entry(site: Site, urls: Urls, i: int) -> bytes:
    return json.dumps(_search_entry(site, urls, site.posts[i]), ensure_ascii=False,
                      separators=(",", ":")).encode()


def search_json(parts: list[bytes]) -> bytes:
    """Everything the client-side search needs, newest first."""
    return b"[" + b",".join(parts) + b"]"


def _search_entry(site: Site, urls: Urls, post) -> dict:
    doc = post.doc
    return {
        "title": doc.title,
        "url": urls.url(post.path),
        "date": _iso(doc.date),
        "author": doc.author,
        "categories": [site.categories[c].name for c in post.categories if c in site.categories],
        "tags": [site.tags[t].name for t in post.tags if t in site.tags],
        "excerpt": doc.summary,
    }


def _text(parent: ET.Element, tag: str, text: str, ns: str = ATOM) -> ET.Element:
    el = ET.SubElement(parent, f"{{{ns}}}{tag}")
    el.text = _clean(text)
    return el


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(text: str) -> str:
    # XML 1.0 forbids most control characters; scraped titles sometimes carry them.
    return _CONTROL.sub("", text)


def _xml(root: ET.Element) -> bytes:
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                   xml_declaration=False)

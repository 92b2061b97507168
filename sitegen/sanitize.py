"""Sanitise third-party HTML with nh3, keeping the article's formatting.

Scraped archives carry whatever the origin page had. With `sanitize = true`
bodies lose scripts, event handlers, javascript: URLs, <base>, <meta> and
iframes from unlisted hosts, but keep paragraphs, inline styles such as
`text-indent`, images, links, tables and code.
"""
from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urlsplit

import nh3

_TAGS = {
    "a", "abbr", "acronym", "address", "article", "aside", "b", "bdi", "bdo", "big", "blockquote",
    "br", "caption", "center", "cite", "code", "col", "colgroup", "dd", "del", "details", "dfn",
    "div", "dl", "dt", "em", "figcaption", "figure", "font", "footer", "h1", "h2", "h3", "h4", "h5",
    "h6", "header", "hr", "i", "iframe", "img", "ins", "kbd", "li", "mark", "ol", "p", "picture",
    "pre", "q", "rp", "rt", "ruby", "s", "samp", "section", "small", "source", "span", "strike",
    "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time",
    "tr", "tt", "u", "ul", "var", "video", "audio", "wbr",
}
_COMMON = {"style", "class", "id", "title", "lang", "dir", "align", "width", "height"}
_ATTRS = {
    "a": {"href", "name", "target"},
    "img": {"src", "srcset", "sizes", "alt", "loading", "decoding", "referrerpolicy",
            "data-src", "data-original"},
    "source": {"src", "srcset", "type", "media", "sizes"},
    "video": {"src", "poster", "controls", "preload", "loop", "muted", "playsinline"},
    "audio": {"src", "controls", "preload", "loop"},
    "iframe": {"src", "allowfullscreen", "frameborder", "allow", "loading"},
    "td": {"colspan", "rowspan", "valign"},
    "th": {"colspan", "rowspan", "valign", "scope"},
    "ol": {"start", "type", "reversed"},
    "li": {"value"},
    "time": {"datetime"},
    "font": {"color", "face", "size"},
    "col": {"span"},
    "colgroup": {"span"},
    "blockquote": {"cite"},
    "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
    "details": {"open"},
    "code": {"data-lang"},
    "pre": {"data-lang"},
}
_IFRAME = re.compile(r"<iframe\b[^>]*?\bsrc\s*=\s*([\"']?)([^\"'\s>]+)\1[^>]*>.*?</iframe\s*>", re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=1)
def _cleaner() -> nh3.Cleaner:
    attrs = {tag: set(_COMMON) | extra for tag, extra in _ATTRS.items()}
    attrs["*"] = set(_COMMON)
    return nh3.Cleaner(
        tags=_TAGS,
        attributes=attrs,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel=None,
        strip_comments=False,  # keeps <!-- more --> and raw-HTML comments
    )


def _drop_foreign_iframes(html: str, hosts: tuple[str, ...]) -> str:
    def keep(m: re.Match) -> str:
        host = (urlsplit(m.group(2) if not m.group(2).startswith("//") else "https:" + m.group(2))
                .hostname or "")
        return m.group(0) if host.lower() in hosts else ""

    return _IFRAME.sub(keep, html)


def sanitize_html(html: str, iframe_hosts: tuple[str, ...] | list[str] = ()) -> str:
    hosts = tuple(h.lower() for h in iframe_hosts)
    if "<iframe" in html.lower():
        html = _drop_foreign_iframes(html, hosts)
    return _cleaner().clean(html)

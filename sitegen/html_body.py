"""What every rendered body goes through, Markdown or HTML: the markers that
pass through rendering, the `<!-- more -->` excerpt split and the heading scan
that feeds the table of contents. Kept apart from markdown.py so that sites
written in HTML (most imported archives) never load markdown-it or Pygments.

Two kinds of marker made of Unicode noncharacters (never valid in interchange text,
so they cannot collide with real content) pass through rendering:
- islands, `ISLAND_OPEN html ISLAND_CLOSE`: finished HTML from tag plugins that must
  reach the output untouched, exactly as Hexo inserts tag output after Markdown;
- references, `REF_OPEN kind REF_SEP hex REF_CLOSE`: facts about other posts that are
  filled in later by `sitegen.hexo.refs.resolve_refs`.
"""
from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass

from sitegen.model import Heading

ISLAND_OPEN, ISLAND_CLOSE = "\ufdd0", "\ufdd1"
REF_OPEN, REF_SEP, REF_CLOSE = "\ufdd2", "\ufdd3", "\ufdd4"


@dataclass(frozen=True)
class RenderedBody:
    html: str
    excerpt_html: str | None
    more_html: str | None
    toc: tuple[Heading, ...]


def html_island(html: str) -> str:
    """Wrap finished HTML so Markdown rendering inserts it verbatim."""
    return ISLAND_OPEN + html + ISLAND_CLOSE


def render_html_body(text: str) -> RenderedBody:
    """A body written in HTML: passed through byte for byte, then split and scanned."""
    if ISLAND_OPEN in text:
        text = ISLAND_RE.sub(lambda m: m.group(1), text)
    return finish_body(text)


# --- post-render steps -------------------------------------------------------------

# Hexo's marker: at most one space on each side, any case (after_post_render/excerpt).
_EXCERPT_RE = re.compile(r"<!-- ?more ?-->", re.IGNORECASE)
_HEADING_RE = re.compile(r"<h([1-6])(\s[^>]*)?>(.*?)</h\1\s*>", re.IGNORECASE | re.DOTALL)
_ID_RE = re.compile(r"""\sid\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+))""", re.IGNORECASE)
_TAG_RE = re.compile(r"<[^>]*>")
_MARKERS = re.compile(r"<(?:!--|[hH][1-6])")  # what an excerpt marker or a heading starts with
REF_RE = re.compile(f"{REF_OPEN}[^{REF_CLOSE}]*{REF_CLOSE}")
ISLAND_RE = re.compile(f"{ISLAND_OPEN}(.*?){ISLAND_CLOSE}", re.DOTALL)


def finish_body(html: str) -> RenderedBody:
    if _MARKERS.search(html) is None:  # one quick scan; most bodies have neither
        return RenderedBody(html, None, None, ())
    excerpt = more = None
    m = _EXCERPT_RE.search(html)
    if m:
        excerpt = html[: m.start()].strip()
        more = html[m.end():].strip()
        html = html[: m.start()] + '<span id="more"></span>' + html[m.end():]
    return RenderedBody(html, excerpt, more, _scan_headings(html))


def _scan_headings(html: str) -> tuple[Heading, ...]:
    if "<h" not in html and "<H" not in html:
        return ()
    found = []
    for m in _HEADING_RE.finditer(html):
        ident = _ID_RE.search(m.group(2) or "")
        raw_id = next((g for g in ident.groups() if g is not None), "") if ident else ""
        found.append(Heading(int(m.group(1)), htmllib.unescape(raw_id), heading_text(m.group(3))))
    return tuple(found)


def heading_text(fragment: str) -> str:
    text = htmllib.unescape(_TAG_RE.sub("", REF_RE.sub("", fragment)))
    return " ".join(text.split())

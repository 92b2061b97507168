"""Markdown -> HTML the way Hexo's default renderer (hexo-renderer-marked) does it.

The steps every body goes through afterwards (excerpt split, heading scan) and
the markers that pass through rendering live in html_body.py.
"""
from __future__ import annotations

import functools
import html as htmllib
import re
from typing import TYPE_CHECKING

from sitegen.hexo.slug import slugize
from sitegen.html_body import (  # noqa: F401 - re-exported: the markers are part of this module's API
    ISLAND_CLOSE,
    ISLAND_OPEN,
    ISLAND_RE,
    REF_CLOSE,
    REF_OPEN,
    REF_RE,
    REF_SEP,
    Heading,
    RenderedBody,
    finish_body,
    html_island,
    render_html_body,
)

if TYPE_CHECKING:  # markdown-it and Pygments load on the first body that needs them
    from markdown_it import MarkdownIt
    from markdown_it.rules_core import StateCore
    from markdown_it.token import Token


def render_markdown(text: str) -> RenderedBody:
    """Render a post body written in Markdown (tag plugins already expanded)."""
    islands: list[str] = []
    if ISLAND_OPEN in text:
        text = ISLAND_RE.sub(lambda m: _hole(islands, m.group(1)), text)
    head, rest = html_head(text)
    out = head + _md().render(rest, {}) if rest else head
    if islands:
        out = _HOLE_RE.sub(lambda m: islands[int(m.group(1))], out)
    return finish_body(out)


# --- leading raw-HTML blocks, without markdown-it -----------------------------------

# CommonMark HTML blocks of type 6 (<div>, <p>, </div> … at the start of a line) run to
# the next blank line and are output verbatim. Most imported posts are nothing else, and
# markdown-it spends most of a render walking their lines. The start conditions are the
# spec's (CommonMark 0.31, 4.6), matched as markdown-it matches them: names in ASCII
# only, any case, then whitespace, ">", "/>" or the end of the line. Written out here so
# that finding them does not load markdown-it; tests/test_markdown.py checks both agree.
_BLOCK_NAMES = (
    "address article aside base basefont blockquote body caption center col colgroup dd "
    "details dialog dir div dl dt fieldset figcaption figure footer form frame frameset "
    "h1 h2 h3 h4 h5 h6 head header hr html iframe legend li link main menu menuitem nav "
    "noframes ol optgroup option p param search section summary table tbody td tfoot th "
    "thead title tr track ul").split()  # noqa: SIM905 - a list this long reads better so
_TYPE6_OPEN = re.compile(rf"^</?(?a:(?:{'|'.join(_BLOCK_NAMES)}))(?=\s|/?>|$)", re.IGNORECASE)
_OTHER_OPENS = (  # types 1-5, which markdown-it tries first
    re.compile(r"^<(?a:(?:script|pre|style|textarea))(?=\s|>|$)", re.IGNORECASE),
    re.compile(r"^<!--"), re.compile(r"^<\?"), re.compile(r"^<![A-Za-z]"),
    re.compile(r"^<!\[CDATA\["),
)


def _opens_html_block(line: str) -> bool:
    """Whether markdown-it reads `line` (indent removed) as the start of a type-6 block."""
    return _TYPE6_OPEN.match(line) is not None and not any(o.match(line) for o in _OTHER_OPENS)


def html_head(text: str) -> tuple[str, str]:
    """(what markdown-it renders for the leading type-6 HTML blocks, the Markdown after them).

    render(text) == head + render(rest): a type-6 block ends at a blank line, after which
    markdown-it starts afresh at the top level, and raw HTML defines no link references.
    """
    if "\r" in text:  # markdown-it's own normalisation, done first
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\0" in text:
        text = text.replace("\0", "\ufffd")
    if "<" not in text:
        return "", text
    lines = text.split("\n")
    n, i = len(lines), 0
    pieces: list[str] = []
    while i < n:
        line = lines[i]
        body = line.lstrip(" \t")
        if not body:  # markdown-it's blank line: spaces and tabs only
            i += 1
            continue
        indent = len(line) - len(body)
        if indent >= 4 or "\t" in line[:indent] or not _opens_html_block(body):
            break  # an indented code block, or not a type-6 block
        j = i + 1
        while j < n and lines[j].lstrip(" \t"):  # lstrip copies only indented lines
            j += 1
        if j > i + 1 and lines[i + 1].lstrip(" \t")[:1] in ("|", "-", ":"):
            break  # the table rule, which markdown-it tries first, might take these lines
        pieces.append("\n".join(lines[i:j]))
        if j < n:
            pieces.append("\n")
        i = j
    if not pieces:
        return "", text
    return "".join(pieces), "\n".join(lines[i:])


# --- tag output kept out of markdown-it's way -------------------------------------

_ISLAND_HOLE = "\ufdd5"  # a tag's place while markdown-it runs

_HOLE_RE = re.compile(f"(?:<|&lt;)!--{_ISLAND_HOLE}(\\d+)--(?:>|&gt;)")


def _hole(islands: list[str], html: str) -> str:
    # An HTML comment is what Hexo itself leaves in the Markdown for a tag: it is kept
    # verbatim both as a block of its own and inside a paragraph.
    islands.append(html)
    return f"<!--{_ISLAND_HOLE}{len(islands) - 1}-->"


# --- heading ids, Hexo style -------------------------------------------------------

def _inline_text(children: list[Token] | None) -> str:
    parts = []
    for tok in children or ():
        if tok.type in ("text", "code_inline"):
            parts.append(tok.content)
        elif tok.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return REF_RE.sub("", "".join(parts)).strip()


def _hexo_tokens(state: StateCore) -> None:
    """Heading ids (unique with -1, -2 …) and marked-style `align` on table cells."""
    seen: dict[str, int] = {}
    tokens = state.tokens
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            text = _inline_text(tokens[i + 1].children)
            ident = slugize(text)
            if seen.get(ident):
                seen[ident] += 1
                ident = f"{ident}-{seen[ident] - 1}"
            else:
                seen[ident] = 1
            if ident:
                tok.attrSet("id", ident)
            tok.meta["title"] = text
        elif tok.type in ("th_open", "td_open"):
            style = tok.attrs.pop("style", None)
            if isinstance(style, str) and style.startswith("text-align:"):
                tok.attrSet("align", style[len("text-align:"):])


def _render_heading_open(self, tokens: list[Token], idx: int, options, env) -> str:
    tok = tokens[idx]
    out = self.renderToken(tokens, idx, options, env)
    ident = tok.attrGet("id")
    if ident:
        title = htmllib.escape(tok.meta.get("title", ""))
        out += f'<a href="#{htmllib.escape(str(ident))}" class="headerlink" title="{title}"></a>'
    return out


# --- fenced code, Hexo's info-string syntax -----------------------------------------

_FENCE_OPTIONS_RE = re.compile(
    r"\s((?:line_number|line_threshold|first_line|wrap|mark|language_attr|highlight):\S+)")
_FENCE_FULL_RE = re.compile(r"(\S+)\s+(.+?)\s+(https?://\S+|/\S+)\s*(.+)?")
_FENCE_CAPTION_RE = re.compile(r"(\S+)\s*(.+)?")


def fence_caption(title: str, url: str | None = None, link_text: str | None = None) -> str:
    """Caption markup shared by fences and the codeblock tag."""
    out = f"<span>{htmllib.escape(title)}</span>"
    if url:
        out += f'<a href="{htmllib.escape(url)}">{htmllib.escape(link_text or "link")}</a>'
    return out


def _render_fence(self, tokens: list[Token], idx: int, options, env) -> str:
    from sitegen.highlight import code_figure, parse_marked_lines  # Pygments

    info = tokens[idx].info
    marked: frozenset[int] = frozenset()
    for opt in _FENCE_OPTIONS_RE.findall(info):
        key, _, value = opt.partition(":")
        if key == "mark":
            marked = parse_marked_lines(value)
    info = _FENCE_OPTIONS_RE.sub("", info).split("=")[0].strip()
    lang, caption = None, ""
    m = _FENCE_FULL_RE.match(info) or _FENCE_CAPTION_RE.match(info)
    if m:
        lang = m.group(1)
        if m.group(2):
            url = m.group(3) if m.re is _FENCE_FULL_RE else None
            text = m.group(4) if m.re is _FENCE_FULL_RE else None
            caption = fence_caption(m.group(2), url, text)
    return code_figure(tokens[idx].content, lang, caption, marked) + "\n"


# --- GFM autolinks, as marked finds them ---------------------------------------------

_AUTOLINK_RE = re.compile(
    r"(?P<url>(?:(?:https?|ftp)://|www\.)(?:[a-zA-Z0-9-]+\.?)+[^\s<]*)"
    r"|(?<![A-Za-z0-9._+-])(?P<email>[A-Za-z0-9._+-]+@[a-zA-Z0-9_-]+"
    r"(?:\.[a-zA-Z0-9_-]*[a-zA-Z0-9])+)(?![-_])")
_A_OPEN_RE = re.compile(r"<a[\s>]", re.IGNORECASE)
_A_CLOSE_RE = re.compile(r"</a\s*>", re.IGNORECASE)


def _trim_url(url: str) -> str:
    # GFM: trailing punctuation and unbalanced closing parentheses are not part of a URL.
    while url:
        if url[-1] in "?!.,:;*_~'\"" or url[-1] == ")" and url.count("(") < url.count(")"):
            url = url[:-1]
        else:
            break
    return url


def _link_tokens(md: MarkdownIt, text: str) -> list[Token] | None:
    from markdown_it.token import Token

    out: list[Token] = []
    pos = 0
    for m in _AUTOLINK_RE.finditer(text):
        if m.group("email"):
            shown = m.group("email")
            href = "mailto:" + shown
        else:
            shown = _trim_url(m.group("url"))
            href = shown if "://" in shown else "http://" + shown
        href = md.normalizeLink(href)
        if not md.validateLink(href):
            continue
        if m.start() > pos:
            out.append(Token("text", "", 0, content=text[pos:m.start()]))
        out.append(Token("link_open", "a", 1, attrs={"href": href}, markup="linkify", info="auto"))
        out.append(Token("text", "", 0, content=md.normalizeLinkText(shown)))
        out.append(Token("link_close", "a", -1, markup="linkify", info="auto"))
        pos = m.start() + len(shown)
    if not out:
        return None
    if pos < len(text):
        out.append(Token("text", "", 0, content=text[pos:]))
    return out


def _autolink(state: StateCore) -> None:
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        depth = 0
        for tok in block.children:
            if tok.type == "link_open":
                depth += 1
            elif tok.type == "link_close":
                depth -= 1
            elif tok.type == "html_inline":
                depth += bool(_A_OPEN_RE.match(tok.content)) - bool(_A_CLOSE_RE.match(tok.content))
            elif tok.type == "text" and depth <= 0 and (
                    ":" in tok.content or "www." in tok.content or "@" in tok.content):
                linked = _link_tokens(state.md, tok.content)
                if linked:
                    children.extend(linked)
                    continue
            children.append(tok)
        block.children = children


@functools.cache
def _md() -> MarkdownIt:
    """The one MarkdownIt instance of this process; building one costs milliseconds."""
    from markdown_it import MarkdownIt
    from mdit_py_plugins.deflist import deflist_plugin
    from mdit_py_plugins.tasklists import tasklists_plugin

    md = MarkdownIt("commonmark", {
        "html": True, "breaks": True, "xhtmlOut": False, "typographer": False,
        "linkify": False, "maxNesting": 100,
    })
    md.enable(["table", "strikethrough"])
    md.use(deflist_plugin)  # marked's descriptionLists, in pandoc syntax
    md.use(tasklists_plugin)  # marked renders GFM task lists as disabled checkboxes
    md.core.ruler.push("gfm_autolink", _autolink)
    md.core.ruler.push("hexo_tokens", _hexo_tokens)
    md.add_render_rule("heading_open", _render_heading_open)
    md.add_render_rule("fence", _render_fence)
    # marked writes <del> for ~~strikethrough~~ where markdown-it writes <s>.
    md.add_render_rule("s_open", lambda self, tokens, idx, options, env: "<del>")
    md.add_render_rule("s_close", lambda self, tokens, idx, options, env: "</del>")
    return md


def markdown_parser() -> MarkdownIt:
    """The shared parser, for callers that need block structure (e.g. code regions)."""
    return _md()

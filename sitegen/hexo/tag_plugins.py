"""Hexo's built-in tag plugins (lib/plugins/tag) plus hexo-tag-embed's video/gist tags.

Each plugin takes the tag's arguments (already split like Nunjucks splits them) and its
body, and returns HTML. Facts from other posts become placeholders (see refs.py).
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from sitegen.hexo.refs import URL_SLOT, escape_html, make_ref
from sitegen.highlight import code_figure, parse_marked_lines
from sitegen.markdown import REF_OPEN, fence_caption


@dataclass(frozen=True)
class TagEnv:
    """What a plugin may use: Markdown rendering of a nested body, and warnings."""

    render: Callable[[str], str]
    warn: Callable[[str], None]


@dataclass(frozen=True)
class TagSpec:
    fn: Callable[[list[str], str, TagEnv], str]
    block: bool = False  # has a body closed by {% end<name> %}
    island: bool = True  # finished HTML; False for bare references usable inside URLs


# --- HTML helpers, hexo-util's htmlTag / encodeURL semantics -------------------------

_URL_ATTRS = re.compile(r"(cite|download|href|src|url)$", re.IGNORECASE)
_ORIGIN_RE = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*)(.*)$", re.DOTALL)


def encode_url(url: str) -> str:
    """Percent-encode like encodeURI; existing escapes and IDN host names stay as they are."""
    if url.startswith("data:") or URL_SLOT in url or REF_OPEN in url:
        return url  # data URLs, and placeholders filled with encoded URLs later
    m = _ORIGIN_RE.match(url)
    origin, rest = (m.group(1), m.group(2)) if m else ("", url)
    return origin + quote(rest, safe=";,/?:@&=+$-_.!~*'()#%")


def html_tag(tag: str, attrs: dict[str, str | bool | None], text: str | None = None,
             escape: bool = True) -> str:
    out = f"<{tag}"
    for key, value in attrs.items():
        if value is None or value is False or value == "":
            continue
        if value is True:
            out += f" {key}"
        elif _URL_ATTRS.search(key):
            out += f' {key}="{escape_html(encode_url(value))}"'
        else:
            out += f' {key}="{escape_html(value)}"'
    if text is None:
        return out + ">"
    return f"{out}>{escape_html(text) if escape else text}</{tag}>"


# Hexo's test for "this argument is a URL" (scheme:, www., or user@host somewhere in it).
_LOOKS_LIKE_URL = re.compile(
    r"[A-Za-z]{3,9}:(?://)?(?:[-;:&=+$,\w]+@)?[A-Za-z0-9.-]+|(?:www.|[-;:&=+$,\w]+@)[A-Za-z0-9.-]+")
_ABSOLUTE = re.compile(r"^(#|//|https?:)")


def url_for(path: str) -> str:
    """Site paths get the root prefixed later (a url_for reference); URLs stay."""
    return path if _ABSOLUTE.match(path) else make_ref("url_for", path)


# --- quotes -------------------------------------------------------------------------

_FULL_CITE_TITLE = re.compile(r"(\S.*)\s+(https?://\S+)\s+(.+)", re.IGNORECASE)
_FULL_CITE = re.compile(r"(\S.*)\s+(https?://\S+)", re.IGNORECASE)
_AUTHOR_TITLE = re.compile(r"([^,]+),\s*([^,]+)")
_SOURCE_TEXT = re.compile(r"^https?://|/(index.html?)?$")


def _quote_footer(args: list[str]) -> str:
    text = " ".join(args)
    if not text:
        return ""
    author, source, title = text, "", ""
    if m := _FULL_CITE_TITLE.search(text):
        author, source, title = m.groups()
    elif m := _FULL_CITE.search(text):
        author, source = m.groups()
    elif m := _AUTHOR_TITLE.search(text):
        author, title = m.groups()
    footer = f"<strong>{author}</strong>" if author else ""
    if source:
        shown = title or _SOURCE_TEXT.sub("", source)
        footer += f'<cite><a href="{escape_html(encode_url(source))}">{shown}</a></cite>'
    elif title:
        footer += f"<cite>{title}</cite>"
    return footer


def blockquote(args: list[str], body: str, env: TagEnv) -> str:
    footer = _quote_footer(args)
    return (f"<blockquote>{env.render(body)}"
            f"{f'<footer>{footer}</footer>' if footer else ''}</blockquote>")


def pullquote(args: list[str], body: str, env: TagEnv) -> str:
    return f'<blockquote class="{" ".join(["pullquote", *args])}">{env.render(body)}</blockquote>'


# --- code ---------------------------------------------------------------------------

_CAPTION_URL_TITLE = re.compile(r"(\S[\S\s]*)\s+(https?://\S+)\s+(.+)", re.IGNORECASE)
_CAPTION_URL = re.compile(r"(\S[\S\s]*)\s+(https?://\S+)", re.IGNORECASE)


def codeblock(args: list[str], body: str, env: TagEnv) -> str:
    lang, marked, rest = None, frozenset(), []
    for arg in args:
        key, colon, value = arg.partition(":")
        if colon and key == "highlight" and value != "true":
            return f"<pre><code>{escape_html(body)}</code></pre>"
        if colon and key == "lang":
            lang = value
        elif colon and key == "mark":
            marked = parse_marked_lines(value)
        elif not (colon and key in ("line_number", "line_threshold", "first_line", "wrap",
                                    "language_attr", "highlight")):
            rest.append(arg)
    caption = ""
    text = " ".join(rest)
    if m := _CAPTION_URL_TITLE.search(text):
        caption = fence_caption(m.group(1), m.group(2), m.group(3))
    elif m := _CAPTION_URL.search(text):
        caption = fence_caption(m.group(1), m.group(2))
    elif text.strip():
        caption = fence_caption(text.strip())
    return code_figure(body, lang, caption, marked)


# --- images, links, embeds ----------------------------------------------------------

def _title_alt(meta: str) -> tuple[str | None, str | None]:
    dq, sq = r'"?([^"]+)?"?', r"'?([^']+)?'?"
    title_re = dq if meta.startswith('"') else sq
    alt_re = dq if meta.endswith('"') else sq
    m = re.search(title_re + r"\s*" + alt_re, meta)
    return (m.group(1), m.group(2)) if m else (None, None)


def img_markup(classes: list[str], src: str, rest: list[str]) -> str:
    width = height = None
    rest = list(rest)
    if rest and rest[0].isdigit():
        width = rest.pop(0)
        if rest and rest[0].isdigit():
            height = rest.pop(0)
    title, alt = _title_alt(" ".join(rest)) if rest else (None, None)
    attrs = {"src": src, "class": " ".join(classes), "width": width, "height": height,
             "title": title, "alt": alt}
    return html_tag("img", attrs)


def img(args: list[str], body: str, env: TagEnv) -> str:
    for i, arg in enumerate(args):
        if _LOOKS_LIKE_URL.search(arg) or arg.startswith("/"):
            return img_markup(args[:i], url_for(arg), args[i + 1:])
    env.warn("img tag has no image URL")
    return ""


def asset_img(args: list[str], body: str, env: TagEnv) -> str:
    if not args:
        env.warn("asset_img tag has no file name")
        return ""
    # Which argument names the asset is known only once assets are: prepare each choice.
    choices = [[name, img_markup(args[:i], URL_SLOT, args[i + 1:])] for i, name in enumerate(args)]
    return make_ref("asset_img", *choices)


def link(args: list[str], body: str, env: TagEnv) -> str:
    text, url, rest = [], "", []
    for i, arg in enumerate(args):
        if _LOOKS_LIKE_URL.search(arg):
            url, rest = arg, args[i + 1:]
            break
        text.append(arg)
    external = False
    if rest and rest[0] in ("true", "false"):
        external = rest.pop(0) == "true"
    attrs = {"href": url, "title": " ".join(rest), "target": "_blank" if external else None}
    return html_tag("a", attrs, " ".join(text))


def iframe(args: list[str], body: str, env: TagEnv) -> str:
    width = args[1] if len(args) > 1 and args[1] != "default" else "100%"
    height = args[2] if len(args) > 2 and args[2] != "default" else "300"
    return html_tag("iframe", {"src": args[0] if args else "", "width": width, "height": height,
                               "frameborder": "0", "loading": "lazy", "allowfullscreen": True}, "")


def _video(src: str) -> str:
    frame = html_tag("iframe", {"src": src, "frameborder": "0", "loading": "lazy",
                                "allowfullscreen": True}, "")
    return f'<div class="video-container">{frame}</div>'


def youtube(args: list[str], body: str, env: TagEnv) -> str:
    # hexo-tag-embed: {% youtube id [video|playlist] [cookie] %}; cookie=false picks the
    # youtube-nocookie.com domain, the default is www.youtube.com.
    ident, kind, cookie = (args + ["", "video", "true"][len(args):])[:3]
    if kind in ("true", "false"):
        kind, cookie = "video", kind
    host = "https://www.youtube.com" if cookie != "false" else "https://www.youtube-nocookie.com"
    path = "/embed/" if kind == "video" else "/embed/videoseries?list="
    return _video(host + path + ident)


def vimeo(args: list[str], body: str, env: TagEnv) -> str:
    return _video("https://player.vimeo.com/video/" + (args[0] if args else ""))


def gist(args: list[str], body: str, env: TagEnv) -> str:
    file = f"?file={args[1]}" if len(args) > 1 else ""
    return f'<script src="//gist.github.com/{escape_html(args[0] if args else "")}.js{file}"></script>'


def jsfiddle(args: list[str], body: str, env: TagEnv) -> str:
    def arg(i: int, default: str) -> str:
        return args[i] if len(args) > i and args[i] != "default" else default
    src = f"https://jsfiddle.net/{arg(0, '')}/embedded/{arg(1, 'js,resources,html,css,result')}/"
    src += arg(2, "light")
    return html_tag("iframe", {"scrolling": "no", "width": arg(3, "100%"), "height": arg(4, "300"),
                               "src": src, "frameborder": "0", "loading": "lazy",
                               "allowfullscreen": True}, "")


# --- references to other posts and assets -------------------------------------------

def _escape_flag(args: list[str]) -> tuple[list[str], bool]:
    if args and args[-1] in ("true", "false"):
        return args[:-1], args[-1] == "true"
    return args, True


def post_link(args: list[str], body: str, env: TagEnv) -> str:
    if not args:
        env.warn("post_link tag has no post slug")
        return ""
    slug, _, anchor = args[0].partition("#")
    rest, escape = _escape_flag(args[1:])
    text = " ".join(rest) if rest else None
    if text is not None and escape:
        text = escape_html(text)
    return make_ref("post_link", slug, anchor, text, escape)


def post_path(args: list[str], body: str, env: TagEnv) -> str:
    if not args:
        env.warn("post_path tag has no post slug")
        return ""
    return make_ref("post_path", args[0])


def asset_path(args: list[str], body: str, env: TagEnv) -> str:
    if not args:
        env.warn("asset_path tag has no file name")
        return ""
    return make_ref("asset_path", args[0])


def asset_link(args: list[str], body: str, env: TagEnv) -> str:
    if not args:
        env.warn("asset_link tag has no file name")
        return ""
    rest, escape = _escape_flag(args[1:])
    return make_ref("asset_link", args[0], " ".join(rest) if rest else None, escape)


def _url_tag(kind: str):
    def tag(args: list[str], body: str, env: TagEnv) -> str:
        text, path = (args + ["", "/"][len(args):])[:2]
        href = path if _ABSOLUTE.match(path) else make_ref(kind, path)
        return f'<a href="{escape_html(href)}">{escape_html(text)}</a>'
    return tag


TAGS: dict[str, TagSpec] = {
    "blockquote": TagSpec(blockquote, block=True),
    "quote": TagSpec(blockquote, block=True),
    "pullquote": TagSpec(pullquote, block=True),
    "codeblock": TagSpec(codeblock, block=True),
    "code": TagSpec(codeblock, block=True),
    "img": TagSpec(img),
    "image": TagSpec(img),
    "link": TagSpec(link),
    "a": TagSpec(link),
    "anchor": TagSpec(link),
    "iframe": TagSpec(iframe),
    "youtube": TagSpec(youtube),
    "vimeo": TagSpec(vimeo),
    "gist": TagSpec(gist),
    "jsfiddle": TagSpec(jsfiddle),
    "post_link": TagSpec(post_link),
    "post_path": TagSpec(post_path, island=False),
    "asset_path": TagSpec(asset_path, island=False),
    "asset_link": TagSpec(asset_link),
    "asset_img": TagSpec(asset_img),
    "asset_image": TagSpec(asset_img),
    "url_for": TagSpec(_url_tag("url_for")),
    "full_url_for": TagSpec(_url_tag("full_url_for")),
}

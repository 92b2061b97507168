"""References from a post body to facts known only once the whole site is assembled.

`post_link`, `post_path`, `asset_*` and `url_for` need other posts' URLs and titles, this
post's asset URLs or the site root. Tag expansion writes a placeholder instead, so a
rendered body depends on its own text only and can be cached; `resolve_refs` fills the
placeholders in per build.

A placeholder is `REF_OPEN kind REF_SEP hex(JSON args) REF_CLOSE`. Kind and payload are
ASCII letters and hex digits, which HTML escaping and URL percent-encoding leave alone;
the three delimiters may come back percent-encoded (markdown-it encodes link targets),
and both spellings are recognised.
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable

from sitegen.html_body import REF_CLOSE, REF_OPEN, REF_SEP

# Marks where a resolved URL goes inside markup prepared at expansion time (asset_img).
URL_SLOT = "\ufdd6"

Resolve = Callable[[str, str], "str | None"]
OnMissing = Callable[[str, str], None]


def make_ref(kind: str, *args: object) -> str:
    payload = json.dumps(list(args), ensure_ascii=False).encode("utf-8").hex()
    return f"{REF_OPEN}{kind}{REF_SEP}{payload}{REF_CLOSE}"


def _either(ch: str) -> str:
    encoded = "".join(f"%{b:02X}" for b in ch.encode("utf-8"))
    return f"(?:{ch}|{encoded})"


_REF_RE = re.compile(
    f"{_either(REF_OPEN)}([a-z_]+){_either(REF_SEP)}([0-9a-f]*){_either(REF_CLOSE)}", re.IGNORECASE)


def has_refs(html: str) -> bool:
    """Whether `html` holds placeholders that `resolve_refs` must fill in."""
    return REF_OPEN in html or "%EF%B7%92" in html or "%ef%b7%92" in html


def linked_posts(html: str) -> tuple[str, ...]:
    """The posts `post_link` and `post_path` in `html` name (slug or title, as
    written): the page shows their titles and URLs, so it depends on them."""
    keys = set()
    if has_refs(html):
        for m in _REF_RE.finditer(html):
            if m.group(1).lower() in ("post_link", "post_path"):
                args = _args(m.group(2))
                if args and isinstance(args[0], str):
                    keys.add(args[0])
    return tuple(sorted(keys))


def _args(payload: str) -> list | None:
    try:
        return json.loads(bytes.fromhex(payload).decode("utf-8"))
    except ValueError:
        return None


def escape_html(text: str) -> str:
    """Escape for element text and double-quoted attributes; keeps existing entities."""
    text = re.sub(r"&(?!#\d{1,7};|#[xX][0-9a-fA-F]{1,6};|\w+;)", "&amp;", text)
    return (text.replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def resolve_refs(html: str, resolve: Resolve, on_missing: OnMissing) -> str:
    """Replace every placeholder in `html`.

    `resolve(kind, key)` answers these questions, returning None when it cannot:
      ("post_path", slug)    URL of the post with that slug (or title, as Hexo tries both)
      ("post_title", slug)   that post's title
      ("asset_path", name)   URL of a file in this post's asset folder
      ("url_for", path)      the site-relative path with the site root prefixed
      ("full_url_for", path) the absolute URL of a site path
    Unresolved references call `on_missing(tag, key)` and render what Hexo shows then:
    nothing, except post_link which shows "Post not found: slug". A None for url_for and
    full_url_for keeps the path as written, silently.
    """
    if not has_refs(html):
        return html

    def replace(m: re.Match) -> str:
        kind = m.group(1).lower()
        args = _args(m.group(2))
        if args is None:
            return ""
        handler = _HANDLERS.get(kind)
        return handler(args, resolve, on_missing) if handler else ""

    return _REF_RE.sub(replace, html)


def _post_path(args: list, resolve: Resolve, on_missing: OnMissing) -> str:
    url = resolve("post_path", args[0])
    if url is None:
        on_missing("post_path", args[0])
        return ""
    return escape_html(url)


def _post_link(args: list, resolve: Resolve, on_missing: OnMissing) -> str:
    slug, anchor, text, escape = args
    url = resolve("post_path", slug)
    if url is None:
        on_missing("post_link", slug)
        return f'<a href="#">Post not found: {escape_html(slug)}</a>'
    title = resolve("post_title", slug) or slug
    if text is None:
        text = escape_html(title) if escape else title
    href = escape_html(url + (f"#{anchor}" if anchor else ""))
    return f'<a href="{href}" title="{escape_html(title)}">{text}</a>'


def _asset_path(args: list, resolve: Resolve, on_missing: OnMissing) -> str:
    url = resolve("asset_path", args[0])
    if url is None:
        on_missing("asset_path", args[0])
        return ""
    return escape_html(url)


def _asset_link(args: list, resolve: Resolve, on_missing: OnMissing) -> str:
    name, text, escape = args
    url = resolve("asset_path", name)
    if url is None:
        on_missing("asset_link", name)
        return ""
    title = name if text is None else text
    shown = escape_html(title) if escape else title
    return f'<a href="{escape_html(url)}" title="{escape_html(title)}">{shown}</a>'


def _asset_img(args: list, resolve: Resolve, on_missing: OnMissing) -> str:
    # Like Hexo, the first argument that names an existing asset is the image.
    for name, markup in args:
        url = resolve("asset_path", name)
        if url is not None:
            return markup.replace(URL_SLOT, escape_html(url))
    on_missing("asset_img", " ".join(name for name, _ in args))
    return ""


def _url_for(kind: str):
    def handler(args: list, resolve: Resolve, on_missing: OnMissing) -> str:
        url = resolve(kind, args[0])
        return escape_html(args[0] if url is None else url)
    return handler


_HANDLERS = {
    "post_path": _post_path,
    "post_link": _post_link,
    "asset_path": _asset_path,
    "asset_link": _asset_link,
    "asset_img": _asset_img,
    "url_for": _url_for("url_for"),
    "full_url_for": _url_for("full_url_for"),
}

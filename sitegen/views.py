"""Model -> plain template context. Templates never see model objects.

Every view is a dict of strings, numbers, lists and dicts, documented in
docs/themes.md. Listing pages get cards, which hold no post bodies.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sitegen.hexo.dates import format_moment
from sitegen.model import Post, Site, Term
from sitegen.text import reading_minutes
from sitegen.urls import Urls, prefix_root


@dataclass(frozen=True)
class ViewContext:
    site: Site
    urls: Urls
    date_format: str
    time_format: str
    # Term links shared by every card that shows them (a few hundred distinct
    # category trails serve ten thousand cards). Shared: templates only read them.
    links: dict = field(default_factory=dict, compare=False, repr=False)


def link(ctx: ViewContext, name: str, path: str) -> dict[str, str]:
    return {"name": name, "url": ctx.urls.url(path), "path": path}


# Numeric moment tokens as str.format fields. A run of letters must be exactly one of
# them (MMM, Do, YYYYMMDD… take the general path).
_FIELDS = {"YYYY": "{0.year:04d}", "MM": "{0.month:02d}", "M": "{0.month}", "DD": "{0.day:02d}",
           "D": "{0.day}", "HH": "{0.hour:02d}", "H": "{0.hour}", "mm": "{0.minute:02d}",
           "m": "{0.minute}", "ss": "{0.second:02d}", "s": "{0.second}"}
_FIELD_TOKEN = re.compile(r"[A-Za-z]+|.", re.DOTALL)


@lru_cache(maxsize=32)
def date_formatter(fmt: str) -> Callable[[Any], str]:
    """format_moment(when, fmt) as one str.format call when `fmt` has only numeric
    tokens (the usual YYYY-MM-DD, HH:mm:ss): two dates on each of 18,000 pages."""
    parts = []
    for token in _FIELD_TOKEN.findall(fmt):
        if token in _FIELDS:
            parts.append(_FIELDS[token])
        elif (token.isascii() and token.isalpha()) or token in "[\\":
            return lambda when: format_moment(when, fmt)  # names, escapes, other tokens
        else:
            parts.append(token.replace("{", "{{").replace("}", "}}"))
    return "".join(parts).format


def date_view(ctx: ViewContext, when) -> dict[str, str]:
    return {
        "iso": when.isoformat(),
        "display": date_formatter(ctx.date_format)(when),
        "time": date_formatter(ctx.time_format)(when),
        "year": f"{when.year:04d}",
        "month": f"{when.month:02d}",
        "day": f"{when.day:02d}",
    }


def category_trail(ctx: ViewContext, slugs: tuple[str, ...]) -> list[dict[str, str]]:
    found = ctx.links.get(slugs)
    if found is None:
        cats = ctx.site.categories
        found = ctx.links[slugs] = [link(ctx, cats[s].name, ctx.urls.category(s))
                                    for s in slugs if s in cats]
    return found


def term_link(ctx: ViewContext, kind: str, slug: str) -> dict[str, str] | None:
    """The link of a tag or author by slug (None when the site has no such term)."""
    key = (kind, slug)
    if key not in ctx.links:
        terms = ctx.site.tags if kind == "tag" else ctx.site.authors
        term = terms.get(slug)
        path = ctx.urls.tag(slug) if kind == "tag" else ctx.urls.author(slug)
        ctx.links[key] = link(ctx, term.name, path) if term else None
    return ctx.links[key]


def image_view(value: Any) -> dict[str, Any] | None:
    """An image for templates: {url, width, height, srcset, remote}, or None.

    Localised images arrive as dicts; a front-matter URL that was not
    localised stays remote, and themes add referrerpolicy="no-referrer".
    """
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        return {"url": value.get("url"), "width": value.get("width"), "height": value.get("height"),
                "srcset": value.get("srcset") or "", "remote": bool(value.get("remote"))}
    if isinstance(value, str) and value.strip():
        url = value.strip()
        return {"url": url, "width": None, "height": None, "srcset": "",
                "remote": url.startswith(("http://", "https://", "//"))}
    return None


def _image(ctx: ViewContext, doc_images: dict, key: str) -> dict[str, Any] | None:
    view = image_view(doc_images.get(key))
    if view and view["url"] and not view["remote"]:
        view["url"] = prefix_root(view["url"], ctx.urls.root)
    return view


def _thumbnail(ctx: ViewContext, post: Post) -> dict[str, Any] | None:
    images = post.doc.images or {}
    return (_image(ctx, images, "card") or _image(ctx, images, "thumbnail")
            or _image(ctx, images, "headimg"))


# What a listing shows of a post (no body, only the excerpt), field by field.
CARD_FIELDS: dict[str, Callable[[ViewContext, Post], Any]] = {
    "title": lambda ctx, post: post.doc.title,
    "url": lambda ctx, post: ctx.urls.url(post.path),
    "path": lambda ctx, post: post.path,
    "date": lambda ctx, post: date_view(ctx, post.doc.date),
    "updated": lambda ctx, post: date_view(ctx, post.doc.updated),
    "author": lambda ctx, post: term_link(ctx, "author", post.author) if post.author else None,
    "categories": lambda ctx, post: [category_trail(ctx, path) for path in post.category_paths],
    "tags": lambda ctx, post: [t for t in (term_link(ctx, "tag", s) for s in post.tags) if t],
    "excerpt_html": lambda ctx, post: post.doc.excerpt_html,
    "summary": lambda ctx, post: post.doc.summary,
    "thumbnail": _thumbnail,
    "sticky": lambda ctx, post: post.doc.sticky,
    "draft": lambda ctx, post: post.doc.draft,
    "reading_minutes": lambda ctx, post: reading_minutes(post.doc.words),
}


def card(ctx: ViewContext, index: int) -> dict[str, Any]:
    """What a listing shows of a post: no body, only the excerpt."""
    post = ctx.site.posts[index]
    return {name: make(ctx, post) for name, make in CARD_FIELDS.items()}


class Card(dict):
    """A card whose fields are made on first use.

    A listing whose card HTML is cached needs none of them, and a timeline
    reads four; a 10,000-post archive shows every card on each add. Anything
    that looks at the card as a whole (iteration, len, get, ==, copies,
    tojson) sees all of its fields.
    """

    __slots__ = ("_ctx", "_index", "_excerpt", "_full", "_key")

    def __init__(self, ctx: ViewContext, index: int,
                 excerpt: Callable[[Post], str | None] | None = None):
        # Never empty: C code (json) takes an empty dict at its word without asking.
        # The path is the post's, not its document's: a cached document stays packed.
        super().__init__(path=ctx.site.posts[index].path)
        self._ctx, self._index, self._excerpt, self._full = ctx, index, excerpt, False
        self._key: str | None = None  # its content key, once card_cache made it

    @property
    def _post(self) -> Post:
        return self._ctx.site.posts[self._index]

    def __missing__(self, name: str) -> Any:
        if self._full or name not in CARD_FIELDS:
            raise KeyError(name)
        if name == "excerpt_html" and self._excerpt is not None:
            value = self._excerpt(self._post)
        else:
            value = CARD_FIELDS[name](self._ctx, self._post)
        dict.__setitem__(self, name, value)
        return value

    def _fill(self) -> Card:
        if not self._full:
            # In the fields' own order, whatever was read first.
            values = [self[name] for name in CARD_FIELDS]
            extra = {k: v for k, v in dict.items(self) if k not in CARD_FIELDS}
            dict.clear(self)
            dict.update(self, zip(CARD_FIELDS, values, strict=True), **extra)
            self._full = True
        return self

    def get(self, name, default=None):
        return self[name] if name in self else default

    def __contains__(self, name) -> bool:
        return dict.__contains__(self._fill(), name)

    def __iter__(self):
        return dict.__iter__(self._fill())

    def __len__(self) -> int:
        return dict.__len__(self._fill())

    def __eq__(self, other) -> bool:
        return dict.__eq__(self._fill(), other._fill() if isinstance(other, Card) else other)

    __ne__ = lambda self, other: not self == other  # noqa: E731
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return dict.__repr__(self._fill())

    def keys(self):
        return dict.keys(self._fill())

    def values(self):
        return dict.values(self._fill())

    def items(self):
        return dict.items(self._fill())

    def copy(self) -> dict[str, Any]:
        return dict(self.items())

    def __reversed__(self):
        return dict.__reversed__(self._fill())

    def __delitem__(self, name) -> None:
        dict.__delitem__(self._fill(), name)

    def pop(self, *args):
        return dict.pop(self._fill(), *args)

    def popitem(self):
        return dict.popitem(self._fill())

    def setdefault(self, name, default=None):
        return dict.setdefault(self._fill(), name, default)

    def clear(self) -> None:
        dict.clear(self._fill())

    def __or__(self, other):
        return self.copy() | other

    def __ror__(self, other):
        return dict(other) | self.copy()

    def __reduce__(self):
        return dict, (self.copy(),)  # a copy travels as the plain dict it stands for


def post_view(ctx: ViewContext, index: int, content: str,
              cached_card: dict[str, Any] | None = None) -> dict[str, Any]:
    """`cached_card`: this post's card, when the caller already made it (it is copied)."""
    post: Post = ctx.site.posts[index]
    doc = post.doc
    view = dict(cached_card) if cached_card is not None else card(ctx, index)
    view.update({
        "excerpt_html": doc.excerpt_html,  # as written: a listing's card may have it resolved
        "kind": "post",
        "content": content,
        "full_url": ctx.urls.full_url(post.path),
        "toc": [{"level": h.level, "id": h.id, "text": h.text} for h in doc.toc],
        "words": doc.words,
        "comments": doc.comments,
        "lang": doc.lang,
        "front": doc.front,
        "images": doc.images,
        "headimg": _image(ctx, doc.images or {}, "headimg"),
        "source": doc.source,
        "prev": _neighbour(ctx, post.prev),
        "next": _neighbour(ctx, post.next),
    })
    return view


def _neighbour(ctx: ViewContext, index: int | None) -> dict[str, str] | None:
    if index is None:
        return None
    post = ctx.site.posts[index]
    return {"title": post.doc.title, "url": ctx.urls.url(post.path)}


def page_view(ctx: ViewContext, page, content: str) -> dict[str, Any]:
    doc = page.doc
    return {
        "kind": "page",
        "title": doc.title,
        "url": ctx.urls.url(page.path),
        "full_url": ctx.urls.full_url(page.path),
        "path": page.path,
        "date": date_view(ctx, doc.date),
        "updated": date_view(ctx, doc.updated),
        "content": content,
        "toc": [{"level": h.level, "id": h.id, "text": h.text} for h in doc.toc],
        "front": doc.front,
        "images": doc.images,
        "summary": doc.summary,
        "comments": doc.comments,
        "lang": doc.lang,
        "source": doc.source,
    }


def term_view(ctx: ViewContext, term: Term) -> dict[str, Any]:
    path = {"category": ctx.urls.category, "tag": ctx.urls.tag, "author": ctx.urls.author}[term.kind]
    view = link(ctx, term.name, path(term.slug))
    view.update({"kind": term.kind, "slug": term.slug, "count": len(term.posts),
                 "aliases": list(term.aliases)})
    if term.kind == "category":
        cats = ctx.site.categories
        view["trail"] = category_trail(ctx, _ancestors(term.slug))
        view["children"] = [
            {**link(ctx, cats[c].name, ctx.urls.category(c)), "count": len(cats[c].posts)}
            for c in term.children
        ]
    return view


def _ancestors(slug: str) -> tuple[str, ...]:
    parts = slug.split("/")
    return tuple("/".join(parts[: i + 1]) for i in range(len(parts)))


class PageLinks(Sequence):
    """Links to every page of a listing, made on demand.

    A listing of 10,000 pages must not build 10,000 links on each of its pages
    (that is quadratic); templates index it or take a window of it.
    """

    def __init__(self, url: Callable[[int], str], current: int, total: int):
        self._url, self._current, self._total = url, current, total

    def __len__(self) -> int:
        return self._total

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(self._total))]
        if index < 0:
            index += self._total
        if not 0 <= index < self._total:
            raise IndexError(index)
        n = index + 1
        return {"number": n, "url": self._url(n), "current": n == self._current}


def paginator(ctx: ViewContext, base: str, number: int, total: int, posts: list[dict]) -> dict:
    first = ctx.urls.url(base)
    # Page N's URL is page 2's with the number swapped (percent-encoding works per
    # character): a listing page links ~10 pages and there are thousands of listings.
    second = ctx.urls.url(ctx.urls.paged(base, 2)) if total > 1 else ""
    stem = second[:-2] if second.endswith("/2/") else None

    def url(n: int) -> str:
        if n <= 1:
            return first
        return f"{stem}{n}/" if stem is not None else ctx.urls.url(ctx.urls.paged(base, n))

    return {
        "current": number,
        "total": total,
        "posts": posts,  # cards of this page (not "items": Jinja would find dict.items)
        "base_url": url(1),
        "prev_url": url(number - 1) if number > 1 else None,
        "next_url": url(number + 1) if number < total else None,
        "pages": PageLinks(url, number, total),
    }


def category_tree(ctx: ViewContext) -> list[dict[str, Any]]:
    """All categories as nested dicts with counts, for list_categories()."""
    cats = ctx.site.categories

    def node(slug: str) -> dict[str, Any]:
        term = cats[slug]
        return {**link(ctx, term.name, ctx.urls.category(slug)), "count": len(term.posts),
                "children": [node(c) for c in term.children]}

    return [node(s) for s, t in cats.items() if t.parent is None]


def term_list(ctx: ViewContext, kind: str, order: str = "name") -> list[dict[str, Any]]:
    terms = ctx.site.tags if kind == "tag" else ctx.site.authors
    path: Callable[[str], str] = ctx.urls.tag if kind == "tag" else ctx.urls.author
    items = [{**link(ctx, t.name, path(t.slug)), "count": len(t.posts)} for t in terms.values()]
    if order == "count":
        items.sort(key=lambda i: (-i["count"], i["name"].lower()))
    return items


def _archive_url(ctx: ViewContext, year: str, month: str | None = None) -> str:
    # Each of the archive's thousands of pages links its years and months.
    key = ("\x00archive", year, month)  # no category trail or term key looks like this
    url = ctx.links.get(key)
    if url is None:
        path = ctx.urls.archive(int(year), int(month)) if month else ctx.urls.archive(int(year))
        url = ctx.links[key] = ctx.urls.url(path)
    return url


def archive_groups(ctx: ViewContext, cards: list[dict]) -> list[dict[str, Any]]:
    """Cards grouped by year, then month, for the timeline."""
    years: list[dict[str, Any]] = []
    for c in cards:
        if isinstance(c, Card) and not dict.__contains__(c, "date"):
            when = c._post.doc.date  # what date_view would say, without making it
            y, m = f"{when.year:04d}", f"{when.month:02d}"
        else:
            y, m = c["date"]["year"], c["date"]["month"]
        if not years or years[-1]["year"] != y:
            years.append({"year": y, "url": _archive_url(ctx, y), "months": []})
        months = years[-1]["months"]
        if not months or months[-1]["month"] != m:
            months.append({"month": m, "url": _archive_url(ctx, y, m), "posts": []})
        months[-1]["posts"].append(c)
    return years

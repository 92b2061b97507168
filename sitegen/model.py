"""The immutable site model: parsed documents assembled into a Site.

Bodies are not held here: a Document names its rendered body by digest and
the body store (cache.py) holds the HTML, so listing pages never copy bodies
and memory stays bounded on large archives.
"""
from __future__ import annotations

import pickle
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Heading:
    level: int
    id: str
    text: str


@dataclass(frozen=True)
class Document:
    """One parsed post or page: front matter normalised with Hexo's rules."""

    kind: str  # "post" or "page" (drafts become posts with draft=True)
    source: str  # path relative to the source folder
    title: str
    date: datetime  # aware, in the site's time zone
    updated: datetime
    slug: str  # Hexo's post slug: path under _posts without extension
    categories: tuple[tuple[str, ...], ...]
    tags: tuple[str, ...]
    author: str
    permalink: str | None  # front-matter override
    layout: str | None  # None = default; "false" = no layout
    published: bool
    draft: bool
    sticky: int
    comments: bool
    lang: str | None
    front: dict[str, Any] = field(repr=False, compare=False)  # JSON-safe, for templates
    images: dict[str, Any] = field(repr=False, compare=False)  # image fields as written
    body_key: str = ""  # body store key: of the body text and settings (the file's digest with tag plugins)
    digest: str = ""  # hash of source bytes + settings: the document's identity for caches
    summary: str = ""  # plain-text excerpt for cards, search.json and meta description
    excerpt_html: str | None = field(default=None, repr=False)
    toc: tuple[Heading, ...] = ()
    words: int = 0  # characters of CJK + words of other scripts, for reading time
    body_line: int = 1
    refs: bool = False  # the body holds post_link / asset placeholders to resolve at render
    links: tuple[str, ...] = ()  # the posts its post_link / post_path name: it shows their titles and URLs

    # Pickled (the doc cache), a document keeps outside only what a rebuild
    # reads of every document: its place, identity and the image fields the
    # image stage replaces. The rest travels as a bytes blob unpacked on first
    # use, and the bulky fields only pages show (front matter, TOC) as a blob
    # inside it: a rebuild loads ten thousand documents but shows a few.
    def __reduce__(self):
        state = self.__dict__
        rest = state.get("_rest")
        if rest is None:
            details = state.get("_details")
            if details is None:
                details = _pack(tuple(state[f] for f in _DETAIL_ORDER))
            rest = _pack((tuple(state[f] for f in _REST_ORDER), details))
        return _restore_document, (tuple(state[f] for f in _KEPT), rest)

    def evolve(self, **changes) -> Document:
        """A copy with `changes`; unlike dataclasses.replace it leaves the packed
        fields packed when none of them changes."""
        state = dict(self.__dict__)
        if not _PACKED.isdisjoint(changes):
            _unpack(state, _DETAIL_ORDER[0])  # all of it: rest and details
        state.update(changes)
        doc = object.__new__(Document)
        doc.__dict__.update(state)
        return doc

    def __getattr__(self, name: str):
        # Only reached for a packed field of a document restored from the cache.
        state = self.__dict__
        if name not in _PACKED or not _unpack(state, name):
            raise AttributeError(name)
        return state[name]


_DETAIL_ORDER = ("front", "toc")
_DETAILS = frozenset(_DETAIL_ORDER)
# Read of every document by a rebuild: keep these outside the blob.
_KEPT = ("kind", "source", "date", "updated", "sticky", "layout", "digest", "body_key", "refs", "links",
         "images", "excerpt_html")
_REST_ORDER = tuple(f.name for f in fields(Document) if f.name not in _DETAILS and f.name not in _KEPT)
_PACKED = frozenset(_REST_ORDER) | _DETAILS
for _name in _PACKED:  # defaults live in __init__; a class attribute would hide __getattr__
    if hasattr(Document, _name):
        delattr(Document, _name)


def _pack(values: tuple) -> bytes:
    return pickle.dumps(values, pickle.HIGHEST_PROTOCOL)


def _unpack(state: dict, name: str) -> bool:
    """Unpack what holds the field `name` into a document's `state`; False if
    the field is not packed there."""
    rest = state.get("_rest")
    if rest is not None:
        values, details = pickle.loads(rest)
        state.update(zip(_REST_ORDER, values, strict=True))
        state["_details"] = details
        state.pop("_rest", None)
    if name in _DETAILS and "_details" in state:
        state.update(zip(_DETAIL_ORDER, pickle.loads(state["_details"]), strict=True))
        state.pop("_details", None)
    return name in state


# Names the pickled layout: caches written with another layout are discarded.
DOCUMENT_LAYOUT = f"{'.'.join(_KEPT)}|{'.'.join(_REST_ORDER)}|{'.'.join(_DETAIL_ORDER)}"


def _restore_document(kept: tuple, rest: bytes) -> Document:
    doc = object.__new__(Document)
    doc.__dict__.update(zip(_KEPT, kept, strict=True))
    doc.__dict__["_rest"] = rest
    return doc


@dataclass(frozen=True)
class Term:
    """A category, tag or author: a node with its own page(s)."""

    kind: str  # "category", "tag" or "author"
    name: str
    path: tuple[str, ...]  # names from the root (categories); (name,) otherwise
    slug: str  # URL path under its directory, e.g. "Foo/Bar" for categories
    posts: tuple[int, ...]  # indices into Site.posts, newest first
    children: tuple[str, ...] = ()  # slugs of child categories
    parent: str | None = None
    aliases: tuple[str, ...] = ()  # other names that share this slug

    @property
    def key(self) -> str:
        return self.slug


@dataclass(frozen=True)
class Post:
    doc: Document
    path: str  # URL path below root, e.g. "2021/10/11/a/"
    output: str  # file below the output folder, e.g. "2021/10/11/a/index.html"
    categories: tuple[str, ...]  # category slugs, every node of every path, in order
    category_paths: tuple[tuple[str, ...], ...]  # per hierarchy, the slugs of its nodes
    tags: tuple[str, ...]  # tag slugs
    author: str  # author slug
    prev: int | None = None  # newer post (Hexo's meaning of prev)
    next: int | None = None  # older post


@dataclass(frozen=True)
class Page:
    doc: Document
    path: str
    output: str


@dataclass(frozen=True)
class Asset:
    source: str
    output: str
    file: str  # absolute path of the file to copy


@dataclass(frozen=True)
class Site:
    posts: tuple[Post, ...]  # newest first (sticky first, as Hexo's index)
    pages: tuple[Page, ...]
    assets: tuple[Asset, ...]
    categories: dict[str, Term]  # by slug path
    tags: dict[str, Term]
    authors: dict[str, Term]
    by_source: dict[str, int] = field(default_factory=dict)  # post source -> index


class PostLookup:
    """The post a post_link or post_path names: by slug first, then by title, as
    Hexo looks it up; the last of several posts with one slug or title wins."""

    def __init__(self, posts: tuple[Post, ...]):
        self._posts = posts
        self._maps: tuple[dict[str, Post], dict[str, Post]] | None = None

    def __call__(self, key: str) -> Post | None:
        if self._maps is None:  # 26 ms for 10k posts, and few bodies link to posts
            self._maps = ({p.doc.slug: p for p in self._posts}, {p.doc.title: p for p in self._posts})
        by_slug, by_title = self._maps
        return by_slug.get(key) or by_title.get(key)

    def shown(self, doc: Document) -> str:
        """What `doc` shows of the posts it links: their titles and URL paths."""
        parts = []
        for key in doc.links:
            post = self(key)
            parts.append(f"{key}\x1e{post.path}\x1e{post.doc.title}" if post else f"{key}\x1e\x00")
        return "\x1d".join(parts)

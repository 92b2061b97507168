"""Parsed documents -> the immutable Site: ordering, prev/next, taxonomies.

Pure function of its inputs: no file system access, so it is cheap to run
again on every rebuild.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath

from sitegen.errors import Problem
from sitegen.hexo.permalink import (
    normalise_permalink_override,
    post_permalink,
    unknown_placeholders,
    uses_front_matter,
)
from sitegen.hexo.taxonomy import term_slug
from sitegen.model import Asset, Document, Page, Post, Site, Term
from sitegen.sources import SourceFile, post_rel
from sitegen.urls import UnsafePath, output_for, path_for_output, safe_path


@dataclass(frozen=True)
class AssembleSettings:
    permalink: str
    permalink_defaults: dict
    default_category: str
    category_map: dict
    tag_map: dict
    filename_case: int
    future: bool
    post_asset_folder: bool
    now: datetime


@dataclass
class PermalinkMemo:
    """Each post's (path, output, unfilled placeholders) from the last build.

    Working a permalink out (placeholders, slugs, safety checks) was most of
    assemble's time on a 10k-post rebuild. Keyed by what decides it: source,
    content digest, date and last category; valid for one AssembleSettings.
    """

    known: dict = field(default_factory=dict)
    used: dict = field(default_factory=dict)

    def get(self, key):
        return self.used.get(key) or self.known.get(key)

    def put(self, key, value) -> None:
        self.used[key] = value

    @property
    def changed(self) -> bool:
        return self.used.keys() != self.known.keys()


def assemble(docs: list[Document], assets: list[SourceFile], settings: AssembleSettings,
             memo: PermalinkMemo | None = None) -> tuple[Site, list[Problem]]:
    problems: list[Problem] = []
    memo = memo or PermalinkMemo()
    posts_docs = sorted(  # (timestamp, source, doc): floats compare fast
        ((d.date.timestamp(), d.source, d) for d in docs
         if d.kind == "post" and visible(d, settings)),
        key=lambda t: t[:2], reverse=True,
    )
    cat_slugs = SlugBook("category", settings.category_map, settings.filename_case, problems)
    tag_slugs = SlugBook("tag", settings.tag_map, settings.filename_case, problems)
    author_slugs = SlugBook("author", {}, settings.filename_case, problems)

    made = [make_post(doc, ts, settings, cat_slugs, tag_slugs, author_slugs, problems, memo)
            for ts, _, doc in posts_docs]
    posts = _link_neighbours([p for p in made if p is not None])
    pages = [p for d in docs if d.kind == "page" and d.published
             for p in [make_page(d, problems)] if p is not None]
    site = Site(
        posts=tuple(posts),
        pages=tuple(pages),
        assets=tuple(site_assets(assets, posts, settings)),
        **site_terms(posts, cat_slugs, tag_slugs, author_slugs),
        by_source={p.doc.source: i for i, p in enumerate(posts)},
    )
    return site, problems


def visible(doc: Document, settings: AssembleSettings) -> bool:
    if not doc.published and not doc.draft:
        return False
    return settings.future or doc.date <= settings.now


class SlugBook:
    """Slugs for one taxonomy; remembers which names share a slug to warn once."""

    def __init__(self, kind: str, mapping: dict, case: int, problems: list[Problem]):
        self.kind, self.mapping, self.case, self.problems = kind, mapping, case, problems
        self.names: dict[str, list[str]] = defaultdict(list)  # slug -> names, first is canonical
        self.own: dict[str, str] = {}  # name -> its own slug; archives repeat a few names
        self.seen: dict[tuple, tuple] = {}  # names of a post -> their slugs

    def paths(self, hierarchies: tuple[tuple[str, ...], ...], source: str
              ) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
        """Slug paths of a post's category hierarchies and every node once, in order.
        Thousands of posts share a few hundred hierarchies: each is worked out once."""
        found = self.seen.get(hierarchies)
        if found is None:
            paths = []
            for hierarchy in hierarchies:
                slugs, parent = [], ""
                for name in hierarchy:
                    parent = self.slug(name, source, parent)
                    slugs.append(parent)
                paths.append(tuple(slugs))
            found = self.seen[hierarchies] = (
                tuple(paths), tuple(dict.fromkeys(s for path in paths for s in path)))
        return found

    def flat(self, names: tuple[str, ...], source: str) -> tuple[str, ...]:
        found = self.seen.get(names)
        if found is None:
            found = self.seen[names] = tuple(dict.fromkeys(self.slug(n, source) for n in names))
        return found

    def slug(self, name: str, source: str, parent: str = "") -> str:
        own = self.own.get(name)
        if own is None:
            own = self.own[name] = term_slug(name, self.mapping, self.case) or "-"
        slug = f"{parent}/{own}" if parent else own
        names = self.names[slug]
        if name not in names:
            if names:
                self.problems.append(Problem(
                    source, 0,
                    f"{self.kind} {name!r} has the same URL as {names[0]!r} "
                    f"({slug}/); they share one page", "warning"))
            names.append(name)
        return slug


def make_post(doc, ts, settings, cats, tags, authors, problems, memo) -> dict | None:
    paths, flat = cats.paths(doc.categories, doc.source)
    # Hexo fills :category with the full slug of the post's last category.
    last_category = paths[-1][-1] if paths else None
    key = (doc.source, doc.digest, ts, last_category)
    found = memo.get(key) or permalink_of(doc, settings, last_category, problems)
    if found is None:
        return None
    memo.put(key, found)
    path, output, unfilled = found
    if unfilled:
        problems.append(Problem(doc.source, 0, "permalink placeholder(s) "
                                + ", ".join(f":{u}" for u in unfilled)
                                + " not filled; written as 'undefined', as Hexo does", "warning"))
    # A dict now, a Post once its neighbours are known: a frozen Post is built once.
    return dict(
        doc=doc, path=path, output=output, categories=flat, category_paths=paths,
        tags=tags.flat(doc.tags, doc.source),
        author=authors.flat((doc.author,), doc.source)[0] if doc.author else "",
    )


def permalink_of(doc, settings, last_category, problems) -> tuple[str, str, tuple] | None:
    """(path, output, unfilled placeholders) of a post, or None with a problem."""
    unfilled: tuple = ()
    try:
        if doc.permalink:
            path = normalise_permalink_override(doc.permalink)
        else:
            front = doc.front if uses_front_matter(settings.permalink) else {}
            unfilled = tuple(unknown_placeholders(settings.permalink, front,
                                                  settings.permalink_defaults))
            path = post_permalink(
                settings.permalink, slug=doc.slug, title=doc.title, date=doc.date,
                categories_last_slug=last_category, default_category=settings.default_category,
                permalink_defaults=settings.permalink_defaults, front_matter=front,
            )
        output = output_for(path)
        path = safe_path(path.lstrip("/"))
    except (UnsafePath, ValueError) as exc:
        problems.append(Problem(doc.source, doc.body_line - 1 if doc.permalink else 0,
                                f"unusable permalink: {exc}"))
        return None
    return path, output, unfilled


def _link_neighbours(posts: list[dict]) -> list[Post]:
    """Hexo's meaning: prev is the newer post, next the older one."""
    last = len(posts) - 1
    made = []
    for i, fields in enumerate(posts):
        post = object.__new__(Post)  # frozen __init__ sets each field through a slow path
        post.__dict__.update(fields, prev=i - 1 if i > 0 else None, next=i + 1 if i < last else None)
        made.append(post)
    return made


def make_page(doc: Document, problems: list[Problem]) -> Page | None:
    try:
        if doc.permalink:
            output = output_for(normalise_permalink_override(doc.permalink))
        else:
            output = safe_path(str(PurePosixPath(doc.source).with_suffix(".html")))
    except (UnsafePath, ValueError) as exc:
        problems.append(Problem(doc.source, 0, f"unusable permalink: {exc}"))
        return None
    return Page(doc=doc, path=path_for_output(output), output=output)


def site_assets(files: list[SourceFile], posts: list[Post], settings: AssembleSettings) -> list[Asset]:
    out = [Asset(f.rel, f.rel, f.file) for f in files if f.kind == "asset"]
    if settings.post_asset_folder:
        # _posts/<slug>/x.png belongs to the post _posts/<slug>.md, beside its page.
        by_stem = {str(PurePosixPath(post_rel(p.doc.source)).with_suffix("")): p for p in posts}
        for f in files:
            if f.kind != "post_asset":
                continue
            folder, _, name = post_rel(f.rel).partition("/")
            owner = by_stem.get(folder)
            if owner is not None and name:
                base = owner.output.rsplit("/", 1)[0] if "/" in owner.output else ""
                out.append(Asset(f.rel, f"{base}/{name}" if base else name, f.file))
    return out


def site_terms(posts: list[Post], categories: SlugBook, tags: SlugBook,
               authors: SlugBook) -> dict[str, dict[str, Term]]:
    """Site's categories, tags and authors, by slug, from the posts in order."""
    return {"categories": categories_of(posts, categories),
            "tags": flat_terms("tag", posts, tags, lambda p: p.tags),
            "authors": flat_terms("author", posts, authors, lambda p: (p.author,))}


def categories_of(posts: list[Post], book: SlugBook) -> dict[str, Term]:
    members: dict[str, list[int]] = defaultdict(list)
    children: dict[str, dict[str, None]] = defaultdict(dict)
    for i, post in enumerate(posts):
        for path in post.category_paths:
            for depth, slug in enumerate(path):
                if not members[slug] or members[slug][-1] != i:
                    members[slug].append(i)
                if depth:
                    children[path[depth - 1]][slug] = None
    terms = {}
    paths: dict[str, tuple[str, ...]] = {}
    for slug, idx in members.items():
        parent = parent_slug(slug)
        names = book.names[slug]
        terms[slug] = Term(
            kind="category", name=names[0], path=name_path(slug, book, paths), slug=slug,
            posts=tuple(idx), children=tuple(sorted(children[slug], key=lambda s: book.names[s][0])),
            parent=parent, aliases=tuple(names[1:]),
        )
    return dict(sorted(terms.items(), key=lambda kv: kv[1].path))


def parent_slug(slug: str) -> str | None:
    """A category's parent: category slugs are paths ("a/b" is a child of "a")."""
    return slug.rsplit("/", 1)[0] if "/" in slug else None


def name_path(slug: str, book: SlugBook, memo: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Names from the root down to `slug`; each parent's path is computed once."""
    if slug not in memo:
        parent, _, _ = slug.rpartition("/")
        memo[slug] = (name_path(parent, book, memo) if parent else ()) + (book.names[slug][0],)
    return memo[slug]


def flat_terms(kind: str, posts: list[Post], book: SlugBook, get) -> dict[str, Term]:
    members: dict[str, list[int]] = defaultdict(list)
    for i, post in enumerate(posts):
        for slug in get(post):
            if slug:
                members[slug].append(i)
    terms = {
        slug: Term(kind=kind, name=book.names[slug][0], path=(book.names[slug][0],), slug=slug,
                   posts=tuple(idx), aliases=tuple(book.names[slug][1:]))
        for slug, idx in members.items()
    }
    return dict(sorted(terms.items(), key=lambda kv: kv[1].name.lower()))

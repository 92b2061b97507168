"""The last build's site model and page plan, patched when a few documents changed.

After one edit, assembling ten thousand documents and planning nineteen
thousand pages again was half of a rebuild, yet an edit that keeps a post's
date, taxonomies, author, permalink and layout leaves every list, term and
page of the site where it was. Such edits are patched into the last build's
model and plan: the post's card key, its own page, its neighbours' pages and
the listing pages that show it get new inputs; nothing else is recomputed.
Anything else (a post added, removed or moved; settings changed; a future
post coming due) falls back to a full assemble and plan.

plan.py computes inputs with the same functions used here, so a patched plan
equals a fresh one (tests/test_snapshot.py checks it).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import NamedTuple

from sitegen import __version__
from sitegen.assemble import AssembleSettings, make_page, permalink_of, visible
from sitegen.cache import forget, no_gc, read_cache, read_keyed, write_cache, write_keyed
from sitegen.errors import Problem
from sitegen.model import Document, Page, Post, Site, Term
from sitegen.plan import Job, card_key, listing_inputs, page_inputs, post_inputs, term_names
from sitegen.sources import SourceFile

SNAPSHOT = "snapshot.pickle"
_FORMAT = 3  # of the payload; part of the key
# Patching costs per changed document; past this share a full assemble is as quick.
_MOST = 0.01
_LAYOUT = "|".join([",".join(Job._fields)]
                   + [",".join(f.name for f in fields(cls)) for cls in (Post, Page, Term, Site)])
_OTHER_KINDS = ("asset", "post_asset")
_INPUTS = Job._fields.index("inputs")


class Changes(NamedTuple):
    """What a patch changed: indices of posts, pages and jobs."""

    posts: frozenset[int]
    pages: frozenset[int]
    jobs: frozenset[int]


@dataclass
class Model:
    """The site and its plan, plus what later stages derived from them (filled in
    by those stages, saved for the next build)."""

    site: Site
    problems: list[Problem]
    cards: list[str]
    jobs: list[Job]
    changed: Changes | None = None  # set when patched from a snapshot
    base: dict | None = None  # the saved snapshot it was patched from
    keys: list[str] | None = None  # per job, its page key (build._page_keys)
    basis: tuple | None = None  # what the keys were computed with besides job inputs
    sitemap: list[tuple[float | None, str] | None] | None = None  # per job: lastmod, line
    search: list[bytes] | None = None  # per post, its search.json entry


def identity(doc: Document) -> str:
    return f"{doc.digest}|{doc.body_key}"


def shape(doc: Document) -> tuple:
    """What decides a post's place: order, lists it is in, URL inputs, layout."""
    return (doc.date.timestamp(), doc.sticky, doc.layout, doc.categories, doc.tags, doc.author,
            doc.permalink)


def snapshot_key(settings_key: str, plan_key: str) -> str:
    """What the snapshot is valid for: assemble and plan settings, versions, layouts."""
    return hashlib.sha1(repr((_FORMAT, settings_key, plan_key, __version__, _LAYOUT)).encode()).hexdigest()


class LastBuild:
    """The snapshot the last build saved, when it is valid for these settings."""

    def __init__(self, path: Path, key: str):
        self.path = path
        self.base = read_keyed(path, "snapshot", key) or None
        self.payload = None
        if self.base is not None:
            self.payload = _with_delta(self.base, read_cache(_delta_path(path), "snapshot-delta"))
        self.search_memo: dict[str, tuple[str, float, bytes]] = {}
        self.sitemap_memo: dict[str, tuple[float | None, str]] = {}

    def patched(self, docs: list[Document], files: list[SourceFile],
                settings: AssembleSettings) -> Model | None:
        """The last build's model with `docs` patched in, or None when it cannot be;
        then only the memos of search entries and sitemap lines are kept of it."""
        model = self._patched(docs, files, settings) if self.payload is not None else None
        if model is not None:
            model.base = self.base
            self.payload = None
        elif self.payload is not None:
            self._keep_memos_only()
        return model

    def _patched(self, docs, files, settings) -> Model | None:
        payload = self.payload
        by_source = {d.source: d for d in docs}
        if by_source.keys() != payload["docs"].keys() or _others(files) != payload["others"]:
            return None
        due = payload["due"]
        if due is not None and not settings.future and settings.now.timestamp() >= due:
            return None
        known = payload["docs"]
        changed = [d for s, d in by_source.items() if identity(d) != known[s]]
        if len(changed) > max(8, len(docs) * _MOST):
            return None
        with no_gc():  # tens of thousands of posts and jobs are made here, none in cycles
            return _patch(payload, by_source, changed, settings)

    def _keep_memos_only(self) -> None:
        """What a full rebuild reuses: source -> (card key, date stamp, search entry)
        and output file -> (lastmod stamp, sitemap line). The rest of the snapshot
        is let go: at 100k posts it is hundreds of MB."""
        p = self.payload
        if p["search"] is not None:
            self.search_memo = {row[0]: (card, shape[0], part) for row, shape, card, part
                                in zip(p["posts"], p["shapes"], p["cards"], p["search"],
                                       strict=True)}
        if p["sitemap"] is not None:
            self.sitemap_memo = {row[0]: pair for row, pair
                                 in zip(p["jobs"], p["sitemap"], strict=True) if pair is not None}
        self.base = self.payload = None
        forget(self.path)


def save(path: Path, key: str, model: Model, docs: list[Document], files: list[SourceFile],
         settings: AssembleSettings) -> None:
    """A patched model is saved as its difference from the base it came from:
    after an edit, that is a few dozen values instead of megabytes."""
    identities = {d.source: identity(d) for d in docs}
    if model.base is not None:
        delta = _delta(model, identities, docs, settings)
        if sum(len(part) for part in delta[2:]) <= len(model.jobs) // 10:
            write_cache(_delta_path(path), "snapshot-delta", delta)
            return
    site = model.site
    payload = {
        "token": os.urandom(8).hex(),
        "docs": identities,
        "others": _others(files),
        "due": _due(docs, settings),
        "posts": [(p.doc.source, p.path, p.output, p.categories, p.category_paths, p.tags,
                   p.author, p.prev, p.next) for p in site.posts],
        "shapes": [shape(p.doc) for p in site.posts],
        "pages": [(p.doc.source, p.path, p.output) for p in site.pages],
        "page_layouts": [p.doc.layout for p in site.pages],
        "site": (site.assets, site.categories, site.tags, site.authors),
        "problems": model.problems,
        "jobs": [tuple(j) for j in model.jobs],
        "basis": model.basis,
        **{name: getattr(model, name) for name in _LISTS},
    }
    _delta_path(path).unlink(missing_ok=True)
    write_keyed(path, "snapshot", key, payload, fast=True)


# Per post or per job lists a delta holds by index.
_LISTS = ("cards", "keys", "sitemap", "search")


def _delta_path(path: Path) -> Path:
    return path.with_name(path.stem + "-delta" + path.suffix)


def _delta(model: Model, identities: dict[str, str], docs: list[Document],
           settings: AssembleSettings) -> tuple:
    """(base token, due, basis, changed identities, changed job inputs, changed list items)."""
    base = model.base
    old = base["docs"]
    at = _INPUTS
    lists = {}
    for name in _LISTS:
        mine, theirs = getattr(model, name), base[name]
        if mine is None or theirs is None:
            mine = theirs = ()
        lists[name] = {i: v for i, (v, w) in enumerate(zip(mine, theirs, strict=True)) if v != w}
    return (base["token"], _due(docs, settings), model.basis,
            {s: v for s, v in identities.items() if old[s] != v},
            {k: j.inputs for k, (j, row) in enumerate(zip(model.jobs, base["jobs"], strict=True))
             if row[at] != j.inputs},
            lists)


def _with_delta(base: dict, delta) -> dict:
    """The base with a delta of the same base applied; shared values are copied, not changed."""
    if not (isinstance(delta, tuple) and len(delta) == 6 and delta[0] == base["token"]):
        return base
    _, due, basis, docs, inputs, lists = delta
    payload = dict(base, due=due, basis=basis, docs={**base["docs"], **docs},
                   jobs=list(base["jobs"]))
    at = _INPUTS
    for k, value in inputs.items():
        row = payload["jobs"][k]
        payload["jobs"][k] = (*row[:at], value, *row[at + 1:])
    for name, items in lists.items():
        if items and base[name] is not None:
            payload[name] = values = list(base[name])
            for i, value in items.items():
                values[i] = value
    return payload


def _others(files: list[SourceFile]) -> tuple:
    # Site.assets is made from these; their contents are copied by the write stage.
    return tuple([(f.rel, f.kind, f.file) for f in files if f.kind in _OTHER_KINDS])


def _due(docs: list[Document], settings: AssembleSettings) -> float | None:
    """When the first hidden future post becomes visible."""
    if settings.future:
        return None
    now = settings.now
    times = [d.date.timestamp() for d in docs if d.kind == "post" and d.date > now]
    return min(times) if times else None


def _patch(payload: dict, by_source: dict[str, Document], changed: list[Document],
           settings: AssembleSettings) -> Model | None:
    make = object.__new__
    posts = []
    for source, path, output, cats, paths, tags, author, prev, nxt in payload["posts"]:
        post = make(Post)  # the frozen __init__ sets each field through a slow path
        post.__dict__.update(doc=by_source[source], path=path, output=output, categories=cats,
                             category_paths=paths, tags=tags, author=author, prev=prev, next=nxt)
        posts.append(post)
    pages = [Page(by_source[s], path, output) for s, path, output in payload["pages"]]
    assets, categories, tags, authors = payload["site"]
    index = {p.doc.source: i for i, p in enumerate(posts)}
    page_index = {p.doc.source: i for i, p in enumerate(pages)}
    problems: list[Problem] = list(payload["problems"])
    moved_posts, moved_pages = set(), set()
    for doc in changed:
        if doc.kind == "post":
            i = index.get(doc.source)
            old = (posts[i], payload["shapes"][i]) if i is not None else None
            if not _same_post(doc, old, settings):
                return None
            if i is not None:
                moved_posts.add(i)
        else:
            i = page_index.get(doc.source)
            old_page = (pages[i], payload["page_layouts"][i]) if i is not None else None
            if not _same_page(doc, old_page):
                return None
            if i is not None:
                moved_pages.add(i)
    site = Site(posts=tuple(posts), pages=tuple(pages), assets=assets, categories=categories,
                tags=tags, authors=authors, by_source=index)
    cards = list(payload["cards"])
    names = term_names(site)
    for i in moved_posts:
        cards[i] = card_key(site.posts[i], names)
    jobs, moved_jobs = _patch_jobs(payload["jobs"], site, cards, moved_posts, moved_pages)
    changed = Changes(frozenset(moved_posts), frozenset(moved_pages), frozenset(moved_jobs))
    return Model(site, problems, cards, jobs, changed, keys=payload["keys"],
                 basis=payload["basis"], sitemap=payload["sitemap"], search=payload["search"])


def _same_post(doc: Document, old: tuple[Post, tuple] | None,
               settings: AssembleSettings) -> bool:
    """Whether `doc` keeps the place its source had: visibility, order, lists and URL."""
    if not (doc.kind == "post" and visible(doc, settings)):
        return old is None
    if old is None:
        return False
    post, was = old
    if shape(doc) != was:
        return False
    last_category = post.category_paths[-1][-1] if post.category_paths else None
    problems: list[Problem] = []
    found = permalink_of(doc, settings, last_category, problems)
    # A placeholder left unfilled is a warning of the last build's; it must stay the same.
    return found is not None and not found[2] and found[:2] == (post.path, post.output)


def _same_page(doc: Document, old: tuple[Page, str | None] | None) -> bool:
    if not doc.published:
        return old is None
    if old is None:
        return False
    page = make_page(doc, [])
    return page is not None and page.output == old[0].output and doc.layout == old[1]


def _patch_jobs(rows: list[tuple], site: Site, cards: list[str], moved_posts: set[int],
                moved_pages: set[int]) -> tuple[list[Job], set[int]]:
    """The saved jobs, with new inputs where a changed document shows; and which."""
    make = tuple.__new__
    jobs = [make(Job, row) for row in rows]
    posts = site.posts
    redo = set(moved_posts)
    for i in moved_posts:  # neighbours show the post's title and path
        redo.update(j for j in (posts[i].prev, posts[i].next) if j is not None)
    n = len(posts)
    redo.update(n + k for k in moved_pages)
    for k in range(n + len(site.pages), len(jobs) if moved_posts else 0):
        if jobs[k].head and not moved_posts.isdisjoint(jobs[k].items):
            redo.add(k)
    for k in redo:
        job = jobs[k]
        if k < n:
            inputs = post_inputs(posts, cards, k)
        elif k < n + len(site.pages):
            inputs = page_inputs(site.pages[k - n])
        else:
            inputs = listing_inputs(job.head, job.number, job.items, cards)
        jobs[k] = _with_inputs(job, inputs)
    return jobs, redo


def _with_inputs(job: Job, inputs: str) -> Job:
    return job._replace(inputs=inputs)

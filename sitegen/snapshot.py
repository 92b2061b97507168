"""The last build's site model and page plan, patched when a few documents changed.

After one edit, assembling ten thousand documents and planning nineteen
thousand pages again was half of a rebuild, yet an edit that keeps a post's
date, taxonomies, author, permalink and layout leaves every list, term and
page of the site where it was. Such edits are patched into the last build's
model and plan: the post's card key, its own page, its neighbours' pages and
the listing pages that show it get new inputs; nothing else is recomputed.

A post that keeps its place and URL but not its categories, tags or author is
"regrouped": terms are made again, and only the listings of terms that changed
are planned again; the rest of the plan is the last one's. A few posts added,
removed or moved (a new date, or a new term in the permalink) are "reordered"
in: the other posts keep their URLs, slugs and card keys, the new ones are
made as assemble makes them, and terms and the plan are made again from the
new order. Anything else (a page added or removed, settings changed,
a future post coming due, a term spelled two ways, a post with a problem)
falls back to a full assemble and plan.

plan.py computes inputs with the same functions used here, so a patched plan
equals a fresh one (tests/test_snapshot.py checks it).
"""
from __future__ import annotations

import hashlib
import os
from bisect import bisect_left
from dataclasses import dataclass, fields
from pathlib import Path
from typing import NamedTuple

from sitegen import __version__
from sitegen.assemble import (
    AssembleSettings,
    PermalinkMemo,
    SlugBook,
    make_page,
    make_post,
    permalink_of,
    site_assets,
    site_terms,
    visible,
)
from sitegen.cache import forget, no_gc, read_cache, read_keyed, write_cache, write_keyed
from sitegen.errors import Problem
from sitegen.model import Document, Page, Post, PostLookup, Site, Term
from sitegen.plan import (
    Job,
    LastPlan,
    card_key,
    index_jobs,
    listing_inputs,
    page_inputs,
    plan,
    post_inputs,
    term_extra,
    term_listings,
    term_names,
)
from sitegen.sources import SourceFile
from sitegen.term_edits import by_path, regrouped_terms, ties
from sitegen.urls import Urls

SNAPSHOT = "snapshot.pickle"
_FORMAT = 3  # of the payload; part of the key
# Patching costs per changed document; past this share a full assemble is as quick.
_MOST = 0.01
_LAYOUT = "|".join([",".join(Job._fields)]
                   + [",".join(f.name for f in fields(cls)) for cls in (Post, Page, Term, Site)])
_OTHER_KINDS = ("asset", "post_asset")
_INPUTS = Job._fields.index("inputs")
_HEAD = Job._fields.index("head")
_ITEMS = Job._fields.index("items")


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
    changed: Changes | None = None  # patched: what changed (regrouped: posts and jobs; reordered: jobs)
    base: dict | None = None  # the saved snapshot it was patched from
    keys: list[str] | None = None  # per job, its page key (build._page_keys)
    basis: tuple | None = None  # what the keys were computed with besides job inputs
    sitemap: list[tuple[float | None, str] | None] | None = None  # per job: lastmod, line
    search: list[bytes] | None = None  # per post, its search.json entry
    how: str = "assembled"  # or "patched" (in place), "regrouped" (terms) or "reordered" (posts moved)
    carried: Carried | None = None  # regrouped, reordered: the saved lists to take lines from


@dataclass(frozen=True)
class Carried:
    """What a regrouped or reordered model may take of the saved sitemap lines and
    search entries, by index: the saved plan changed, but most of its documents
    did not."""

    sitemap: list | None  # per saved job
    search: list | None  # per saved post
    cards: list[str]  # per saved post
    shapes: list[tuple]  # per saved post
    job_of: dict[str, int]  # output file -> index of its saved job
    post_of: list[int | None]  # per post, its saved index where it is the same document


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
                settings: AssembleSettings, urls: Urls, per_page: int) -> Model | None:
        """The last build's model with `docs` patched in, or None when it cannot be.
        Unless patched in place, only the memos of search entries and sitemap
        lines are kept of the snapshot."""
        model = None
        if self.payload is not None:
            model = self._patched(docs, files, settings, Planner(urls, per_page, files))
        if model is not None and model.how == "patched":
            model.base = self.base
            self.payload = None
        elif model is not None:  # it carries what it takes of the snapshot
            self.base = self.payload = None
            forget(self.path)
        elif self.payload is not None:
            self._keep_memos_only()
        return model

    def _patched(self, docs, files, settings, planner) -> Model | None:
        payload = self.payload
        by_source = {d.source: d for d in docs}
        if _others(files) != payload["others"]:
            return None
        due = payload["due"]
        if due is not None and not settings.future and settings.now.timestamp() >= due:
            return None
        known = payload["docs"]
        changed = [d for s, d in by_source.items() if identity(d) != known.get(s)]
        removed = known.keys() - by_source.keys()
        if len(changed) + len(removed) > max(8, len(docs) * _MOST):
            return None
        with no_gc():  # tens of thousands of posts and jobs are made here, none in cycles
            return _patch(payload, by_source, changed, removed, settings, planner)

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
    if model.base is not None and identities.keys() == model.base["docs"].keys():
        delta = _delta(model, identities, docs, settings)
        if sum(len(part) for part in delta[2:]) <= len(model.jobs) // 10:
            write_cache(_delta_path(path), "snapshot-delta", delta, make_parent=False)
            return
    site = model.site
    payload = {
        "token": os.urandom(8).hex(),
        "docs": identities,
        "others": _others(files),
        "due": _due(docs, settings),
        "posts": [(p.doc.source, p.path, p.output, p.categories, p.category_paths, p.tags,
                   p.author, p.prev, p.next) for p in site.posts],
        "shapes": _shapes(model),
        "pages": [(p.doc.source, p.path, p.output) for p in site.pages],
        "page_layouts": [p.doc.layout for p in site.pages],
        "site": (site.assets, site.categories, site.tags, site.authors),
        "problems": model.problems,
        "jobs": [tuple(j) for j in model.jobs],
        "basis": model.basis,
        **{name: getattr(model, name) for name in _LISTS},
    }
    _delta_path(path).unlink(missing_ok=True)
    # Not into a cache folder removed meanwhile: this may run in a child that
    # outlives `sitegen build`, after someone removed the site.
    write_keyed(path, "snapshot", key, payload, fast=True, make_parent=False)


def _shapes(model: Model) -> list[tuple]:
    """Per post, its shape(): the saved one where the post is the same document,
    as reading a cached document's fields unpacks it (model.Document)."""
    if model.how == "patched" and model.base is not None:
        return model.base["shapes"]  # patched in place: every post kept its shape
    carried = model.carried
    if carried is None:
        return [shape(p.doc) for p in model.site.posts]
    return [carried.shapes[o] if o is not None else shape(p.doc)
            for p, o in zip(model.site.posts, carried.post_of, strict=True)]


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


class Planner(NamedTuple):
    """What a reordered patch needs to plan the site again."""

    urls: Urls
    per_page: int
    files: list[SourceFile]


def _patch(payload: dict, by_source: dict[str, Document], changed: list[Document],
           removed: set[str], settings: AssembleSettings, planner: Planner) -> Model | None:
    rows, shapes = payload["posts"], payload["shapes"]
    index = {row[0]: i for i, row in enumerate(rows)}
    page_index = {row[0]: i for i, row in enumerate(payload["pages"])}
    if not removed.isdisjoint(page_index):
        return None
    gone = {index[s] for s in removed if s in index}
    moved_posts, moved_pages, new_docs = set(), set(), []
    regrouped: set[int] = set()  # posts that keep their place but not their terms
    for doc in changed:
        if doc.kind == "post":
            i = index.get(doc.source)
            if _same_post(doc, rows[i] if i is not None else None,
                          shapes[i] if i is not None else None, settings):
                if i is not None:
                    moved_posts.add(i)
                continue
            if i is not None and _same_place(doc, shapes[i], settings):
                regrouped.add(i)
                continue
            if i is not None:
                gone.add(i)
            if visible(doc, settings):
                new_docs.append(doc)
        else:
            i = page_index.get(doc.source)
            old_page = (payload["pages"][i], payload["page_layouts"][i]) if i is not None else None
            if not _same_page(doc, old_page):
                return None
            if i is not None:
                moved_pages.add(i)
    if regrouped and not (gone or new_docs):
        model = _regroup(payload, by_source, index, regrouped, moved_posts, moved_pages, changed,
                         settings, planner)
        if model is not None:
            return model
    for i in regrouped:  # a term's spelling, a permalink or a problem may change: move them
        gone.add(i)
        new_docs.append(by_source[rows[i][0]])
    if gone or new_docs:
        return _reorder(payload, by_source, gone, moved_posts, new_docs, changed, settings, planner)
    posts = _posts_from_rows(rows, by_source, {})
    pages = [Page(by_source[s], path, output) for s, path, output in payload["pages"]]
    assets, categories, tags, authors = payload["site"]
    site = Site(posts=tuple(posts), pages=tuple(pages), assets=assets, categories=categories,
                tags=tags, authors=authors, by_source=index)
    cards = list(payload["cards"])
    names = term_names(site)
    for i in moved_posts:
        cards[i] = card_key(site.posts[i], names)
    jobs, moved_jobs = _patch_jobs(payload["jobs"], site, cards, moved_posts, moved_pages)
    what = Changes(frozenset(moved_posts), frozenset(moved_pages), frozenset(moved_jobs))
    return Model(site, list(payload["problems"]), cards, jobs, what, keys=payload["keys"],
                 basis=payload["basis"], sitemap=payload["sitemap"], search=payload["search"],
                 how="patched")


def _reorder(payload: dict, by_source: dict[str, Document], gone: set[int], edited: set[int],
             new_docs: list[Document], changed: list[Document], settings: AssembleSettings,
             planner: Planner) -> Model | None:
    """The model with posts removed (`gone`) and `new_docs` put in their places;
    None where a term's spelling or a post's problems could come out otherwise."""
    rows = payload["posts"]
    problems = payload["problems"]
    touched = {rows[i][0] for i in gone} | {d.source for d in changed}
    if any(p.path in touched for p in problems):
        return None  # a problem of a changed post's would have to be made again
    books, found = _seeded_books(payload, settings)
    made = []
    for doc in new_docs:
        ts = doc.date.timestamp()
        fields = make_post(doc, ts, settings, *books, found, PermalinkMemo())
        if fields is None or found:
            return None
        made.append((ts, doc.source, fields))
    if not _one_spelling(books, [rows[i] for i in gone], [f for _, _, f in made]):
        return None
    # The same order as assemble's: newest first, then by source.
    order = [(shape[0], row[0], i) for i, (row, shape) in enumerate(zip(rows, payload["shapes"],
                                                                            strict=True))
             if i not in gone]
    order += made
    order.sort(key=lambda t: t[:2], reverse=True)
    posts, old_of = _posts_in_order(order, rows, by_source)
    terms = _moved_terms(payload, posts, old_of, {rows[i][0]: i for i in gone}, made)
    if terms is None:
        terms = tuple(site_terms(posts, *books).values())
    site = Site(
        posts=tuple(posts),
        pages=tuple(Page(by_source[s], path, output) for s, path, output in payload["pages"]),
        assets=tuple(site_assets(planner.files, posts, settings)),
        categories=terms[0], tags=terms[1], authors=terms[2],
        by_source={p.doc.source: i for i, p in enumerate(posts)},
    )
    old_cards = payload["cards"]
    names = term_names(site)
    cards = [old_cards[i] if i is not None and i not in edited else card_key(post, names)
             for post, i in zip(posts, old_of, strict=True)]
    # A listing page showing the same cards at the same places is the last plan's:
    # after a post moves, only the pages between its two places are not.
    dirty = {k for k, card in enumerate(cards) if k >= len(old_cards) or old_cards[k] != card}
    last = _LastPlan(payload, dirty, old_of, edited)
    jobs = plan(site, planner.urls, planner.per_page, cards, last)
    keys, redo = _keys_by_output(payload, jobs, last.index)
    post_of = [None if o in edited else o for o in old_of]
    return Model(site, list(problems), cards, jobs, Changes(frozenset(), frozenset(), redo),
                 keys=keys, basis=payload["basis"], how="reordered",
                 carried=_carried(payload, last, post_of))


def _carried(payload: dict, last: _LastPlan, post_of: list[int | None]) -> Carried:
    return Carried(payload["sitemap"], payload["search"], payload["cards"], payload["shapes"],
                   last.index, post_of)


def _moved_terms(payload: dict, posts: list[Post], old_of: list[int | None],
                 gone: dict[str, int], made: list[tuple]) -> tuple[dict[str, Term], ...] | None:
    """The saved terms with their posts' new indices, where posts only moved: the
    ones put in again are the ones taken out, in the same terms. Else None."""
    rows = payload["posts"]
    if len(made) != len(gone) or any(
            source not in gone or rows[gone[source]][3:7] != (
                f["categories"], f["category_paths"], f["tags"], f["author"])
            for _, source, f in made):
        return None
    categories, tags, authors = payload["site"][1:]
    if ties(categories, by_path) or ties(tags) or ties(authors):
        return None  # terms sorted alike keep the order posts first show them in, which moves
    new_of = [0] * len(posts)
    changed = []
    for k, o in enumerate(old_of):
        if o is None:
            o = gone[posts[k].doc.source]
        new_of[o] = k
        if o != k:
            changed.append(k)
    lo, hi = min(changed, default=0), max(changed, default=-1)
    make = object.__new__

    def moved(term: Term) -> Term:
        at = bisect_left(term.posts, lo)  # posts are in index order
        if at == len(term.posts) or term.posts[at] > hi:
            return term  # none of its posts changed places
        new = make(Term)  # frozen: set the fields the way copy does
        new.__dict__.update(term.__dict__, posts=tuple(sorted([new_of[i] for i in term.posts])))
        return new

    return tuple({slug: moved(t) for slug, t in terms.items()} for terms in payload["site"][1:])


def _regroup(payload: dict, by_source: dict[str, Document], index: dict[str, int],
             regrouped: set[int], edited: set[int], moved_pages: set[int], changed: list[Document],
             settings: AssembleSettings, planner: Planner) -> Model | None:
    """The model where `regrouped` posts keep their places and URLs but are in other
    categories, tags or authors: posts, dates and their listings stay as they were,
    terms are made again, and only the listings of terms that changed are planned
    again. None where that cannot be known to equal a reorder. `index`: source ->
    place of the saved posts, which they keep."""
    rows = payload["posts"]
    touched = {rows[i][0] for i in regrouped} | {d.source for d in changed}
    if any(p.path in touched for p in payload["problems"]):
        return None
    books, found = _seeded_books(payload, settings)
    fields_of = {}
    for i in regrouped:
        fields = make_post(by_source[rows[i][0]], payload["shapes"][i][0], settings, *books,
                           found, PermalinkMemo())
        if fields is None or found or (fields["path"], fields["output"]) != rows[i][1:3]:
            return None
        fields_of[i] = fields
    if not _one_spelling(books, [rows[i] for i in regrouped], list(fields_of.values())):
        return None
    posts = _posts_from_rows(rows, by_source, fields_of)
    assets, *saved_terms = payload["site"]
    site = Site(
        posts=tuple(posts),
        pages=tuple(Page(by_source[s], path, output) for s, path, output in payload["pages"]),
        assets=assets,
        **(regrouped_terms(saved_terms, {i: rows[i][3:7] for i in regrouped}, posts, books)
           or site_terms(posts, *books)),
        by_source=index,
    )
    names = term_names(site)
    cards = list(payload["cards"])
    shown = regrouped | edited
    for i in shown:
        cards[i] = card_key(site.posts[i], names)
    old_jobs = payload["jobs"]
    last = _LastPlan(payload, frozenset())  # _patch_jobs redoes the pages showing the shown posts
    first = min((start for start, _ in last.spans.values()), default=len(old_jobs) - len(_TAIL))
    planned = [*old_jobs[:first],
               *term_listings(site, planner.urls, planner.per_page, cards, last),
               *index_jobs(site, planner.urls)]
    jobs, _ = _patch_jobs(planned, site, cards, shown, moved_pages)
    keys, redo = _keys_by_output(payload, jobs, last.index)
    # Posts keep their indices: search entries are the last ones but for the shown posts'.
    search = payload["search"]
    post_of: list[int | None] = list(range(len(posts)))
    for i in shown:
        post_of[i] = None
    return Model(site, list(payload["problems"]), cards, jobs,
                 Changes(frozenset(shown), frozenset(), redo), keys=keys, basis=payload["basis"],
                 search=list(search) if search is not None else None, how="regrouped",
                 carried=_carried(payload, last, post_of))


_TAIL = ("categories", "tags", "authors", "search", "404")  # plan.index_jobs, after the listings


class _LastPlan(LastPlan):
    """The saved plan, for plan.plan: which jobs it may take as they were. `dirty`:
    indices at which a post shows another card than the post there before;
    `old_of`: per post, its index in the saved plan (None for a new one);
    `edited`: saved indices of posts edited in place."""

    def __init__(self, payload: dict, dirty: set[int] | frozenset[int],
                 old_of: list[int | None] | None = None, edited: set[int] = frozenset()):
        self.rows = payload["jobs"]
        self.dirty = dirty
        self.index = {row[0]: k for k, row in enumerate(self.rows)}  # output -> saved job
        # A new newest post shows another card at every index: no listing page is kept.
        self.listings = len(dirty) < 0.9 * len(payload["posts"])
        self.spans = _term_spans(self.rows) if self.listings else {}
        _, categories, tags, authors = payload["site"]
        self.terms = {"category": categories, "tag": tags, "author": authors}
        self.known = _known_posts(payload, old_of, edited) if old_of is not None else None

    def post(self, i: int) -> Job | str | None:
        return self.known[i] if self.known is not None else None

    def listing(self, kind: str, slug: str, term: Term, extra: tuple) -> list[Job] | Job | None:
        if not self.listings:
            return None
        old, span = self.terms[kind].get(slug), self.spans.get((kind, slug))
        if old is None or span is None or term_extra(kind, old, self.terms["category"]) != extra:
            return None
        make = tuple.__new__
        if old != term or not self.dirty.isdisjoint(term.posts):
            return make(Job, self.rows[span[0]])  # its heading holds: its first page tells it
        return [make(Job, row) for row in self.rows[span[0]:span[1]]]

    def page(self, output: str, head: str, items: tuple[int, ...]) -> Job | None:
        # The same output, heading (kind, listing, page count) and posts: the same job.
        k = self.index.get(output) if self.listings else None
        if k is None:
            return None
        row = self.rows[k]
        if row[_HEAD] != head or row[_ITEMS] != items or not self.dirty.isdisjoint(items):
            return None
        return tuple.__new__(Job, row)


def _term_spans(rows: list[tuple]) -> dict[tuple[str, str], tuple[int, int]]:
    """(kind, slug) -> where the last plan put that term's listing, (start, end)."""
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    for k, row in enumerate(rows):
        kind = row[2]
        if kind in ("category", "tag", "author"):
            key = (kind, row[3])
            start = spans[key][0] if key in spans else k
            spans[key] = (start, k + 1)
    return spans


def _posts_from_rows(rows: list[tuple], by_source: dict[str, Document],
                     fields_of: dict[int, dict]) -> list[Post]:
    """The saved posts in their saved order; `fields_of` gives some of them anew."""
    make = object.__new__
    posts = []
    for i, (source, path, output, cats, paths, tags, author, prev, nxt) in enumerate(rows):
        post = make(Post)  # the frozen __init__ sets each field through a slow path
        fields = fields_of.get(i)
        if fields is None:
            post.__dict__.update(doc=by_source[source], path=path, output=output, categories=cats,
                                 category_paths=paths, tags=tags, author=author)
        else:
            post.__dict__.update(fields)
        post.__dict__.update(prev=prev, next=nxt)
        posts.append(post)
    return posts


def _seeded_books(payload: dict, settings: AssembleSettings) -> tuple[tuple[SlugBook, ...], list]:
    """Slug books for categories, tags and authors that know the last build's terms,
    sharing one list of the problems they find."""
    _, categories, tags, authors = payload["site"]
    books = tuple(_seeded_book(kind, terms, mapping, settings.filename_case)
                  for kind, terms, mapping in (("category", categories, settings.category_map),
                                               ("tag", tags, settings.tag_map),
                                               ("author", authors, {})))
    found: list[Problem] = []
    for book in books:
        book.problems = found
    return books, found


def _known_posts(payload: dict, old_of: list[int | None], edited: set[int]) -> list[Job | str | None]:
    """Per post, what of its saved job holds when it and both neighbours are the same
    unedited posts as before (plan.post_inputs shows only those): the job itself
    where its index is the same too, else its inputs; None where it must be made."""
    jobs = payload["jobs"]
    last, old_last = len(old_of) - 1, len(payload["posts"]) - 1
    make = tuple.__new__
    kept = [o is not None and o not in edited for o in old_of]
    known: list[Job | str | None] = []
    for k, o in enumerate(old_of):
        # Neighbours are the posts one place either side (prev is the newer one).
        if not (kept[k] and (o == 0 if k == 0 else kept[k - 1] and old_of[k - 1] == o - 1)
                and (o == old_last if k == last else kept[k + 1] and old_of[k + 1] == o + 1)):
            known.append(None)
        elif o == k:
            known.append(make(Job, jobs[o]))  # post jobs come first, in the order of the posts
        else:
            known.append(jobs[o][_INPUTS])
    return known


def _keys_by_output(payload: dict, jobs: list[Job], by_output: dict[str, int]
                    ) -> tuple[list[str] | None, frozenset[int]]:
    """The last build's page keys for jobs whose output, template and inputs are
    unchanged (most of them), and which jobs need a key made. `by_output`: output
    -> index of its saved job."""
    old_keys = payload["keys"]
    if old_keys is None:
        return None, frozenset()
    rows = payload["jobs"]
    at = _INPUTS
    keys, redo = [], []
    for k, job in enumerate(jobs):
        o = by_output.get(job.output)
        if o is not None and rows[o][at] == job.inputs and rows[o][1] == job.template:
            keys.append(old_keys[o])
        else:
            keys.append("")
            redo.append(k)
    return keys, frozenset(redo)


def _seeded_book(kind: str, terms: dict[str, Term], mapping: dict, case: int) -> SlugBook:
    """A slug book that knows the last build's terms and their spellings."""
    book = SlugBook(kind, mapping, case, [])
    for slug, term in terms.items():
        book.names[slug] = [term.name, *term.aliases]
    return book


def _one_spelling(books: tuple[SlugBook, ...], gone_rows: list[tuple], made: list[dict]) -> bool:
    """Whether every term a removed or added post is in has one spelling. With two,
    the first one met names the term, and that can change with the posts."""
    cats, tags, authors = (book.names for book in books)
    for row in gone_rows:
        if any(len(cats[s]) > 1 for s in row[3]) or any(len(tags[s]) > 1 for s in row[5]) \
                or (row[6] and len(authors[row[6]]) > 1):
            return False
    for f in made:
        if any(len(cats[s]) > 1 for s in f["categories"]) or \
                any(len(tags[s]) > 1 for s in f["tags"]) or \
                (f["author"] and len(authors[f["author"]]) > 1):
            return False
    return True


def _posts_in_order(order: list[tuple], rows: list[tuple], by_source: dict[str, Document]
                    ) -> tuple[list[Post], list[int | None]]:
    """Posts in `order` (old row index, or the fields of a new post), linked to their
    neighbours; and per post its old index (None for new ones)."""
    make = object.__new__
    last = len(order) - 1
    posts, old_of = [], []
    for k, (_, _, ref) in enumerate(order):
        post = make(Post)  # the frozen __init__ sets each field through a slow path
        prev, nxt = k - 1 if k > 0 else None, k + 1 if k < last else None
        if type(ref) is int:
            source, path, output, cats, paths, tags, author, _, _ = rows[ref]
            post.__dict__.update(doc=by_source[source], path=path, output=output, categories=cats,
                                 category_paths=paths, tags=tags, author=author, prev=prev, next=nxt)
            old_of.append(ref)
        else:
            post.__dict__.update(ref, prev=prev, next=nxt)
            old_of.append(None)
        posts.append(post)
    return posts, old_of


def _same_post(doc: Document, row: tuple | None, was: tuple | None,
               settings: AssembleSettings) -> bool:
    """Whether `doc` keeps the place its source had: visibility, order, lists and URL."""
    if not (doc.kind == "post" and visible(doc, settings)):
        return row is None
    if row is None:
        return False
    if shape(doc) != was:
        return False
    category_paths = row[4]
    last_category = category_paths[-1][-1] if category_paths else None
    problems: list[Problem] = []
    found = permalink_of(doc, settings, last_category, problems)
    # A placeholder left unfilled is a warning of the last build's; it must stay the same.
    return found is not None and not found[2] and found[:2] == (row[1], row[2])


def _same_place(doc: Document, was: tuple, settings: AssembleSettings) -> bool:
    """Whether a visible post keeps its place in the order and its permalink inputs
    from the front matter (its terms may differ)."""
    now = shape(doc)
    return (doc.kind == "post" and visible(doc, settings)
            and now[:3] == was[:3] and now[6:] == was[6:])


def _same_page(doc: Document, old: tuple[tuple, str | None] | None) -> bool:
    """Whether a page keeps its output and layout; `old` is (its row, its layout)."""
    if not doc.published:
        return old is None
    if old is None:
        return False
    page = make_page(doc, [])
    return page is not None and page.output == old[0][2] and doc.layout == old[1]


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
    if moved_posts:  # what a link shows of its post may have changed
        redo.update(k for k, post in enumerate(posts) if post.doc.links)
        redo.update(n + k for k, page in enumerate(site.pages) if page.doc.links)
    for k in range(n + len(site.pages), len(jobs) if moved_posts else 0):
        if jobs[k].head and not moved_posts.isdisjoint(jobs[k].items):
            redo.add(k)
    linked = PostLookup(posts)
    for k in redo:
        job = jobs[k]
        if k < n:
            inputs = post_inputs(posts, cards, k, linked)
        elif k < n + len(site.pages):
            inputs = page_inputs(site.pages[k - n], linked)
        else:
            inputs = listing_inputs(job.head, job.number, job.items, cards)
        jobs[k] = _with_inputs(job, inputs)
    return jobs, redo


def _with_inputs(job: Job, inputs: str) -> Job:
    return job._replace(inputs=inputs)

"""Site -> the list of pages to render, each with the facts that decide its content.

A job's `inputs` is a hash of everything its page shows, so a rebuild can
skip any page whose inputs and templates are unchanged.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import NamedTuple

from sitegen.model import Page, Post, PostLookup, Site, Term
from sitegen.urls import Urls, output_for


class Job(NamedTuple):  # a tuple: a 10k-post site has 19k, remade from the snapshot each build
    output: str  # file under the output folder
    template: str  # theme template name, e.g. "post.html"
    kind: str  # post, page, index, archive, category, tag, author, categories, tags, authors, 404, search
    ref: str = ""  # post source, page source or term slug
    base: str = ""  # listing path of page 1
    number: int = 1
    total: int = 1
    items: tuple[int, ...] = ()  # post indices shown on a listing page
    year: int | None = None
    month: int | None = None
    inputs: str = ""  # hash of what the page shows (templates added later)
    head: str = ""  # listings: hash of what every page of the listing shows


def _job(*fields) -> Job:
    """Job(...) with every field given: a third of the time of the named-tuple
    constructor, for the 19k jobs of a 10k-post site."""
    return tuple.__new__(Job, fields)


def chunks(items: tuple[int, ...], per_page: int) -> list[tuple[int, ...]]:
    if per_page <= 0 or len(items) <= per_page:
        return [items]
    return [items[i : i + per_page] for i in range(0, len(items), per_page)]


def _h(*parts: object) -> str:
    h = hashlib.sha1()
    for p in parts:
        h.update(repr(p).encode())
        h.update(b"\x1f")
    return h.hexdigest()


def card_keys(site: Site) -> list[str]:
    """Per post: what a card shows, so listings re-render only when a shown post changes."""
    names = term_names(site)
    return [card_key(p, names) for p in site.posts]


def term_names(site: Site) -> tuple[dict[str, str], ...]:
    """Per taxonomy, slug -> slug and shown name: a card shows names, and the name of
    a slug shared by several spellings can change when another post comes."""
    return tuple({slug: f"{slug}\x1e{t.name}" for slug, t in terms.items()}
                 for terms in (site.categories, site.tags, site.authors))


def card_key(post: Post, names: tuple[dict[str, str], ...]) -> str:
    # The digest names everything the document shows (content, settings, file time
    # where it shows, localised images); the rest is where the site put it.
    cats, tags, authors = names
    return hashlib.sha1("\x1f".join((
        post.doc.digest, post.doc.body_key, post.path, authors.get(post.author, post.author),
        "\x1d".join([cats.get(c, c) for c in post.categories]),
        "\x1d".join([tags.get(t, t) for t in post.tags]))).encode()).hexdigest()


def post_inputs(posts: tuple[Post, ...], cards: list[str], i: int, linked: PostLookup) -> str:
    # Neighbours by title and path, not by index: indices shift when a post is added.
    post = posts[i]
    newer = posts[post.prev] if post.prev is not None else None
    older = posts[post.next] if post.next is not None else None
    shown = "\x1f".join((cards[i], newer.doc.title if newer else "\x00", newer.path if newer else "",
                         older.doc.title if older else "\x00", older.path if older else ""))
    if post.doc.links:
        shown += "\x1f" + linked.shown(post.doc)
    return hashlib.sha1(shown.encode()).hexdigest()


def page_inputs(page: Page, linked: PostLookup) -> str:
    if page.doc.links:
        return _h(page.doc.digest, page.doc.body_key, page.path, linked.shown(page.doc))
    return _h(page.doc.digest, page.doc.body_key, page.path)


def listing_inputs(head: str, number: int, items: tuple[int, ...], cards: list[str]) -> str:
    return hashlib.sha1(f"{head}\x1f{number}\x1f{'|'.join([cards[i] for i in items])}".encode()
                        ).hexdigest()


class LastPlan:
    """What the caller knows of the last plan (snapshot.py): plan() takes a job as
    it was where this says it is unchanged. This base knows nothing."""

    def post(self, i: int) -> Job | str | None:
        """Post i's last job, or its last inputs, where unchanged but for its links."""
        return None

    def listing(self, kind: str, slug: str, term: Term, extra: tuple) -> list[Job] | Job | None:
        """Every job of a term's listing (`extra`: its heading), where unchanged; else
        its first page's last job where its heading is unchanged (its posts are not)."""
        return None

    def page(self, output: str, head: str, items: tuple[int, ...]) -> Job | None:
        """One listing page's job (`head`: what every page of its listing shows)."""
        return None


def plan(site: Site, urls: Urls, per_page: int, cards: list[str] | None = None,
         last: LastPlan | None = None) -> list[Job]:
    """Post jobs come first, in the order of site.posts, then pages, then listings
    (snapshot.py relies on that order)."""
    cards = cards if cards is not None else card_keys(site)
    posts = site.posts
    linked = PostLookup(posts)
    jobs = _post_jobs(posts, cards, linked, last)
    for page in site.pages:
        jobs.append(Job(page.output, _layout(page.doc.layout, "page"), "page", page.doc.source,
                        inputs=page_inputs(page, linked)))

    ordered = tuple(sorted(range(len(site.posts)), key=lambda i: -site.posts[i].doc.sticky))
    jobs += _listing("index", "index.html", "", "", ordered, per_page, urls, cards, last=last)
    everything = tuple(range(len(site.posts)))
    jobs += _listing("archive", "archive.html", urls.archive(), "", everything, per_page, urls, cards,
                     last=last)
    for (year, month), idx in _by_period(site).items():
        jobs += _listing("archive", "archive.html", urls.archive(year, month), "", idx, per_page,
                         urls, cards, year=year, month=month, last=last)
    jobs += term_listings(site, urls, per_page, cards, last)
    jobs += index_jobs(site, urls)
    return jobs


def _post_jobs(posts: tuple[Post, ...], cards: list[str], linked: PostLookup,
               last: LastPlan | None) -> list[Job]:
    def job(i: int, post: Post, inputs: str) -> Job:
        return _job(post.output, _layout(post.doc.layout, "post"), "post", post.doc.source, "", 1, 1,
                    (i,), None, None, inputs, "")

    if last is None:
        return [job(i, post, post_inputs(posts, cards, i, linked)) for i, post in enumerate(posts)]
    jobs = []
    for i, post in enumerate(posts):
        old = last.post(i) if not post.doc.links else None
        if old.__class__ is Job:
            jobs.append(old)
        else:
            jobs.append(job(i, post, old or post_inputs(posts, cards, i, linked)))
    return jobs


_TERM_TEMPLATES = {"category": "category.html", "tag": "tag.html", "author": "author.html"}


def term_extra(kind: str, term: Term, categories: dict[str, Term]) -> tuple:
    """What views.term_view shows on every page of the term's listing."""
    if kind == "category":
        children = [(categories[c].name, len(categories[c].posts)) for c in term.children]
        return (term.path, children, term.aliases, len(term.posts))
    return (term.name, term.aliases, len(term.posts))


def term_listings(site: Site, urls: Urls, per_page: int, cards: list[str],
                  last: LastPlan | None = None) -> list[Job]:
    """The category, tag and author listings."""
    jobs: list = []
    for kind, url_of, terms in (("category", urls.category, site.categories),
                                ("tag", urls.tag, site.tags), ("author", urls.author, site.authors)):
        for slug, term in terms.items():
            extra = term_extra(kind, term, site.categories)
            old = last.listing(kind, slug, term, extra) if last is not None else None
            if type(old) is list:
                jobs += old
            else:
                jobs += _listing(kind, _TERM_TEMPLATES[kind], url_of(slug), slug, term.posts,
                                 per_page, urls, cards, extra=extra, last=last, was=old)
    return jobs


def index_jobs(site: Site, urls: Urls) -> list[Job]:
    """The pages after the listings: term indexes (with counts), search and 404."""
    def counts(terms):
        return [(s, t.name, len(t.posts)) for s, t in terms.items()]
    return [
        Job(output_for(urls.category("")), "categories.html", "categories",
            inputs=_h(counts(site.categories))),
        Job(output_for(urls.tag("")), "tags.html", "tags", inputs=_h(counts(site.tags))),
        Job(output_for(urls.author("")), "authors.html", "authors", inputs=_h(counts(site.authors))),
        Job("search/index.html", "search.html", "search", inputs=_h("search")),
        Job("404.html", "404.html", "404", inputs=_h("404")),
    ]


def _layout(layout: str | None, default: str) -> str:
    if layout == "false":
        return ""  # no layout: the body alone
    if layout in (None, "", default, "post", "page"):
        return f"{default}.html"
    return f"{layout}.html"


def _by_period(site: Site) -> dict[tuple[int, int | None], tuple[int, ...]]:
    """Posts by (year, None) and (year, month). Posts come by date, so a month's
    are mostly one run of indices; runs are found, not each post filed."""
    months = [d.year * 100 + d.month for d in (p.doc.date for p in site.posts)]
    ends = [k for k in range(1, len(months)) if months[k] != months[k - 1]] + [len(months)] \
        if months else []
    groups: dict[tuple[int, int | None], list[int]] = defaultdict(list)
    start = 0
    for end in ends:
        year, month = divmod(months[start], 100)
        groups[(year, None)] += range(start, end)
        groups[(year, month)] += range(start, end)
        start = end
    return {k: tuple(v) for k, v in groups.items()}


def _listing(kind, template, base, ref, items, per_page, urls, cards, year=None, month=None,
             extra=(), last: LastPlan | None = None, was: Job | None = None) -> list[Job]:
    """`was`: the last plan's first page of this listing, with the same heading."""
    pages = chunks(tuple(items), per_page)
    total = len(pages)
    if was is not None and was.total == total:  # the same heading, URL and page count
        first, head = was.output, was.head
    else:
        first = output_for(base)  # checked once; page N only adds plain segments to it
        head = _h(kind, base, total, extra)
    folder = first[: -len("index.html")]

    def job(n: int, output: str, page: tuple[int, ...]) -> Job:
        return _job(output, template, kind, ref, base, n, total, page, year, month,
                    listing_inputs(head, n, page, cards), head)

    def output(n: int) -> str:
        return first if n == 1 else f"{folder}{urls.pagination_dir}/{n}/index.html"

    if last is None:
        return [job(n, output(n), page) for n, page in enumerate(pages, start=1)]
    return [last.page(out, head, page) or job(n, out, page)
            for n, page in enumerate(pages, start=1) for out in (output(n),)]

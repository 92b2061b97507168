"""Render planned jobs through the theme, in parallel, into the staging folder.

Workers are forked after the site model is built, so they share it
copy-on-write and receive only job numbers; each writes its pages to the
staging folder and returns (output, digest, size), never the page text.
"""
from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from sitegen import views
from sitegen.cache import BodyStore, no_gc
from sitegen.card_cache import CardStore, ContentKeys, args_key, card_row_key, render_key
from sitegen.errors import Problem
from sitegen.hexo.refs import resolve_refs
from sitegen.model import PostLookup, Site
from sitegen.output import Stage
from sitegen.plan import Job
from sitegen.templates import (
    TemplateFingerprints,
    Theme,
    make_env,
    template_error_location,
    translator,
)
from sitegen.text import plain_text, summarise
from sitegen.urls import Urls, path_for_output, prefix_root_links
from sitegen.workers import can_fork, map_batches


@dataclass(frozen=True)
class RenderSetup:
    site: Site
    urls: Urls
    theme: Theme
    config: dict[str, Any]  # plain config values for templates
    site_view: dict[str, Any]
    assets: dict[str, str]  # theme static path -> fingerprinted output path
    bodies: BodyStore
    stage: Stage
    bytecode_dir: Path | None
    date_format: str
    time_format: str
    cards: CardStore | None = None  # card HTML kept between builds
    card_keys: list[str] | None = None  # per post, plan.card_key (made here when None)


class CorruptBody(Exception):
    """A cached body is missing or damaged; the build discards it and parses again."""

    def __init__(self, source: str, key: str):
        super().__init__(f"{source}: cached body {key} is missing or damaged")
        self.source, self.key = source, key


@dataclass(frozen=True)
class Rendered:
    output: str
    digest: str
    size: int
    mtime_ns: int  # of the staged file (the commit's rename keeps it)


class Renderer:
    """One per process: a Jinja environment with sitegen's helpers."""

    def __init__(self, setup: RenderSetup):
        self.setup = setup
        self.ctx = views.ViewContext(setup.site, setup.urls, setup.date_format, setup.time_format)
        self.env = make_env(setup.theme, setup.bytecode_dir)
        self.env.globals.update(self._helpers())
        self.env.filters.update({
            "date": _unfolded(self._date), "url_for": _unfolded(setup.urls.url),
            "full_url": _unfolded(setup.urls.full_url), "excerpt": _excerpt,
            # Jinja calls a filter directly, a global through the context's checks:
            # `'next_page' | t` costs a few microseconds less than t('next_page').
            "t": _unfolded(self.env.globals["t"]),
        })
        self.warnings: list[Problem] = []
        self._cards: dict[int, views.Card] = {}
        self._macro_html: dict[tuple, Markup] = {}
        self._scopes: dict[tuple[str, str], str | None] = {}
        self._render_key: str | None = None
        self._prints: TemplateFingerprints | None = None
        self._content_keys: ContentKeys | None = None
        self._lookups: dict[str, int] = {}  # per scope, store lookups made in this process
        self.stored: list[tuple[str, str, str, str]] = []  # new (key, post, scope, html) rows
        self.scopes_used: dict[str, str] = {}  # scope -> "template:macro"
        self.card_hits = self.card_misses = 0
        self._terms: dict[tuple[str, str], dict[str, Any]] = {}
        self._post_named = PostLookup(setup.site.posts)
        self.preload_after: int | None = _PRELOAD_AFTER  # store lookups of a macro, then read all its cards
        self._kind = ""  # of the job being rendered
        self._shown: dict[str, set[tuple[str, str]]] = {}  # job kind -> stored (scope, blob) calls
        self.fetched: set[str] = set()  # kinds whose cards this batch read ahead

    def _helpers(self) -> dict[str, Any]:
        s = self.setup
        return {
            "url_for": s.urls.url,
            "full_url": s.urls.full_url,
            "date": self._date,
            "excerpt": _excerpt,
            "toc": _toc_html,
            "list_categories": lambda: views.category_tree(self.ctx),
            "list_tags": lambda order="name": views.term_list(self.ctx, "tag", order),
            "list_authors": lambda order="name": views.term_list(self.ctx, "author", order),
            "asset": self._asset,
            "memo_macro": self._memo_macro,
            "memo_each": self._memo_each,
            "t": translator(s.theme, str(s.config.get("language") or "en")),
        }

    def _date(self, value: Any, fmt: str | None = None) -> str:
        from datetime import datetime

        if isinstance(value, dict):
            value = value.get("iso")
        when = datetime.fromisoformat(value) if isinstance(value, str) else value
        return views.date_formatter(fmt or self.setup.date_format)(when)

    def _memo_macro(self, template: str, name: str, key: Any, *args: Any, **kwargs: Any) -> Markup:
        """Call a macro once per `key` in this process and reuse its HTML: a post's card
        appears on ~9 listings, and rendering cards is most of a listing page's cost.
        The key must identify everything the output depends on. Between builds the
        HTML is kept only for a call with one card among plain arguments, under a key
        sitegen makes from their content (see card_cache)."""
        memo_key = (template, name, repr(key))
        html = self._macro_html.get(memo_key)
        if html is None:
            html = self._macro_html[memo_key] = self._stored_macro(template, name, args, kwargs)
        return html

    def _memo_each(self, template: str, name: str, items: Any, *args: Any) -> Markup:
        """memo_macro(template, name, [item['path'], *args], item, *args) for each item,
        joined by newlines. One call from a listing instead of one per card: each
        call from a template costs microseconds of Jinja's call and escape work,
        a sixth of a listing page with ten cards."""
        memo = self._memo_macro
        return Markup("\n".join([memo(template, name, [item["path"], *args], item, *args)
                                 for item in items]))

    def _stored_macro(self, template: str, name: str, args: tuple, kwargs: dict) -> Markup:
        scope = self._scope(template, name)
        keyed = args_key(args, kwargs) if scope else None
        if keyed is None:
            return Markup(self._call_macro(template, name, args, kwargs))
        blob, card = keyed
        post = self._content_keys(card)
        key = card_row_key(scope, post, blob)
        seen = self._lookups[scope] = self._lookups.get(scope, 0) + 1
        if seen == self.preload_after:
            self.setup.cards.preload(scope)
        self._shown.setdefault(self._kind, set()).add((scope, blob))
        html = self.setup.cards.get(key)
        if html is None:
            self.card_misses += 1
            html = self._call_macro(template, name, args, kwargs)
            self.stored.append((key, post, scope, html))
        else:
            self.card_hits += 1
        return str.__new__(Markup, html)  # Markup() itself asks whether html has __html__

    def _call_macro(self, template: str, name: str, args: tuple, kwargs: dict) -> str:
        return str(getattr(self.env.get_template(template).module, name)(*args, **kwargs))

    def _scope(self, template: str, name: str) -> str | None:
        """What a stored macro's HTML depends on besides its arguments, or None when
        it cannot be stored (no store, or the template reads site-wide data)."""
        if (template, name) not in self._scopes:
            scope = None
            if self.setup.cards is not None:
                if self._prints is None:
                    self._prints = TemplateFingerprints(self.env)
                    self._render_key = render_key(self.setup)
                    self._content_keys = ContentKeys(self.setup.site, self.setup.card_keys)
                if not self._prints.site_wide(template):
                    scope = hashlib.sha1(f"{self._render_key}\x1f{self._prints.fingerprint(template)}"
                                         f"\x1f{template}\x1f{name}".encode()).hexdigest()
                    self.scopes_used[scope] = f"{template}:{name}"
            self._scopes[(template, name)] = scope
        return self._scopes[(template, name)]

    def _asset(self, path: str) -> str:
        out = self.setup.assets.get(path.lstrip("/"))
        if out is None:
            raise jinja2.UndefinedError(f"asset({path!r}): no such file in the theme's static/")
        return self.setup.urls.url(out)

    # ----------------------------------------------------------------------------
    def fetch_ahead(self, batch: list[Job], at: int) -> None:
        """Before batch[at], read the stored cards the rest of the batch's pages of its
        kind show, in a few queries, once a page of that kind has shown which
        macros and arguments it calls (stores read whole scopes do not)."""
        kind = batch[at].kind
        shown = self._shown.get(kind)
        if not shown or kind in self.fetched or self.preload_after is not None:
            return
        self.fetched.add(kind)
        items = [i for job in batch[at:] if job.kind == kind for i in job.items]
        self.setup.cards.fetch([card_row_key(scope, self._content_keys(self._card(i)), blob)
                                for scope, blob in shown for i in items])

    def render(self, job: Job) -> bytes:
        self._kind = job.kind
        context = self.context(job)
        if not job.template:  # layout: false
            return context["page"]["content"].encode()
        template = self.env.get_template(job.template)
        return template.render(context).encode()

    def context(self, job: Job) -> dict[str, Any]:
        s, ctx = self.setup, self.ctx
        base = {"site": s.site_view, "config": s.config, "theme": s.theme.settings,
                "paginator": None}
        if job.kind == "post":
            index = job.items[0]
            post = s.site.posts[index]
            page = views.post_view(ctx, index, self.body(post.doc, post.path), self._card(index))
        elif job.kind == "page":
            found = next(p for p in s.site.pages if p.doc.source == job.ref)
            page = views.page_view(ctx, found, self.body(found.doc, found.path))
        else:
            page = self._listing_view(job)
            if job.kind in ("index", "archive", "category", "tag", "author"):
                cards = [self._card(i) for i in job.items]
                base["paginator"] = views.paginator(ctx, job.base, job.number, job.total, cards)
                if job.kind == "archive":
                    page["groups"] = views.archive_groups(ctx, cards)
        return {**base, "page": page}

    def _card(self, index: int) -> views.Card:
        # A post's card shows on ~9 listings (home, archives, categories, tag, author).
        card = self._cards.get(index)
        if card is None:
            card = self._cards[index] = views.Card(self.ctx, index, self._card_excerpt)
        return card

    def _card_excerpt(self, post) -> str | None:
        html = post.doc.excerpt_html
        if post.doc.refs and html:
            html = self.resolve(html, post.doc, post.path)
        return prefix_root_links(html, self.setup.urls.root) if html else html

    def _listing_view(self, job: Job) -> dict[str, Any]:
        s, ctx = self.setup, self.ctx
        path = path_for_output(job.output)  # this page itself: page N of a listing is its own URL
        page: dict[str, Any] = {"kind": job.kind, "title": "", "url": s.urls.url(path),
                                "path": path, "number": job.number}
        terms = {"category": s.site.categories, "tag": s.site.tags, "author": s.site.authors}
        if job.kind in terms:
            # The same for every page of a listing; a category has up to hundreds of pages.
            key = (job.kind, job.ref)
            if key not in self._terms:
                self._terms[key] = views.term_view(ctx, terms[job.kind][job.ref])
            page["term"] = self._terms[key]
            page["title"] = page["term"]["name"]
        elif job.kind == "archive":
            page.update(year=job.year, month=job.month)
        elif job.kind == "categories":
            page["tree"] = views.category_tree(ctx)
        elif job.kind in ("tags", "authors"):
            page["terms"] = views.term_list(ctx, job.kind[:-1], "name")
        page["full_url"] = s.urls.full_url(path)
        return page

    def body(self, doc, path: str) -> str:
        """A document's final body HTML: references resolved, links under the root."""
        try:
            html = self.setup.bodies.get(doc.body_key)
        except (OSError, ValueError) as exc:  # BodyMissing and UnicodeDecodeError are ValueErrors
            raise CorruptBody(doc.source, doc.body_key) from exc
        if doc.refs:
            html = self.resolve(html, doc, path)
        return prefix_root_links(html, self.setup.urls.root)

    def resolve(self, html: str, doc, path: str) -> str:
        """Fill post_link / asset placeholders; a missing target is a warning naming the file."""

        def missing(tag: str, key: str) -> None:
            self.warnings.append(Problem(doc.source, 0, f"{tag}: no post or asset {key!r}", "warning"))

        return resolve_refs(html, lambda kind, key: self._ref(kind, key, path), missing)

    def _ref(self, kind: str, key: str, own_path: str) -> str | None:
        urls = self.setup.urls
        if kind == "asset_path":
            base = own_path if own_path.endswith("/") else own_path.rsplit("/", 1)[0] + "/"
            return urls.url(base + key.lstrip("/"))
        if kind == "url_for":
            return urls.url(key)
        if kind == "full_url_for":
            return urls.full_url(key)
        post = self._post_named(key)
        if post is None:
            return None
        return urls.url(post.path) if kind == "post_path" else post.doc.title


def _unfolded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn` as a filter Jinja never runs while compiling. Jinja folds a filter of
    constants (`'about/' | url_for`, `'older_post' | t`) into the compiled
    template, which is cached between builds: a changed root or UI string would
    not show. A filter that takes the context is left to run at render time."""
    @jinja2.pass_context
    def run(_context: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)
    return run


def _excerpt(html: str, length: int = 140) -> str:
    return summarise(plain_text(html or ""), length)


def _toc_html(page: dict[str, Any], max_depth: int = 3) -> str:
    from markupsafe import Markup, escape

    items = [h for h in page.get("toc") or [] if h["level"] <= max_depth]
    if not items:
        return Markup("")
    top = min(h["level"] for h in items)
    parts = ['<ol class="toc">']
    for h in items:
        parts.append(f'<li class="toc-level-{h["level"] - top + 1}"><a href="#{escape(h["id"])}">'
                     f'{escape(h["text"])}</a></li>')
    parts.append("</ol>")
    return Markup("".join(parts))


# --- parallel execution --------------------------------------------------------------
_WORKER: Renderer | None = None
_JOBS: list[Job] = []


def _render_batch(indices: list[int]) -> tuple[list[Rendered], list[Problem], list, dict]:
    """Render some jobs; returns what was rendered, the problems, and the card
    HTML made here that the store did not have (the parent stores it)."""
    assert _WORKER is not None
    done, problems = [], []
    _WORKER.warnings = problems  # warnings from this batch travel back with its errors
    batch = [_JOBS[i] for i in indices]
    _WORKER.fetched = set()
    for at, job in enumerate(batch):
        _WORKER.fetch_ahead(batch, at)
        try:
            data = _WORKER.render(job)
        except CorruptBody as exc:
            problems.append(Problem(exc.source, 0, exc.key, "corrupt"))
            continue
        except Exception as exc:  # noqa: BLE001 - any failure must name its page
            problems.append(_render_problem(job, exc))
            continue
        done.append(_stage(_WORKER.setup.stage, job.output, data))
    stored, _WORKER.stored = _WORKER.stored, []
    # The cards, views and results made so far live on, and the collector's full
    # scans walked them all again and again (3 s of a 100,000-post build). The
    # young garbage (a few objects in cycles a page) is collected, the rest frozen.
    gc.collect(1)
    gc.freeze()
    return done, problems, stored, _WORKER.scopes_used


def _stage(stage: Stage, output: str, data: bytes) -> Rendered:
    try:
        mtime_ns = stage.write(output, data)
    except OSError as exc:  # a full disk: name the page, not its file in the stage
        raise OSError(exc.errno, exc.strerror, output) from exc
    return Rendered(output, hashlib.sha1(data).hexdigest(), len(data), mtime_ns)


def _render_problem(job: Job, exc: BaseException) -> Problem:
    where = template_error_location(exc)
    source = job.ref if job.kind in ("post", "page") else job.output
    if where:
        return Problem(where[0], where[1], f"while rendering {source}: {exc}")
    return Problem(source, 0, f"cannot render: {type(exc).__name__}: {exc}")


_BATCH = 64
PARALLEL_FROM = 200  # pages; fewer are rendered here, without starting workers
_PROBE = 16  # home pages this process renders first: enough cards to tell whether the store serves
_PRELOAD_AFTER = 200  # store lookups of one macro before reading all its cards at once
_PRELOAD_FROM = 3000  # pages rendered; fewer fetch their cards batch by batch
_FLUSH = 5000  # new cards held before they are stored
_CARD_PAGES = ("index", "archive", "category", "tag", "author")  # pages that show cards


def render_jobs(setup: RenderSetup, jobs: list[Job], workers: int,
                progress: Callable[[int], None] | None = None,
                beside: Callable[[], Any] | None = None) -> tuple[list[Rendered], list[Problem]]:
    """Render `jobs` into setup.stage; a job that fails is reported, not raised.
    `beside()` runs in this process once, while workers render if there are any."""
    global _WORKER, _JOBS
    if setup.cards is not None:
        setup.cards.open()  # before workers fork, so they never race to create it
    _WORKER, _JOBS = Renderer(setup), jobs
    results: list[Rendered] = []
    problems: list[Problem] = []
    stored: list[tuple[str, str, str, str]] = []
    scopes: dict[str, str] = {}

    def collect(outcomes, batches) -> None:
        for (done, errs, cards, used), batch in zip(outcomes, batches, strict=True):
            results.extend(done)
            problems.extend(errs)
            stored.extend(cards)
            scopes.update(used)
            if len(stored) >= _FLUSH and setup.cards is not None:  # a cold build of 100k posts
                setup.cards.save(stored, {})
                stored.clear()
            if progress:
                progress(len(batch))

    if len(jobs) < _PRELOAD_FROM:
        # Each batch's cards are fetched by key instead (about 4 us a card): a
        # process reading all of a macro's cards (10k cards 17-29 ms, more when
        # two workers read at once) pays only where it shows most of them.
        _WORKER.preload_after = None
    try:
        if workers <= 1 or len(jobs) < PARALLEL_FROM or not can_fork():
            batches = _batches(range(len(jobs)))
            collect(map_batches(_render_batch, batches, 1, False, beside), batches)
        else:
            _render_parallel(jobs, workers, collect, beside)
        if setup.cards is not None:
            _save_cards(setup.cards, _WORKER, stored, scopes)
    finally:
        if setup.cards is not None:
            setup.cards.close()  # and forget what was preloaded
        _WORKER, _JOBS = None, []
    return results, problems


def _render_parallel(jobs: list[Job], workers: int, collect, beside) -> None:
    """Cards must not be made once per worker: this process renders a first batch
    of the home listing, which shows whether the stored cards serve. When they
    do, all other pages go to the workers (this process among them) at once.
    When they do not (first build, a changed template or setting), workers
    render the pages without cards while this process renders the rest of the
    home listing (every post's card), then takes its share of theirs; the
    other listings then go to workers forked afterwards, which inherit those
    cards copy-on-write, while this process runs beside()."""
    assert _WORKER is not None
    home = [i for i, j in enumerate(jobs) if j.kind == "index"]
    probe, home = [home[:_PROBE]], _batches(home[_PROBE:])
    collect(map(_render_batch, probe), probe)
    if _WORKER.card_hits > 2 * _WORKER.card_misses:
        rest = home + _batches(i for i, j in enumerate(jobs) if j.kind != "index")
        collect(map_batches(_render_batch, rest, workers, parallel=True, local=beside), rest)
        return
    plain = _batches(i for i, j in enumerate(jobs) if j.kind not in _CARD_PAGES)
    rest = _batches(i for i, j in enumerate(jobs) if j.kind in _CARD_PAGES and j.kind != "index")
    collect(map_batches(_render_batch, plain, workers, parallel=True,
                        local=lambda: collect(map(_render_batch, home), home)), plain)
    # Only the workers render these: this process drops its cards (every post's: 20
    # MB at 10k posts) before it makes the feeds, sitemap and search index.
    collect(map_batches(_render_batch, rest, workers, parallel=True, local=_forgetting_cards(beside),
                        share=False), rest)


def _forgetting_cards(beside):
    """beside(), after this process drops the cards it made: the workers forked
    before it have their own copy, and it renders no more pages."""
    def run() -> None:
        assert _WORKER is not None
        _WORKER._macro_html.clear()
        _WORKER._cards.clear()
        if beside is not None:
            beside()
    return run


def _save_cards(store: CardStore, renderer: Renderer, rows: list, scopes: dict[str, str]) -> None:
    if rows or scopes:
        added = store.save(rows, scopes)
        if store.prune_due(added):
            keys = ContentKeys(renderer.setup.site, renderer.setup.card_keys)
            with no_gc():  # a card for every post, none in cycles
                store.prune({keys(renderer._card(i)) for i in range(len(renderer.setup.site.posts))})


def _batches(indices) -> list[list[int]]:
    indices = list(indices)
    return [indices[i:i + _BATCH] for i in range(0, len(indices), _BATCH)]

"""Run the stages in order, time each one, and return a BuildResult.

discover -> parse -> (images) -> assemble -> plan -> render -> write.
Nothing reaches the output folder unless every stage succeeded.
"""
from __future__ import annotations

import gc
import hashlib
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sitegen import __version__, freshness
from sitegen.assemble import AssembleSettings, PermalinkMemo, assemble
from sitegen.cache import (
    DOCS_CACHE,
    DOCS_DELTA,
    IMAGE_DOCS_CACHE,
    MANIFEST,
    PERMALINKS,
    BodyStore,
    DocCache,
    no_gc,
    read_keyed,
    sweep_temporaries,
    write_keyed,
)
from sitegen.config import SiteConfig, load_config
from sitegen.errors import BuildFailed, Problem
from sitegen.hexo.dates import site_timezone
from sitegen.output import Manifest, Transaction
from sitegen.parse import parse_all, settings_key
from sitegen.parse_settings import ParseSettings
from sitegen.plan import Job, card_keys, plan
from sitegen.site_lock import site_lock
from sitegen.site_outputs import extra_outputs, site_view, static_outputs
from sitegen.snapshot import SNAPSHOT, LastBuild, Model, snapshot_key
from sitegen.snapshot import save as save_snapshot
from sitegen.templates import TemplateFingerprints, load_theme, make_env
from sitegen.urls import Urls
from sitegen.workers import Beside, default_workers


@dataclass(frozen=True)
class BuildOptions:
    drafts: bool = False
    keep_going: bool = False
    jobs: int | None = None
    base_url: str | None = None
    images: bool = True
    offline: bool = False
    refetch: bool = False
    strict: bool = False
    now: datetime | None = None
    progress: Callable[[str, int, int], None] | None = None  # (stage, done, total)
    # sitegen serve: hold requests only while files move into the output.
    commit_lock: Callable[[], Any] | None = None
    # Fingerprinted CSS/JS names; serve turns this off so a CSS edit changes no page.
    fingerprint: bool = True
    # Write the snapshot in a forked child while the output is committed. serve
    # turns it off: it keeps the snapshot it wrote in memory for the next build.
    save_beside: bool = True
    # The program exits after this build (sitegen build): the child saving the
    # snapshot finishes on its own, holding the build lock, so the next build
    # waits for it and this one returns once the output is in place.
    detach_save: bool = False
    # Told (once) when another build of the site holds its lock; this one then waits.
    on_wait: Callable[[str], None] | None = None


@dataclass
class BuildResult:
    config: SiteConfig
    posts: int = 0
    pages: int = 0
    files: int = 0
    written: int = 0
    removed: int = 0
    rendered: int = 0
    parsed: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)
    images: Any = None  # images.LocaliseResult when localisation ran
    changed: list[str] = field(default_factory=list)
    model: str = ""  # "assembled", or the last build's model "patched", "regrouped" or "reordered"

    def summary(self) -> str:
        return (f"{self.posts} posts, {self.pages} pages, {self.files} files "
                f"({self.written} written, {self.removed} removed) in {self.seconds:.2f} s")


@contextmanager
def _timed(timings: dict[str, float], stage: str):
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def load_site_config(site_dir: Path, options: BuildOptions) -> SiteConfig:
    overrides: dict[str, Any] = {}
    if options.base_url:
        overrides = {"url": options.base_url, "root": None}
    config = load_config(site_dir, **overrides)
    if options.drafts:
        config = config.with_values(render_drafts=True)
    return config


def build(site_dir: Path, options: BuildOptions = BuildOptions()) -> BuildResult:
    try:
        return _build(site_dir, options)
    except _CorruptCache as exc:
        # Damaged cache entries were discarded; the second run parses those files again.
        exc.discard()
        return _build(site_dir, options)
    finally:
        gc.unfreeze()


class _CorruptCache(Exception):
    def __init__(self, config: SiteConfig, sources: set[str], keys: set[str]):
        super().__init__(f"{len(sources)} damaged cache entries")
        self.config, self.sources, self.keys = config, sources, keys

    def discard(self) -> None:
        store = BodyStore(self.config.cache_dir / "cache" / "bodies")
        store.discard_many(self.keys)
        store.discard_damaged()
        for name in (DOCS_CACHE, DOCS_DELTA, IMAGE_DOCS_CACHE, PERMALINKS, SNAPSHOT,
                     freshness.STATE):
            (self.config.cache_dir / name).unlink(missing_ok=True)


def _build(site_dir: Path, options: BuildOptions) -> BuildResult:
    config = load_site_config(site_dir, options)
    with site_lock(config.cache_dir, options.on_wait):
        start = time.perf_counter()  # a wait for another build is not this build's time
        sweep_temporaries(config.cache_dir)
        manifest = Manifest.load_watched(config.cache_dir / MANIFEST, config.output_dir)
        try:
            return _run(config, options, manifest, start)
        finally:
            manifest.stop_watching()


def _run(config: SiteConfig, options: BuildOptions, manifest: Manifest,
         start: float) -> BuildResult:
    result = BuildResult(config)
    t = result.timings
    workers = options.jobs or default_workers()
    now = options.now or datetime.now(UTC)
    progress = options.progress or (lambda stage, done, total: None)

    tz = site_timezone(config.timezone or None)
    theme = load_theme(config.site_dir, config.themes_dir, config.theme, config.theme_config)
    store = BodyStore(config.cache_dir / "cache" / "bodies")
    store.reopen_if_replaced()

    with _timed(t, "discover"):
        from sitegen.sources import discover
        files = discover(config.source_dir, drafts=config.render_drafts,
                         skip_render=config.skip_render, ignore=config.ignore + config.exclude)
    renderable = [f for f in files if f.kind in ("post", "draft", "page")]

    with _timed(t, "fresh"):
        key = freshness.inputs_key(config, options, files, theme)
        last = freshness.unchanged(config, key, manifest)
    if last is not None:
        result.posts, result.pages, result.files = last["posts"], last["pages"], last["files"]
        result.seconds = time.perf_counter() - start
        return result
    freshness.forget(config)  # until this build succeeds, the last state says nothing

    # Parse, assemble and plan make the documents and the model: objects that live
    # on and hold no cycles (a 10,000-post parse leaves some 400 objects in cycles).
    # The collector's full scans of them grew with the site: 7 s of a 100,000-post
    # build, 0.3 s at 10,000. no_gc() freezes them, so later scans skip them too.
    with _timed(t, "parse"), no_gc():
        psettings = _parse_settings(config, tz)
        doc_cache = DocCache.load(config.cache_dir / DOCS_CACHE, settings_key(psettings))
        old_bodies = {e[1].body_key for e in doc_cache.entries.values()}
        counter = _Counter(progress, "parse", len(renderable))
        parsed = parse_all(renderable, psettings, doc_cache, store, workers, counter)
    result.parsed = parsed.parsed
    errors = [p for p in parsed.problems if p.severity == "error"]
    warnings = [p for p in parsed.problems if p.severity == "warning"]
    if errors and not options.keep_going:
        raise BuildFailed(errors + warnings)
    warnings = [Problem(p.path, p.line, p.message, "warning") for p in errors] + warnings
    docs = parsed.docs

    if options.images and config.images.get("enabled", True) is not False:
        with _timed(t, "images"):
            from sitegen.image_stage import localise_docs
            docs, result.images, image_problems = localise_docs(
                docs, config, store, options, progress)
        # The image summary lists failures; --strict turns them into errors.
        if options.strict and image_problems:
            raise BuildFailed([Problem(p.path, p.line, p.message) for p in image_problems])

    urls = Urls.from_config(config)
    with _timed(t, "assemble"), no_gc():
        asettings = _assemble_settings(config, now)
        snap_key = snapshot_key(_memo_key(asettings),
                                repr((urls, config.per_page, str(config.timezone))))
        last = LastBuild(config.cache_dir / SNAPSHOT, snap_key)
        model = last.patched(docs, files, asettings, urls, config.per_page)
        memo = PermalinkMemo()
        if model is None:
            memo = _load_permalinks(config, asettings)
            site, problems = assemble(docs, files, asettings, memo)
        else:
            site, problems = model.site, model.problems
        result.model = "assembled" if model is None else model.how
    warnings += [p for p in problems if p.severity == "warning"]
    errors = [p for p in problems if p.severity == "error"]

    with _timed(t, "plan"), no_gc():
        if model is None:
            cards = card_keys(site)
            jobs = plan(site, urls, config.per_page, cards)
            model = Model(site, problems, cards, jobs)
        cards, jobs = model.cards, model.jobs
        prints = TemplateFingerprints(make_env(theme))  # reads sources, compiles nothing
        statics, asset_map = static_outputs(theme, site, options.fingerprint)
        errors += _clashes(jobs, statics)
    if errors:
        raise BuildFailed(errors + warnings)

    tx = Transaction(config.output_dir, config.cache_dir / "stage", manifest)
    tx.begin()
    saver: Beside | None = None
    try:
        from sitegen.card_cache import CardStore
        from sitegen.render import (  # Jinja loads only now
            CorruptBody,
            Renderer,
            RenderSetup,
            render_jobs,
        )

        setup = RenderSetup(
            site=site, urls=urls, theme=theme, config=_template_config(config),
            site_view=site_view(config, urls, site, theme), assets=asset_map, bodies=store,
            stage=tx.stage, bytecode_dir=config.cache_dir / "jinja",
            date_format=config.date_format, time_format=config.time_format,
            cards=CardStore(config.cache_dir / "cache" / "cards"), card_keys=cards,
        )
        global_key = _global_key(config, setup)
        with _timed(t, "check"):
            todo, keys = _stale_jobs(model, prints, global_key, tx, config.output_dir)
            tx.use_spares([job.output for job in todo])
        extras: list[tuple[str, bytes]] = []  # feeds, sitemap, search index: made while workers render
        damaged: list[Problem] = []

        def make_extras() -> None:
            try:
                extras.extend(extra_outputs(config, urls, Renderer(setup), model, last))
            except CorruptBody as exc:  # a feed shows the body of a page not rendered now
                damaged.append(Problem(exc.source, 0, exc.key, "corrupt"))

        with _timed(t, "render"):
            rendered, render_errors = render_jobs(
                setup, todo, workers, _Counter(progress, "render", len(todo)), make_extras)
        render_errors += damaged
        corrupt = [p for p in render_errors if p.severity == "corrupt"]
        if corrupt:
            raise _CorruptCache(config, {p.path for p in corrupt}, {p.message for p in corrupt})
        warnings += [p for p in render_errors if p.severity == "warning"]
        render_errors = [p for p in render_errors if p.severity == "error"]
        if render_errors:
            raise BuildFailed(render_errors + warnings)
        for r in rendered:
            tx.staged_file(r.output, keys[r.output], r.digest, (r.size, r.mtime_ns))
        result.rendered = len(rendered)
        with _timed(t, "write"), no_gc():  # 180k manifest entries at 100k posts, no cycles
            for output, source, inputs in statics:
                tx.add_file(output, source, inputs)
            if result.images is not None:
                for output, path in result.images.files.items():
                    tx.add_file(output, Path(path), path.name if hasattr(path, "name") else str(path))
            for output, data in extras:
                tx.add_bytes(output, data)
            last = None  # its memos are used: free them before the snapshot is saved

            def save_model() -> None:
                _save_snapshot_and_spares(config.cache_dir / SNAPSHOT, snap_key, model, docs,
                                          files, asettings, tx, todo)

            # The model is final: a child saves it (0.2 s at 10k posts, 2 s at 100k) on
            # the other core while this process moves the files. A snapshot newer than
            # the output is still right: it is a cache of the model, and pages are
            # checked against the manifest. A patched model's small delta is saved by
            # a detached child started last instead (see below).
            late = options.detach_save and result.model == "patched"
            if not late:
                saver = Beside(save_model, options.save_beside, detach=options.detach_save)
            if options.commit_lock is not None:
                with options.commit_lock():
                    result.written, result.removed = tx.commit()
            else:
                result.written, result.removed = tx.commit()
    except BaseException as exc:
        tx.abort()
        if saver is not None:
            saver.wait()
        if isinstance(exc, OSError) and not tx.committing:  # say a full disk plainly
            where = str(config.output_dir / str(exc.filename or ""))  # a page's is relative
            raise BuildFailed([Problem(where, 0, f"cannot write: {exc.strerror or exc}")]) from exc
        raise
    with _timed(t, "save"), no_gc():
        _save_caches(doc_cache, settings_key(psettings), memo, asettings, config, store,
                     old_bodies, {d.body_key for d in parsed.docs} | {d.body_key for d in docs})
        if saver is not None:
            saver.wait()
    result.posts, result.pages = len(site.posts), len(site.pages)
    result.files = tx.outputs
    result.changed = sorted(tx.staged)
    result.warnings = warnings
    freshness.remember(config, key, {"posts": result.posts, "pages": result.pages,
                                     "files": result.files}, _recheck_after(config, docs, now, result))
    result.seconds = time.perf_counter() - start
    if late:
        # Not waited for, and quick: started sooner, it would make this process copy
        # each page of its heap it writes while the child lives (the commit and the
        # caches' save touched thousands: 20+ ms after one edit at 10k posts).
        # A whole snapshot starts early, or the next build would wait for it.
        # wait() returns at once, or saves here where there is no fork.
        Beside(save_model, options.save_beside, detach=True).wait()
    return result


def _save_snapshot_and_spares(path: Path, key: str, model: Model, docs, files,
                              asettings: AssembleSettings, tx: Transaction, todo: list[Job]) -> None:
    """The snapshot; after a first build also spare files for the pages a new newest
    post moves (home and archive listings), which the next build would otherwise
    create anew. No SQLite here: this may run in a forked child, which can outlive
    `sitegen build`: where the cache folder was removed meanwhile, nothing is saved."""
    try:
        save_snapshot(path, key, model, docs, files, asettings)
    except FileNotFoundError:
        return
    tx.fill_spares(sum(1 for j in todo if j.kind == "index"
                       or (j.kind == "archive" and j.year is None)))


def _save_caches(doc_cache: DocCache, doc_key: str, memo: PermalinkMemo,
                 asettings: AssembleSettings, config: SiteConfig, store: BodyStore,
                 old_bodies: set[str], live: set[str]) -> None:
    doc_cache.save(doc_key)
    if memo.changed:
        write_keyed(config.cache_dir / PERMALINKS, "permalinks", _memo_key(asettings), memo.used)
    if not old_bodies:  # no usable doc cache: sweep the whole store once
        store.prune(live)
    else:  # only the bodies of files that changed or went away
        store.discard_many(old_bodies - live)


def _recheck_after(config: SiteConfig, docs, now: datetime, result: BuildResult) -> float | None:
    """When time alone could change the site: a future post coming due, image retries."""
    moments = []
    if not config.future:
        moments += [d.date.timestamp() for d in docs if d.date > now]
    if result.images is not None and result.images.failures:
        from sitegen.images import ImageSettings

        retry = ImageSettings.from_mapping(config.images, str(config.config_file)).retry_failed_after
        moments.append(time.time() + retry)
    return min(moments) if moments else None


class _Counter:
    def __init__(self, progress, stage: str, total: int):
        self.progress, self.stage, self.total, self.done = progress, stage, total, 0

    def __call__(self, n: int) -> None:
        self.done += n
        self.progress(self.stage, self.done, self.total)


def _parse_settings(config: SiteConfig, tz) -> ParseSettings:
    values = (str(config.author), config.new_post_name, config.excerpt_length, config.sanitize,
              tuple(config.sanitize_iframe_hosts), config.updated_option, str(tz), __version__)
    return ParseSettings(
        tz=tz, author=str(config.author or ""), new_post_name=config.new_post_name,
        excerpt_length=config.excerpt_length, sanitize=config.sanitize,
        iframe_hosts=tuple(h.lower() for h in config.sanitize_iframe_hosts),
        updated_option=str(config.updated_option),
        fingerprint=hashlib.sha1(repr(values).encode()).hexdigest()[:16],
    )


def _assemble_settings(config: SiteConfig, now: datetime) -> AssembleSettings:
    return AssembleSettings(
        permalink=config.permalink, permalink_defaults=config.permalink_defaults,
        default_category=config.default_category, category_map=config.category_map,
        tag_map=config.tag_map, filename_case=config.filename_case, future=config.future,
        post_asset_folder=config.post_asset_folder, now=now,
    )


def _memo_key(settings: AssembleSettings) -> str:
    fixed = {k: v for k, v in settings.__dict__.items() if k != "now"}
    return hashlib.sha1(repr((sorted(fixed.items(), key=str), __version__)).encode()).hexdigest()


def _load_permalinks(config: SiteConfig, settings: AssembleSettings) -> PermalinkMemo:
    return PermalinkMemo(known=read_keyed(config.cache_dir / PERMALINKS, "permalinks",
                                          _memo_key(settings)))


def _template_config(config: SiteConfig) -> dict[str, Any]:
    return {k: v for k, v in config.values.items() if isinstance(v, (str, int, float, bool, list, dict))}


def _global_key(config: SiteConfig, setup) -> str:
    # site.counts change with every added post; only templates that show them depend
    # on them (see SITE_WIDE), so they stay out of the key every page carries.
    view = {k: v for k, v in setup.site_view.items() if k != "counts"}
    blob = repr((config.fingerprint(), view, setup.assets, __version__,
                 sorted(setup.theme.settings.items(), key=str),
                 sorted(setup.theme.languages.items())))  # the UI strings t() shows
    return hashlib.sha1(blob.encode()).hexdigest()


def _site_key(site) -> str:
    blob = repr(([(s, t.name, len(t.posts)) for s, t in site.categories.items()],
                 [(s, t.name, len(t.posts)) for s, t in site.tags.items()],
                 [(s, t.name, len(t.posts)) for s, t in site.authors.items()],
                 len(site.posts)))
    return hashlib.sha1(blob.encode()).hexdigest()


def _stale_jobs(model: Model, prints: TemplateFingerprints, global_key: str,
                tx: Transaction, output_dir: Path) -> tuple[list[Job], dict[str, str]]:
    """Jobs whose inputs, templates or site-wide data changed since the last build."""
    jobs = model.jobs
    keys = dict(zip([job.output for job in jobs], _page_keys(model, prints, global_key),
                    strict=True))
    # 19k pages at 10k posts: set and dict operations, not a call per page.
    entries, untouched = tx.manifest.entries, tx.manifest.untouched(output_dir)
    right = {output: key for output, key in keys.items()
             if output in untouched and entries[output].inputs == key}
    tx.keep_all(right)
    return [job for job in jobs if job.output not in right], keys


def _page_keys(model: Model, prints: TemplateFingerprints, global_key: str) -> list[str]:
    """Per job: its inputs with its templates' fingerprints and the site-wide key.
    A patched model reuses the last build's keys except where inputs changed."""
    jobs = model.jobs
    site_key = _site_key(model.site)
    template_keys: dict[str, str] = {}
    for template in {job.template for job in jobs}:
        fp = prints.fingerprint(template) if template else "none"
        wide = site_key if template and prints.site_wide(template) else ""
        template_keys[template] = fp + wide
    basis = (global_key, sorted(template_keys.items()))
    sha1 = hashlib.sha1

    def key(job: Job) -> str:
        return sha1(f"{job.inputs}|{template_keys[job.template]}|{global_key}".encode()).hexdigest()

    old = model.basis
    if model.changed is not None and model.keys is not None and old and old[0] == global_key:
        # A new post changes the site key, and with it the key of templates that
        # show site-wide lists: only their jobs, and jobs with new inputs, get new keys.
        was = dict(old[1])
        moved = {name for name, value in template_keys.items() if was.get(name) != value}
        redo = set(model.changed.jobs)
        if moved:
            redo.update(k for k, job in enumerate(jobs) if job.template in moved)
        keys = list(model.keys)
        for k in redo:
            keys[k] = key(jobs[k])
    else:
        keys = [key(job) for job in jobs]
    model.keys, model.basis = keys, basis
    return keys


def _clashes(jobs: list[Job], statics) -> list[Problem]:
    """Two sources writing one output file is an error naming both."""
    owner: dict[str, str] = {}
    problems = []
    sources = [(j.output, j.ref if j.kind in ("post", "page") else f"(generated {j.kind} page)")
               for j in jobs]
    sources += [(out, str(src)) for out, src, _ in statics]
    for output, source in sources:
        if output in owner and owner[output] != source:
            problems.append(Problem(source, 0, f"writes {output}, which {owner[output]} also writes"))
        else:
            owner[output] = source
    return problems

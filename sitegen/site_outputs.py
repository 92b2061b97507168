"""Outputs that are not theme pages: copied files, theme assets, feeds and indexes."""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sitegen import feeds
from sitegen.config import SiteConfig
from sitegen.model import Site
from sitegen.templates import Theme
from sitegen.urls import Urls

FINGERPRINTED = (".css", ".js")


def _walk(folder: Path) -> Iterator[tuple[str, Path]]:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            path = Path(dirpath) / name
            yield path.relative_to(folder).as_posix(), path


def _stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def static_outputs(theme: Theme, site: Site, fingerprint: bool = True
                   ) -> tuple[list[tuple[str, Path, str]], dict[str, str]]:
    """Theme static files (CSS/JS fingerprinted for long caching) and the site's own files.

    Returns ([(output, source file, inputs)], {theme path: output path}).
    """
    files: dict[str, tuple[Path, str]] = {}
    asset_map: dict[str, str] = {}
    for folder in reversed(theme.static_dirs):  # the most specific theme wins
        for rel, path in _walk(folder):
            files[rel] = (path, _stamp(path))
    outputs: list[tuple[str, Path, str]] = []
    for rel, (path, stamp) in sorted(files.items()):
        asset_map[rel] = rel
        if fingerprint and rel.endswith(FINGERPRINTED):
            digest = hashlib.sha1(path.read_bytes()).hexdigest()[:10]
            stem, ext = rel.rsplit(".", 1)
            asset_map[rel] = f"{stem}.{digest}.{ext}"
            outputs.append((asset_map[rel], path, stamp))
        outputs.append((rel, path, stamp))
    for asset in site.assets:
        path = Path(asset.file)
        outputs.append((asset.output, path, _stamp(path)))
    return outputs, asset_map


def site_view(config: SiteConfig, urls: Urls, site: Site, theme: Theme) -> dict[str, Any]:
    menu = config.menu or theme.settings.get("menu") or {}
    return {
        "title": str(config.title or ""),
        "subtitle": str(config.subtitle or ""),
        "description": str(config.description or ""),
        "keywords": config.keywords if isinstance(config.keywords, (str, list)) else "",
        "author": str(config.author or ""),
        "language": str(config.language or "en"),
        "url": config.base_url,
        "root": config.root,
        "home_url": urls.url(""),
        "feed_url": urls.url("atom.xml"),
        "search_url": urls.url("search/"),
        "search_index_url": urls.url("search.json"),
        "archive_url": urls.url(urls.archive()),
        "categories_url": urls.url(urls.category("")),
        "tags_url": urls.url(urls.tag("")),
        "authors_url": urls.url(urls.author("")),
        "menu": [{"name": str(k), "url": urls.url(str(v)) if not str(v).startswith("http") else str(v)}
                 for k, v in menu.items()],
        "counts": {"posts": len(site.posts), "categories": len(site.categories),
                   "tags": len(site.tags), "authors": len(site.authors)},
    }


def extra_outputs(config: SiteConfig, urls: Urls, renderer, model, last) -> Iterator[tuple[str, bytes]]:
    """atom.xml, sitemap.xml, robots.txt and search.json. The sitemap lines and
    search entries are left on `model` (snapshot.Model) for the next build: after
    a patched build only the changed documents' ones are made again, after any
    other those of unchanged posts are taken from `last` (snapshot.LastBuild)."""
    site = model.site
    meta = {"title": config.title, "subtitle": config.subtitle, "author": config.author}

    def body(i: int) -> str:
        post = site.posts[i]
        return renderer.body(post.doc, post.path)

    yield "atom.xml", feeds.atom_feed(site, urls, meta, body, config.feed_limit)
    model.sitemap = _sitemap_lines(urls, model, last)
    yield "sitemap.xml", feeds.sitemap_xml([pair[1] for pair in model.sitemap if pair is not None])
    yield "robots.txt", feeds.robots(urls)
    model.search = _search_parts(urls, model, last)
    yield "search.json", feeds.search_json(model.search)


def _sitemap_lines(urls: Urls, model, last) -> list[tuple[float | None, str] | None]:
    """Per job, its sitemap (stamp, line), or None for pages left out."""
    site, jobs = model.site, model.jobs
    if model.sitemap is not None and model.changed is not None:
        lines = list(model.sitemap)
        n = len(site.posts)
        changed = [(i, site.posts[i].doc) for i in model.changed.posts]
        changed += [(n + k, site.pages[k].doc) for k in model.changed.pages]
        for k, doc in changed:
            if lines[k] is not None:
                lines[k] = _sitemap_line(urls, jobs[k].output, doc.updated)
        return lines
    if model.carried is not None and model.carried.sitemap is not None:
        return _carried_sitemap_lines(urls, model)
    dated = {p.output: p.doc.updated for p in site.posts}
    dated.update({p.output: p.doc.updated for p in site.pages})
    shown = [_in_sitemap(j) for j in jobs]
    entries = [(j.output, dated.get(j.output)) for j, s in zip(jobs, shown, strict=True) if s]
    made = iter(feeds.sitemap_lines(entries, urls, _link_path, last.sitemap_memo))
    return [next(made) if s else None for s in shown]


def _carried_sitemap_lines(urls: Urls, model) -> list[tuple[float | None, str] | None]:
    """The saved line of each job whose output the last plan had and whose document,
    if any, is the same; a line depends on nothing else."""
    site, jobs, carried = model.site, model.jobs, model.carried
    saved, job_of, post_of = carried.sitemap, carried.job_of, carried.post_of
    posts, first_listing = len(site.posts), len(site.posts) + len(site.pages)
    lines = []
    for k, job in enumerate(jobs):
        o = job_of.get(job.output)
        if o is not None and (k >= first_listing or (k < posts and post_of[k] is not None)):
            lines.append(saved[o])
        elif not _in_sitemap(job):
            lines.append(None)
        else:
            when = site.posts[k].doc.updated if k < posts else \
                site.pages[k - posts].doc.updated if k < first_listing else None
            lines.append(_sitemap_line(urls, job.output, when))
    return lines


def _in_sitemap(job) -> bool:
    return job.kind not in ("404", "search") and job.output.endswith(".html")


def _sitemap_line(urls: Urls, output: str, when) -> tuple[float | None, str]:
    """(lastmod stamp, <url> line) of one output file."""
    return (when.timestamp() if when is not None else None,
            feeds.sitemap_line(_link_path(output), when, urls))


def _search_parts(urls: Urls, model, last) -> list[bytes]:
    site = model.site
    if model.search is not None and model.changed is not None:
        parts = list(model.search)
        for i in model.changed.posts:
            parts[i] = feeds.search_entry(site, urls, i)
        return parts
    carried = model.carried
    if carried is not None and carried.search is not None:  # the same document and card
        saved, cards, was = carried.search, model.cards, carried.cards
        return [saved[o] if o is not None and was[o] == cards[k] else feeds.search_entry(site, urls, k)
                for k, o in enumerate(carried.post_of)]
    return feeds.search_parts(site, urls, model.cards, last.search_memo)


def _link_path(output: str) -> str:
    if output == "index.html":
        return ""
    return output[: -len("index.html")] if output.endswith("/index.html") else output

"""The images stage of a build: localise the images of changed documents.

The image package does the work (fetch, cache, Pillow, rewrite). This stage
decides which documents need it: a document whose source, image settings and
root are unchanged reuses its localised body from the body store, unless it
had failures that are due for a retry. So a no-change rebuild reads no bodies
and makes no requests.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from sitegen.cache import IMAGE_DOCS_CACHE, BodyStore, read_keyed, write_keyed
from sitegen.config import SiteConfig
from sitegen.errors import Problem
from sitegen.images import (
    ImageDoc,
    ImageFailure,
    ImageSettings,
    ImageStats,
    LocaliseResult,
    localise,
    write_report,
)
from sitegen.model import Document

REMOTE_MARKERS = ("<img", "<source", "poster=", "<IMG", "<SOURCE")


def _settings_key(settings: ImageSettings, root: str) -> str:
    return hashlib.sha1(repr((settings, root)).encode()).hexdigest()[:16]


def localise_docs(docs: list[Document], config: SiteConfig, store: BodyStore, options,
                  progress: Callable[[str, int, int], None]
                  ) -> tuple[list[Document], LocaliseResult, list[Problem]]:
    settings = ImageSettings.from_mapping(config.images, str(config.config_file))
    key = _settings_key(settings, config.root)
    cache_file = config.cache_dir / IMAGE_DOCS_CACHE
    old = read_keyed(cache_file, "image-docs", key)
    now = time.time()
    entries: dict[str, dict] = {}
    todo: list[int] = []
    out = list(docs)
    for i, doc in enumerate(docs):
        entry = old.get(doc.digest)
        if entry and _reusable(entry, settings, options, now):
            entries[doc.digest] = entry
            out[i] = _apply(doc, entry)
        else:
            todo.append(i)
    result = _run(docs, todo, settings, config, store, options, progress, entries, out, now)
    write_keyed(cache_file, "image-docs", key, entries)
    fresh = {docs[i].digest for i in todo}
    combined = _combine(result, [e for d, e in entries.items() if d not in fresh])
    write_report(combined, config.cache_dir / "image-report.json")
    problems = [Problem(f.source, 0, f"image {f.url} kept remote: {f.reason}"
                        + (f" ({f.detail})" if f.detail else ""), "warning")
                for f in combined.failures if not f.cached]
    return out, combined, problems


def _reusable(entry: dict, settings: ImageSettings, options, now: float) -> bool:
    if entry["failures"] and (options.refetch or now - entry["checked"] >= settings.retry_failed_after):
        return False
    return all(Path(p).is_file() for p in entry["files"].values())


def _apply(doc: Document, entry: dict) -> Document:
    return _localised(doc, entry["body_key"], entry["images"], entry["excerpt"])


def _localised(doc: Document, body_key: str, images: dict, excerpt: str | None) -> Document:
    """The document pointing at local images. Its digest changes with them: later
    caches take the digest as everything a document shows, and a retried image
    can change a card's thumbnail while the source file stays the same."""
    if body_key == doc.body_key and images == doc.images and excerpt == doc.excerpt_html:
        return doc
    digest = hashlib.sha1(repr((doc.digest, body_key, images, excerpt)).encode()).hexdigest()[:32]
    return doc.evolve(body_key=body_key, images=images, excerpt_html=excerpt, digest=digest)


def _run(docs, todo, settings, config, store, options, progress, entries, out, now):
    if not todo:
        return LocaliseResult((), {}, (), ImageStats())
    inputs = []
    for i in todo:
        doc = docs[i]
        html = store.get(doc.body_key)
        fields = {k: v for k, v in doc.images.items() if k in settings.fields}
        base = _base_dir(config, doc)
        inputs.append(ImageDoc(doc.source, html, fields, base))
        if doc.excerpt_html and any(m in doc.excerpt_html for m in REMOTE_MARKERS):
            inputs.append(ImageDoc(doc.source, doc.excerpt_html, {}, base))
    result = localise(inputs, settings, cache_dir=config.cache_dir / "cache",
                      url_prefix=config.root, offline=options.offline, refetch=options.refetch,
                      jobs=options.jobs, progress=progress)
    failures_by_source: dict[str, list[list[str]]] = {}
    for f in result.failures:
        failures_by_source.setdefault(f.source, []).append([f.url, f.reason, f.detail])
    k = 0
    for i in todo:
        doc = docs[i]
        localised = result.docs[k]
        k += 1
        excerpt = doc.excerpt_html
        if doc.excerpt_html and any(m in doc.excerpt_html for m in REMOTE_MARKERS):
            excerpt = result.docs[k].html
            k += 1
        body_key = doc.body_key
        original = store.get(doc.body_key)
        if localised.html != original:
            body_key = hashlib.sha1((doc.body_key + localised.html).encode()).hexdigest()[:32]
            store.put(body_key, localised.html)
        images = _image_fields(doc.images, localised)
        files = _doc_files(localised, result.files, config.root)
        entry = {"source": doc.source, "body_key": body_key, "images": images, "files": files,
                 "failures": failures_by_source.get(doc.source, []), "checked": now,
                 "excerpt": excerpt, "count": len(localised.images)}
        entries[doc.digest] = entry
        out[i] = _localised(doc, body_key, images, excerpt)
    return result


def _base_dir(config: SiteConfig, doc: Document) -> Path:
    """Where a document's relative images live: its asset folder, else its own folder."""
    source = config.source_dir / doc.source
    if doc.kind == "post" and config.post_asset_folder:
        return source.with_suffix("")
    return source.parent


def _image_fields(original: dict[str, Any], localised) -> dict[str, Any]:
    """Front-matter image fields for themes: {url, width, height, srcset} where local."""
    by_url = {ref.url: ref for ref in localised.images}
    if localised.thumbnail is not None:
        by_url.setdefault(localised.thumbnail.url, localised.thumbnail)

    def view(value: Any) -> Any:
        if isinstance(value, list):
            return [view(v) for v in value]
        ref = by_url.get(value) if isinstance(value, str) else None
        if ref is None:
            return value
        return {"url": ref.url, "width": ref.width, "height": ref.height, "srcset": ref.srcset}

    images = dict(original)
    images.update({k: view(v) for k, v in localised.fields.items()})
    if localised.thumbnail is not None:
        t = localised.thumbnail
        images["card"] = {"url": t.url, "width": t.width, "height": t.height, "srcset": t.srcset}
    return images


def _doc_files(localised, files: dict[str, Path], root: str) -> dict[str, str]:
    """The processed files a document's rewritten HTML and fields point at."""
    urls: set[str] = set()
    refs = list(localised.images) + ([localised.thumbnail] if localised.thumbnail else [])
    for ref in refs:
        urls.add(ref.url)
        urls.update(part.strip().split(" ")[0] for part in ref.srcset.split(",") if part.strip())
    found = {}
    for url in urls:
        rel = url[len(root):] if url.startswith(root) else url.lstrip("/")
        if rel in files:
            found[rel] = str(files[rel])
    return found


def _combine(result: LocaliseResult, reused: list[dict]) -> LocaliseResult:
    """One result for the report and the output: this run plus the reused documents."""
    files = dict(result.files)
    failures = list(result.failures)
    images = 0
    for entry in reused:
        for out, path in entry["files"].items():
            files.setdefault(out, Path(path))
        images += entry["count"]
        failures += [ImageFailure(entry["source"], row[0], row[1], row[2], cached=True)
                     for row in entry["failures"]]
    stats = result.stats
    stats = replace(stats, found=stats.found + images, from_cache=stats.from_cache + images,
                    failed=stats.failed + len(failures) - len(result.failures))
    return LocaliseResult(result.docs, files, tuple(failures), stats, result.localised)

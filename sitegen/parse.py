"""The parse stage: every post and page, cached by content, in parallel.

An unchanged file (same mtime and size, or same bytes) is not read again:
its Document comes from the doc cache and its body stays in the body store.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sitegen import __version__
from sitegen.cache import BodyStore, DocCache
from sitegen.errors import Problem
from sitegen.model import Document
from sitegen.parse_settings import ParseSettings
from sitegen.sources import SourceFile
from sitegen.workers import map_batches


@dataclass(frozen=True)
class ParseResult:
    docs: list[Document]
    problems: list[Problem]
    parsed: int  # files actually parsed this time (the rest came from the cache)


_FORMAT = 2  # 2: a body is stored under a key of its own text, not of its file


def settings_key(settings: ParseSettings) -> str:
    blob = repr((_FORMAT, settings.fingerprint, str(settings.tz), __version__))
    return hashlib.sha1(blob.encode()).hexdigest()


def _parse_one(src: SourceFile, settings: ParseSettings, last: Document | None):
    from sitegen.documents import parse_file  # Markdown and Pygments load only when needed

    parsed = parse_file(src, settings, last)
    html = parsed.body.html if parsed.body is not None else None  # None: the stored body stands
    return src, parsed.doc, parsed.problems, html


def _parse_batch(args):
    batch, settings, store = args
    results = [_parse_one(src, settings, last) for src, last in batch]
    # One transaction per batch: a row each, not a file each.
    store.put_many([(doc.body_key, html) for _, doc, _, html in results if html is not None])
    return [r[:3] for r in results]


def parse_all(files: list[SourceFile], settings: ParseSettings, cache: DocCache, store: BodyStore,
              workers: int, progress: Callable[[int], None] | None = None) -> ParseResult:
    docs: list[Document] = []
    problems: list[Problem] = []
    todo: list[tuple[SourceFile, Document | None]] = []  # with its last document, if usable
    fresh: dict[str, tuple] = {}
    store.open()  # here, before any worker is forked
    held = store.keys() if cache.entries else set()
    for src in files:
        entry = cache.lookup(src.rel, src.stamp)
        if entry is not None and entry[1].body_key in held:
            docs.append(entry[1])
            problems += entry[2]
            fresh[src.rel] = entry
        else:
            todo.append((src, _reusable(cache.entries.get(src.rel), held)))
    if progress and len(files) > len(todo):
        progress(len(files) - len(todo))
    for src, doc, found in _run(todo, settings, store, workers, progress):
        problems += found
        if doc is None:
            continue
        docs.append(doc)
        fresh[src.rel] = (src.stamp, doc, tuple(found))
    cache.changed = bool(todo) or fresh.keys() != cache.entries.keys()
    cache.entries = fresh
    return ParseResult(docs, problems, len(todo))


def _reusable(entry: tuple | None, held: set[str]) -> Document | None:
    """The last document of a changed file, if its body's rendering can be reused."""
    if entry is None or entry[2] or entry[1].body_key not in held:
        return None  # a problem could come from the body: parse it all again
    return entry[1]


def _run(todo, settings, store, workers, progress):
    size = max(8, min(128, len(todo) // (max(workers, 1) * 4) or 8))
    batches = [(todo[i : i + size], settings, store) for i in range(0, len(todo), size)]
    for results in map_batches(_parse_batch, batches, workers, parallel=len(todo) >= 64):
        yield from results
        if progress:
            progress(len(results))

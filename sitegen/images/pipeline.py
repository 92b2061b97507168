"""`localise`: documents in, documents with local images out.

Discover every image reference, resolve each distinct source once (cache,
network, Pillow; see engine.py), then rewrite each document's HTML and fields.
Nothing is written outside `cache_dir`; the caller copies `result.files` into
the output.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sitegen.images.cache import ImageCache, Manifest
from sitegen.images.discover import field_urls, image_urls_in_tag, scan, source_key
from sitegen.images.engine import Engine, Outcome
from sitegen.images.fetch import Fetcher
from sitegen.images.model import (
    ImageDoc,
    ImageFailure,
    ImageRef,
    ImageStats,
    LocalisedDoc,
    LocaliseResult,
)
from sitegen.images.process import FORMATS, ProcessParams
from sitegen.images.rewrite import Failed, LocalImage, rewrite_html
from sitegen.images.rewrite import Outcome as RefOutcome
from sitegen.images.safety import Refused, clean_url, parse_target
from sitegen.images.settings import ImageSettings

THUMBNAIL_ORDER = ("thumbnail", "headimg")


@dataclass(frozen=True)
class _Source:
    """A reference resolved to what identifies the image: a URL, a path, or a failure."""

    key: str
    remote: bool
    reason: str = ""
    detail: str = ""


def localise(docs: Sequence[ImageDoc], settings: ImageSettings, *, cache_dir: Path,
             url_prefix: str = "/", offline: bool = False, refetch: bool = False,
             jobs: int | None = None, progress: Callable[[str, int, int], None] | None = None,
             executor_factory: Callable | None = None) -> LocaliseResult:
    """Localise the images of `docs`; see the package docstring for the guarantees."""
    if not settings.enabled:
        return LocaliseResult(tuple(LocalisedDoc(d.html, dict(d.fields), None) for d in docs),
                              {}, (), ImageStats())
    cache = ImageCache.at(cache_dir)
    tags = [scan(doc.html) for doc in docs]
    refs = [_references(doc, doc_tags, settings) for doc, doc_tags in zip(docs, tags, strict=True)]
    sources = {s.key: s for doc_refs in refs for s in doc_refs.values() if s is not None}
    fetcher = Fetcher(settings, accept=_accept_header())
    engine = Engine(cache=cache, fetcher=fetcher, params=process_params(settings),
                    settings_key=settings.processing_key(), offline=offline, refetch=refetch,
                    jobs=jobs or os.cpu_count() or 1, progress=progress,
                    executor_factory=executor_factory)
    outcomes = engine.run(sorted(k for k, s in sources.items() if s.remote and not s.reason),
                          sorted(k for k, s in sources.items() if not s.remote and not s.reason))
    for key, source in sources.items():
        if source.reason:
            outcomes[key] = Outcome(None, source.reason, source.detail)
    prefix = url_prefix if url_prefix.endswith("/") else url_prefix + "/"
    local = {key: _local_image(o.manifest, prefix, settings.output_dir)
             for key, o in outcomes.items() if o.manifest is not None}
    built = [_build_doc(doc, doc_tags, doc_refs, outcomes, local, settings)
             for doc, doc_tags, doc_refs in zip(docs, tags, refs, strict=True)]
    manifests = {o.manifest.key: o.manifest for o in outcomes.values() if o.manifest}
    files = {f"{settings.output_dir}/{v.name}": cache.processed_path(v.name)
             for m in manifests.values() for v in m.variants}
    failures = tuple(f for _, doc_failures in built for f in doc_failures)
    stats = ImageStats(
        found=len(sources), references=sum(len(r) for r in refs),
        fetched=engine.counts.fetched, revalidated=engine.counts.revalidated,
        from_cache=sum(1 for k, s in sources.items()
                       if s.remote and k in local and k not in engine.network),
        local=sum(1 for k, s in sources.items() if not s.remote and k in local),
        failed=sum(1 for k in sources if k not in local), processed=engine.counts.processed,
        requests=fetcher.requests, bytes_downloaded=fetcher.bytes_downloaded,
        bytes_written=sum(v.size for m in manifests.values() for v in m.variants))
    localised = {key: image.src for key, image in sorted(local.items()) if sources[key].remote}
    return LocaliseResult(tuple(doc for doc, _ in built), files, failures, stats, localised)


def process_params(settings: ImageSettings) -> ProcessParams:
    return ProcessParams(settings.widths, settings.max_width, settings.thumb_width,
                         settings.quality, settings.max_pixels, settings.effort)


def _accept_header() -> str:
    """Ask only for formats Pillow here can decode, so content negotiation cannot trip us."""
    types = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif",
             "WEBP": "image/webp", "AVIF": "image/avif"}
    listed = [types[f] for f in ("AVIF", "WEBP", "PNG", "JPEG", "GIF") if f in FORMATS]
    return ",".join(listed) + ",image/*;q=0.8"


def _references(doc: ImageDoc, tags: list, settings: ImageSettings) -> dict[str, _Source | None]:
    """Each distinct raw URL in the document, mapped to its source (None: not ours)."""
    raws = list(field_urls(doc.fields, settings.fields))
    raws += [url for tag in tags for url in image_urls_in_tag(tag)]
    return {raw: _resolve(raw, doc.base_dir, doc.page_url) for raw in dict.fromkeys(raws)}


def _resolve(raw: str, base_dir: Path | None, page_url: str | None) -> _Source | None:
    found = source_key(raw, base_dir, page_url)
    if found is None:
        return None
    kind, value = found
    if kind == "remote":
        try:
            return _Source(parse_target(value).url, True)
        except Refused as exc:
            return _Source(f"invalid:{clean_url(raw)}", True, exc.reason, exc.detail)
    assert base_dir is not None
    base = Path(base_dir).resolve()
    path = Path(value).resolve()
    if not path.is_relative_to(base):  # "../../etc/passwd" stays where it is
        return _Source(f"invalid:{path}", False, "outside source folder", str(path))
    if not path.is_file():
        return _Source(str(path), False, "file not found", str(path))
    return _Source(str(path), False)


def _local_image(manifest: Manifest, prefix: str, output_dir: str) -> LocalImage:
    def url(name: str) -> str:
        return f"{prefix}{output_dir}/{name}"

    thumb = manifest.variants[manifest.thumb]
    srcset = ", ".join(f"{url(v.name)} {v.width}w" for v in manifest.variants)
    return LocalImage(url(manifest.main.name), manifest.width, manifest.height, srcset,
                      url(thumb.name), thumb.width, thumb.height)


def _build_doc(doc: ImageDoc, tags: list, refs: dict[str, _Source | None],
               outcomes: dict[str, Outcome], local: dict[str, LocalImage],
               settings: ImageSettings) -> tuple[LocalisedDoc, list[ImageFailure]]:
    def lookup(raw: str) -> RefOutcome:
        source = refs.get(raw)
        if source is None:
            return None
        image = local.get(source.key)
        return image if image is not None else Failed(outcomes[source.key].reason)

    html = rewrite_html(doc.html, tags, lookup)
    fields = dict(doc.fields)
    for name in settings.fields:
        if name in fields:
            fields[name] = _rewrite_field(fields[name], lookup)
    failures = []
    for raw, source in refs.items():
        if source is not None and source.key not in local:
            outcome = outcomes[source.key]
            failures.append(ImageFailure(doc.source, clean_url(raw), outcome.reason,
                                         outcome.detail, outcome.cached_failure))
    images = tuple(_ref(image) for image in _doc_images(refs, local))
    return LocalisedDoc(html, fields, _thumbnail(doc, tags, settings, lookup), images), failures


def _rewrite_field(value: object, lookup: Callable[[str], RefOutcome]) -> object:
    if isinstance(value, str):
        found = lookup(value)
        return found.src if isinstance(found, LocalImage) else value
    if isinstance(value, (list, tuple)):
        return [_rewrite_field(item, lookup) for item in value]
    return value


def _thumbnail(doc: ImageDoc, tags: list, settings: ImageSettings,
               lookup: Callable[[str], RefOutcome]) -> ImageRef | None:
    """From `thumbnail`, else `headimg`, else the first image; None if that one failed."""
    names = [*THUMBNAIL_ORDER, *(n for n in settings.fields if n not in THUMBNAIL_ORDER)]
    candidates = [*field_urls(doc.fields, tuple(names)),
                  *(url for tag in tags for url in image_urls_in_tag(tag))]
    for raw in candidates:
        found = lookup(raw)
        if isinstance(found, LocalImage):
            return ImageRef(found.thumb_src, found.thumb_width, found.thumb_height, found.srcset)
        if isinstance(found, Failed):
            return None
    return None


def _doc_images(refs: dict[str, _Source | None], local: dict[str, LocalImage]
                ) -> Iterator[LocalImage]:
    seen = set()
    for source in refs.values():
        if source is not None and source.key in local and source.key not in seen:
            seen.add(source.key)
            yield local[source.key]


def _ref(image: LocalImage) -> ImageRef:
    return ImageRef(image.src, image.width, image.height, image.srcset)

"""Get every distinct image to a processed manifest: cache first, then network, then Pillow.

Downloads run on a thread pool bounded overall (images.concurrency) and per host
(images.per_host): a download is only started when its host has a free slot, so
no worker sits waiting on a busy host. Each finished download is handed straight
to the processing pool, so fetching and encoding overlap. All bookkeeping, and
every progress call, happens on the calling thread.
"""
from __future__ import annotations

import hashlib
import queue
import time
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sitegen.images.cache import ImageCache, Manifest, UrlRecord, Variant, sha256
from sitegen.images.fetch import Fetcher, FetchError
from sitegen.images.process import ProcessParams, Rejected, process_image
from sitegen.images.safety import Refused, parse_target

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Outcome:
    """What became of one distinct image."""

    manifest: Manifest | None = None
    reason: str = ""
    detail: str = ""
    cached_failure: bool = False


@dataclass(frozen=True)
class _NeedOriginal:
    """The processed cache missed and the original is missing or damaged."""


@dataclass(frozen=True)
class _Done:
    manifest: Manifest
    encoded: bool  # False when the processed cache already had it


def process_source(cache: ImageCache, params: ProcessParams, settings_key: str,
                   digest: str | None, path: str | None) -> _Done | _NeedOriginal:
    """Worker job: the manifest for one source, from the processed cache or by encoding.

    Top-level and picklable, so it can run in a thread or a worker process.
    """
    data = None
    if path is not None:  # a local file: hashed every build, it is cheap and always right
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise Rejected("file not found", str(exc)) from None
        digest = sha256(data)
    assert digest is not None
    key = hashlib.sha256(f"{digest}:{settings_key}".encode()).hexdigest()[:24]
    manifest = cache.manifest(key)
    if manifest is not None:
        return _Done(manifest, False)
    if data is None:
        data = cache.read_original(digest)
        if data is None:
            return _NeedOriginal()
    processed = process_image(data, params)
    outputs, variants = {}, []
    for item in processed.outputs:
        name = f"{key[:2]}/{key}-{item.width}.{item.ext}"
        outputs[name] = item.data
        variants.append(Variant(item.width, item.height, name, sha256(item.data), len(item.data)))
    main = variants[-1]
    manifest = Manifest(key, digest, main.width, main.height, processed.animated,
                        tuple(variants), processed.thumb)
    cache.put_processed(manifest, outputs)
    return _Done(manifest, True)


@dataclass
class Counts:
    fetched: int = 0
    revalidated: int = 0
    processed: int = 0


class Engine:
    """One run over a set of distinct sources; create it, call `run` once."""

    def __init__(self, *, cache: ImageCache, fetcher: Fetcher, params: ProcessParams,
                 settings_key: str, offline: bool, refetch: bool, jobs: int,
                 progress: Progress | None, executor_factory: Callable[[int], Executor] | None):
        self.cache, self.fetcher, self.params = cache, fetcher, params
        self.settings = fetcher.settings
        self.settings_key, self.offline, self.refetch = settings_key, offline, refetch
        self.progress = progress or (lambda stage, done, total: None)
        self.jobs = jobs
        self.make_processor = executor_factory or (lambda n: ThreadPoolExecutor(n, "sitegen-img"))
        self.outcomes: dict[str, Outcome] = {}
        self.counts = Counts()
        self._queued: dict[str, deque[tuple[str, UrlRecord | None]]] = defaultdict(deque)
        self._busy_hosts: dict[str, int] = defaultdict(int)
        self._fetching = 0
        self._waiting: dict[str, list[str]] = {}  # digest -> urls waiting for processing
        self._remote: set[str] = set()
        self._refetched: set[str] = set()
        self.network: set[str] = set()  # urls answered by the network in this run
        self._futures: dict[Future, tuple[str, str]] = {}
        self._done: queue.SimpleQueue[Future] = queue.SimpleQueue()
        self._fetch_total = self._fetch_done = self._process_total = self._process_done = 0

    def run(self, urls: list[str], paths: list[str]) -> dict[str, Outcome]:
        """Outcomes keyed by URL (remote) or absolute path (local)."""
        self._fetch_pool = ThreadPoolExecutor(self.settings.concurrency, "sitegen-fetch")
        self._process_pool = self.make_processor(self.jobs)
        try:
            for url in urls:
                self._remote.add(url)
                self._plan(url)
            for path in paths:
                self._submit_process(path=path)
            self._start_fetches()
            while self._futures:
                future = self._done.get()  # one finished job at a time, in finishing order
                kind, key = self._futures.pop(future)
                if kind == "fetch":
                    self._fetched(key, future)
                else:
                    self._processed(key, future)
                self._start_fetches()
        finally:  # on Ctrl-C, do not run the queued jobs first
            for pool in (self._fetch_pool, self._process_pool):
                pool.shutdown(wait=True, cancel_futures=True)
        return self.outcomes

    # -- planning ----------------------------------------------------------
    def _plan(self, url: str) -> None:
        record = self.cache.url_record(url)
        if record is not None and record.ok and record.sha256 and (self.offline or not self.refetch):
            self._queue_process(record.sha256, url)
        elif record is not None and not record.ok and not self.refetch and (
                self.offline or time.time() - record.at < self.settings.retry_failed_after):
            self.outcomes[url] = Outcome(None, record.reason or "failed", record.detail or "",
                                         cached_failure=True)
        elif self.offline:
            self.outcomes[url] = Outcome(None, "offline", "not in the cache and --offline is set")
        else:
            keep = record is not None and record.ok and record.sha256 and \
                self.cache.original_path(record.sha256).exists()
            self._queue_fetch(url, record if keep else None)

    def _queue_fetch(self, url: str, old: UrlRecord | None) -> None:
        """Queue a download; with `old`, it is a conditional request revalidating that entry."""
        try:
            host = parse_target(url).host
        except Refused:  # an unparsable URL fails inside the fetch, with its reason
            host = ""
        self._queued[host].append((url, old))
        self._fetch_total += 1

    def _start_fetches(self) -> None:
        """Start queued downloads while the pool and each host have room."""
        for host, waiting in self._queued.items():
            while waiting and self._fetching < self.settings.concurrency and \
                    self._busy_hosts[host] < self.settings.per_host:
                url, old = waiting.popleft()
                self._busy_hosts[host] += 1
                self._fetching += 1
                future = self._fetch_pool.submit(self._fetch, url, old)
                self._futures[future] = ("fetch", url)
                future.add_done_callback(self._done.put)

    # -- downloading (worker thread) ---------------------------------------
    def _fetch(self, url: str, old: UrlRecord | None) -> tuple[str, str | None, Outcome | None]:
        """Returns (host, digest, failure); writes the cache entry either way."""
        host = ""
        try:
            host = parse_target(url).host
            fetched = self.fetcher.fetch(url, old.validators() if old else None)
        except FetchError as exc:
            self.cache.failure(url, exc.reason, exc.detail)
            return host, None, Outcome(None, exc.reason, exc.detail)
        except Exception as exc:  # noqa: BLE001 - one odd response must not stop the build
            return host, None, Outcome(None, "fetch failed", f"{type(exc).__name__}: {exc}")
        if fetched.data is None and old is not None:  # 304: the cached original still holds
            digest, size = old.sha256, old.size
        else:
            assert fetched.data is not None
            digest, size = self.cache.put_original(fetched.data), len(fetched.data)
        self.cache.put_url_record(UrlRecord(
            url=url, ok=True, at=time.time(), sha256=digest, final_url=fetched.final_url,
            etag=fetched.etag, last_modified=fetched.last_modified,
            content_type=fetched.content_type, size=size))
        return host, digest, None if fetched.data is not None else Outcome(reason="304")

    def _fetched(self, url: str, future: Future) -> None:
        host, digest, failure = future.result()
        self._busy_hosts[host] -= 1
        self._fetching -= 1
        self._fetch_done += 1
        self.progress("fetch", self._fetch_done, self._fetch_total)
        self.network.add(url)
        if digest is None:
            self.outcomes[url] = failure or Outcome(None, "failed")
            return
        if failure is not None:  # "304"
            self.counts.revalidated += 1
        else:
            self.counts.fetched += 1
        self._queue_process(digest, url)

    # -- processing --------------------------------------------------------
    def _queue_process(self, digest: str, url: str) -> None:
        if digest in self._waiting:  # the same bytes at another URL: encode once
            self._waiting[digest].append(url)
            return
        self._waiting[digest] = [url]
        self._submit_process(digest=digest)

    def _submit_process(self, *, digest: str | None = None, path: str | None = None) -> None:
        future = self._process_pool.submit(process_source, self.cache, self.params,
                                           self.settings_key, digest, path)
        self._futures[future] = ("process", digest or path or "")
        future.add_done_callback(self._done.put)
        self._process_total += 1

    def _processed(self, key: str, future: Future) -> None:
        self._process_done += 1
        self.progress("process", self._process_done, self._process_total)
        keys = self._waiting.pop(key, None) or [key]  # urls for a digest, or the local path
        try:
            result = future.result()
        except Exception as exc:  # noqa: BLE001 - a Pillow bug on one image must not stop the build
            if not isinstance(exc, Rejected):
                exc = Rejected("processing failed", f"{type(exc).__name__}: {exc}")
            for item in keys:
                self.outcomes[item] = Outcome(None, exc.reason, exc.detail)
                if item in self._remote:
                    self.cache.failure(item, exc.reason, exc.detail)  # not fetched again soon
            return
        if isinstance(result, _NeedOriginal):
            self._refetch_damaged(keys)
            return
        self.counts.processed += result.encoded
        for item in keys:
            self.outcomes[item] = Outcome(result.manifest)

    def _refetch_damaged(self, urls: list[str]) -> None:
        for url in urls:
            if self.offline or url in self._refetched:
                self.outcomes[url] = Outcome(None, "cache damaged",
                                             "the cached original is missing or corrupt")
                continue
            self._refetched.add(url)
            self._queue_fetch(url, None)

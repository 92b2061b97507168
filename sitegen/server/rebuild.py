"""One rebuild: run the build under the write lock, then publish a new snapshot and event.

The build is incremental by itself (its caches live in `.sitegen/`), so
calling it again after a change is the incremental rebuild. A failed build
leaves the output untouched: the snapshot keeps serving it, with the error.
"""
from __future__ import annotations

import dataclasses
import hashlib
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from sitegen.build import BuildOptions, build, load_site_config
from sitegen.cache import MANIFEST, MANIFEST_DELTA
from sitegen.config import SiteConfig
from sitegen.errors import BuildFailed, ConfigError
from sitegen.server.reload import Clients
from sitegen.server.state import LiveState, Snapshot

MAX_PATHS = 2000  # more changed files than this: tell every page to reload
MAX_PROBLEMS = 50  # shown in the overlay; the terminal gets all of them


def hidden_prefixes(site_dir: Path) -> list[tuple[Path, str]]:
    """Absolute folders that error text may name, and what to show instead."""
    package = Path(__file__).resolve().parents[2]  # the checkout or site-packages holding sitegen
    return [(site_dir.resolve(), ""), (package, "<sitegen>"), (Path.home(), "~")]


def public_text(text: str, hide: list[tuple[Path, str]]) -> str:
    """Error text without absolute paths: the site folder's prefix goes, others are shortened."""
    for folder, short in hide:
        prefix = str(folder).rstrip("/\\")
        if not prefix:
            continue
        for sep in ("/", "\\"):
            text = text.replace(prefix + sep, short + sep if short else "")
        text = text.replace(prefix, short or ".")
    return text


def epoch_of(cache_dir: Path) -> str:
    """A name for the output's current state: the same output gives the same epoch,
    even across server restarts, so a reconnecting page reloads only if it is stale."""
    try:
        digest = hashlib.sha1((cache_dir / MANIFEST).read_bytes())
    except OSError:
        return f"t{time.time_ns():x}"
    try:  # after a small build only the manifest's delta changes
        digest.update((cache_dir / MANIFEST_DELTA).read_bytes())
    except OSError:
        pass
    return digest.hexdigest()[:12]


def event_for(changed: list[str], root: str, css_only: bool, epoch: str,
              had_error: bool, relocated: bool) -> dict | None:
    """The event for a good build; None when no page needs to know."""
    if relocated:
        return {"type": "reload", "epoch": epoch, "paths": None}
    if not changed:
        return {"type": "ok", "epoch": epoch} if had_error else None
    urls = [root + c for c in changed]
    css = [u for u in urls if u.lower().endswith(".css")]
    others = [u for u in urls if not u.lower().endswith((".css", ".html", ".htm"))]
    if css_only and css and not others:
        # Stylesheet names carry a fingerprint, so every page's <link> changed too;
        # the client swaps the links in place instead of reloading.
        return {"type": "css", "epoch": epoch, "paths": css}
    return {"type": "reload", "epoch": epoch, "paths": urls if len(urls) <= MAX_PATHS else None}


class Rebuilder:
    """Runs builds and turns each outcome into a snapshot, an event and terminal lines."""

    def __init__(self, site_dir: Path, options: BuildOptions, live: LiveState, clients: Clients,
                 log: Callable[[str], None]) -> None:
        self.site_dir, self.options, self.live, self.clients, self.log = (
            site_dir, options, live, clients, log)
        self.config: SiteConfig | None = None
        self._shown: tuple[str, ...] = ()  # the error last printed, so it prints once
        self._warned: set[str] = set()
        self._hide = hidden_prefixes(site_dir)

    def first(self) -> SiteConfig:
        """The start-up build. A config error raises; a content error is served with the overlay."""
        config = load_site_config(self.site_dir, self.options)  # ConfigError goes to the caller
        self.config = config
        self.live.snapshot = Snapshot(config.output_dir, config.root, epoch_of(config.cache_dir))
        self.rebuild(set())
        return self.config

    def rebuild(self, kinds: set[str], since: float | None = None) -> None:
        """Build once; `kinds` are the watcher's classes of what changed."""
        start = time.perf_counter()
        try:
            result = build(self.site_dir, self.options)  # takes the lock to commit
        except BuildFailed as exc:
            errors = [p for p in exc.problems if p.severity == "error"] or exc.problems
            return self._failed([str(p) for p in errors])
        except ConfigError as exc:
            return self._failed([str(exc)])
        except Exception as exc:  # noqa: BLE001 - a pipeline crash must not stop the preview
            self.log(traceback.format_exc().rstrip())
            return self._failed([f"sitegen failed while building: {type(exc).__name__}: {exc}"])
        self._succeeded(result, kinds, start, since)

    def _failed(self, problems: list[str]) -> None:
        shown = tuple(public_text(p, self._hide) for p in problems)
        old = self.live.snapshot
        self.live.snapshot = dataclasses.replace(old, problems=shown[:MAX_PROBLEMS])
        if shown != self._shown:
            for line in shown:
                self.log(f"error: {line}")
            self.log("Build failed; still serving the last good build. Fix and save to rebuild.")
            self._shown = shown
        self.clients.broadcast({"type": "error", "epoch": old.epoch,
                                "problems": list(shown[:MAX_PROBLEMS])})

    def _succeeded(self, result, kinds: set[str], start: float, since: float | None) -> None:
        config: SiteConfig = result.config
        old = self.live.snapshot
        relocated = (config.output_dir, config.root) != (old.output_dir, old.root)
        epoch = epoch_of(config.cache_dir) if result.changed or relocated else old.epoch
        self.config = config
        self.live.snapshot = Snapshot(config.output_dir, config.root, epoch)
        css_only = bool(kinds) and kinds <= {"style"}
        event = event_for(result.changed, config.root, css_only, epoch, bool(old.problems),
                          relocated)
        pages = self.clients.broadcast(event) if event else 0
        warnings = {public_text(str(w), self._hide) for w in result.warnings}
        for line in sorted(warnings - self._warned):
            self.log(f"warning: {line}")
        self._warned = warnings
        if self._shown:
            self.log("The error is fixed; the build is clean again.")
            self._shown = ()
        self._report(result, event, pages, start, since)

    def _report(self, result, event: dict | None, pages: int, start: float,
                since: float | None) -> None:
        if since is None:
            return self.log(f"Built {result.summary()}")
        took = (time.perf_counter() - start) * 1000
        if not result.changed:
            return self.log(f"Rebuilt in {took:.0f} ms: no output changed")
        what = event["type"] if event else "none"
        after = (time.monotonic() - since) * 1000
        self.log(f"Rebuilt in {took:.0f} ms: {len(result.changed)} file(s) changed; "
                 f"{what} sent to {pages} page(s) {after:.0f} ms after the save")

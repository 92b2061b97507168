"""Watch the sources, the theme and the config; classify changes; debounce bursts.

A save in an editor, or a `git checkout`, is a burst of events (temp files,
renames, several writes). They are gathered until the tree has been quiet
for `quiet` seconds and handed over as one batch, so one burst is one rebuild.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

CONFIG_NAMES = ("sitegen.toml", "_config.yml")
# Event types that can change what a build reads (not "opened"/"closed_no_write":
# the build itself reads every source, which must not trigger another build).
_RELEVANT = {"created", "deleted", "modified", "moved", "closed", "attrib"}
# Asked of the OS too, so that reads (inotify's open/close-nowrite) never wake the watcher.
_EVENT_FILTER = [FileCreatedEvent, DirCreatedEvent, FileModifiedEvent, FileDeletedEvent,
                 DirDeletedEvent, FileMovedEvent, DirMovedEvent, FileClosedEvent]
_JUNK_SUFFIXES = ("~", ".swp", ".swo", ".swx", ".swpx", ".tmp", ".kate-swp", ".crdownload",
                  ".part", ".___jb_tmp___", ".___jb_old___")
_JUNK_PREFIXES = (".#", "#", ".goutputstream-", "~$", ".~lock.")
_JUNK_NAMES = {".DS_Store", "Thumbs.db", "desktop.ini"}


def is_editor_junk(name: str) -> bool:
    """Swap, backup, lock and probe files that editors write next to the real file."""
    return (name in _JUNK_NAMES or name.endswith(_JUNK_SUFFIXES)
            or name.startswith(_JUNK_PREFIXES)
            or name.isdigit())  # vim probes a folder by writing "4913" (then 5036, ...)


@dataclass(frozen=True)
class WatchPlan:
    """What to watch for one site config; rebuilt when the config changes."""

    site_dir: Path
    config_file: Path
    source_dir: Path
    template_dir: Path  # the site's own templates/
    theme_dirs: tuple[Path, ...]  # themes/ and any theme folder outside it
    ignored: tuple[Path, ...]  # the output and cache folders

    def folders(self) -> list[tuple[Path, bool]]:
        """(folder, recursive) pairs that exist now; the site folder itself only shallowly."""
        wanted = [(self.site_dir, False), (self.source_dir, True), (self.template_dir, True)]
        wanted += [(d, True) for d in self.theme_dirs]
        seen: list[tuple[Path, bool]] = []
        for folder, recursive in wanted:
            if folder.is_dir() and (folder, recursive) not in seen:
                if recursive and any(r and folder.is_relative_to(f) for f, r in seen):
                    continue  # already covered by a recursive watch
                seen.append((folder, recursive))
        return seen

    def classify(self, path: str, is_dir: bool = False) -> str | None:
        """'config', 'layout', 'style', 'theme' or 'content'; None to ignore."""
        p = Path(path)
        if any(p == i or p.is_relative_to(i) for i in self.ignored):
            return None
        if not is_dir and is_editor_junk(p.name):
            return None
        if p == self.config_file or (p.parent == self.site_dir and p.name in CONFIG_NAMES):
            return "config"
        if p.parent == self.site_dir:
            # A watched folder appearing or vanishing changes what must be watched.
            tops = {self.source_dir, self.template_dir, *self.theme_dirs}
            return "layout" if p in tops else None
        if not any(p.is_relative_to(d) for d in (self.source_dir, self.template_dir,
                                                   *self.theme_dirs)):
            return None
        if p.suffix.lower() == ".css":
            return "style"
        if p.is_relative_to(self.template_dir) or any(p.is_relative_to(d) for d in self.theme_dirs):
            return "theme"
        return "content"


class Debouncer:
    """Collects classified paths; `next_batch` returns them once the tree is quiet."""

    def __init__(self, quiet: float = 0.1, max_wait: float = 3.0) -> None:
        self.quiet, self.max_wait = quiet, max_wait
        self._cond = threading.Condition()
        self._pending: dict[str, str] = {}
        self._first = self._last = 0.0

    def add(self, path: str, kind: str) -> None:
        with self._cond:
            now = time.monotonic()
            if not self._pending:
                self._first = now
            self._pending[path] = kind
            self._last = now
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def next_batch(self, stop: threading.Event) -> tuple[dict[str, str], float] | None:
        """({path: kind}, monotonic time of the first event), or None once `stop` is set."""
        with self._cond:
            while not self._pending:
                if stop.is_set():
                    return None
                self._cond.wait(0.25)
            while not stop.is_set():
                # A burst that never pauses still gets built every `max_wait` seconds.
                due = min(self._last + self.quiet, self._first + self.max_wait)
                left = due - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            if stop.is_set():
                return None
            batch, first = self._pending, self._first
            self._pending = {}
            return batch, first


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _RELEVANT:
            return
        if event.is_directory and event.event_type in ("modified", "attrib", "closed"):
            return  # a folder "changes" whenever a file in it does; the file event is enough
        paths = [event.src_path, getattr(event, "dest_path", "")]
        for raw in paths:
            path = raw.decode() if isinstance(raw, bytes) else raw
            if path:
                self.watcher.notice(path, event.is_directory)


class Watcher:
    """watchdog observer feeding a Debouncer through a WatchPlan."""

    def __init__(self, plan: WatchPlan, debouncer: Debouncer) -> None:
        self.plan = plan
        self.debouncer = debouncer
        self._observer = Observer()
        self._observer.daemon = True
        self._handler = _Handler(self)
        self._folders: list[tuple[Path, bool]] = []

    def notice(self, path: str, is_dir: bool = False) -> None:
        kind = self.plan.classify(path, is_dir)
        if kind is not None:
            self.debouncer.add(path, kind)

    def start(self) -> None:
        self._schedule()
        self._observer.start()

    def replan(self, plan: WatchPlan) -> None:
        """Watch a new set of folders (after a config change or a folder appeared)."""
        self.plan = plan
        if plan.folders() != self._folders:
            self._observer.unschedule_all()
            self._schedule()

    def _schedule(self) -> None:
        self._folders = self.plan.folders()
        for folder, recursive in self._folders:
            try:
                self._observer.schedule(self._handler, str(folder), recursive=recursive,
                                        event_filter=_EVENT_FILTER)
            except OSError:
                pass  # vanished since folders() looked; its parent's watch sees it return

    def stop(self) -> None:
        self._observer.stop()
        try:
            self._observer.join(timeout=2)
        except RuntimeError:
            pass  # never started

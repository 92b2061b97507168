"""What the preview serves right now, and the lock that keeps builds and requests apart."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Snapshot:
    """One consistent view of the site; replaced whole after every build."""

    output_dir: Path
    root: str  # "/" or "/archive/", as in the site's config
    epoch: str  # changes whenever the output changes; pages compare it on reconnect
    problems: tuple[str, ...] = ()  # the standing build error, as `path:line: message` lines


class RWLock:
    """Many readers (requests) or one writer (a build); a waiting writer goes first."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class LiveState:
    """The current snapshot (swapped atomically) and the build/request lock."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.lock = RWLock()

"""One build of a site at a time.

Two builds of one site (`sitegen serve` rebuilding while `sitegen build` runs
in another terminal, say) would share `.sitegen/stage/` and the caches, and
one could commit pages the other half wrote. Each build holds an advisory
lock on `.sitegen/build.lock`, and a second build waits for it. The kernel
drops the lock when its holder exits, crash included, so a lock file left
behind never blocks anyone.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks here; builds are not serialised
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "build.lock"
# A wait this short goes unmentioned: the last `sitegen build` leaves a child
# saving its snapshot (0.2 s at 10k posts), which holds the lock meanwhile.
_UNTOLD_WAIT = 1.0


@contextmanager
def site_lock(cache_dir: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the site's build lock; `on_wait(message)` is called once if another
    process holds it, and this one then waits until it is free."""
    if fcntl is None:
        yield
        return
    fd = _acquire(cache_dir / LOCK_FILE, on_wait)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)  # for the waiting message of others
        yield
    finally:
        # Releases the lock, unless a detached snapshot saver still holds it
        # (render workers have exited by now).
        os.close(fd)


def _acquire(path: Path, on_wait: Callable[[str], None] | None) -> int:
    told = False
    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not _free_within(fd, _UNTOLD_WAIT):
                if on_wait is not None and not told:
                    on_wait(f"waiting for another build of this site{_holder(fd)} to finish")
                    told = True
                fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # a file system without locks (some network mounts): build unlocked
            return fd
        if _same_file(fd, path):
            return fd
        # `sitegen clean --cache` removed the file while we waited: lock the new one.
        os.close(fd)


def _free_within(fd: int, seconds: float) -> bool:
    """Whether the lock came free within `seconds` (and is now ours)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.005)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            pass
    return False


def _holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    if not pid.isdigit():
        return ""
    try:
        os.kill(int(pid), 0)
    except (ProcessLookupError, OverflowError):  # exited: its snapshot saver holds the lock
        return ""
    except OSError:  # alive, but someone else's
        pass
    return f" (process {pid})"


def _same_file(fd: int, path: Path) -> bool:
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (held.st_dev, held.st_ino)

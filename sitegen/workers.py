"""Worker processes for the CPU-bound stages (parse, render).

Forked after the data they need is in memory, so they share it copy-on-write
and receive only small batches; results come back in batch order.
"""
from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def can_fork() -> bool:
    return hasattr(os, "fork")


def map_batches(fn: Callable[[Any], Any], batches: Sequence[Any], workers: int,
                parallel: bool, local: Callable[[], Any] | None = None,
                share: bool = True) -> Iterator[Any]:
    """fn(batch) for each batch, results in batch order: `workers` processes share
    the batches when `parallel` and possible (this one and workers - 1 forked
    children), else this process does them all (small jobs are not worth a fork).
    `local()` runs here once, first: the children are forked before it runs, so
    they do not see what it computes; this process then takes batches too,
    unless not `share`: then `workers` children take them all."""
    if workers <= 1 or not parallel or not can_fork() or len(batches) < 2:
        yield from map(fn, batches)
        if local is not None:
            local()
        return
    yield from _Shared(fn, batches, workers - 1 if share else workers).run(local, share)


_TASK = 4  # bytes of a batch number in the task pipe
_MAX_TASKS = 16000  # task numbers a pipe holds unread (64 KiB, the least pipes hold)


class _Shared:
    """Batches handed out through one pipe that every process reads its next batch
    number from (a read of 4 bytes is atomic), so a process that finishes early
    takes more. Children send results back pickled, one pipe each, read here by
    threads while this process works. This process taking batches too keeps
    the processes at the cores' count, and forks a child fewer: each child
    copies the pages of the parent's heap it touches. A child that fails
    loses nothing: batches with no result are done here at the end."""

    def __init__(self, fn: Callable[[Any], Any], batches: Sequence[Any], children: int):
        self.fn, self.batches = fn, batches
        # A task is `group` batches: every task number fits in the pipe at once.
        self.group = -(-len(batches) // _MAX_TASKS)
        self.tasks, ends = os.pipe()
        try:
            write_all(ends, b"".join(k.to_bytes(_TASK, "little")
                                 for k in range(0, len(batches), self.group)))
        finally:
            os.close(ends)  # all written before any fork: readers see the end once drained
        self.done: dict[int, Any] = {}
        self.sent: dict[int, bytes] = {}  # pickled results from children, by batch
        self.lock = threading.Lock()
        forked = [self._fork() for _ in range(min(children, len(batches)))]
        # Threads only once every child is forked: a fork copies no thread but the caller's.
        self.children = [(pid, threading.Thread(target=self._receive, args=(read,), daemon=True))
                         for pid, read in forked]
        for _, reader in self.children:
            reader.start()

    def _fork(self) -> tuple[int, int]:
        read, write = os.pipe()

        def child() -> None:
            os.close(read)
            self._serve(write)

        pid = _fork_child(child)
        os.close(write)
        return pid, read

    def _next(self) -> range | None:
        data = os.read(self.tasks, _TASK)
        if len(data) != _TASK:
            return None
        first = int.from_bytes(data, "little")
        return range(first, min(first + self.group, len(self.batches)))

    def _serve(self, out: int) -> None:
        while (task := self._next()) is not None:
            for k in task:
                data = pickle.dumps(self.fn(self.batches[k]), protocol=pickle.HIGHEST_PROTOCOL)
                write_all(out, k.to_bytes(_TASK, "little") + len(data).to_bytes(8, "little") + data)

    def _receive(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as pipe:
            while len(head := pipe.read(_TASK + 8)) == _TASK + 8:
                k, size = int.from_bytes(head[:_TASK], "little"), int.from_bytes(head[_TASK:], "little")
                data = pipe.read(size)
                if len(data) != size:
                    return  # the child died mid-result: its batch is done here
                with self.lock:
                    self.sent[k] = data

    def run(self, local: Callable[[], Any] | None, share: bool = True) -> Iterator[Any]:
        finished = False
        try:
            if local is not None:
                local()
            at = 0
            while share and (task := self._next()) is not None:
                for k in task:
                    self.done[k] = self.fn(self.batches[k])
                while (found := self._take(at)) is not _MISSING:
                    yield found
                    at += 1
            for pid, reader in self.children:
                os.waitpid(pid, 0)
                reader.join()
            finished = True
            for k in range(at, len(self.batches)):
                found = self._take(k)
                yield self.fn(self.batches[k]) if found is _MISSING else found
        finally:
            os.close(self.tasks)
            if not finished:
                _stop(pid for pid, _ in self.children)

    def _take(self, k: int) -> Any:
        if k in self.done:
            return self.done.pop(k)
        with self.lock:
            data = self.sent.pop(k, None)
        return _MISSING if data is None else pickle.loads(data)


_MISSING = object()


def write_all(fd: int, data: bytes) -> None:
    """os.write until all of `data` is written (a pipe or file may take part of it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _stop(pids: Iterable[int]) -> None:
    """End children that are still working (this process gave up on the batches)."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


class Beside:
    """fn() in a forked child while this process goes on; wait() returns once it
    is done. Where fork is missing, or the child failed, fn runs in wait() here
    (so its error, if any, is raised where the caller expects it). A `detach`ed
    child is not waited for: it finishes on its own, and may outlive this process."""

    def __init__(self, fn: Callable[[], Any], fork: bool = True, detach: bool = False):
        self.fn, self.pid, self.detach = fn, None, detach
        if fork and can_fork():
            def child() -> None:
                if detach:  # hold no pipe of the caller open
                    _to_devnull()
                fn()

            self.pid = _fork_child(child)

    def wait(self) -> None:
        pid, self.pid = self.pid, None
        if pid is not None:
            if self.detach:
                return
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) == 0:
                return
        self.fn()


def _fork_child(run: Callable[[], Any]) -> int:
    """Fork a child that runs `run()` and exits (1 if it raised), never returning
    into the caller's code; returns its pid."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            run()
            code = 0
        finally:
            os._exit(code)
    return pid


def _to_devnull() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)

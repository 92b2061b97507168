"""Worker processes for the CPU-bound stages (parse, render).

Forked after the data they need is in memory, so they share it copy-on-write
and receive only small batches; results come back in batch order.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

# multiprocessing and concurrent.futures load only when workers start (25 ms at
# start-up, and a small rebuild never starts any).


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def can_fork() -> bool:
    return hasattr(os, "fork")  # where it exists, multiprocessing offers "fork"


def _fork_pool(workers: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))


def map_batches(fn: Callable[[Any], Any], batches: Sequence[Any], workers: int,
                parallel: bool, local: Callable[[], Any] | None = None) -> Iterator[Any]:
    """fn(batch) for each batch, in order: in forked workers when `parallel` and
    possible, else in this process (small jobs are not worth starting workers).
    `local()` runs here once: while the workers work (they are forked before it
    runs, so they do not see what it computes), or after the batches."""
    if workers <= 1 or not parallel or not can_fork():
        yield from map(fn, batches)
        if local is not None:
            local()
        return
    with _fork_pool(workers) as pool:
        results = pool.map(fn, batches)  # forks the workers and hands out every batch
        if local is not None:
            local()
        yield from results


class Beside:
    """fn() in a forked child while this process goes on; wait() returns once it
    is done. Where fork is missing, or the child failed, fn runs in wait() here
    (so its error, if any, is raised where the caller expects it). A `detach`ed
    child is not waited for: it finishes on its own, and may outlive this process."""

    def __init__(self, fn: Callable[[], Any], fork: bool = True, detach: bool = False):
        self.fn, self.pid, self.detach = fn, None, detach
        if fork and can_fork():
            pid = os.fork()
            if pid == 0:  # the child: never return into the caller's code
                code = 1
                try:
                    if detach:  # hold no pipe of the caller open
                        _to_devnull()
                    fn()
                    code = 0
                finally:
                    os._exit(code)
            self.pid = pid

    def wait(self) -> None:
        pid, self.pid = self.pid, None
        if pid is not None:
            if self.detach:
                return
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) == 0:
                return
        self.fn()


def _to_devnull() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)

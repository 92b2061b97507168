"""Worker processes for the CPU-bound stages (parse, render).

Forked after the data they need is in memory, so they share it copy-on-write
and receive only small batches; results come back in batch order.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def can_fork() -> bool:
    return hasattr(os, "fork") and "fork" in multiprocessing.get_all_start_methods()


def map_batches(fn: Callable[[Any], Any], batches: Sequence[Any], workers: int,
                parallel: bool) -> Iterator[Any]:
    """fn(batch) for each batch, in order: in forked workers when `parallel` and
    possible, else in this process (small jobs are not worth starting workers)."""
    if workers <= 1 or not parallel or not can_fork():
        yield from map(fn, batches)
        return
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        yield from pool.map(fn, batches)


def map_batches_beside(fn: Callable[[Any], Any], batches: Sequence[Any], workers: int,
                       local: Callable[[], Any]) -> tuple[list[Any], Any]:
    """fn(batch) for each batch in forked workers while this process runs local();
    returns (the batches' results in order, local's result). Workers are forked
    before local() runs, so they do not see what it computes."""
    if workers <= 1 or not batches or not can_fork():
        done = list(map(fn, batches))
        return done, local()
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        futures = [pool.submit(fn, batch) for batch in batches]  # forks the workers now
        mine = local()
        return [f.result() for f in futures], mine

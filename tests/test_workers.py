"""workers.Beside: work done in a forked child while the build goes on."""
from __future__ import annotations

import os

import pytest

from sitegen.workers import Beside, can_fork, map_batches


@pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")
def test_work_beside_runs_in_a_child_and_is_done_after_wait(tmp_path):
    out = tmp_path / "pid.txt"
    beside = Beside(lambda: out.write_text(str(os.getpid())))
    beside.wait()
    assert out.read_text() != str(os.getpid())  # written by the child


@pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")
def test_work_that_failed_in_the_child_runs_again_here(tmp_path):
    marker = tmp_path / "tries"

    def flaky() -> None:
        tries = marker.read_text() if marker.exists() else ""
        marker.write_text(tries + "x")
        if not tries:
            raise OSError("disk full")  # the first try, in the child

    Beside(flaky).wait()
    assert marker.read_text() == "xx"


def test_an_error_of_the_work_reaches_the_caller():
    def broken() -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        Beside(broken).wait()


def test_work_beside_runs_here_when_asked_not_to_fork(tmp_path):
    out = tmp_path / "pid.txt"
    beside = Beside(lambda: out.write_text(str(os.getpid())), fork=False)
    assert not out.exists()  # not before wait()
    beside.wait()
    assert out.read_text() == str(os.getpid())


def _pid_and_square(batch):
    return [(os.getpid(), x * x) for x in batch]


@pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")
@pytest.mark.parametrize("workers", [2, 3])
def test_batches_are_shared_by_this_process_and_forked_children(workers):
    import time

    def slow(batch):
        time.sleep(0.01)  # long enough that no one process takes every batch
        return _pid_and_square(batch)

    batches = [list(range(i, i + 5)) for i in range(0, 200, 5)]
    ran = []
    results = list(map_batches(slow, batches, workers, parallel=True,
                               local=lambda: ran.append(os.getpid())))
    assert [x for batch in results for _, x in batch] == [x * x for x in range(200)]
    pids = {pid for batch in results for pid, _ in batch}
    assert ran == [os.getpid()] and os.getpid() in pids  # local() ran here, and this process worked
    assert 1 < len(pids) <= workers


@pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")
def test_a_batch_whose_child_died_is_done_here(tmp_path):
    import time

    parent = os.getpid()
    died = tmp_path / "died"

    def dies_in_the_child(batch):
        if os.getpid() != parent:
            died.write_text(str(batch[0]))
            os._exit(3)  # at its first batch, as the kernel would kill it
        time.sleep(0.02)  # the child surely takes a batch meanwhile
        return _pid_and_square(batch)

    batches = [[k] for k in range(12)]
    results = list(map_batches(dies_in_the_child, batches, 2, parallel=True))
    assert died.exists()
    assert [batch[0] for batch in results] == [(parent, k * k) for k in range(12)]


@pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")
def test_an_error_in_a_batch_reaches_the_caller():
    def broken(batch):
        if batch[0] == 3:
            raise ValueError("bad batch")
        return batch

    with pytest.raises(ValueError, match="bad batch"):
        list(map_batches(broken, [[k] for k in range(8)], 2, parallel=True))


@pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")
def test_more_batches_than_a_pipe_holds_go_out_in_groups(monkeypatch):
    import sitegen.workers

    monkeypatch.setattr(sitegen.workers, "_MAX_TASKS", 4)
    batches = [[k] for k in range(30)]
    results = list(map_batches(_pid_and_square, batches, 2, parallel=True))
    assert [batch[0][1] for batch in results] == [k * k for k in range(30)]


@pytest.mark.skipif(not can_fork(), reason="this platform cannot fork")
def test_without_sharing_only_the_children_take_batches():
    ran = []
    batches = [[k] for k in range(20)]
    results = list(map_batches(_pid_and_square, batches, 2, parallel=True,
                               local=lambda: ran.append(os.getpid()), share=False))
    assert [batch[0][1] for batch in results] == [k * k for k in range(20)]
    assert ran == [os.getpid()]
    assert os.getpid() not in {batch[0][0] for batch in results}

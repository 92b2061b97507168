"""workers.Beside: work done in a forked child while the build goes on."""
from __future__ import annotations

import os

import pytest

from sitegen.workers import Beside, can_fork


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

"""The build benchmark runs end to end on tiny archives (its figures are not checked:
timings belong in the README, never in tests)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import REPO


def test_benchmark_prints_a_row_per_size_and_every_edit_kind(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # its archives, removed when it ends
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "bench_build.py"), "--sizes", "12,30",
         "--repeat", "2", "--corpus", "own", "--edit-kinds"],
        capture_output=True, text=True, timeout=600, env=env, check=False)
    assert run.returncode == 0, run.stderr
    rows = re.findall(r"^\| (\d+) \| (\d+) \| ([\d.]+) \|", run.stdout, re.M)
    assert [posts for posts, _, _ in rows] == ["12", "30"]
    assert all(int(pages) > int(posts) for posts, pages, _ in rows)  # listings as well as posts
    cpu = re.findall(r"^# (\d+) posts, cold build CPU time \(user \+ system\), median s: "
                     r"sitegen ([\d.]+)",
                     run.stdout, re.M)
    assert [posts for posts, _ in cpu] == ["12", "30"] and all(float(s) > 0 for _, s in cpu)
    # Each cold build starts from nothing: the second after the first's output and cache moved aside.
    colds = re.findall(r"^# (\d+) posts, every run \(s\): cold [\d.]+, [\d.]+; no-change", run.stdout, re.M)
    assert colds == ["12", "30"]
    kinds = re.search(r"^# 30 posts, one edit of each kind.*$", run.stdout, re.M)
    assert kinds is not None
    assert re.findall(r"[:;] (\S+) [\d.]+ \(", kinds.group(0)) == [
        "body", "title", "category", "tag", "author", "date", "date+1h"]
    # Every size's folder went with the run (Hugo, when installed, keeps its own cache there).
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("sitegen-bench-")]

"""One build of a site at a time: a second build (or clean) waits for the first."""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sitegen.build import BuildOptions, build
from sitegen.site_lock import LOCK_FILE, site_lock

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="advisory locks are POSIX-only")


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def populate(site, n: int = 40) -> None:
    for i in range(n):
        site.post(f"p{i:02d}.md", f"title: 文章 {i}\ndate: 2021-0{i % 9 + 1}-1{i % 9} 08:00:00\n"
                  f"categories: [新媒体, 科技]\ntags: [t{i % 4}]", f"正文 {i}\n\n" + "段落。" * 200)


def cli(site, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sitegen", "--site", str(site.root), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_line(proc: subprocess.Popen, text: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if text in line:
            return line
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"{text!r} never shown; exit {proc.poll()}")


def test_a_build_waits_while_another_holds_the_lock(make_site):
    site = make_site()
    populate(site)
    cache = site.root / ".sitegen"
    with site_lock(cache):
        proc = cli(site, "build", "--no-images")
        line = wait_for_line(proc, "waiting for another build of this site")
        assert f"(process {os.getpid()})" in line
        time.sleep(0.5)
        assert proc.poll() is None and not site.output.exists()  # it waits, it does not build
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert "Built 40 posts" in out
    assert (site.output / "index.html").is_file()


def test_a_holder_that_exited_is_not_named(make_site):
    """The process that wrote its number into the lock file has exited and left
    a child holding the lock (its snapshot saver): the message names no one."""
    site = make_site()
    populate(site, 3)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    with site_lock(site.root / ".sitegen"):
        (site.root / ".sitegen" / LOCK_FILE).write_text(f"{gone}\n")
        proc = cli(site, "build", "--no-images")
        line = wait_for_line(proc, "waiting for another build of this site")
        assert "(process" not in line
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err


def test_two_builds_at_once_both_succeed_with_the_output_of_one(make_site, tmp_path):
    site = make_site()
    populate(site)
    first, second = cli(site, "build", "--no-images"), cli(site, "build", "--no-images")
    for proc in (first, second):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "Built 40 posts" in out
    expected = tree(site.output)
    build(site.root, BuildOptions(jobs=1, images=False))  # the same tree, and nothing to redo
    assert tree(site.output) == expected
    assert not (site.root / ".sitegen" / "stage").exists()


def test_a_lock_whose_holder_was_killed_does_not_block(make_site):
    site = make_site()
    populate(site, 5)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from sitegen.site_lock import site_lock\n"
         "with site_lock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(600)",
         str(site.root / ".sitegen")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert (site.root / ".sitegen" / LOCK_FILE).exists()  # left behind, still no obstacle
    waits = []
    build(site.root, BuildOptions(jobs=1, images=False, on_wait=waits.append))
    assert waits == [] and (site.output / "index.html").is_file()


def test_clean_waits_for_a_running_build(make_site):
    site = make_site()
    populate(site, 5)
    build(site.root, BuildOptions(jobs=1, images=False))
    with site_lock(site.root / ".sitegen"):
        proc = cli(site, "clean", "--cache")
        wait_for_line(proc, "waiting for another build of this site")
        assert site.output.exists()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert not site.output.exists() and not (site.root / ".sitegen").exists()


def test_a_file_system_without_locks_still_builds(make_site, monkeypatch):
    """Some network mounts refuse flock (ENOLCK): the build goes on without the lock."""
    import errno

    import sitegen.site_lock as site_lock_module

    def refuse(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(site_lock_module.fcntl, "flock", refuse)
    site = make_site()
    populate(site, 3)
    build(site.root, BuildOptions(jobs=1, images=False))
    assert (site.output / "index.html").is_file()



def test_the_snapshot_a_cli_build_leaves_to_a_child_is_used_by_the_next_build(make_site):
    """`sitegen build` returns once the output is in place; a child saves the
    snapshot, holding the lock, and the next build waits for it and uses it."""
    site = make_site()
    populate(site, 12)
    cache = site.root / ".sitegen"

    def saved() -> list[int]:
        return [f.stat().st_mtime_ns for f in sorted(cache.glob("snapshot*.pickle"))]

    for step in ("cold", "edit"):
        if step == "edit":
            post = site.source / "_posts" / "p03.md"
            post.write_text(post.read_text(encoding="utf-8").replace("正文 3", "改过的正文 3"),
                            encoding="utf-8")
        before = saved() if cache.exists() else []
        proc = cli(site, "build", "--no-images")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "waiting" not in err, err
        with site_lock(cache):  # waits for the child, if it is still saving
            assert saved() and saved() != before
    post = site.source / "_posts" / "p05.md"
    post.write_text(post.read_text(encoding="utf-8").replace("正文 5", "又改过的正文 5"),
                    encoding="utf-8")
    result = build(site.root, BuildOptions(jobs=1, images=False))
    assert result.model == "patched"  # from the snapshot the last child saved
    pages = [(site.output / f).read_text(encoding="utf-8") for f in result.changed]
    assert any("又改过的正文 5" in page for page in pages)


def test_a_cache_file_left_half_written_by_a_killed_saver_is_removed(make_site):
    site = make_site()
    populate(site, 3)
    build(site.root, BuildOptions(jobs=1, images=False))
    cache = site.root / ".sitegen"
    left = cache / ".tmp-k1ll3d.pickle"  # what atomic_write leaves when its process dies
    left.write_bytes(b"\0" * 1000)
    image_part = cache / "images" / ".tmp-download"  # not a top-level cache: not ours to sweep
    image_part.parent.mkdir(exist_ok=True)
    image_part.write_bytes(b"x")
    build(site.root, BuildOptions(jobs=1, images=False))
    assert not left.exists() and image_part.exists()
    assert (cache / "snapshot.pickle").is_file()


def test_a_snapshot_saved_after_the_site_was_removed_does_not_bring_it_back(make_site, tmp_path,
                                                                              monkeypatch):
    """The child saving the snapshot of `sitegen build` can outlive it; if the site
    is removed meanwhile, it must not make the folders again."""
    import fcntl

    import sitegen.build as build_module

    site = make_site()
    populate(site, 5)
    go = tmp_path / "go"
    real_save = build_module.save_snapshot

    def held_back_save(*args, **kwargs):
        deadline = time.monotonic() + 60
        while not go.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        real_save(*args, **kwargs)

    monkeypatch.setattr(build_module, "save_snapshot", held_back_save)
    build(site.root, BuildOptions(jobs=1, images=False, detach_save=True))
    lock = os.open(site.root / ".sitegen" / LOCK_FILE, os.O_RDWR)
    try:
        with pytest.raises(BlockingIOError):  # the child still holds it
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        shutil.rmtree(site.root)
        go.touch()
        fcntl.flock(lock, fcntl.LOCK_EX)  # the child has exited
    finally:
        os.close(lock)
    assert not site.root.exists()

"""The command line as a user runs it: exit codes, help, init/new/clean, check, deploy."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO


def run(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sitegen", *args], cwd=cwd, capture_output=True, check=False,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A copy of the repository's example site."""
    site = tmp_path / "example"
    site.mkdir()
    shutil.copytree(REPO / "content", site / "content")
    shutil.copy(REPO / "sitegen.toml", site / "sitegen.toml")
    return site


def test_help_at_every_level():
    top = run("--help")
    assert top.returncode == 0 and "build" in top.stdout and "--site" in top.stdout
    for command in ("build", "serve", "new", "init", "clean", "deploy", "check"):
        result = run(command, "--help")
        assert result.returncode == 0, command
        assert "Usage:" in result.stdout and "--help" in result.stdout


def test_usage_error_exits_2():
    assert run("build", "--no-such-option").returncode == 2
    assert run("no-such-command").returncode == 2


def test_init_then_build_new_and_clean(tmp_path: Path):
    site = tmp_path / "blog"
    assert run("init", str(site)).returncode == 0
    assert (site / "sitegen.toml").is_file() and (site / ".github/workflows/pages.yml").is_file()
    result = run("--site", str(site), "new", "My First Post")
    assert result.returncode == 0, result.stderr
    post = site / "content/_posts/My-First-Post.md"
    assert "title: 'My First Post'" in post.read_text()
    built = run("--site", str(site), "build", "--no-images")
    assert built.returncode == 0, built.stderr
    assert "Built" in built.stdout and "posts" in built.stdout
    assert list((site / "output").rglob("My-First-Post/index.html"))
    assert run("init", str(site)).returncode == 1  # refuses to overwrite a site
    cleaned = run("--site", str(site), "clean")
    assert cleaned.returncode == 0 and not (site / "output").exists()


def test_build_timings_name_each_stage_and_what_it_did(example: Path):
    cold = run("--site", str(example), "build", "--no-images", "--timings")
    assert cold.returncode == 0, cold.stderr
    files = re.search(r"Built \d+ posts, \d+ pages, (\d+) files", cold.stdout).group(1)
    stages = re.search(r"^Stages: (.*)$", cold.stdout, re.M).group(1)
    names = re.findall(r"(?:^|, )([a-z][a-z -]*?) [\d.]+ s", stages)
    assert names[:3] == ["discover", "up-to-date check", "parse"] and names[-2:] == ["write", "save"]
    assert "render" in names and "assemble" in names
    assert f"({files} written, 0 removed)" in stages and "(assembled)" in stages
    again = run("--site", str(example), "build", "--no-images", "--timings")
    # Nothing changed: the build stops after its up-to-date check.
    assert re.search(r"^Stages: discover [\d.]+ s, up-to-date check [\d.]+ s$", again.stdout, re.M)
    assert "Stages:" not in run("--site", str(example), "build", "--no-images").stdout


def test_content_error_exits_1_with_path_and_line(example: Path):
    (example / "content/_posts/broken.md").write_text("---\ntitle: [oops\n---\n", encoding="utf-8")
    (example / "content/_posts/broken2.md").write_text("---\ndate: yesterday-ish\n---\n", encoding="utf-8")
    result = run("--site", str(example), "build", "--no-images")
    assert result.returncode == 1
    assert "_posts/broken.md:" in result.stderr and "_posts/broken2.md:2:" in result.stderr
    assert not (example / "output").exists()  # nothing written by a failed build
    kept = run("--site", str(example), "build", "--no-images", "--keep-going")
    assert kept.returncode == 0 and "broken" in kept.stderr


def test_missing_site_is_a_clear_error(tmp_path: Path):
    result = run("--site", str(tmp_path), "build")
    assert result.returncode == 1 and "sitegen.toml" in result.stderr


def test_check_passes_at_root_and_subpath_and_fails_on_broken_link(example: Path):
    # With localisation on, the seed's unreachable images are reported, so check allows them.
    assert run("--site", str(example), "build").returncode == 0
    ok = run("--site", str(example), "check")
    assert ok.returncode == 0, ok.stderr
    sub = "https://user.github.io/archive"
    assert run("--site", str(example), "build", "--base-url", sub).returncode == 0
    index = (example / "output/index.html").read_text(encoding="utf-8")
    assert 'href="/archive/' in index and 'href="/categories' not in index
    ok = run("--site", str(example), "check", "--base-url", sub)
    assert ok.returncode == 0, ok.stderr
    page = example / "output/about/index.html"
    page.write_text(page.read_text(encoding="utf-8").replace("</main>", '<a href="/archive/nope/">x</a></main>'),
                    encoding="utf-8")
    bad = run("--site", str(example), "check", "--base-url", sub)
    assert bad.returncode == 1 and "about/index.html" in bad.stderr and "nope" in bad.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_deploy_pushes_to_a_bare_repository(example: Path, tmp_path: Path):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--bare", "-q", str(remote)], check=True)
    with open(example / "sitegen.toml", "a", encoding="utf-8") as f:
        f.write(f'\n[deploy]\nrepo = "file://{remote}"\ncname = "archive.example.org"\n')
    first = run("--site", str(example), "deploy", "--no-images")
    assert first.returncode == 0, first.stderr
    files = subprocess.run(["git", "--git-dir", str(remote), "ls-tree", "-r", "--name-only", "gh-pages"],
                           capture_output=True, text=True, check=True).stdout.split()
    assert "index.html" in files and ".nojekyll" in files and "CNAME" in files
    again = run("--site", str(example), "deploy", "--no-images")
    assert again.returncode == 0 and "nothing changed" in (again.stdout + again.stderr).lower()


def _files_up_to(limit: int):
    """For a child process: the kernel refuses to grow any file past `limit` bytes
    (EFBIG, as a full disk refuses with ENOSPC) instead of stopping the process."""
    def limit_files() -> None:
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return limit_files


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "win32", reason="needs POSIX rlimits")
def test_a_write_the_disk_refuses_is_one_clear_line_and_the_output_stays(example: Path):
    assert run("--site", str(example), "build", "--no-images").returncode == 0
    before = {p: p.read_bytes() for p in (example / "output").rglob("*") if p.is_file()}
    # Its page is about 1 MB; the stored body, compressed, stays small.
    (example / "content/_posts/huge.md").write_text(
        "---\ntitle: huge\ndate: 2021-10-12 08:00:00\n---\n\n" + "一段很长的文字。" * 40000,
        encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "sitegen", "--site", str(example), "build",
                             "--no-images"], capture_output=True, text=True, timeout=300,
                            check=False, preexec_fn=_files_up_to(400_000))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert re.search(r"output/2021/10/12/huge/index\.html: cannot write: File too large", result.stderr)
    assert "the previous output was left untouched" in result.stderr
    after = {p: p.read_bytes() for p in (example / "output").rglob("*") if p.is_file()}
    assert after == before

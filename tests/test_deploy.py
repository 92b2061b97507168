"""Deploys to a local bare repository through file:// URLs, as a user would to GitHub."""
from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from sitegen.deploy import (
    PAGES_WORKFLOW,
    DeployError,
    DeploySettings,
    deploy,
    preflight,
    write_workflow,
)
from sitegen.errors import ConfigError

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


def git(*args: str, cwd: Path | None = None) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_AUTHOR_NAME="T", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="T", GIT_COMMITTER_EMAIL="t@example.com")
    proc = subprocess.run(
        ["git", *args], check=False, cwd=cwd, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(autouse=True)
def no_git_config(tmp_path_factory, monkeypatch):
    """Like a fresh CI runner: no global or system git config, no identity."""
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg")))
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
                "EMAIL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def remote(tmp_path) -> Path:
    bare = tmp_path / "remote.git"
    git("init", "--quiet", "--bare", str(bare))
    return bare


@pytest.fixture
def site(tmp_path) -> Path:
    root = tmp_path / "site"
    write(root / "public", {"index.html": "<h1>home</h1>", "a/index.html": "<p>a</p>"})
    return root


def settings(remote: Path, **kw) -> DeploySettings:
    return DeploySettings(repo=remote.as_uri(), **kw)


def tree(remote: Path, rev: str = "gh-pages") -> dict[str, str]:
    out = git("-C", str(remote), "ls-tree", "-r", "--name-only", rev).split("\n")
    return {p: git("-C", str(remote), "show", f"{rev}:{p}") for p in out if p}


def run(site: Path, conf: DeploySettings, **kw):
    lines: list[str] = []
    result = deploy(site / "public", site, conf, now=NOW, log=lines.append, **kw)
    return result, lines


def test_first_deploy_publishes_output_with_nojekyll(site, remote):
    result, lines = run(site, settings(remote))
    assert result.committed
    expected = {".nojekyll": "", "index.html": "<h1>home</h1>", "a/index.html": "<p>a</p>"}
    assert tree(remote) == expected
    assert git("-C", str(remote), "rev-parse", "gh-pages").strip() == result.commit
    assert set(result.changes) == {"A .nojekyll", "A index.html", "A a/index.html"}
    message = git("-C", str(remote), "log", "-1", "--format=%B", "gh-pages")
    assert "no source commit" in message and "2024-05-06 07:08:09 UTC" in message
    # No git identity is configured anywhere: the fallback identity was used.
    assert git("-C", str(remote), "log", "-1", "--format=%an", "gh-pages").strip() == "sitegen"
    assert lines[-1].endswith("done")


def test_second_deploy_keeps_history_and_reports_changes(site, remote):
    first, _ = run(site, settings(remote))
    write(site / "public", {"index.html": "<h1>home v2</h1>", "new.html": "n"})
    (site / "public/a/index.html").unlink()
    second, _ = run(site, settings(remote))
    assert second.committed and second.commit != first.commit
    assert git("-C", str(remote), "rev-list", "--count", "gh-pages").strip() == "2"
    assert git("-C", str(remote), "rev-parse", "gh-pages^").strip() == first.commit
    assert sorted(second.changes) == ["A new.html", "D a/index.html", "M index.html"]
    assert "a/index.html" not in tree(remote)


def test_unchanged_output_makes_no_commit(site, remote):
    first, _ = run(site, settings(remote))
    again, lines = run(site, settings(remote))
    assert not again.committed and again.commit is None
    assert any("nothing changed" in line for line in lines)
    assert git("-C", str(remote), "rev-parse", "gh-pages").strip() == first.commit


def test_cname_written_and_kept_across_deploys(site, remote):
    run(site, settings(remote, cname="blog.example.com"))
    assert tree(remote)["CNAME"] == "blog.example.com\n"
    write(site / "public", {"index.html": "changed"})
    result, _ = run(site, settings(remote))  # no cname given this time
    assert result.committed
    assert tree(remote)["CNAME"] == "blog.example.com\n"
    assert ".nojekyll" in tree(remote)


def test_underscore_and_dot_files_are_published(site, remote):
    write(site / "public", {"_next/app.js": "js", "_config.txt": "c", ".well-known/x": "w"})
    run(site, settings(remote))
    published = tree(remote)
    assert published["_next/app.js"] == "js"
    assert published["_config.txt"] == "c"
    assert published[".well-known/x"] == "w"


def test_rejected_push_raises_with_git_message_and_no_done(site, remote):
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'policy: deploys are frozen today' >&2\nexit 1\n")
    hook.chmod(0o755)
    lines: list[str] = []
    with pytest.raises(DeployError) as err:
        deploy(site / "public", site, settings(remote), now=NOW, log=lines.append)
    assert "policy: deploys are frozen today" in str(err.value)
    assert "nothing was deployed" in str(err.value)
    assert not any("done" in line for line in lines)
    assert git("-C", str(remote), "branch", "--list").strip() == ""


def test_users_repository_is_untouched_and_origin_is_used(site, remote, monkeypatch):
    git("init", "--quiet", "-b", "main", str(site))
    write(site, {"source/post.md": "one", ".gitignore": "public/\n"})
    git("add", "source/post.md", ".gitignore", cwd=site)
    git("commit", "--quiet", "-m", "first", cwd=site)
    git("remote", "add", "origin", remote.as_uri(), cwd=site)
    write(site, {"source/post.md": "edited, not staged", "source/staged.md": "staged"})
    git("add", "source/staged.md", cwd=site)

    def snapshot() -> tuple[str, ...]:
        return (
            git("status", "--porcelain", "--untracked-files=all", cwd=site),
            git("rev-parse", "HEAD", cwd=site),
            git("symbolic-ref", "HEAD", cwd=site),
            git("for-each-ref", cwd=site),
            git("diff", "--cached", cwd=site),
            (site / "source/post.md").read_text(),
        )

    before = snapshot()
    # As if run from one of the user's git hooks: these must not redirect deploy.
    monkeypatch.setenv("GIT_DIR", str(site / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(site))
    monkeypatch.setenv("GIT_INDEX_FILE", str(site / ".git/index"))
    result, _ = run(site, DeploySettings())  # no repo: falls back to origin
    assert result.committed
    assert snapshot() == before
    head = git("rev-parse", "--short", "HEAD", cwd=site).strip()
    assert head in git("-C", str(remote), "log", "-1", "--format=%B", "gh-pages")


def test_users_global_hooks_do_not_run(site, remote):
    hooks = Path(os.environ["HOME"]) / "hooks"
    write(hooks, {"pre-push": "#!/bin/sh\necho 'lint failed' >&2\nexit 1\n"})
    (hooks / "pre-push").chmod(0o755)
    git("config", "--global", "core.hooksPath", str(hooks))
    result, _ = run(site, settings(remote))
    assert result.committed


def test_no_remote_is_a_clear_error(site):
    with pytest.raises(DeployError, match="no remote to deploy to"):
        run(site, DeploySettings())


def test_force_makes_an_orphan_commit(site, remote):
    run(site, settings(remote))
    write(site / "public", {"index.html": "v2"})
    run(site, settings(remote))
    forced, _ = run(site, settings(remote), force=True)
    assert forced.committed
    assert git("-C", str(remote), "rev-list", "--count", "gh-pages").strip() == "1"
    parents = git("-C", str(remote), "rev-list", "--parents", "-1", "gh-pages").split()
    assert parents == [forced.commit]  # the commit alone: no parent


def test_dry_run_lists_changes_and_pushes_nothing(site, remote):
    first, _ = run(site, settings(remote))
    write(site / "public", {"index.html": "v2", "b.html": "b"})
    result, lines = run(site, settings(remote), dry_run=True)
    assert not result.committed
    assert sorted(result.changes) == ["A b.html", "M index.html"]
    assert "A b.html" in lines and "M index.html" in lines
    assert git("-C", str(remote), "rev-parse", "gh-pages").strip() == first.commit


def test_symlink_and_hard_link_are_refused(site, remote):
    (site / "public/link.html").symlink_to(site / "public/index.html")
    os.link(site / "public/a/index.html", site / "public/a/copy.html")
    problems = preflight(site / "public")
    assert any("link.html" in p and "symbolic link" in p for p in problems)
    assert any("a/copy.html" in p and "hard link" in p for p in problems)
    with pytest.raises(DeployError, match="symbolic link"):
        run(site, settings(remote))
    assert git("-C", str(remote), "branch", "--list").strip() == ""


def test_preflight_refuses_large_file_and_large_site(tmp_path):
    big = tmp_path / "big"
    big.mkdir()
    with open(big / "video.mp4", "wb") as fh:  # sparse: costs no disk
        fh.truncate(101 * 1024 * 1024)
    assert any("video.mp4" in p and "per file" in p for p in preflight(big))
    huge = tmp_path / "huge"
    huge.mkdir()
    for i in range(11):
        with open(huge / f"part{i}.bin", "wb") as fh:
            fh.truncate(99 * 1024 * 1024)
    problems = preflight(huge)
    assert len(problems) == 1 and "the site is" in problems[0]


def test_empty_output_is_refused(tmp_path, remote):
    (tmp_path / "site/public").mkdir(parents=True)
    with pytest.raises(DeployError, match="empty"):
        run(tmp_path / "site", settings(remote))


def test_custom_message_still_names_source_and_time(site, remote):
    run(site, settings(remote, message="Site updated: {{ now('YYYY-MM-DD HH:mm:ss') }}"))
    message = git("-C", str(remote), "log", "-1", "--format=%B", "gh-pages")
    assert message.startswith("Site updated: 2024-05-06 07:08:09 UTC\n")
    assert "Source: no source commit" in message


def test_settings_from_mapping():
    assert DeploySettings.from_mapping({}, "sitegen.toml") == DeploySettings()
    got = DeploySettings.from_mapping(
        {"type": "git", "repo": "git@github.com:u/u.github.io.git", "branch": "main",
         "cname": "blog.example.com"}, "_config.yml")
    assert got == DeploySettings("git@github.com:u/u.github.io.git", "main", "blog.example.com")
    with pytest.raises(ConfigError, match=r"sitegen.toml: deploy.brnach"):
        DeploySettings.from_mapping({"brnach": "x"}, "sitegen.toml")
    with pytest.raises(ConfigError, match="deploy.cname"):
        DeploySettings.from_mapping({"cname": "https://blog.example.com/"}, "sitegen.toml")
    with pytest.raises(ConfigError, match="deploy.branch"):
        DeploySettings.from_mapping({"branch": "gh pages"}, "sitegen.toml")
    with pytest.raises(ConfigError, match="deploy.type"):
        DeploySettings.from_mapping({"type": "rsync"}, "_config.yml")


def test_workflow_uses_official_actions_and_caches_images(tmp_path):
    path = write_workflow(tmp_path, python_version="3.12")
    assert path == tmp_path / ".github/workflows/pages.yml"
    doc = yaml.safe_load(path.read_text())
    assert doc["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert doc["concurrency"]["group"]
    steps = doc["jobs"]["build"]["steps"] + doc["jobs"]["deploy"]["steps"]
    used = {s["uses"].split("@")[0] for s in steps if "uses" in s}
    assert used == {"actions/checkout", "actions/setup-python", "actions/configure-pages",
                    "actions/cache", "actions/upload-pages-artifact", "actions/deploy-pages"}
    by_use = {s["uses"].split("@")[0]: s for s in steps if "uses" in s}
    assert by_use["actions/setup-python"]["with"]["python-version"] == "3.12"
    assert by_use["actions/cache"]["with"]["path"] == ".sitegen/cache"
    assert "hashFiles(" in by_use["actions/cache"]["with"]["key"]
    assert by_use["actions/upload-pages-artifact"]["with"]["path"] == "public"
    runs = " ".join(s.get("run", "") for s in steps)
    assert "pip install sitegen" in runs
    assert 'sitegen build --base-url "${{ steps.pages.outputs.base_url }}"' in runs
    with pytest.raises(FileExistsError):
        write_workflow(tmp_path)
    assert yaml.safe_load(PAGES_WORKFLOW)["jobs"]["deploy"]["needs"] == "build"

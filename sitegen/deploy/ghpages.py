"""Publish a built output folder to a branch (gh-pages) of a git remote.

All git work happens in a private bare repository in a temporary folder:
the remote branch is fetched there, a tree is built from the output files,
and a commit whose parent is the branch tip is pushed. The user's working
tree, index and current branch are never read for writing.
"""
from __future__ import annotations

import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sitegen.deploy.gitcmd import DeployError, Git, private_repo, redact, site_git
from sitegen.deploy.preflight import OutputFile, preflight, scan
from sitegen.errors import ConfigError

__all__ = ["DeployError", "DeployResult", "DeploySettings", "deploy", "preflight"]

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")
_HEXO_NOW = re.compile(r"\{\{\s*now\([^)]*\)\s*\}\}")  # hexo-deployer-git's message helper
_STATUS = {"A": "A", "M": "M", "D": "D", "T": "M"}


_HEXO_DEPLOYER_KEYS = ("name", "email", "extend_dirs", "ignore_hidden", "ignore_pattern", "token")


@dataclass(frozen=True)
class DeploySettings:
    repo: str | None = None  # None: the site's git `origin`
    branch: str = "gh-pages"
    cname: str | None = None
    message: str | None = None

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any] | None, source: str) -> DeploySettings:
        """Read the `deploy` table of sitegen.toml or Hexo's `deploy:` mapping."""
        if isinstance(d, list):  # Hexo allows a list of deployers: use the git one
            d = next((x for x in d if isinstance(x, Mapping) and x.get("type") in ("git", "", None)),
                     None)
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            raise ConfigError(f"{source}: deploy must be a table/mapping of settings")
        known = ("type", "repo", "branch", "cname", "message")
        for key in d:
            if key in _HEXO_DEPLOYER_KEYS:
                continue  # hexo-deployer-git settings sitegen does not need; a Hexo folder builds as it is
            if key not in known:
                raise ConfigError(
                    f"{source}: deploy.{key} is not a deploy setting "
                    f"(known: {', '.join(known)})"
                )
        kind = d.get("type") or "git"  # Hexo's default config has type: ''
        if kind != "git":
            raise ConfigError(f"{source}: deploy.type must be 'git', not {kind!r}")
        values = {k: _text(d, k, source) for k in ("repo", "branch", "cname", "message")}
        branch = values["branch"] or "gh-pages"
        if not _plausible_branch(branch):
            raise ConfigError(f"{source}: deploy.branch {branch!r} is not a valid branch name")
        cname = values["cname"]
        if cname is not None and not _HOSTNAME.match(cname):
            raise ConfigError(
                f"{source}: deploy.cname must be a bare domain like 'blog.example.com', "
                f"not {cname!r}"
            )
        return cls(values["repo"], branch, cname, values["message"])


@dataclass(frozen=True)
class DeployResult:
    committed: bool
    commit: str | None
    changes: tuple[str, ...]  # "A path", "M path", "D path"


def deploy(
    output_dir: Path,
    site_dir: Path,
    settings: DeploySettings,
    *,
    force: bool = False,
    dry_run: bool = False,
    now: datetime | None = None,
    log: Callable[[str], None] = print,
) -> DeployResult:
    """Publish output_dir to settings.branch; raise DeployError on any refusal."""
    output_dir, site_dir = Path(output_dir).resolve(), Path(site_dir).resolve()
    files = _checked_files(output_dir)
    remote = settings.repo or _origin(site_dir)
    shown = redact(remote, remote)
    when = (now or datetime.now(UTC)).astimezone(UTC)
    with tempfile.TemporaryDirectory(prefix="sitegen-deploy-") as tmp:
        git = private_repo(Path(tmp), site_dir)
        _check_branch(git, settings.branch)
        _copy_auth_config(git, site_dir)
        tip = _fetch_tip(git, remote, settings.branch, shown)
        tree = _build_tree(git, files, tip, settings.cname)
        base_tree = git.out("rev-parse", f"{tip}^{{tree}}").strip() if tip else _empty_tree(git)
        changes = _changes(git, base_tree, tree)
        if tree == base_tree and not force:
            log(f"nothing changed: {settings.branch} of {shown} already holds this output")
            return DeployResult(False, None, ())
        if dry_run:
            for change in changes:
                log(change)
            log(f"dry run: {_summary(changes)}; nothing was pushed to {shown}")
            return DeployResult(False, None, changes)
        message = _message(settings.message, _source_commit(site_dir), when)
        parents = [] if force or not tip else ["-p", tip]
        stamp = f"@{int(when.timestamp())} +0000"
        git = replace(git, env={**git.env, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
        commit = git.out("commit-tree", tree, *parents, input=message).strip()
        _push(git, remote, shown, commit, settings.branch, tip, force)
    log(f"{_summary(changes)}")
    log(f"deployed {commit[:7]} to {settings.branch} of {shown}: done")
    return DeployResult(True, commit, changes)


def _checked_files(output_dir: Path) -> list[OutputFile]:
    if not output_dir.is_dir():
        raise DeployError(f"{output_dir}: no built output to deploy; build the site first")
    files, problems = scan(output_dir)
    if problems:
        listed = "\n".join(f"  {output_dir.name}/{p}" for p in problems)
        raise DeployError(f"refusing to deploy {output_dir}:\n{listed}")
    if not files:
        raise DeployError(f"{output_dir}: the output is empty; build the site first")
    return files


def _origin(site_dir: Path) -> str:
    proc = site_git(site_dir, "remote", "get-url", "--push", "origin")
    if proc.returncode != 0 or not proc.stdout.strip():
        raise DeployError(
            f"{site_dir}: no remote to deploy to; set deploy.repo in the site "
            "configuration or add a git remote named 'origin'"
        )
    return proc.stdout.strip()


def _source_commit(site_dir: Path) -> str:
    proc = site_git(site_dir, "rev-parse", "--short", "HEAD")
    return proc.stdout.strip() if proc.returncode == 0 else "no source commit"


def _check_branch(git: Git, branch: str) -> None:
    if git.run("check-ref-format", "--branch", branch).returncode != 0:
        raise DeployError(f"{branch!r} is not a valid branch name")


def _copy_auth_config(git: Git, site_dir: Path) -> None:
    """Carry the site checkout's http/credential settings (CI puts tokens there)."""
    proc = site_git(site_dir, "config", "--local", "-z", "--get-regexp", r"^(http|credential)\.")
    for item in filter(None, proc.stdout.split("\0")):
        key, _, value = item.partition("\n")
        git.out("config", "--add", key, value, what=f"copying git setting {key}")


def _fetch_tip(git: Git, remote: str, branch: str, shown: str) -> str | None:
    """The remote branch's tip commit, fetched into the private repo, or None."""
    ref = f"refs/heads/{branch}"
    listed = git.run("ls-remote", "--heads", remote, ref)
    if listed.returncode != 0:
        raise DeployError(
            f"cannot reach {shown} (git exit {listed.returncode}):\n"
            f"{redact(listed.stderr.strip(), remote)}"
        )
    tips = [line.split("\t")[0] for line in listed.stdout.splitlines() if line.endswith("\t" + ref)]
    if not tips:
        return None
    # Only the tip is needed as a parent; the remote keeps the older history.
    fetched = git.run(
        "fetch", "--quiet", "--no-tags", "--depth=1", remote, f"+{ref}:refs/sitegen/tip"
    )
    if fetched.returncode != 0:
        raise DeployError(
            f"cannot fetch {branch} from {shown} (git exit {fetched.returncode}):\n"
            f"{redact(fetched.stderr.strip(), remote)}"
        )
    return git.out("rev-parse", "refs/sitegen/tip").strip()


def _build_tree(git: Git, files: list[OutputFile], tip: str | None, cname: str | None) -> str:
    """Write every output file as a blob and return the tree that holds them all."""
    shas = git.out(
        "hash-object", "-w", "--no-filters", "--stdin-paths",
        input="".join(f.abspath + "\n" for f in files), what="storing the output files",
    ).split()
    entries = {
        f.path: ("100755" if f.executable else "100644", sha)
        for f, sha in zip(files, shas, strict=True)
    }
    if ".nojekyll" not in entries:  # without it Pages hides files starting with "_"
        entries[".nojekyll"] = ("100644", _blob(git, ""))
    if cname:
        entries["CNAME"] = ("100644", _blob(git, cname + "\n"))
    elif "CNAME" not in entries and tip:
        kept = git.out("ls-tree", "-z", tip, "--", "CNAME").rstrip("\0")
        if kept:  # "<mode> blob <sha>\tCNAME": a custom domain set earlier stays
            mode, _, sha = kept.split("\t", 1)[0].split(" ")
            entries["CNAME"] = (mode, sha)
    index = "".join(f"{mode} {sha}\t{path}\0" for path, (mode, sha) in sorted(entries.items()))
    git.out("update-index", "-z", "--add", "--index-info", input=index, what="building the tree")
    return git.out("write-tree").strip()


def _blob(git: Git, text: str) -> str:
    return git.out("hash-object", "-w", "--stdin", input=text).strip()


def _empty_tree(git: Git) -> str:
    return git.out("mktree", input="").strip()


def _changes(git: Git, old: str, new: str) -> tuple[str, ...]:
    raw = git.out("diff-tree", "-r", "-z", "--no-renames", "--name-status", old, new)
    parts = raw.split("\0")
    return tuple(
        f"{_STATUS.get(status[:1], status[:1])} {path}"
        for status, path in zip(parts[0::2], parts[1::2], strict=False)
        if status
    )


def _summary(changes: tuple[str, ...]) -> str:
    counts = {k: sum(1 for c in changes if c[0] == k) for k in "AMD"}
    return f"{counts['A']} added, {counts['M']} modified, {counts['D']} deleted"


def _message(custom: str | None, source: str, when: datetime) -> str:
    time = when.strftime("%Y-%m-%d %H:%M:%S UTC")
    if not custom:
        return f"Deploy {source} at {time}\n"
    subject = _HEXO_NOW.sub(time, custom).strip()
    return f"{subject}\n\nSource: {source}\nTime: {time}\n"


def _push(
    git: Git, remote: str, shown: str, commit: str, branch: str, tip: str | None, force: bool
) -> None:
    ref = f"refs/heads/{branch}"
    if force:  # replace history, but only the tip we saw: never a concurrent deploy
        args = [f"--force-with-lease={ref}:{tip or ''}", remote, f"+{commit}:{ref}"]
    else:  # a fast-forward; a concurrent deploy makes this fail instead of vanish
        args = [remote, f"{commit}:{ref}"]
    proc = git.run("push", "--quiet", *args)
    if proc.returncode != 0:
        raise DeployError(
            f"push to {branch} of {shown} failed (git exit {proc.returncode}); "
            f"nothing was deployed:\n{redact(proc.stderr.strip(), remote)}"
        )


def _text(d: Mapping[str, Any], key: str, source: str) -> str | None:
    value = d.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{source}: deploy.{key} must be a non-empty string, not {value!r}")
    return value.strip()


def _plausible_branch(name: str) -> bool:
    # git check-ref-format has the last word at deploy time; catch the obvious here.
    bad = (" ", "..", "~", "^", ":", "?", "*", "[", "\\", "@{")
    return not (name.startswith(("-", "/")) or name.endswith(("/", ".lock", "."))
                or any(b in name for b in bad))

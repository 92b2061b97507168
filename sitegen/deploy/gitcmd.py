"""Run git against a private repository, never the user's.

Every command gets an explicit environment: repository-locating variables
inherited from the caller (GIT_DIR, GIT_WORK_TREE, ...) are dropped so a
deploy started from a git hook or an IDE cannot reach the user's checkout.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

# Variables that decide *which* repository git works on; never inherit them.
_LOCATION_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
    "GIT_CEILING_DIRECTORIES",
    "GIT_DISCOVERY_ACROSS_FILESYSTEM",
    "GIT_QUARANTINE_PATH",
)

FALLBACK_NAME = "sitegen"
FALLBACK_EMAIL = "sitegen@localhost"


class DeployError(Exception):
    """A deploy was refused or failed; the message is what the user sees."""


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The caller's environment minus repository locators, never prompting."""
    env = {k: v for k, v in os.environ.items() if k not in _LOCATION_VARS}
    env["GIT_TERMINAL_PROMPT"] = "0"  # a missing credential must fail, not hang
    env["LC_ALL"] = "C"  # stable, parseable git messages
    env.update(extra or {})
    return env


def redact(text: str, url: str) -> str:
    """Hide credentials embedded in a remote URL wherever it appears in text."""
    m = re.match(r"^([a-z][a-z0-9+.-]*://)([^/@]+)@", url, re.IGNORECASE)
    if not m:
        return text
    return text.replace(m.group(2) + "@", "***@")


@dataclass(frozen=True)
class Git:
    """git bound to one private repository (GIT_DIR) and index file."""

    git_dir: Path
    cwd: Path  # relative remote paths resolve against this (the site folder)
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args],
            cwd=self.cwd,
            env=self.env,
            input=input,
            check=False,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",  # file names are bytes on POSIX
        )

    def out(self, *args: str, input: str | None = None, what: str = "") -> str:
        """stdout of a command that must succeed; else DeployError with git's stderr."""
        proc = self.run(*args, input=input)
        if proc.returncode != 0:
            label = what or "git " + " ".join(args[:2])
            detail = proc.stderr.strip()
            raise DeployError(f"{label} failed (git exit {proc.returncode}):\n{detail}")
        return proc.stdout


def private_repo(tmp: Path, cwd: Path) -> Git:
    """A new bare repository in tmp with its own index, identity filled in."""
    git_dir = tmp / "repo.git"
    env = clean_env()
    init = subprocess.run(
        ["git", "init", "--quiet", "--bare", str(git_dir)],
        env=env, check=False, capture_output=True, text=True,
    )
    if init.returncode != 0:
        raise DeployError(f"cannot create a temporary git repository:\n{init.stderr.strip()}")
    env = clean_env({"GIT_DIR": str(git_dir), "GIT_INDEX_FILE": str(tmp / "index")})
    git = Git(git_dir, cwd, env)
    # The user's own hooks (a global core.hooksPath) are for their sources,
    # not for this push; the repository's config points at an empty folder.
    git.out("config", "core.hooksPath", str(tmp / "no-hooks"))
    return Git(git_dir, cwd, {**env, **_identity_fallback(git)})


def _identity_fallback(git: Git) -> dict[str, str]:
    """Author/committer defaults when neither env nor config names one (bare CI)."""
    extra: dict[str, str] = {}
    for key, var, fallback in (
        ("user.name", "NAME", FALLBACK_NAME),
        ("user.email", "EMAIL", FALLBACK_EMAIL),
    ):
        configured = git.run("config", "--get", key).stdout.strip()
        for who in ("AUTHOR", "COMMITTER"):
            name = f"GIT_{who}_{var}"
            if not configured and not git.env.get(name):
                extra[name] = fallback
    return extra


def site_git(site_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Read-only query of the user's own repository (remote URL, HEAD)."""
    return subprocess.run(
        ["git", "-C", str(site_dir), *args],
        env=clean_env(), check=False, capture_output=True, text=True,
        encoding="utf-8", errors="surrogateescape",
    )

"""Look at a built output folder before publishing it.

GitHub refuses files over 100 MiB and Pages sites over 1 GiB; symlinks and
hard links are refused because what git records for them is not what the
build meant to publish (a link, or a file shared with the cache).
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 100 * 1024 * 1024  # GitHub rejects pushes with larger files
MAX_SITE_BYTES = 1024 * 1024 * 1024  # GitHub Pages' published-site limit


@dataclass(frozen=True)
class OutputFile:
    path: str  # relative, "/"-separated, as it will appear in the published tree
    abspath: str
    size: int
    executable: bool


def scan(output_dir: Path) -> tuple[list[OutputFile], list[str]]:
    """Every publishable file under output_dir, and every reason to refuse."""
    files: list[OutputFile] = []
    problems: list[str] = []
    _walk(str(output_dir), "", files, problems)
    total = sum(f.size for f in files)
    if total > MAX_SITE_BYTES:
        problems.append(
            f"the site is {_mib(total)} MiB, over GitHub Pages' limit of "
            f"{_mib(MAX_SITE_BYTES)} MiB"
        )
    return files, problems


def preflight(output_dir: Path) -> list[str]:
    """Problems that forbid publishing output_dir; empty when it is fine."""
    return scan(output_dir)[1]


def _walk(root: str, prefix: str, files: list[OutputFile], problems: list[str]) -> None:
    with os.scandir(os.path.join(root, prefix) if prefix else root) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        rel = prefix + entry.name
        st = entry.stat(follow_symlinks=False)
        if entry.name == ".git":
            problems.append(f"{rel}: a git folder inside the output cannot be published")
        elif "\n" in entry.name or "\r" in entry.name:
            problems.append(f"{rel!r}: file names with line breaks cannot be published")
        elif stat.S_ISLNK(st.st_mode):
            problems.append(f"{rel}: is a symbolic link; the output must hold real files")
        elif stat.S_ISDIR(st.st_mode):
            _walk(root, rel + "/", files, problems)
        elif not stat.S_ISREG(st.st_mode):
            problems.append(f"{rel}: is not a regular file")
        else:
            # Refused files still count towards the site's total size.
            files.append(OutputFile(rel, entry.path, st.st_size, bool(st.st_mode & stat.S_IXUSR)))
            if st.st_nlink > 1:
                problems.append(
                    f"{rel}: is a hard link ({st.st_nlink} names share it); copy it instead"
                )
            if st.st_size > MAX_FILE_BYTES:
                problems.append(
                    f"{rel}: is {_mib(st.st_size)} MiB, over GitHub's limit of "
                    f"{_mib(MAX_FILE_BYTES)} MiB per file"
                )

def _mib(n: int) -> str:
    value = n / (1024 * 1024)
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"

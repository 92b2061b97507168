"""Discover the files of a site's source folder and classify them.

Hexo's rules: files under `_posts/` are posts, under `_drafts/` drafts,
other Markdown/HTML files are pages and everything else is copied as is.
Paths starting with `_` or `.` and names ending in `~` or `%` are skipped.
"""
from __future__ import annotations

import fnmatch
import os
from pathlib import Path
from typing import NamedTuple

RENDERABLE = frozenset({".md", ".markdown", ".mdown", ".mkd", ".html", ".htm"})
MARKDOWN = frozenset({".md", ".markdown", ".mdown", ".mkd"})
POSTS_DIR = "_posts"
DRAFTS_DIR = "_drafts"


class SourceFile(NamedTuple):  # a tuple: discovery makes one per file on every build
    kind: str  # "post", "draft", "page", "asset" or "post_asset"
    rel: str  # POSIX path relative to the source folder, e.g. "_posts/a.md"
    file: str  # absolute path
    mtime_ns: int
    size: int

    @property
    def path(self) -> Path:
        return Path(self.file)

    @property
    def is_markdown(self) -> bool:
        return os.path.splitext(self.rel)[1].lower() in MARKDOWN  # a Path costs 10 µs

    @property
    def stamp(self) -> tuple[int, int]:
        """Cheap change detector: (mtime, size)."""
        return (self.mtime_ns, self.size)


def is_skipped_name(name: str) -> bool:
    return name.startswith((".", "_")) or name.endswith(("~", "%"))


def discover(source_dir: Path, *, drafts: bool, skip_render: list[str] | None = None,
             ignore: list[str] | None = None) -> list[SourceFile]:
    """Walk `source_dir` once; return its files sorted by relative path."""
    found: list[SourceFile] = []
    if not source_dir.is_dir():
        return found
    skip_render = skip_render or []
    ignore = ignore or []
    for top in sorted(os.listdir(source_dir)):
        full = source_dir / top
        if top == POSTS_DIR and full.is_dir():
            _walk(full, top, "post", found, ignore)
        elif top == DRAFTS_DIR and full.is_dir():
            if drafts:
                _walk(full, top, "draft", found, ignore)
        elif not is_skipped_name(top):
            if full.is_dir():
                _walk(full, top, None, found, ignore)
            elif full.is_file():
                _add(full, top, None, found, ignore)
    return sorted(
        (_reclassify(f, skip_render) for f in found), key=lambda f: f.rel
    )


def _walk(folder: Path, rel: str, kind: str | None, out: list[SourceFile], ignore: list[str]) -> None:
    # The per-file work is inlined: this loop runs for every file of the site on
    # every build, no-change rebuilds included.
    if kind in ("post", "draft"):
        kinds = (kind, "post_asset")  # (renderable, other)
    else:
        kinds = ("page", "asset")
    make = tuple.__new__
    dirs = []
    with os.scandir(folder) as entries:
        for entry in entries:
            name = entry.name
            if name[0] in "._" or name[-1] in "~%":
                continue
            child_rel = f"{rel}/{name}"
            if entry.is_dir(follow_symlinks=False):
                dirs.append((entry.path, child_rel))
            elif entry.is_file(follow_symlinks=False):
                if ignore and any(fnmatch.fnmatch(child_rel, pat) for pat in ignore):
                    continue
                st = entry.stat()
                dot = name.rfind(".")
                renderable = dot > 0 and name[dot:].lower() in RENDERABLE
                out.append(make(SourceFile, (kinds[0] if renderable else kinds[1], child_rel,
                                             entry.path, st.st_mtime_ns, st.st_size)))
    for path, child_rel in dirs:
        _walk(Path(path), child_rel, kind, out, ignore)


def _add(path: str | Path, rel: str, kind: str | None, out: list[SourceFile], ignore: list[str]) -> None:
    if ignore and any(fnmatch.fnmatch(rel, pat) for pat in ignore):
        return
    st = os.stat(path)
    renderable = os.path.splitext(rel)[1].lower() in RENDERABLE
    if kind in ("post", "draft"):
        kind = kind if renderable else "post_asset"
    else:
        kind = "page" if renderable else "asset"
    out.append(SourceFile(kind, rel, str(path), st.st_mtime_ns, st.st_size))


def _reclassify(f: SourceFile, skip_render: list[str]) -> SourceFile:
    """Hexo's skip_render: a page matching it is copied, not rendered."""
    if f.kind == "page" and any(fnmatch.fnmatch(f.rel, pat) for pat in skip_render):
        return SourceFile("asset", f.rel, f.file, f.mtime_ns, f.size)
    return f


def post_rel(rel: str) -> str:
    """The path under `_posts/` or `_drafts/`, e.g. "_posts/a/b.md" -> "a/b.md"."""
    return rel.split("/", 1)[1] if "/" in rel else rel

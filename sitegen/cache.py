"""Persistent build caches under `.sitegen/`, keyed by content hash, settings and version.

Every file is written to a temp name and renamed, so a crash leaves either the
old or the new file. Each JSON cache carries a format tag and sitegen's
version; anything unreadable or from another version is discarded, never trusted.
"""
from __future__ import annotations

import json
import os
import tempfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sitegen import __version__
from sitegen.model import Document, Heading

FORMAT = 1


def atomic_write(path: Path, data: bytes, make_parent: bool = True) -> None:
    if make_parent:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


# A long-running process (sitegen serve) reads back what it wrote last time: the
# payload is kept in memory together with the file's stamp, and reused while the
# file on disk is still that one. Callers must not mutate what they get.
_MEMO: dict[str, tuple[tuple[int, int], Any]] = {}


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def read_json(path: Path, kind: str) -> Any | None:
    """The payload of a cache file, or None if missing, corrupt or from another version."""
    stamp = _stamp(path)
    memo = _MEMO.get(str(path))
    if stamp is not None and memo is not None and memo[0] == stamp:
        return memo[1]
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != [kind, FORMAT, __version__]:
        return None
    return data.get("payload")


def write_json(path: Path, kind: str, payload: Any, remember: bool = False) -> None:
    blob = json.dumps({"format": [kind, FORMAT, __version__], "payload": payload},
                      ensure_ascii=False, separators=(",", ":"))
    atomic_write(path, blob.encode())
    stamp = _stamp(path)
    if remember and stamp is not None:
        _MEMO[str(path)] = (stamp, payload)


@dataclass(frozen=True)
class BodyStore:
    """Rendered bodies by key: `.sitegen/cache/bodies/ab/abcdef….z` (zlib).

    Compressed because a cold build of a big archive is bound by disk writes
    here: level 1 costs 0.1 ms a body and writes a third of the bytes.
    """

    root: Path

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.z"

    def has(self, key: str) -> bool:
        return os.path.isfile(f"{self.root}/{key[:2]}/{key}.z")  # str: called per document

    def put(self, key: str, html: str) -> None:
        path = self._path(key)
        if path.is_file():
            return
        data = zlib.compress(html.encode(), 1)
        try:
            atomic_write(path, data, make_parent=False)
        except FileNotFoundError:  # first body in this shard: create its folder
            atomic_write(path, data)

    def get(self, key: str) -> str:
        return zlib.decompress(self._path(key).read_bytes()).decode()

    def discard(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def prune(self, keep: set[str]) -> int:
        removed = 0
        if not self.root.is_dir():
            return 0
        for sub in self.root.iterdir():
            for f in sub.glob("*.z"):
                if f.stem not in keep:
                    f.unlink(missing_ok=True)
                    removed += 1
        return removed


# --- parsed documents --------------------------------------------------------------
def doc_to_json(doc: Document) -> dict[str, Any]:
    d = dict(doc.__dict__)
    d["date"] = doc.date.isoformat()
    d["updated"] = doc.updated.isoformat()
    d["toc"] = [[h.level, h.id, h.text] for h in doc.toc]
    return d


def doc_from_json(d: dict[str, Any]) -> Document:
    d = dict(d)
    d["date"] = datetime.fromisoformat(d["date"])
    d["updated"] = datetime.fromisoformat(d["updated"])
    d["toc"] = tuple(Heading(*h) for h in d["toc"])
    d["categories"] = tuple(tuple(p) for p in d["categories"])
    d["tags"] = tuple(d["tags"])
    return Document(**d)


@dataclass
class DocCache:
    """source rel -> (stamp, digest, document, warnings): skip unchanged files entirely."""

    path: Path
    entries: dict[str, dict[str, Any]]
    changed: bool = True

    @classmethod
    def load(cls, path: Path, settings_key: str) -> DocCache:
        payload = read_json(path, "docs")
        if not isinstance(payload, dict) or payload.get("settings") != settings_key:
            return cls(path, {})
        entries = payload.get("entries")
        return cls(path, entries if isinstance(entries, dict) else {})

    def lookup(self, rel: str, stamp: tuple[int, int]) -> dict[str, Any] | None:
        entry = self.entries.get(rel)
        if entry and tuple(entry.get("stamp", ())) == stamp:
            return entry
        return None

    def save(self, settings_key: str, entries: dict[str, dict[str, Any]], changed: bool) -> None:
        if changed or not self.path.is_file():
            write_json(self.path, "docs", {"settings": settings_key, "entries": entries},
                       remember=True)

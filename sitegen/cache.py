"""Persistent build caches under `.sitegen/`, keyed by content hash, settings and version.

Small caches are one pickle file each, written to a temp name and renamed, so
a crash leaves either the old or the new file. Each carries a format tag,
sitegen's version and a checksum; anything unreadable, damaged or from another
version is discarded, never trusted. Pickle is safe here because sitegen only
ever reads back what it wrote itself into the site's own `.sitegen/` folder;
it loads ten thousand documents several times faster than JSON.

Rendered bodies live in one SQLite file: one row per body instead of one file
per body, because creating ten thousand small files is what a cold build of a
big archive waits on, and SQLite's journal survives crashes. They are
compressed with zstd, which here packs them as small as zlib's fastest level
in a third of its time and carries a checksum of each body.
"""
from __future__ import annotations

import atexit
import gc
import hashlib
import mmap
import os
import pickle
import sqlite3
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zstandard

from sitegen import __version__
from sitegen.model import DOCUMENT_LAYOUT, Document

FORMAT = 2
# File names under .sitegen/
DOCS_CACHE = "docs.pickle"
DOCS_DELTA = "docs-delta.pickle"
IMAGE_DOCS_CACHE = "images-docs.pickle"
MANIFEST = "manifest.pickle"
MANIFEST_DELTA = "manifest-delta.pickle"  # output.Manifest names it after MANIFEST
PERMALINKS = "permalinks.pickle"
_MAGIC = b"SGC2"
_TAG = f"{FORMAT}/{__version__}/{sys.version_info[:2]}/" + hashlib.sha1(DOCUMENT_LAYOUT.encode()).hexdigest()[:8]


def atomic_write(path: Path, write: Callable[[Any], Any], make_parent: bool = True) -> None:
    """Call write(file) on a temporary file beside `path`, then rename it over `path`."""
    if make_parent:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def sweep_temporaries(cache_dir: Path) -> None:
    """Remove what atomic_write left of the top-level caches when its process was
    killed (the snapshot of a 100k-post site is 170 MB). Call with the build lock
    held: then no one else is writing them."""
    for tmp in cache_dir.glob(".tmp-*.pickle"):
        tmp.unlink(missing_ok=True)


# A long-running process (sitegen serve) reads back what it read or wrote last
# time: the payload is kept in memory together with the file's stamp, and reused
# while the file on disk is still that one. Callers must not mutate what they get.
_MEMO: dict[str, tuple[tuple[int, int], Any]] = {}


@contextmanager
def no_gc() -> Iterator[None]:
    """Run without the cycle collector: for work that makes hundreds of thousands
    of lasting objects and next to no cycles (unpickling a cache, parsing, the
    site model), where the collections their allocation triggers walked all of
    them again and again. Frozen afterwards, so later collections skip them too
    (build.build unfreezes when the build ends)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was:
            gc.enable()


def _stat(path: Path | str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _stamp(path: Path) -> tuple[int, int] | None:
    st = _stat(path)
    return None if st is None else (st.st_mtime_ns, st.st_size)


def _head(kind: str) -> bytes:
    """What every cache file starts with; a checksum of the rest follows it."""
    return _MAGIC + f"{kind}\0{_TAG}\0".encode()


def read_cache(path: Path, kind: str, remember: bool = True) -> Any | None:
    """The payload of a cache file, or None if missing, damaged or from another version."""
    stamp = _stamp(path)
    memo = _MEMO.get(str(path))
    if stamp is not None and memo is not None and memo[0] == stamp:
        return memo[1]
    try:
        with _mapped(path) as data:
            payload = _checked_payload(data, _head(kind))
    except (OSError, ValueError):
        return None
    if payload is _DAMAGED:
        return None
    if remember:
        _MEMO[str(path)] = (stamp, payload)
    return payload


_DAMAGED = object()


@contextmanager
def _mapped(path: Path) -> Iterator[Any]:
    """A file's bytes as a read-only memory map: a 10k-post snapshot (17 MB) is read
    and checked in 8 ms this way, 23 ms through read_bytes(), which copies it.
    Cache files are replaced by rename, never rewritten in place, so the mapped
    file does not change under the map."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            yield b""
            return
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        yield data
    finally:
        data.close()


def _checked_payload(data, head: bytes) -> Any:
    """The unpickled payload after `head` and its checksum, or _DAMAGED."""
    if len(data) < len(head) + 4 or data[:len(head)] != head:
        return _DAMAGED
    with memoryview(data) as view:
        body = view[len(head) + 4:]  # a view: a 100k-post snapshot is 170 MB
        try:
            if int.from_bytes(data[len(head): len(head) + 4], "big") != zlib.crc32(body):
                return _DAMAGED
            with no_gc():
                return pickle.loads(body)
        except Exception:  # a damaged pickle can raise nearly anything
            return _DAMAGED
        finally:
            body.release()


class _Checksummed:
    """A file that keeps the CRC-32 of what is written to it."""

    def __init__(self, file):
        self.file, self.crc = file, 0

    def write(self, data) -> int:
        self.crc = zlib.crc32(data, self.crc)
        return self.file.write(data)


def write_cache(path: Path, kind: str, payload: Any, remember: bool = False,
                fast: bool = False, make_parent: bool = True) -> None:
    """Pickled straight into the file (no copy of a payload that can be hundreds
    of MB), its checksum filled in after. `fast`: pickle without the memo of
    objects already written, for big acyclic payloads of plain values: shared
    values are written again, but a snapshot of a 10k-post site pickles in
    24 ms instead of 81 (and loads faster)."""
    head = _head(kind)

    def dump(f) -> None:
        f.write(head + b"\0\0\0\0")
        out = _Checksummed(f)
        pickler = pickle.Pickler(out, protocol=pickle.HIGHEST_PROTOCOL)
        pickler.fast = fast
        pickler.dump(payload)
        f.seek(len(head))
        f.write(out.crc.to_bytes(4, "big"))

    atomic_write(path, dump, make_parent)
    stamp = _stamp(path)
    if remember and stamp is not None:
        _MEMO[str(path)] = (stamp, payload)


def forget(path: Path) -> None:
    """Drop what is remembered of a cache file (to free the memory it holds)."""
    _MEMO.pop(str(path), None)


def read_keyed(path: Path, kind: str, key: Any) -> dict:
    """A mapping saved with write_keyed under the same `key` (the settings it is
    valid for), else an empty one. Shared with the memo: do not change it."""
    payload = read_cache(path, kind)
    if isinstance(payload, tuple) and len(payload) == 2 and payload[0] == key \
            and isinstance(payload[1], dict):
        return payload[1]
    return {}


def write_keyed(path: Path, kind: str, key: Any, mapping: dict, fast: bool = False,
                make_parent: bool = True) -> None:
    write_cache(path, kind, (key, mapping), remember=True, fast=fast, make_parent=make_parent)


class BodyMissing(ValueError):
    """A body is not in the store, or its row is damaged."""


_CONNECTIONS: dict[tuple[int, str], sqlite3.Connection] = {}
_OPENED: dict[tuple[int, str], tuple[int, int] | None] = {}  # connection -> (device, inode) of its file


def _file_id(path: str) -> tuple[int, int] | None:
    st = _stat(path)
    return None if st is None else (st.st_dev, st.st_ino)


def opened(key: tuple[int, str]) -> None:
    """Note which file a new connection (keyed (pid, path)) opened."""
    _OPENED[key] = _file_id(key[1])


def replaced(key: tuple[int, str]) -> bool:
    """Whether the file a kept connection opened was deleted or replaced since: a
    long-lived process (serve) must not write on into a file unlinked by
    `rm -rf .sitegen`, where the workers it forks cannot see what it wrote."""
    return key in _OPENED and _OPENED[key] != _file_id(key[1])


@atexit.register
def _close_connections() -> None:
    for key in [k for k in _CONNECTIONS if k[0] == os.getpid()]:
        _CONNECTIONS.pop(key).close()


def remove_sqlite(file: Path) -> None:
    """Delete an SQLite file with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{file}{suffix}").unlink(missing_ok=True)


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[None]:
    """A write transaction taken at once (writers wait for each other), committed
    when the block ends, rolled back if it raises."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def _prepare(db: sqlite3.Connection) -> None:
    # WAL lets render workers read while nobody writes, and parse workers take
    # turns writing. Setting it up can meet a lock the busy timeout does not
    # cover, so that step is retried.
    for attempt in range(200):
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS bodies (key TEXT PRIMARY KEY, data BLOB)")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc) or attempt == 199:
                raise
            time.sleep(0.05)
    db.execute("PRAGMA synchronous=NORMAL")


@dataclass(frozen=True)
class BodyStore:
    """Rendered bodies by key, zstd-compressed, in `<root>/bodies-zstd.sqlite`.

    Each process (parse and render workers are forked) opens its own
    connection; writers wait for each other through SQLite's lock.
    """

    root: Path

    @property
    def file(self) -> Path:
        return self.root / "bodies-zstd.sqlite"

    def _db(self) -> sqlite3.Connection:
        key = (os.getpid(), str(self.file))
        db = _CONNECTIONS.get(key)
        if db is None:
            self.root.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.file, timeout=120, isolation_level=None,
                                 check_same_thread=False)
            try:
                _prepare(db)
            except BaseException:
                db.close()
                raise
            _CONNECTIONS[key] = db
            opened(key)
        return db

    def open(self) -> None:
        """Create the store now: call before forking workers, so they never race
        to create it (switching a new file to WAL does not wait for a lock)."""
        remove_sqlite(self.root / "bodies.sqlite")  # the zlib store that earlier builds left
        try:
            self._db()
        except sqlite3.DatabaseError:
            self.reset()
            self._db()

    def close(self) -> None:
        db = _CONNECTIONS.pop((os.getpid(), str(self.file)), None)
        if db is not None:
            db.close()

    def reopen_if_replaced(self) -> None:
        if replaced((os.getpid(), str(self.file))):
            self.close()

    def keys(self) -> set[str]:
        """Every key held; a damaged store is emptied (its bodies are parsed again)."""
        try:
            return {k for (k,) in self._db().execute("SELECT key FROM bodies")}
        except sqlite3.DatabaseError:
            self.reset()
            return set()

    def put(self, key: str, html: str) -> None:
        self.put_many([(key, html)])

    def put_many(self, items: list[tuple[str, str]]) -> None:
        if not items:
            return
        pack = _zstd()[0].compress
        rows = [(k, pack(html.encode())) for k, html in items]
        db = self._db()
        with immediate(db):
            db.executemany("INSERT OR IGNORE INTO bodies VALUES (?, ?)", rows)

    def get(self, key: str) -> str:
        try:
            row = self._db().execute("SELECT data FROM bodies WHERE key=?", (key,)).fetchone()
            if row is None:
                raise BodyMissing(key)
            return _zstd()[1].decompress(row[0]).decode()
        except (sqlite3.DatabaseError, zstandard.ZstdError, UnicodeDecodeError) as exc:
            raise BodyMissing(key) from exc

    def discard_many(self, keys) -> None:
        keys = [(k,) for k in keys]
        if keys:
            try:
                self._db().executemany("DELETE FROM bodies WHERE key=?", keys)
            except sqlite3.DatabaseError:
                self.reset()

    def discard_damaged(self) -> int:
        """Delete every row that does not decode. Once one damaged body is found
        the rest are checked too, so the build's one retry does not meet the next."""
        bad = []
        unpack = _zstd()[1].decompress
        try:
            for key, data in self._db().execute("SELECT key, data FROM bodies"):
                try:
                    unpack(data).decode()
                except (zstandard.ZstdError, UnicodeDecodeError, TypeError):
                    bad.append(key)
        except sqlite3.DatabaseError:
            self.reset()
            return 0
        self.discard_many(bad)
        return len(bad)

    def prune(self, keep: set[str]) -> int:
        stale = self.keys() - keep
        self.discard_many(stale)
        return len(stale)

    def reset(self) -> None:
        self.close()
        remove_sqlite(self.file)


_ZSTD: dict[tuple[int, int], tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]] = {}


def _zstd() -> tuple[zstandard.ZstdCompressor, zstandard.ZstdDecompressor]:
    """This thread's zstd contexts: a context must not be used by two threads or
    processes at once (forked workers make their own)."""
    key = (os.getpid(), threading.get_ident())
    pair = _ZSTD.get(key)
    if pair is None:
        pair = _ZSTD[key] = (zstandard.ZstdCompressor(level=1, write_checksum=True),
                             zstandard.ZstdDecompressor())
    return pair


# --- parsed documents --------------------------------------------------------------
@dataclass
class DocCache:
    """source rel -> (stamp, document, warnings): skip unchanged files entirely.

    Stored as a base file plus a delta of what changed since: rewriting ten
    thousand documents after one edit cost more than the edit itself. The
    delta is folded into a new base once it holds a tenth of the entries.
    """

    path: Path
    entries: dict[str, tuple[tuple[int, int], Document, tuple]]
    changed: bool = True
    base: dict = field(default_factory=dict)
    token: str = ""  # names the base a delta belongs to

    @property
    def delta_path(self) -> Path:
        return self.path.with_name(DOCS_DELTA)

    @classmethod
    def load(cls, path: Path, settings_key: str) -> DocCache:
        cache = cls(path, {})
        payload = read_cache(path, "docs")
        if not (isinstance(payload, tuple) and len(payload) == 3 and payload[0] == settings_key
                and isinstance(payload[2], dict)):
            return cache
        cache.token, cache.base = payload[1], payload[2]
        cache.entries = dict(cache.base)
        delta = read_cache(cache.delta_path, "docs-delta")
        if isinstance(delta, tuple) and len(delta) == 3 and delta[0] == cache.token:
            cache.entries.update(delta[1])
            for rel in delta[2]:
                cache.entries.pop(rel, None)
        return cache

    def lookup(self, rel: str, stamp: tuple[int, int]):
        entry = self.entries.get(rel)
        if entry and entry[0] == stamp:
            return entry
        return None

    def save(self, settings_key: str) -> None:
        if not self.changed and self.path.is_file():
            return
        base = self.base
        changed = {rel: e for rel, e in self.entries.items() if base.get(rel) is not e}
        removed = [rel for rel in base if rel not in self.entries]
        if self.token and len(changed) + len(removed) <= max(100, len(self.entries) // 10):
            write_cache(self.delta_path, "docs-delta", (self.token, changed, removed),
                        remember=True)
            return
        self.token = os.urandom(8).hex()
        write_cache(self.path, "docs", (settings_key, self.token, self.entries), remember=True)
        self.base = self.entries
        self.delta_path.unlink(missing_ok=True)

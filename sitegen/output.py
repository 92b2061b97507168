"""The output folder: staged writes applied only after a whole build succeeded.

Pages are rendered into `.sitegen/stage/`. Only when the build has no errors
are the changed files moved into the output, each with one atomic rename;
unchanged files are left alone (same bytes, same mtime) and files no longer
produced are pruned. A failed or interrupted build never touches the output.
"""
from __future__ import annotations

import bisect
import hashlib
import os
import shutil
import stat
import threading
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from sitegen.cache import read_cache, write_cache
from sitegen.workers import write_all


class OutputEntry(NamedTuple):  # a tuple: 18k of them are pickled on every build
    digest: str  # sha1 of the bytes
    size: int
    mtime_ns: int
    inputs: str  # what produced it (job inputs, or source file stamp)


@dataclass
class Manifest:
    """What the last successful build wrote, to skip unchanged work safely.

    Stored as a base file plus a delta of what changed since, like the doc
    cache: after one edit, pickling all 19k entries of a 10k-post site cost
    more than the pages the edit rewrote. The delta is folded into a new base
    once it holds a tenth of the entries."""

    path: Path
    entries: dict[str, OutputEntry] = field(default_factory=dict)
    base: dict[str, OutputEntry] = field(default_factory=dict)  # what the base file holds
    token: str = ""  # names the base a delta belongs to
    since_base: set[str] = field(default_factory=set)  # outputs the loaded delta changed

    @property
    def delta_path(self) -> Path:
        return self.path.with_name(f"{self.path.stem}-delta{self.path.suffix}")

    @classmethod
    def load(cls, path: Path) -> Manifest:
        manifest = cls(path)
        payload = read_cache(path, "manifest")
        if isinstance(payload, dict):  # written before deltas: a base no delta names
            payload = ("", payload)
        if not (isinstance(payload, tuple) and len(payload) == 2 and isinstance(payload[1], dict)):
            return manifest
        make = tuple.__new__  # plain tuples pickle ten times faster than named ones
        manifest.token = payload[0]
        manifest.base = {k: make(OutputEntry, v) for k, v in payload[1].items()}
        manifest.entries = dict(manifest.base)
        delta = read_cache(manifest.delta_path, "manifest-delta")
        if isinstance(delta, tuple) and len(delta) == 3 and delta[0] == manifest.token:
            manifest.entries.update((k, make(OutputEntry, v)) for k, v in delta[1].items())
            manifest.since_base = set(delta[1])
            for output in delta[2]:
                manifest.entries.pop(output, None)
        return manifest

    def save(self, touched: set[str] | None = None) -> None:
        """`touched`: the outputs whose entries changed since load, if known; the
        others are then the entries loaded, and need no look."""
        base, entries = self.base, self.entries
        maybe = entries.keys() if touched is None else (self.since_base | touched) & entries.keys()
        changed = {k: tuple(entries[k]) for k in maybe if base.get(k) is not entries[k]}
        removed = sorted(base.keys() - entries.keys())
        if self.token and len(changed) + len(removed) <= max(100, len(entries) // 10):
            write_cache(self.delta_path, "manifest-delta", (self.token, changed, removed),
                        remember=True)
            self.since_base = set(changed)
            return
        self.token = os.urandom(8).hex()
        write_cache(self.path, "manifest", (self.token, {k: tuple(v) for k, v in entries.items()}),
                    remember=True)
        self.base = dict(entries)
        self.since_base = set()
        self.delta_path.unlink(missing_ok=True)

    @classmethod
    def load_watched(cls, path: Path, output_dir: Path) -> Manifest:
        """load() while the outputs are checked for being as the last build left
        them, beside discovery and parsing. A forked child does the 18k stats of a
        10k-post site on the other core; it is forked before anything is loaded, as
        a parent with a big heap pays for copying each page it writes while the
        child lives. A thread (without fork) fights the main thread for the GIL."""
        checker = None
        if hasattr(os, "fork") and path.is_file():
            checker = _ForkedCheck(str(output_dir), lambda: cls.load(path).entries.items())
        manifest = cls.load(path)
        if checker is None and manifest.entries:
            items = list(manifest.entries.items())
            checker = _ThreadCheck(str(output_dir), lambda: items)
        if checker is not None:
            manifest._checker = checker
        return manifest

    def stop_watching(self) -> None:
        """Reap the checker when the build ends before asking for its answer."""
        checker = self.__dict__.pop("_checker", None)
        if checker is not None:
            checker.result()

    def untouched(self, output_dir: Path) -> set[str]:
        """The outputs whose size and mtime are still those recorded."""
        if "_untouched" not in self.__dict__:
            checker = self.__dict__.pop("_checker", None)
            touched = checker.result() if checker is not None else None
            if touched is None:  # no check running, or it failed: stat here
                touched = _touched(str(output_dir), self.entries.items())
            self._untouched = self.entries.keys() - touched
        return self._untouched

    def fresh(self, output_dir: Path, output: str, inputs: str) -> bool:
        """True when `output` was produced from the same inputs and is untouched since."""
        entry = self.entries.get(output)
        if entry is None or entry.inputs != inputs:
            return False
        untouched = self.__dict__.get("_untouched")
        return output in (untouched if untouched is not None else self.untouched(output_dir))


def _touched(out: str, items) -> set[str]:
    """Outputs missing or changed (size or mtime) since they were recorded."""
    touched = set()
    for output, entry in items:
        try:
            st = os.stat(f"{out}/{output}")  # str, not Path: called per output file
        except OSError:
            touched.add(output)
            continue
        if st.st_size != entry[1] or st.st_mtime_ns != entry[2]:
            touched.add(output)
    return touched


class _ForkedCheck:
    """_touched() in a child process; the names come back through a pipe."""

    def __init__(self, out: str, items: Callable[[], Iterable]):
        self.read, write = os.pipe()
        with warnings.catch_warnings(action="ignore", category=DeprecationWarning):
            # Python 3.12+ warns when forking with threads running (serve, progress
            # bars); the child only stats files and writes to a pipe, so no lock
            # another thread may hold is ever taken.
            self.pid = os.fork()
        if self.pid == 0:  # child: stat, report, leave without running any cleanup
            code = 1
            try:
                os.close(self.read)
                data = "\0".join(_touched(out, items())).encode("utf-8", "surrogateescape")
                with os.fdopen(write, "wb") as pipe:
                    pipe.write(data)
                code = 0
            finally:
                os._exit(code)
        os.close(write)

    def result(self) -> set[str] | None:
        with os.fdopen(self.read, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        if status != 0:
            return None
        text = data.decode("utf-8", "surrogateescape")
        return set(text.split("\0")) if text else set()


class _ThreadCheck:
    def __init__(self, out: str, items: Callable[[], Iterable]):
        self.found: set[str] | None = None
        self.thread = threading.Thread(target=self._run, args=(out, items()), daemon=True)
        self.thread.start()

    def _run(self, out: str, items: list) -> None:
        self.found = _touched(out, items)

    def result(self) -> set[str] | None:
        self.thread.join()
        return self.found


def stage_name(output: str) -> str:
    """A flat file name in the stage for an output path: no folders to create or remove
    (folder operations dominate on slow file systems)."""
    return hashlib.sha1(output.encode()).hexdigest()


@dataclass(frozen=True)
class Stage:
    """Where a build's files wait until it has succeeded.

    Flat (hashed names in one folder) when the output already has files: only
    the changed ones move over. As a tree when the output is empty: the
    folders are made by the render workers in parallel (each mkdir costs about
    0.15 ms of kernel time here) and the whole tree becomes the output with
    one rename.

    A flat stage writes into spare files where it has them (see Spares):
    `spares` maps an output to the spare file its page is written into.
    """

    path: Path
    tree: bool = False
    spares: dict[str, str] = field(default_factory=dict)

    def file(self, output: str) -> str:
        # Strings, not Paths: a build asks this thousands of times (8 µs a Path).
        spare = self.spares.get(output)
        if spare is not None:
            return spare
        return f"{self.path}/{output if self.tree else stage_name(output)}"

    def write(self, output: str, data: bytes) -> int:
        """Write a page; returns its file's mtime_ns, which the commit's rename keeps
        (so the manifest needs no stat per page)."""
        spare = self.spares.get(output)
        if spare is not None:
            mtime_ns = _overwrite(spare, data)
            if mtime_ns is not None:
                return mtime_ns
            # Not reusable: a new file under the same name (commit looks for it there).
            try:
                os.unlink(spare)
            except FileNotFoundError:
                pass
        target = self.file(output)
        try:
            return _write(target, data)
        except FileNotFoundError:
            if not self.tree:
                raise
            os.makedirs(os.path.dirname(target), exist_ok=True)
            return _write(target, data)

    def copy(self, source: Path, output: str) -> None:
        target = self.file(output)
        if self.tree:
            os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(source, target)


def _write(path: Path | str, data: bytes) -> int:
    """Write a file; returns its mtime_ns."""
    # Plain os calls: Path.write_bytes costs 40 % more kernel and Python time per
    # file here (buffered file object, extra fstat), and a build writes thousands.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        write_all(fd, data)
        return os.fstat(fd).st_mtime_ns
    finally:
        os.close(fd)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # not on Windows: there links are checked first


def _overwrite(path: str, data: bytes) -> int | None:
    """Write `data` over a spare file in place and return its mtime_ns; None when
    it is not one we may reuse."""
    try:
        if not _NOFOLLOW and os.path.islink(path):
            return None
        fd = os.open(path, os.O_WRONLY | _NOFOLLOW)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            return None  # linked from elsewhere: writing would change that file too
        write_all(fd, data)
        if st.st_size > len(data):  # cut what is left of the old page
            os.ftruncate(fd, len(data))
        return os.fstat(fd).st_mtime_ns
    finally:
        os.close(fd)


# Larger files are not kept: writing one costs far more than creating it, and the
# search index and sitemap (megabytes, replaced by every build) filled the folder.
SPARE_MAX = 1 << 20


class Spares:
    """Files that the output no longer uses, kept to be written over.

    Creating a file costs 0.3-0.6 ms of kernel time on the disks measured here,
    writing over an existing one 0.02 ms: adding a post to a 10k-post archive
    rewrites ~2,000 listing pages, and making new files for them was the
    largest part of that build. When a page is replaced, its old file is kept
    here (a hard link taken before the new file is renamed over it, so readers
    always see a whole file); the next build writes pages into these files.
    Only files with no other link are reused, and at most `limit` are kept.
    """

    def __init__(self, folder: Path):
        self.folder = folder
        self.made = 0
        self.prefix = os.urandom(4).hex()

    def take(self, outputs: dict[str, int]) -> dict[str, str]:
        """Spare files for as many of `outputs` (output -> expected size) as there
        are spares. Each gets the largest spare no bigger than its expected size
        where there is one: cutting a bigger file down frees its blocks, which cost
        0.12 ms a page here when post pages' files were given to short listings."""
        try:
            with os.scandir(self.folder) as entries:
                spares = sorted((_spare_size(e), e.path) for e in entries if e.name[:1] in "ps")
        except OSError:
            return {}
        sizes = [size for size, _ in spares]
        taken = {}
        for output, want in sorted(outputs.items(), key=lambda kv: -kv[1]):
            if not spares:
                break
            i = max(bisect.bisect_right(sizes, want) - 1, 0)
            taken[output] = spares.pop(i)[1]
            del sizes[i]
        return taken

    def keep(self, target: str) -> None:
        """Keep the file at `target` (about to be replaced) as a spare."""
        try:
            st = os.lstat(target)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_size > SPARE_MAX:
                return
            if self.made == 0:
                self.folder.mkdir(parents=True, exist_ok=True)
            os.link(target, f"{self.folder}/p{st.st_size}-{self.prefix}-{self.made}",
                    follow_symlinks=False)
            self.made += 1
        except (OSError, NotImplementedError):
            pass  # no hard links here (another file system, a FAT stick): nothing is kept

    def fill(self, count: int) -> None:
        """Make `count` empty spares. A first build leaves none, so the first change
        that rewrites thousands of listing pages would create every file anew."""
        try:
            self.folder.mkdir(exist_ok=True)  # not the cache folder, if it was removed meanwhile
            for i in range(count):
                os.close(os.open(f"{self.folder}/p0-{self.prefix}-e{i}",
                                 os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except OSError:
            pass  # spares only save time

    def trim(self, limit: int) -> None:
        try:
            with os.scandir(self.folder) as entries:
                names = [e.path for e in entries]
        except OSError:
            return
        for path in names[limit:]:
            try:
                os.unlink(path)
            except OSError:
                pass


def _spare_size(entry: os.DirEntry) -> int:
    """A spare's size, from its name: nothing writes a spare before a build takes it,
    and a stat of each of ~3,000 spares cost 20-30 ms a build. A wrong size only
    makes a worse match (the page is written whole, and the rest cut off)."""
    size, dash, _ = entry.name[1:].partition("-")
    if entry.name[0] == "p" and dash and size.isdigit():
        return int(size)
    return entry.stat(follow_symlinks=False).st_size  # named by an older sitegen


def _empty_or_missing(folder: Path) -> bool:
    if folder.is_symlink():
        return False  # keep a linked output folder where it is
    try:
        with os.scandir(folder) as entries:
            return next(entries, None) is None
    except FileNotFoundError:
        return True
    except NotADirectoryError:
        return False


class DirMaker:
    """mkdir -p with memory: each folder is created (or found) once per build."""

    def __init__(self) -> None:
        self.known: set[str] = set()

    def ensure(self, folder: Path | str) -> None:
        key = str(folder)
        if key not in self.known:
            os.makedirs(key, exist_ok=True)
            self.known.add(key)


def sha1_file(path: Path) -> str:
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class Transaction:
    """Collects a build's outputs in the stage; `commit` applies them to the output."""

    output_dir: Path
    stage_dir: Path
    manifest: Manifest
    stage: Stage = field(init=False)
    expected: dict[str, str] = field(default_factory=dict)  # output -> inputs, but for `fresh`
    staged: dict[str, str] = field(default_factory=dict)  # output -> digest, waiting in the stage
    kept: dict[str, str] = field(default_factory=dict)  # output -> digest, already right
    stamps: dict[str, tuple[int, int]] = field(default_factory=dict)  # staged -> size, mtime_ns
    dirs: DirMaker = field(default_factory=DirMaker)
    # output -> inputs, kept because the manifest entry still holds. Apart from
    # `expected`: after an edit it is nearly every page, and needs no other record.
    fresh: dict[str, str] = field(default_factory=dict)
    spares: Spares | None = None
    committing: bool = False  # from here on a failure may leave the output half updated

    def __post_init__(self) -> None:
        self.stage = Stage(self.stage_dir)
        if self.spares is None:
            self.spares = Spares(self.stage_dir.with_name("spare"))

    def fill_spares(self, count: int) -> None:
        """On a first build (a tree stage), make `count` empty spares: empty files
        cost ~0.065 ms of kernel time each here, pages created anew 0.3-0.6 ms."""
        if self.stage.tree and count > 0:
            self.spares.fill(count)

    def use_spares(self, outputs: list[str]) -> None:
        """Stage these outputs' pages in spare files (call before workers fork).
        A page's last size is the best guess of its next one."""
        if not self.stage.tree:
            entries = self.manifest.entries
            self.stage.spares.update(self.spares.take(
                {o: entries[o].size if o in entries else 0 for o in outputs}))

    def begin(self) -> None:
        self.abort()
        tree = not self.manifest.entries and _empty_or_missing(self.output_dir)
        self.stage = Stage(self.stage_dir, tree)
        self.stage_dir.mkdir(parents=True)

    def abort(self) -> None:
        shutil.rmtree(self.stage_dir, ignore_errors=True)

    @property
    def outputs(self) -> int:
        """How many files the output holds once committed."""
        return len(self.fresh) + len(self.expected)

    def keep(self, output: str, inputs: str) -> None:
        """The existing output file is known to be right (its manifest entry holds)."""
        self.fresh[output] = inputs

    def keep_all(self, right: dict[str, str]) -> None:
        """keep() each output -> inputs of `right`."""
        self.fresh.update(right)

    def _expect(self, output: str, inputs: str) -> None:
        self.fresh.pop(output, None)
        self.expected[output] = inputs

    def staged_file(self, output: str, inputs: str, digest: str,
                    stamp: tuple[int, int] | None = None) -> None:
        """A file already written into the stage (by a render worker), with its
        (size, mtime_ns) when known."""
        self._expect(output, inputs)
        if self._same_as_current(output, digest):
            if output not in self.stage.spares:  # a spare stays one
                os.unlink(self.stage.file(output))
            self.kept[output] = digest
        else:
            self.staged[output] = digest
            if stamp is not None:
                self.stamps[output] = stamp

    def add_bytes(self, output: str, data: bytes, inputs: str = "") -> None:
        digest = hashlib.sha1(data).hexdigest()
        self._expect(output, inputs or digest)
        if self._same_as_current(output, digest):
            self.kept[output] = digest
            return
        self.stamps[output] = (len(data), self.stage.write(output, data))
        self.staged[output] = digest

    def add_file(self, output: str, source: Path, inputs: str) -> None:
        """Copy a file (asset, image) unless the output already has it."""
        if self.manifest.fresh(self.output_dir, output, inputs):
            self.keep(output, inputs)
            return
        digest = sha1_file(source)
        self._expect(output, inputs)
        if self._same_as_current(output, digest):
            self.kept[output] = digest
            return
        self.stage.copy(source, output)
        self.staged[output] = digest

    def _same_as_current(self, output: str, digest: str) -> bool:
        if self.stage.tree:
            return False  # the output was empty
        current = f"{self.output_dir}/{output}"
        entry = self.manifest.entries.get(output)
        try:
            st = os.stat(current)
        except OSError:
            return False
        if entry and entry.size == st.st_size and entry.mtime_ns == st.st_mtime_ns:
            return entry.digest == digest
        return sha1_file(current) == digest

    def commit(self) -> tuple[int, int]:
        """Move staged files into place and prune the rest; returns (written, removed)."""
        self.committing = True
        old, expected = self.manifest.entries, self.expected
        # Written last time, not now (set operations: `fresh` is nearly every page).
        stale = sorted(o for o in old.keys() - self.fresh.keys() if o not in expected)
        if self.stage.tree:
            self._move_tree()
            removed = 0
        else:
            self._move_files()
            removed = self._prune(stale)
        # A fresh output keeps its entry: keep() is called only where the entry's
        # inputs are this build's. The others (a few after an edit) get new ones.
        entries = dict(old)
        for output in stale:
            del entries[output]
        touched = set(stale)
        out = str(self.output_dir)
        for output, inputs in expected.items():
            stamp = self.stamps.get(output)  # staged pages only
            if stamp is None:  # kept, or copied: stat it (renames keep size and mtime)
                st = os.stat(f"{out}/{output}")
                stamp = (st.st_size, st.st_mtime_ns)
            entry = OutputEntry(self.staged.get(output) or self.kept[output], *stamp, inputs)
            if entries.get(output) != entry:
                entries[output] = entry
                touched.add(output)
        if touched:
            self.manifest.entries = entries
            self.manifest.save(touched)
        shutil.rmtree(self.stage_dir, ignore_errors=True)
        return len(self.staged), removed

    def _move_files(self) -> None:
        self.output_dir.mkdir(parents=True, exist_ok=True)
        out = str(self.output_dir)
        for output in sorted(self.staged):
            target = f"{out}/{output}"
            known = output in self.manifest.entries
            if known:  # its folder is there (a mkdir per page cost 30 µs)
                self.spares.keep(target)
            else:
                self.dirs.ensure(os.path.dirname(target))
            try:
                os.replace(self.stage.file(output), target)
            except FileNotFoundError:  # someone removed the folder since
                self.dirs.ensure(os.path.dirname(target))
                os.replace(self.stage.file(output), target)
            except IsADirectoryError:  # a folder of an old build stands where a file goes now
                shutil.rmtree(target)
                os.replace(self.stage.file(output), target)
        # Enough spares for the next build to rewrite an eighth of the site.
        self.spares.trim(1000 + len(self.manifest.entries) // 8)

    def _move_tree(self) -> None:
        """The output was empty: the staged tree becomes the output."""
        self.output_dir.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.output_dir.rmdir()
        except FileNotFoundError:
            pass
        try:
            os.rename(self.stage_dir, self.output_dir)
        except OSError:  # another file system: copy, then the stage is removed
            shutil.copytree(self.stage_dir, self.output_dir, dirs_exist_ok=True)

    def _prune(self, stale: list[str]) -> int:
        """Delete `stale`, what the last build wrote and this one did not. Without a
        manifest (first build, or a folder another tool filled) walk the whole output."""
        if self.manifest.entries:
            for output in stale:
                (self.output_dir / output).unlink(missing_ok=True)
            self._remove_empty_parents(stale)
            return len(stale)
        return self._prune_walk()

    def _remove_empty_parents(self, outputs: list[str]) -> None:
        folders = {str(Path(o).parent) for o in outputs if "/" in o}
        for folder in sorted(folders, key=lambda f: -f.count("/")):
            path = self.output_dir / folder
            while path != self.output_dir:
                try:
                    path.rmdir()
                except OSError:
                    break
                path = path.parent

    def _prune_walk(self) -> int:
        removed = 0
        for dirpath, _dirnames, filenames in os.walk(self.output_dir, topdown=False):
            rel_dir = os.path.relpath(dirpath, self.output_dir)
            for name in filenames:
                rel = name if rel_dir == "." else f"{rel_dir}/{name}".replace(os.sep, "/")
                if rel not in self.expected and rel not in self.fresh:
                    os.unlink(os.path.join(dirpath, name))
                    removed += 1
            if dirpath != str(self.output_dir) and not os.listdir(dirpath):
                os.rmdir(dirpath)
        return removed

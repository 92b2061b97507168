"""The no-change fast path: skip a build whose every input is as the last one left it.

Inputs are the config, the build options, every source file's (path, mtime,
size), every theme and template file's stamp, and sitegen's version. The
output must also be untouched since: each file the last build wrote is
stat'ed against the manifest. Like make, but for the whole site at once.
"""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from sitegen import __version__
from sitegen.cache import read_cache, write_cache
from sitegen.output import Manifest

STATE = "last-build.pickle"


def _theme_stamps(dirs: list[Path]) -> list[tuple[str, int, int]]:
    stamps = []
    for folder in dirs:
        for dirpath, _dirnames, filenames in os.walk(folder):
            for name in filenames:
                st = os.stat(os.path.join(dirpath, name))
                stamps.append((os.path.join(dirpath, name), st.st_mtime_ns, st.st_size))
    return sorted(stamps)


def inputs_key(config, options, files, theme) -> str:
    h = hashlib.sha256()
    h.update(repr((__version__, config.fingerprint(), config.config_file.read_bytes(),
                   options.drafts, options.base_url, options.images, options.offline,
                   options.refetch, options.strict, options.keep_going,
                   options.fingerprint)).encode())
    for f in files:
        h.update(f"{f.rel}\0{f.mtime_ns}\0{f.size}\n".encode())
    for stamp in _theme_stamps([*theme.dirs, config.site_dir / "templates"]):
        h.update(repr(stamp).encode())
    return h.hexdigest()


def unchanged(config, key: str, manifest: Manifest) -> dict | None:
    """The last build's summary when nothing changed since, else None."""
    state = read_cache(config.cache_dir / STATE, "last-build")
    if not isinstance(state, dict) or state.get("key") != key:
        return None
    if state.get("recheck_after") is not None and time.time() >= state["recheck_after"]:
        return None  # time-dependent work is due (future posts, image retries)
    if not config.output_dir.is_dir():
        return None
    if len(manifest.untouched(config.output_dir)) != len(manifest.entries):
        return None
    return state


def remember(config, key: str, summary: dict, recheck_after: float | None) -> None:
    write_cache(config.cache_dir / STATE, "last-build",
               {"key": key, "recheck_after": recheck_after, **summary})


def forget(config) -> None:
    (config.cache_dir / STATE).unlink(missing_ok=True)

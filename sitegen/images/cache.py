"""The persistent image cache under `<cache_dir>/images/`, content-addressed.

    originals/ab/<sha256>            downloaded bytes, named by their hash
    urls/ab/<sha256 of url>.json     what a URL gave: hash, final URL, ETag,
                                     Last-Modified, or the failure and when
    processed/ab/<key>-<w>.webp      encoded outputs; <key> = hash(source, settings)
    processed/ab/<key>.json          manifest of one processed image

Every file is written to a temporary name and renamed, so a crash leaves the
old entry or none. Reads check hashes: a damaged entry counts as missing.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CACHE_VERSION = 1


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class UrlRecord:
    """The last outcome for one URL."""

    url: str
    ok: bool
    at: float  # when it was fetched or failed (Unix time)
    sha256: str | None = None
    final_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    size: int | None = None
    reason: str | None = None
    detail: str | None = None

    def validators(self) -> dict[str, str]:
        """Headers for a conditional request that revalidates this entry."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


@dataclass(frozen=True)
class Variant:
    """One encoded file: `name` is relative to the images output folder, e.g. "ab/ab12-480.webp"."""

    width: int
    height: int
    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """All outputs made from one source image with one set of processing settings."""

    key: str
    source_sha256: str
    width: int  # of the largest variant, used for the width/height attributes
    height: int
    animated: bool
    variants: tuple[Variant, ...]  # narrowest first
    thumb: int  # index into variants of the card thumbnail

    @property
    def main(self) -> Variant:
        return self.variants[-1]


@dataclass(frozen=True)
class ImageCache:
    """File operations on one cache folder; holds no state besides its root."""

    root: Path

    @classmethod
    def at(cls, cache_dir: Path) -> ImageCache:
        return cls(Path(cache_dir) / "images")

    # -- URL records -------------------------------------------------------
    def _url_path(self, url: str) -> Path:
        digest = sha256(url.encode())
        return self.root / "urls" / digest[:2] / f"{digest}.json"

    def url_record(self, url: str) -> UrlRecord | None:
        data = _read_json(self._url_path(url))
        if not data or data.get("v") != CACHE_VERSION or data.get("url") != url:
            return None
        try:
            return UrlRecord(**{k: v for k, v in data.items() if k != "v"})
        except TypeError:
            return None

    def put_url_record(self, record: UrlRecord) -> None:
        _write_atomic(self._url_path(record.url),
                      json.dumps({"v": CACHE_VERSION, **asdict(record)}, indent=1).encode())

    def failure(self, url: str, reason: str, detail: str = "") -> UrlRecord:
        record = UrlRecord(url=url, ok=False, at=time.time(), reason=reason, detail=detail)
        self.put_url_record(record)
        return record

    # -- originals ---------------------------------------------------------
    def original_path(self, digest: str) -> Path:
        return self.root / "originals" / digest[:2] / digest

    def put_original(self, data: bytes) -> str:
        digest = sha256(data)
        path = self.original_path(digest)
        if not (path.exists() and path.stat().st_size == len(data)):
            _write_atomic(path, data)
        return digest

    def read_original(self, digest: str) -> bytes | None:
        """The original's bytes, or None if missing or damaged (a damaged file is removed)."""
        return _read_verified(self.original_path(digest), digest)

    # -- processed outputs -------------------------------------------------
    def processed_path(self, name: str) -> Path:
        return self.root / "processed" / name

    def _manifest_path(self, key: str) -> Path:
        return self.root / "processed" / key[:2] / f"{key}.json"

    def manifest(self, key: str) -> Manifest | None:
        """The manifest for `key` if it and every output it lists are intact."""
        data = _read_json(self._manifest_path(key))
        if not data or data.get("v") != CACHE_VERSION or data.get("key") != key:
            return None
        try:
            variants = tuple(Variant(**v) for v in data["variants"])
            manifest = Manifest(key, data["source_sha256"], data["width"], data["height"],
                                data["animated"], variants, data["thumb"])
        except (KeyError, TypeError):
            return None
        for variant in variants:
            if _read_verified(self.processed_path(variant.name), variant.sha256) is None:
                return None
        return manifest

    def put_processed(self, manifest: Manifest, outputs: dict[str, bytes]) -> None:
        """Write each output, then the manifest last: a manifest only exists for whole sets."""
        for name, data in outputs.items():
            _write_atomic(self.processed_path(name), data)
        body = {"v": CACHE_VERSION, **asdict(manifest)}
        _write_atomic(self._manifest_path(manifest.key), json.dumps(body, indent=1).encode())


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_verified(path: Path, digest: str) -> bytes | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if sha256(data) != digest:
        path.unlink(missing_ok=True)
        return None
    return data


def _write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename over the target.

    No fsync: a file torn by power loss fails its hash check and is made again.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o644)  # mkstemp makes 0600; outputs get published
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

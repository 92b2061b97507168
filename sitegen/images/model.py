"""The data the image stage takes in and hands back: frozen and plain."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType


@dataclass(frozen=True)
class ImageDoc:
    """One document (post or page) whose images are to be localised."""

    source: str  # the source file, relative, for the report, e.g. "_posts/a.md"
    html: str  # rendered body HTML
    fields: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    base_dir: Path | None = None  # folder for relative and post-asset-folder images
    # The page's own URL path, e.g. "/2020/01/02/hello/": root-absolute image URLs under
    # it are files in base_dir (Hexo's asset_img and post_asset_folder write those).
    page_url: str | None = None


@dataclass(frozen=True)
class ImageRef:
    """A localised image as a theme needs it."""

    url: str
    width: int
    height: int
    srcset: str


@dataclass(frozen=True)
class LocalisedDoc:
    html: str  # only URL attributes changed, plus attributes added to <img>
    fields: Mapping[str, object]  # the same keys; image fields point at local URLs
    thumbnail: ImageRef | None  # card thumbnail: thumbnail, else headimg, else first image
    images: tuple[ImageRef, ...] = ()  # every localised image of the document, in order


@dataclass(frozen=True)
class ImageFailure:
    """An image that stays remote, and why."""

    source: str
    url: str
    reason: str  # "404", "timeout", "not an image", "too large", "blocked address", "bomb", ...
    detail: str = ""
    cached: bool = False  # the failure was remembered from an earlier build, not retried


@dataclass(frozen=True)
class ImageStats:
    found: int = 0  # distinct images referenced (remote and local)
    references: int = 0  # places referring to them
    fetched: int = 0  # downloaded in this build
    revalidated: int = 0  # asked again with --refetch, answered "not modified"
    from_cache: int = 0  # remote images served from the cache without a request
    local: int = 0  # files next to the sources
    failed: int = 0  # distinct images that stay remote
    processed: int = 0  # encoded in this build (others came from the processed cache)
    requests: int = 0  # HTTP requests made, retries and redirects included
    bytes_downloaded: int = 0
    bytes_written: int = 0  # total size of the processed files the site uses


@dataclass(frozen=True)
class LocaliseResult:
    docs: tuple[LocalisedDoc, ...]  # same order as the input
    files: Mapping[str, Path]  # output-relative path -> processed file in the cache
    failures: tuple[ImageFailure, ...]
    stats: ImageStats
    localised: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

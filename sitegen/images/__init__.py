"""Image localisation: every remote image becomes a small local file, fetched once.

    localise(docs, settings, cache_dir=...) -> LocaliseResult

Stages, one module each: settings (images.* config), discover (find URLs and
their spans), safety (which URLs and addresses may be fetched), fetch (stdlib
HTTP with limits), cache (content-addressed store under cache_dir), process
(Pillow), engine (concurrency and the cache/network/process flow), rewrite
(splice local URLs into HTML), pipeline (localise) and report.
"""
from sitegen.images.model import (
                                  ImageDoc,
                                  ImageFailure,
                                  ImageRef,
                                  ImageStats,
                                  LocalisedDoc,
                                  LocaliseResult,
)
from sitegen.images.pipeline import localise
from sitegen.images.report import format_summary, write_report
from sitegen.images.settings import ImageSettings

__all__ = [
                                  "ImageDoc",
                                  "ImageFailure",
                                  "ImageRef",
                                  "ImageSettings",
                                  "ImageStats",
                                  "LocaliseResult",
                                  "LocalisedDoc",
                                  "format_summary",
                                  "localise",
                                  "write_report",
]

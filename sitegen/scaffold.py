"""`sitegen init`, `sitegen new` and `sitegen clean`: files a user starts from."""
from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sitegen.cache import MANIFEST, MANIFEST_DELTA
from sitegen.config import load_config
from sitegen.hexo.dates import format_moment, site_timezone
from sitegen.hexo.slug import slugize
from sitegen.site_lock import site_lock
from sitegen.templates import builtin_themes_dir

SITE_TOML = """\
# sitegen site configuration. Keys use Hexo's names; see the README's reference.
theme = "default"

[site]
title = "{title}"
subtitle = ""
description = ""
author = "Your Name"
language = "en"
timezone = "UTC"

[url]
url = "https://example.com"
permalink = ":year/:month/:day/:title/"

[pagination]
per_page = 10

[writing]
new_post_name = ":title.md"
default_category = "uncategorized"
# Scraped HTML goes through nh3: scripts, event handlers and unknown iframes are removed.
sanitize = true

[images]
enabled = true
max_width = 1600
"""

FIRST_POST = """\
---
title: Hello, sitegen
date: {date}
categories:
  - Notes
tags:
  - welcome
---

This is your first post. Edit it in `content/_posts/hello-sitegen.md`.

<!-- more -->

Write Markdown or raw HTML. Run `sitegen serve` to preview with live reload.
"""

ABOUT = """\
---
title: About
---

This site is built with sitegen.
"""


def init_site(directory: Path, title: str = "My Archive") -> list[Path]:
    """Scaffold a sitegen project; refuses a folder that already has a site."""
    directory = directory.resolve()
    if (directory / "sitegen.toml").exists() or (directory / "_config.yml").exists():
        raise FileExistsError(f"{directory} already holds a site")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
    files = {
        "sitegen.toml": SITE_TOML.format(title=title.replace('"', '\\"')),
        "content/_posts/hello-sitegen.md": FIRST_POST.format(date=stamp),
        "content/about/index.md": ABOUT,
        ".gitignore": "output/\n.sitegen/stage/\n",
    }
    created = []
    for rel, text in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        created.append(path)
    theme = directory / "themes" / "default"
    if not theme.exists():
        shutil.copytree(builtin_themes_dir() / "default", theme)
        created.append(theme)
    try:
        from sitegen.deploy.workflow import write_workflow

        created.append(write_workflow(directory, source_dir="content", public_dir="output"))
    except ImportError:
        pass
    return created


def new_post(site_dir: Path, title: str, draft: bool = False, slug: str | None = None) -> Path:
    config = load_config(site_dir)
    tz = site_timezone(config.timezone or None)
    now = datetime.now(UTC).astimezone(tz)
    name = slug or slugize(title, transform=config.filename_case) or "untitled"
    pattern = config.new_post_name or ":title.md"
    file_name = (pattern.replace(":title", name).replace(":year", f"{now.year:04d}")
                 .replace(":month", f"{now.month:02d}").replace(":day", f"{now.day:02d}")
                 .replace(":i_month", str(now.month)).replace(":i_day", str(now.day)))
    if "/" in name or ".." in file_name:
        raise ValueError(f"unusable post file name {file_name!r}")
    folder = config.source_dir / ("_drafts" if draft else "_posts")
    path = folder / file_name
    if path.exists():
        raise FileExistsError(f"{path} already exists")
    folder.mkdir(parents=True, exist_ok=True)
    quoted = "'" + title.replace("'", "''") + "'"
    path.write_text(
        f"---\ntitle: {quoted}\ndate: {format_moment(now, 'YYYY-MM-DD HH:mm:ss')}\n"
        "categories:\ntags:\n---\n\n", encoding="utf-8")
    return path


def clean_site(site_dir: Path, cache: bool = False,
               on_wait: Callable[[str], None] | None = None) -> list[Path]:
    config = load_config(site_dir)
    removed = []
    # The stage and the spare files (old pages kept to be written over) go with the output.
    targets = [config.output_dir] + ([config.cache_dir] if cache else
                                     [config.cache_dir / "stage", config.cache_dir / "spare"])
    if not config.cache_dir.exists() and not config.output_dir.exists():
        return removed
    with site_lock(config.cache_dir, on_wait):  # never under a running build
        for target in targets:
            if target.exists():
                shutil.rmtree(target)
                removed.append(target)
        if not cache:  # the output they describe is gone
            for name in (MANIFEST, MANIFEST_DELTA):
                (config.cache_dir / name).unlink(missing_ok=True)
    return removed

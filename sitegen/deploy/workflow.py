"""The GitHub Actions route: a workflow that builds and deploys on every push.

It uses only GitHub's official actions. The base URL comes from
configure-pages, so a project site (user.github.io/archive/) gets its subpath
without any configuration. The image cache is restored between runs so
remote images are downloaded once, not on every build.
"""
from __future__ import annotations

import re
from pathlib import Path

WORKFLOW_PATH = Path(".github/workflows/pages.yml")
DEFAULT_INSTALL = "pip install sitegen"

# @NAME@ placeholders: GitHub's own ${{ }} syntax rules out str.format/Template.
_TEMPLATE = """\
# Builds the site with sitegen and publishes it with GitHub Pages.
# Enable it once: repository Settings > Pages > Source: "GitHub Actions".
name: Deploy site to GitHub Pages

on:
  push:
    branches: [@BRANCH@]
  workflow_dispatch:

permissions:
  contents: read
  pages: write
  id-token: write

# One deploy at a time; a running deploy is allowed to finish.
concurrency:
  group: pages
  cancel-in-progress: false

jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "@PYTHON@"
      - id: pages
        uses: actions/configure-pages@v5
      # Localised remote images: a new entry whenever the sources change,
      # restored from the newest older entry so nothing is downloaded twice.
      - uses: actions/cache@v4
        with:
          path: .sitegen/cache
          key: >-
            sitegen-cache-${{ runner.os }}-${{
            hashFiles('@SOURCE@/**', '_config.yml', 'sitegen.toml') }}
          restore-keys: |
            sitegen-cache-${{ runner.os }}-
      - name: Install sitegen
        run: |
          @INSTALL@
      - name: Build
        run: sitegen build --base-url "${{ steps.pages.outputs.base_url }}"
      - name: Check links
        run: sitegen check --base-url "${{ steps.pages.outputs.base_url }}"
      - uses: actions/upload-pages-artifact@v3
        with:
          path: @PUBLIC@

  deploy:
    needs: build
    runs-on: ubuntu-latest
    environment:
      name: github-pages
      url: ${{ steps.deployment.outputs.page_url }}
    steps:
      - id: deployment
        uses: actions/deploy-pages@v4
"""


def render_workflow(
    *,
    python_version: str = "3.11",
    install: str = DEFAULT_INSTALL,
    branch: str = "main",
    source_dir: str = "source",
    public_dir: str = "public",
) -> str:
    """The pages.yml text; values are checked so the YAML cannot be broken."""
    if not re.fullmatch(r"3\.\d+(\.\d+)?", python_version):
        raise ValueError(f"python_version must look like '3.11', not {python_version!r}")
    if not install.strip() or "\n" in install:
        raise ValueError("install must be one shell command line")
    for name, value in (("branch", branch), ("source_dir", source_dir), ("public_dir", public_dir)):
        if not re.fullmatch(r"[A-Za-z0-9._/-]+", value):
            raise ValueError(f"{name} {value!r} cannot be written into the workflow")
    return (
        _TEMPLATE.replace("@PYTHON@", python_version)
        .replace("@INSTALL@", install.strip())
        .replace("@BRANCH@", branch)
        .replace("@SOURCE@", source_dir)
        .replace("@PUBLIC@", public_dir)
    )


PAGES_WORKFLOW = render_workflow()


def write_workflow(
    site_dir: Path,
    *,
    python_version: str = "3.11",
    install: str = DEFAULT_INSTALL,
    branch: str = "main",
    source_dir: str = "source",
    public_dir: str = "public",
    overwrite: bool = False,
) -> Path:
    """Write .github/workflows/pages.yml; an existing one is kept unless overwrite."""
    path = Path(site_dir) / WORKFLOW_PATH
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path}: already exists; not replacing it")
    text = render_workflow(
        python_version=python_version,
        install=install,
        branch=branch,
        source_dir=source_dir,
        public_dir=public_dir,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path

"""Shared fixtures: a factory that writes small sites into temporary folders."""
from __future__ import annotations

import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from sitegen.build import BuildOptions, BuildResult, build

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
MINIMAL_THEME = REPO / "tests" / "themes" / "minimal"


@dataclass
class SiteFactory:
    """Writes inline files into a temp site and builds it with the real pipeline."""

    root: Path
    kind: str = "sitegen"

    @property
    def source(self) -> Path:
        return self.root / ("content" if self.kind == "sitegen" else "source")

    @property
    def output(self) -> Path:
        return self.root / ("output" if self.kind == "sitegen" else "public")

    def write(self, rel: str, text: str | bytes) -> Path:
        path = self.source / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def post(self, name: str, front: str, body: str = "Body text.\n") -> Path:
        return self.write(f"_posts/{name}", "---\n" + textwrap.dedent(front).strip() + "\n---\n\n"
                          + textwrap.dedent(body))

    def config(self, text: str) -> None:
        name = "sitegen.toml" if self.kind == "sitegen" else "_config.yml"
        (self.root / name).write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")

    def build(self, **options) -> BuildResult:
        options.setdefault("jobs", 1)
        options.setdefault("images", False)
        return build(self.root, BuildOptions(**options))

    def read(self, rel: str) -> str:
        return (self.output / rel).read_text(encoding="utf-8")

    def exists(self, rel: str) -> bool:
        return (self.output / rel).is_file()

    def files(self) -> set[str]:
        return {p.relative_to(self.output).as_posix() for p in self.output.rglob("*") if p.is_file()}


@pytest.fixture
def make_site(tmp_path: Path):
    """make_site(kind="sitegen"|"hexo", config=..., theme="minimal"|"default")."""

    def factory(kind: str = "sitegen", config: str | None = None, theme: str = "minimal") -> SiteFactory:
        site = SiteFactory(tmp_path / "site", kind)
        site.root.mkdir(parents=True, exist_ok=True)
        if kind == "sitegen":
            site.config(config or f'theme = "{theme}"\n[site]\ntitle = "Test"\nauthor = "Site Author"\n')
        else:
            site.config(config or f"title: Test\nauthor: Site Author\nsitegen_theme: {theme}\n")
        if theme == "minimal":
            shutil.copytree(MINIMAL_THEME, site.root / "themes" / "minimal", dirs_exist_ok=True)
        site.source.mkdir(parents=True, exist_ok=True)
        return site

    return factory

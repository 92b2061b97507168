"""Jinja2 environment: theme lookup chain, helpers, filters and i18n.

Lookup order: the site's own `templates/`, then `themes/<name>/templates/`,
then sitegen's built-in default theme. Undefined variables raise
(StrictUndefined), and the error names the template and line.
"""
from __future__ import annotations

import hashlib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from sitegen import code_key
from sitegen.errors import ConfigError

# Helpers that read the whole site: a page using them re-renders when the site changes.
SITE_WIDE = ("list_categories", "list_tags", "list_authors", "recent_posts", "site.counts",
             "site['counts']", 'site["counts"]')


def builtin_themes_dir() -> Path:
    """sitegen's own themes: installed as package data, or the checkout's themes/."""
    checkout = Path(__file__).resolve().parent.parent / "themes"
    if (checkout / "default").is_dir():
        return checkout  # a source checkout or an editable install
    import importlib.util

    spec = importlib.util.find_spec("sitegen.themes")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if (Path(location) / "default").is_dir():
            return Path(location)
    return checkout


@dataclass(frozen=True)
class Theme:
    name: str
    dirs: tuple[Path, ...]  # theme folders, most specific first (site theme, then built-in)
    template_dirs: tuple[Path, ...]  # site templates/ first
    settings: dict[str, Any] = field(default_factory=dict)
    languages: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def static_dirs(self) -> tuple[Path, ...]:
        return tuple(d / "static" for d in self.dirs if (d / "static").is_dir())


def load_theme(site_dir: Path, themes_dir: Path, name: str, overrides: dict[str, Any]) -> Theme:
    dirs = []
    own = themes_dir / name
    if own.is_dir():
        dirs.append(own)
    builtin = builtin_themes_dir() / name
    if builtin.is_dir() and builtin.resolve() not in [d.resolve() for d in dirs]:
        dirs.append(builtin)
    default = builtin_themes_dir() / "default"
    if not dirs:
        raise ConfigError(f"theme {name!r} not found in {themes_dir} or the built-in themes")
    if name != "default" and default.is_dir() and default.resolve() not in [d.resolve() for d in dirs]:
        dirs.append(default)  # a theme may leave templates to the default theme
    settings: dict[str, Any] = {}
    for d in reversed(dirs):
        settings.update(_read_theme_toml(d / "theme.toml"))
    settings.update(overrides)
    template_dirs = [site_dir / "templates"] if (site_dir / "templates").is_dir() else []
    template_dirs += [d / "templates" for d in dirs if (d / "templates").is_dir()]
    return Theme(name, tuple(dirs), tuple(template_dirs), settings, _languages(dirs))


def _read_theme_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


_LANGUAGE_MEMO: dict[tuple, dict[str, str]] = {}  # (path, mtime, size) -> strings; serve rebuilds often


def _languages(dirs: list[Path]) -> dict[str, dict[str, str]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    langs: dict[str, dict[str, str]] = {}
    for d in reversed(dirs):
        folder = d / "languages"
        if not folder.is_dir():
            continue
        for f in sorted(folder.glob("*.yml")):
            st = f.stat()
            key = (str(f), st.st_mtime_ns, st.st_size)
            if key not in _LANGUAGE_MEMO:
                data = yaml.load(f.read_text(encoding="utf-8"), Loader=loader) or {}
                _LANGUAGE_MEMO[key] = {str(k): str(v) for k, v in data.items()}
            langs.setdefault(f.stem, {}).update(_LANGUAGE_MEMO[key])
    return langs


def translator(theme: Theme, language: str):
    # zh-Hans, zh-TW, zh… fall back to the closest table with the same base language.
    base = language.split("-")[0].lower()
    chain = [language, base] + sorted(c for c in theme.languages if c.lower().startswith(base)) + ["en"]
    tables = [theme.languages.get(code, {}) for code in chain]

    def t(key: str, *args: Any, **kwargs: Any) -> str:
        for table in tables:
            if key in table:
                text = table[key]
                break
        else:
            text = key
        if args or kwargs:
            try:
                return text.format(*args, **kwargs)
            except (IndexError, KeyError):
                return text
        return text

    return t


class _Environment(jinja2.Environment):
    def make_globals(self, d):
        # Jinja layers a template's globals over the environment's in a ChainMap,
        # which every render and every {% import %} walks in Python: ~16 µs
        # each, 5-8 % of a listing page. sitegen sets all globals before it loads
        # a template (Jinja asks that of everyone), so one flat dict is the same.
        return {**self.globals, **(d or {})}


# Jinja compiles a filter call by how the filter takes its arguments (the context
# or not), and the environment's options into the code too; its own cache key
# covers the template's source only. So sitegen's code names the files.
_COMPILED = f"sitegen-{code_key('templates', 'render')[:16]}-"


def _bytecode_cache(folder: Path) -> jinja2.BytecodeCache:
    """Compiled templates in `folder`; files another sitegen compiled are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with os.scandir(folder) as entries:
            stale = [e.path for e in entries if not e.name.startswith(_COMPILED)]
        for path in stale:
            os.unlink(path)
    except OSError:
        pass  # a cache that cannot be tidied still works
    return jinja2.FileSystemBytecodeCache(str(folder), pattern=_COMPILED + "%s.cache")


def make_env(theme: Theme, bytecode_dir: Path | None = None) -> jinja2.Environment:
    """The theme's environment; compiled templates are cached in `bytecode_dir`
    (Jinja checks each template's modification time before using them)."""
    cache = None
    if bytecode_dir is not None:
        cache = _bytecode_cache(bytecode_dir)
    env = _Environment(
        bytecode_cache=cache,
        loader=jinja2.FileSystemLoader([str(d) for d in theme.template_dirs]),
        autoescape=jinja2.select_autoescape(["html", "xml", "htm"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        cache_size=-1,
    )
    return env


# memo_macro("partials/x.html", ...) and memo_each(...) also render another template's macro.
_STATIC_REF = re.compile(r"""\{%-?\s*(?:extends|include|import|from)\s+["']([^"']+)["']"""
                         r"""|\bmemo_(?:macro|each)\(\s*["']([^"']+)["']""")
_DYNAMIC_REF = re.compile(r"""\{%-?\s*(?:extends|include|import|from)\s+[^"'\s]"""
                          r"""|\bmemo_(?:macro|each)\(\s*[^"'\s]""")


class TemplateFingerprints:
    """Hash of each template together with everything it extends, includes or imports."""

    def __init__(self, env: jinja2.Environment):
        self.env = env
        self._closure: dict[str, frozenset[str]] = {}
        self._sources: dict[str, str] = {}
        self._wide: dict[str, bool] = {}  # per template file: names something in SITE_WIDE
        self._direct: dict[str, list[str] | None] = {}  # per template file: what it names

    def source(self, name: str) -> str:
        if name not in self._sources:
            self._sources[name] = self.env.loader.get_source(self.env, name)[0]
        return self._sources[name]

    def closure(self, name: str) -> frozenset[str]:
        """The template and every template it extends, includes or imports.

        Found with a regex rather than a Jinja parse (parsing the theme cost ~1 s
        a build); a dynamic include makes the template depend on all templates.
        """
        if name in self._closure:
            return self._closure[name]
        seen = {name}
        todo = [name]
        while todo:
            refs = self._refs(todo.pop())
            if refs is None:
                seen.update(self.env.list_templates())
                break
            for ref in refs:
                if ref not in seen:
                    seen.add(ref)
                    todo.append(ref)
        self._closure[name] = frozenset(seen)
        return self._closure[name]

    def _refs(self, name: str) -> list[str] | None:
        """The templates one file names; None when it names one by a variable."""
        if name not in self._direct:
            try:
                source = self.source(name)
            except jinja2.TemplateNotFound:
                source = ""
            self._direct[name] = None if _DYNAMIC_REF.search(source) else [
                a or b for a, b in _STATIC_REF.findall(source)]
        return self._direct[name]

    def fingerprint(self, name: str) -> str:
        h = hashlib.sha1()
        for dep in sorted(self.closure(name)):
            h.update(dep.encode())
            try:
                h.update(self.source(dep).encode())
            except jinja2.TemplateNotFound:
                h.update(b"missing")
        return h.hexdigest()

    def site_wide(self, name: str) -> bool:
        return any(self._names_site_wide(dep) for dep in self.closure(name))

    def _names_site_wide(self, name: str) -> bool:
        if name not in self._wide:
            try:
                source = self.source(name)
            except jinja2.TemplateNotFound:
                source = ""
            self._wide[name] = any(s in source for s in SITE_WIDE)
        return self._wide[name]


TEMPLATE_SUFFIXES = (".html", ".htm", ".xml", ".j2", ".jinja", ".jinja2", ".txt", ".json")


def template_error_location(exc: BaseException) -> tuple[str, int] | None:
    """Template file and line of a Jinja error: Jinja rewrites tracebacks so that
    template frames carry the template's file name and line."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return (exc.filename or exc.name or "template", exc.lineno or 0)
    tb = exc.__traceback__
    found = None
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(TEMPLATE_SUFFIXES):
            found = (filename, tb.tb_lineno)
        tb = tb.tb_next
    return found

"""Load `sitegen.toml` or a Hexo `_config.yml` into one frozen SiteConfig.

Both formats use Hexo's key names; sitegen.toml groups them in sections,
which are flattened here. Errors name the file and the key.
"""
from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from sitegen.errors import ConfigError

SITEGEN_FILE = "sitegen.toml"
HEXO_FILE = "_config.yml"

# Hexo's defaults (lib/hexo/default_config.ts), plus sitegen's own keys.
DEFAULTS: dict[str, Any] = {
    "title": "Hexo",
    "subtitle": "",
    "description": "",
    "keywords": None,
    "author": "John Doe",
    "language": "en",
    "timezone": "",
    "url": "http://example.com",
    "root": None,
    "permalink": ":year/:month/:day/:title/",
    "permalink_defaults": {},
    "pretty_urls": {"trailing_index": True, "trailing_html": True},
    "source_dir": "source",
    "public_dir": "public",
    "tag_dir": "tags",
    "archive_dir": "archives",
    "category_dir": "categories",
    "author_dir": "authors",
    "new_post_name": ":title.md",
    "default_layout": "post",
    "filename_case": 0,
    "render_drafts": False,
    "post_asset_folder": False,
    "future": True,
    "default_category": "uncategorized",
    "category_map": {},
    "tag_map": {},
    "date_format": "YYYY-MM-DD",
    "time_format": "HH:mm:ss",
    "updated_option": "mtime",
    "per_page": 10,
    "pagination_dir": "page",
    "theme": "default",
    "sanitize": False,
    "sanitize_iframe_hosts": ["www.youtube.com", "www.youtube-nocookie.com", "player.vimeo.com"],
    "feed_limit": 20,
    "excerpt_length": 140,
    "skip_render": [],
    "include": [],
    "exclude": [],
    "ignore": [],
}

# sitegen.toml sections: each holds Hexo keys under the same names.
SECTIONS = ("site", "url", "directory", "writing", "pagination", "build")
SUBTABLES = ("images", "deploy", "theme_config", "menu")
INT_KEYS = ("per_page", "filename_case", "feed_limit", "excerpt_length")
BOOL_KEYS = ("render_drafts", "post_asset_folder", "future", "sanitize")
MAP_KEYS = ("permalink_defaults", "category_map", "tag_map", "pretty_urls")


@dataclass(frozen=True)
class SiteConfig:
    """Everything the build needs to know about one site. Immutable."""

    kind: str  # "sitegen" or "hexo"
    site_dir: Path
    config_file: Path
    source_dir: Path
    output_dir: Path
    cache_dir: Path
    themes_dir: Path
    values: dict[str, Any] = field(repr=False)
    images: dict[str, Any] = field(default_factory=dict, repr=False)
    deploy: dict[str, Any] = field(default_factory=dict, repr=False)
    theme_config: dict[str, Any] = field(default_factory=dict, repr=False)
    menu: dict[str, str] = field(default_factory=dict, repr=False)

    def __getattr__(self, name: str) -> Any:
        # Hexo keys read as attributes: config.permalink, config.per_page, ...
        values = self.__dict__.get("values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(name)

    @property
    def root(self) -> str:
        return self.values["root"]

    @property
    def base_url(self) -> str:
        """The site's absolute URL without the trailing slash."""
        return self.values["url"].rstrip("/")

    def fingerprint(self) -> str:
        """A hash of every setting; part of cache keys."""
        blob = json.dumps(
            [self.kind, self.values, self.images, self.theme_config, self.menu],
            sort_keys=True, default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def with_values(self, **changes: Any) -> SiteConfig:
        values = dict(self.values)
        values.update(changes)
        return replace(self, values=_finish(values, self.config_file))


def find_config(site_dir: Path) -> tuple[str, Path]:
    toml = site_dir / SITEGEN_FILE
    if toml.is_file():
        return "sitegen", toml
    hexo = site_dir / HEXO_FILE
    if hexo.is_file() and (site_dir / "source").is_dir():
        return "hexo", hexo
    if hexo.is_file():
        return "hexo", hexo
    raise ConfigError(
        f"{site_dir}: no {SITEGEN_FILE} or {HEXO_FILE} found "
        f"(run 'sitegen init DIR' to create a site, or pass --site DIR)"
    )


def load_config(site_dir: Path, **overrides: Any) -> SiteConfig:
    """Read the site's config file; `overrides` win over the file (e.g. url from --base-url)."""
    site_dir = site_dir.resolve()
    kind, path = find_config(site_dir)
    raw = _read_toml(path) if kind == "sitegen" else _read_yaml(path)
    flat, tables = _flatten(raw, path, kind)
    values = {**DEFAULTS, **({"source_dir": "content", "public_dir": "output"} if kind == "sitegen" else {})}
    values.update({k: v for k, v in flat.items() if v is not None or k not in DEFAULTS})
    values.update({k: v for k, v in overrides.items() if v is not None})
    values = _finish(values, path)
    source_dir = _inside(site_dir, values["source_dir"], path, "source_dir")
    output_dir = _inside(site_dir, values["public_dir"], path, "public_dir")
    if output_dir == site_dir or output_dir == source_dir or source_dir.is_relative_to(output_dir):
        raise ConfigError(f"{path}: public_dir must be a folder of its own, not {values['public_dir']!r}")
    return SiteConfig(
        kind=kind,
        site_dir=site_dir,
        config_file=path,
        source_dir=source_dir,
        output_dir=output_dir,
        cache_dir=site_dir / ".sitegen",
        themes_dir=site_dir / "themes",
        values=values,
        images=_table(tables.get("images"), path, "images"),
        deploy=_table(tables.get("deploy"), path, "deploy"),
        theme_config=_table(tables.get("theme_config"), path, "theme_config"),
        menu={str(k): str(v) for k, v in _table(tables.get("menu"), path, "menu").items()},
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: {getattr(exc, 'problem', exc)}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid UTF-8") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the configuration must be a mapping of keys to values")
    return data


def _flatten(raw: dict[str, Any], path: Path, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """sitegen.toml's [site], [url]... sections hold Hexo keys; lift them to the top."""
    flat: dict[str, Any] = {}
    tables: dict[str, Any] = {}
    for key, value in raw.items():
        if kind == "sitegen" and key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [{key}] must be a table")
            flat.update(value)
        elif key in SUBTABLES:
            tables[key] = value
        elif kind == "hexo" and key == "index_generator" and isinstance(value, dict):
            if "per_page" in value and "per_page" not in raw:
                flat["per_page"] = value["per_page"]
        else:
            flat[key] = value
    if kind == "hexo":
        # A Hexo theme named here is Hexo's (EJS/Stylus); sitegen renders with its own.
        flat["hexo_theme"] = flat.pop("theme", None)
        if flat.get("sitegen_theme"):
            flat["theme"] = str(flat.pop("sitegen_theme"))
    return flat, tables


def _finish(values: dict[str, Any], path: Path) -> dict[str, Any]:
    """Validate types and derive `root` from `url` the way Hexo does."""
    for key in INT_KEYS:
        values[key] = _as_int(values.get(key), DEFAULTS[key], path, key)
    for key in BOOL_KEYS:
        v = values.get(key)
        if v is None:
            values[key] = DEFAULTS[key]
        elif not isinstance(v, bool):
            raise ConfigError(f"{path}: {key} must be true or false, not {v!r}")
    for key in MAP_KEYS:
        v = values.get(key)
        if v is None:
            values[key] = dict(DEFAULTS[key])
        elif not isinstance(v, dict):
            raise ConfigError(f"{path}: {key} must be a mapping, not {v!r}")
    if values["filename_case"] not in (0, 1, 2):
        raise ConfigError(f"{path}: filename_case must be 0, 1 or 2")
    if values["per_page"] < 0:
        raise ConfigError(f"{path}: per_page must be 0 (no paging) or more")
    for key in ("url", "permalink", "pagination_dir", "archive_dir", "category_dir", "tag_dir",
                "author_dir", "new_post_name", "default_category", "title", "language"):
        v = values.get(key)
        values[key] = "" if v is None else str(v)
    if not values["permalink"]:
        raise ConfigError(f"{path}: permalink must not be empty")
    url = values["url"]
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{path}: url must be an absolute http(s) URL, not {url!r}")
    values["url"] = url.rstrip("/")
    root = values.get("root")
    if not root:
        root = parts.path or "/"
    root = "/" + str(root).strip("/") + "/"
    values["root"] = root.replace("//", "/")
    tz = values.get("timezone")
    values["timezone"] = str(tz) if tz else ""
    for key in ("skip_render", "include", "exclude", "ignore", "sanitize_iframe_hosts"):
        v = values.get(key)
        values[key] = [] if v is None else ([str(v)] if isinstance(v, str) else [str(x) for x in v])
    return values


def _as_int(value: Any, default: int, path: Path, key: str) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ConfigError(f"{path}: {key} must be a whole number, not {value!r}")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: {key} must be a whole number, not {value!r}") from None


def _table(value: Any, path: Path, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {key} must be a table/mapping")
    return dict(value)


def _inside(site_dir: Path, rel: str, path: Path, key: str) -> Path:
    target = (site_dir / str(rel)).resolve()
    if not target.is_relative_to(site_dir):
        raise ConfigError(f"{path}: {key} must be inside the site folder, not {rel!r}")
    return target


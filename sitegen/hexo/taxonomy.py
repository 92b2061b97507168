"""Categories and tags as Hexo reads them (lib/models/post.ts, category.ts, tag.ts).

Categories: a flat list is ONE hierarchy (`[A, B, C]` is A > B > C). As soon
as the list holds a list, every element is its own hierarchy and a plain
string element is a one-level path. A category's slug is its parent's slug,
"/", and its own slugized (or mapped) name, so `:category` and category pages
use the whole path. Category pages live at `<category_dir>/<slug>/` (a
category_dir of "/" means the site root); tag pages at `<tag_dir>/<slug>/`.

Hexo also accepts the singular front-matter keys `category` and `tag` when
the plural is absent; that choice is the caller's, as is giving drafts and
(with `future: false`) future posts no categories or tags at all.

Values are turned into names the way JavaScript's `${value}` does (a number
2021 is "2021", `true` is "true"). Empty and blank names are dropped. A
mapping is refused with ValueError; Hexo would name such a category
"[object Object]", which is never what the author meant.
"""
from __future__ import annotations

from collections.abc import Mapping

from sitegen.hexo.slug import js_string, slugize

CategoryPath = tuple[str, ...]


def _name(value: object, field: str) -> str | None:
    """The name for one list item, or None when Hexo would drop it."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        raise ValueError(  # noqa: TRY004 - callers report bad front-matter values alike
            f"{field}: expected names, found a mapping ({_short(value)}); "
            "write each name as a list item, e.g. '- Foo'")
    name = js_string(value)
    return name if name.strip() else None


def _short(value: Mapping) -> str:
    text = ", ".join(f"{k}: {v}" for k, v in list(value.items())[:3])
    return text if len(text) <= 60 else text[:57] + "..."


def _as_list(value: object, field: str) -> list:
    if value is None or (isinstance(value, (str, int, float)) and not value):
        return []  # Hexo reads `data.categories || []`: false, 0 and "" mean none
    if isinstance(value, Mapping):
        raise ValueError(  # noqa: TRY004 - callers report bad front-matter values alike
            f"{field}: expected a name or a list of names, found a mapping "
                         f"({_short(value)})")
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def normalise_categories(value: object) -> tuple[CategoryPath, ...]:
    """Category paths of a post, root first; duplicates removed, order kept."""
    items = _as_list(value, "categories")
    if any(isinstance(item, (list, tuple)) for item in items):
        paths = [_path(item if isinstance(item, (list, tuple)) else [item]) for item in items]
    else:
        paths = [_path(items)]
    return tuple(dict.fromkeys(path for path in paths if path))


def _path(items: list | tuple) -> CategoryPath:
    names = (_name(item, "categories") for item in items)
    return tuple(name for name in names if name is not None)


def normalise_tags(value: object) -> tuple[str, ...]:
    """Tag names of a post; duplicates removed, order kept."""
    names = (_name(item, "tags") for item in _as_list(value, "tags"))
    return tuple(dict.fromkeys(name for name in names if name is not None))


def term_slug(name: str, mapping: Mapping | None, filename_case: int) -> str:
    """Slug of one category level or tag: `category_map`/`tag_map` first, then slugize."""
    mapped = mapping.get(name) if mapping else None
    # Hexo uses `map[name] || name`: an empty mapped value falls back to the name.
    falsy = mapped is None or (isinstance(mapped, (str, int, float)) and not mapped)
    target = name if falsy else js_string(mapped)
    return slugize(target, transform=filename_case)


def category_slug(path: CategoryPath, mapping: Mapping | None, filename_case: int) -> str:
    """Slug of the deepest category of `path`: each level's slug joined with "/"."""
    return "/".join(term_slug(name, mapping, filename_case) for name in path)


def category_slugs(path: CategoryPath, mapping: Mapping | None,
                   filename_case: int) -> tuple[str, ...]:
    """Slugs of every category on `path`: ("a", "a/b", "a/b/c") for A > B > C."""
    levels = [term_slug(name, mapping, filename_case) for name in path]
    return tuple("/".join(levels[: i + 1]) for i in range(len(levels)))

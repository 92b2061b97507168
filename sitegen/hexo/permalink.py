"""Post slugs from file names, post permalinks and output paths, as in Hexo 8.

Sources: hexo lib/plugins/processor/post.ts (parseFilename),
lib/plugins/filter/post_permalink.ts, hexo-util's Permalink, and the
router's path rule in lib/hexo/router.ts.

A placeholder is `:` followed by word characters, not ending in `_`
(`:title_` is `:title` then "_"). Placeholders that nothing fills become
"undefined", exactly as Hexo writes them, so existing URLs keep working;
`unknown_placeholders` lets the caller warn about them.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import posixpath
import re
from collections.abc import Mapping
from functools import lru_cache

from sitegen.hexo.dates import unix_seconds
from sitegen.hexo.slug import js_string, slugize

_PARAM = re.compile(r":([A-Za-z0-9_]*[A-Za-z0-9])")
# What each file-name part may match (Hexo's segments); anything else is lazy text.
_SEGMENTS = {
    "year": r"([0-9]{4})", "month": r"([0-9]{2})", "day": r"([0-9]{2})",
    "i_month": r"([0-9]{1,2})", "i_day": r"([0-9]{1,2})", "hash": r"([0-9a-f]{12})",
}
_BUILT_IN = ("id", "title", "name", "post_title", "year", "month", "day", "hour", "minute",
             "second", "i_month", "i_day", "timestamp", "hash", "category")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@lru_cache(maxsize=32)
def _filename_rule(rule: str) -> tuple[re.Pattern[str], tuple[str, ...]]:
    parts: list[str] = []
    names: list[str] = []
    pos = 0
    for m in _PARAM.finditer(rule):
        parts.append(re.escape(rule[pos:m.start()]))
        parts.append(_SEGMENTS.get(m[1], "(.+?)"))
        names.append(m[1])
        pos = m.end()
    parts.append(re.escape(rule[pos:]))
    return re.compile("".join(parts)), tuple(names)


def parse_post_filename(new_post_name: str, rel_path_under_posts: str) -> dict[str, str]:
    """Parts of a post's file name, with `title` being the post's slug.

    Both arguments lose their extension first. When `new_post_name` has
    `:title`, the slug is that part of the path exactly as written (so
    `sub/dir/My Post.md` under the default `:title.md` has the slug
    "sub/dir/My Post", spaces, capitals and folders included). Without
    `:title`, or when the path does not fit the pattern, the slug is the
    whole path slugized ("sub-dir-My-Post"). Other parts (year, month,
    day, i_month, i_day, hash, or any custom `:name`) are returned as text;
    Hexo copies custom parts over the front matter of the same name.
    """
    rule = posixpath.splitext(new_post_name)[0]
    if not rule:
        raise ValueError(f"new_post_name {new_post_name!r} has no pattern")
    path = posixpath.splitext(rel_path_under_posts)[0]
    regex, names = _filename_rule(rule)
    m = regex.fullmatch(path)
    if m is None:
        return {"title": slugize(path)}
    data = dict(zip(names, m.groups(), strict=True))
    if "title" not in data:
        data["title"] = slugize(path)
    return data


def date_from_filename(parts: Mapping[str, str]) -> _dt.date | None:
    """The date written in a file name (year plus month/i_month plus day/i_day), if any.

    Hexo uses it, at midnight in the site zone, when the front matter has no date.
    """
    year, month, day = parts.get("year"), parts.get("month") or parts.get("i_month"), \
        parts.get("day") or parts.get("i_day")
    if not (year and month and day):
        return None
    try:
        return _dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def post_permalink(pattern: str, *, slug: str, title: str, date: _dt.datetime,
                   categories_last_slug: str | None, default_category: str,
                   permalink_defaults: Mapping | None, front_matter: Mapping,
                   post_asset_folder: bool = False) -> str:
    """A post's path from the `permalink` pattern, without a leading "/".

    `date` is aware and already in the site zone. `categories_last_slug` is
    the full slug of the post's last category ("foo/bar" for Foo > Bar).
    `front_matter` holds the post's front matter with the file-name parts
    from parse_post_filename already merged over it; its keys fill
    placeholders that are not built in, then `permalink_defaults` do.
    """
    values = _builtin_values(slug=slug, title=title, date=date,
                             category=categories_last_slug or default_category,
                             front_matter=front_matter, wanted=_placeholders(pattern))
    for source in (front_matter, {"slug": slug, "layout": "post"}, permalink_defaults or {}):
        for key, value in source.items():
            values.setdefault(key, value)
    result = _PARAM.sub(lambda m: _text(values, m[1]), pattern)
    if post_asset_folder and not result.endswith(("/", ".html")):
        result += "/"
    return result


@lru_cache(maxsize=32)
def _placeholders(pattern: str) -> frozenset[str]:
    return frozenset(m[1] for m in _PARAM.finditer(pattern))


def _builtin_values(*, slug: str, title: str, date: _dt.datetime, category: str,
                    front_matter: Mapping, wanted: frozenset[str]) -> dict[str, object]:
    seconds = unix_seconds(date)
    # Only what the pattern uses: hashing and slugizing every title costs at 10k posts.
    digest = (hashlib.sha1(f"{slug}{seconds}".encode()).hexdigest()[:12]
              if slug and "hash" in wanted else None)
    post_title = (slugize(js_string(title) if title is not None else "", transform=1)
                  if "post_title" in wanted else "")
    return {
        "id": front_matter.get("id"),
        "title": slug,
        "name": slug.rstrip("/").rsplit("/", 1)[-1],
        "post_title": post_title,
        "year": f"{date.year:04d}", "month": f"{date.month:02d}", "day": f"{date.day:02d}",
        "hour": f"{date.hour:02d}", "minute": f"{date.minute:02d}",
        "second": f"{date.second:02d}",
        "i_month": str(date.month), "i_day": str(date.day),
        "timestamp": str(seconds),
        "hash": digest,
        "category": category,
    }


def _text(values: Mapping[str, object], name: str) -> str:
    if name not in values or (name == "id" and values[name] is None):
        return "undefined"  # what JavaScript writes for a missing value
    return js_string(values[name])


def uses_front_matter(pattern: str) -> bool:
    """Whether filling `pattern` can read a post's front matter: `:id`, or any
    placeholder that is not built in. The usual patterns do not, and then a
    build need not unpack ten thousand front matters to work out permalinks."""
    return bool(_placeholders(pattern) - (set(_BUILT_IN) - {"id"}))


def unknown_placeholders(pattern: str, front_matter: Mapping,
                         permalink_defaults: Mapping | None) -> list[str]:
    """Placeholders in `pattern` that nothing fills (Hexo writes "undefined")."""
    # `:id` is Hexo's internal database id unless the front matter sets one.
    known = (set(_BUILT_IN) - {"id"}) | {"slug", "layout"} | set(front_matter) \
        | (set(permalink_defaults or {}) - {"id"})
    return [m[1] for m in _PARAM.finditer(pattern) if m[1] not in known]


def normalise_permalink_override(value: object, post_asset_folder: bool = False) -> str:
    """A front-matter `permalink`, as Hexo uses it: always with a leading "/"."""
    text = js_string(value)
    if post_asset_folder and not text.endswith(("/", ".html")):
        text += "/"
    return text if text.startswith("/") else "/" + text


def permalink_to_output_path(url_path: str) -> str:
    """The output file for a post path, by Hexo's router rule, made safe.

    Leading slashes and any query string are dropped, backslashes become
    "/", and an empty path or one ending in "/" gets "index.html". Hexo adds
    no extension otherwise: `2021/10/foo` is written as the file `foo`.
    """
    path = url_path.lstrip("/").replace("\\", "/")
    path = path.split("?", 1)[0]
    if not path or path.endswith("/"):
        path += "index.html"
    return safe_output_path(path)


def safe_output_path(path: str) -> str:
    """`path` as a relative POSIX path inside the output folder, or ValueError.

    Refused: NUL and other control characters, backslashes, absolute paths
    (including drive letters) and `..` segments. Empty and `.` segments are
    dropped. Non-ASCII letters and spaces are kept.
    """
    bad = _CONTROL.search(path)
    if bad:
        raise ValueError(f"output path {path!r} contains control character "
                         f"U+{ord(bad.group()):04X}")
    if "\\" in path:
        raise ValueError(f"output path {path!r} contains a backslash")
    if path.startswith("/") or re.match(r"[A-Za-z]:", path):
        raise ValueError(f"output path {path!r} is absolute; it must stay inside the output folder")
    segments = [s for s in path.split("/") if s not in ("", ".")]
    if ".." in segments:
        raise ValueError(f"output path {path!r} has a '..' segment that would leave the "
                         "output folder")
    if not segments or path.endswith("/"):
        raise ValueError(f"output path {path!r} does not name a file")
    return "/".join(segments)

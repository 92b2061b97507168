"""Post slugs from file names, permalinks and output paths, as Hexo 8 makes them."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from sitegen.frontmatter import parse_front_matter, read_source
from sitegen.hexo.dates import parse_date, site_timezone
from sitegen.hexo.permalink import (
    date_from_filename,
    normalise_permalink_override,
    parse_post_filename,
    permalink_to_output_path,
    post_permalink,
    safe_output_path,
    unknown_placeholders,
    uses_front_matter,
)
from sitegen.hexo.taxonomy import (
    category_slug,
    category_slugs,
    normalise_categories,
    normalise_tags,
    term_slug,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
SHANGHAI = site_timezone("Asia/Shanghai")
DATE = dt.datetime(2014, 1, 2, 3, 4, 5, tzinfo=SHANGHAI)


def link(pattern: str, **overrides) -> str:
    args = {"slug": "foo", "title": "My New Post", "date": DATE, "categories_last_slug": None,
            "default_category": "uncategorized", "permalink_defaults": {}, "front_matter": {}}
    args.update(overrides)
    return post_permalink(pattern, **args)


# --- file names -------------------------------------------------------------------

def test_default_pattern_keeps_path_as_written():
    assert parse_post_filename(":title.md", "hello-world.md") == {"title": "hello-world"}
    assert parse_post_filename(":title.md", "sub/dir/My Post.md") == {"title": "sub/dir/My Post"}
    assert parse_post_filename(":title.md", "中文測試.md") == {"title": "中文測試"}


def test_date_parts_in_file_name():
    parts = parse_post_filename(":year-:month-:day-:title.md", "2020-01-05-hello.md")
    assert parts == {"year": "2020", "month": "01", "day": "05", "title": "hello"}
    assert date_from_filename(parts) == dt.date(2020, 1, 5)
    parts = parse_post_filename(":year/:i_month/:i_day/:title.md", "2020/1/5/x.md")
    assert date_from_filename(parts) == dt.date(2020, 1, 5)


def test_pattern_without_title_slugizes_the_path():
    parts = parse_post_filename(":year:month:day.md", "20060102.html")
    assert parts == {"year": "2006", "month": "01", "day": "02", "title": "20060102"}
    assert parse_post_filename(":year-:month.md", "sub/dir/My Post.md") == {
        "title": "sub-dir-My-Post"}


def test_path_not_matching_pattern_slugizes_the_path():
    assert parse_post_filename(":year/:month/:day/:title.md", "foo.md") == {"title": "foo"}
    assert parse_post_filename(":year-:title.md", "My Post!.md") == {"title": "My-Post"}


def test_custom_and_hash_parts():
    assert parse_post_filename(":lang/:title.md", "zh/foo.md") == {"lang": "zh", "title": "foo"}
    parts = parse_post_filename(":hash-:title.md", "0123456789ab-post.md")
    assert parts == {"hash": "0123456789ab", "title": "post"}


def test_date_from_filename_needs_all_parts_and_a_real_date():
    assert date_from_filename({"title": "x"}) is None
    assert date_from_filename({"year": "2020", "month": "02"}) is None
    assert date_from_filename({"year": "2021", "month": "02", "day": "30"}) is None


# --- permalinks -------------------------------------------------------------------

def test_default_pattern():
    assert link(":year/:month/:day/:title/") == "2014/01/02/foo/"


def test_unpadded_parts_and_name():
    assert link(":year/:i_month/:i_day/:name.html", slug="sub/bar") == "2014/1/2/bar.html"
    assert link(":title/:name", slug="sub/bar") == "sub/bar/bar"


def test_time_parts_and_post_title():
    assert link(":hour/:minute/:second/:post_title/") == "03/04/05/my-new-post/"
    assert link(":timestamp") == "1388603045"


def test_category_pattern():
    assert link(":category/:title/", categories_last_slug="foo/bar") == "foo/bar/foo/"
    assert link(":category/:title/") == "uncategorized/foo/"


def test_category_slug_feeds_the_pattern():
    paths = normalise_categories(["Foo", "Bar"])
    last = category_slug(paths[-1], None, 0)
    assert link(":category/:title/", categories_last_slug=last) == "Foo/Bar/foo/"


def test_hash_is_sha1_of_slug_and_unix_seconds():
    seconds = 1388603045  # 2014-01-01T19:04:05Z
    expected = hashlib.sha1(f"foo{seconds}".encode()).hexdigest()[:12]
    assert link(":hash") == expected == "aaf22c137300"
    assert link(":hash", slug="") == "null"


def test_front_matter_and_defaults_fill_other_placeholders():
    pattern = "posts/:lang/:title/"
    assert link(pattern, permalink_defaults={"lang": "en"}) == "posts/en/foo/"
    assert link(pattern, permalink_defaults={"lang": "en"}, front_matter={"lang": "fr"}) == \
        "posts/fr/foo/"
    assert link(":layout/:slug/:id") == "post/foo/undefined"
    assert link(":id", front_matter={"id": 7}) == "7"


def test_front_matter_cannot_override_built_ins():
    assert link(":year/:title/", front_matter={"year": "1999", "title": "Other"}) == "2014/foo/"


def test_unknown_placeholders_become_undefined_like_hexo():
    assert link(":nope/:title_/x") == "undefined/foo_/x"
    assert unknown_placeholders(":nope/:title/:lang/:id", {}, {"lang": "en"}) == ["nope", "id"]


def test_post_asset_folder_adds_trailing_slash():
    assert link(":year/:title", post_asset_folder=True) == "2014/foo/"
    assert link(":year/:title.html", post_asset_folder=True) == "2014/foo.html"


def test_permalink_override():
    assert normalise_permalink_override("hexo/permalink-test") == "/hexo/permalink-test"
    assert normalise_permalink_override("/a/b/") == "/a/b/"
    assert normalise_permalink_override("a", post_asset_folder=True) == "/a/"
    assert normalise_permalink_override("a.html", post_asset_folder=True) == "/a.html"


# --- output paths -----------------------------------------------------------------

@pytest.mark.parametrize("url,expected", [
    ("2013/12/24/categories/", "2013/12/24/categories/index.html"),
    ("/hexo/permalink-test", "hexo/permalink-test"),  # Hexo adds no extension
    ("2014/1/2/bar.html", "2014/1/2/bar.html"),
    ("", "index.html"),
    ("/", "index.html"),
    ("a/b/?utm=1", "a/b/index.html"),
    ("2013/12/24/中文 測試/", "2013/12/24/中文 測試/index.html"),
    ("a\\b/", "a/b/index.html"),
])
def test_permalink_to_output_path(url, expected):
    assert permalink_to_output_path(url) == expected


@pytest.mark.parametrize("bad", [
    "../x/index.html", "a/../../x", "/etc/passwd", "C:/x", "a\x00b", "a\nb", "a\\b",
    "dir/", "", "..",
])
def test_safe_output_path_refuses_escapes(bad):
    with pytest.raises(ValueError, match="output path"):
        safe_output_path(bad)


def test_permalink_to_output_path_refuses_escapes():
    for bad in ("/../../etc/passwd", "..\\..\\x", "a/%00/../../b"):
        with pytest.raises(ValueError):
            permalink_to_output_path(bad)


def test_safe_output_path_neutralises_harmless_segments():
    assert safe_output_path("a//./b/index.html") == "a/b/index.html"
    assert safe_output_path("中文 測試/index.html") == "中文 測試/index.html"


# --- against real Hexo output -----------------------------------------------------

@pytest.mark.skipif(not (SHARED / "hexo-unit-test" / "expected" / "posts.json").is_file(),
                    reason="shared/ reference data absent")
def test_paths_and_terms_match_hexo_output():
    root = SHARED / "hexo-unit-test"
    expected = json.loads((root / "expected" / "posts.json").read_text(encoding="utf-8"))
    for post in expected["posts"]:
        rel = post["source"]
        fm = parse_front_matter(read_source(root / "source" / rel, rel), rel)
        parts = parse_post_filename(":title.md", rel.removeprefix("_posts/"))
        date = parse_date(fm.data["date"], SHANGHAI)
        cats = normalise_categories(fm.data.get("categories"))
        path = post_permalink(
            ":year/:month/:day/:title/", slug=parts["title"], title=fm.data.get("title", ""),
            date=date, categories_last_slug=category_slug(cats[-1], None, 0) if cats else None,
            default_category="uncategorized", permalink_defaults={}, front_matter=fm.data)
        assert path == post["path"], rel
        assert permalink_to_output_path(path) == post["path"] + "index.html"
        cat_paths = [f"categories/{s}/" for p in cats for s in category_slugs(p, None, 0)]
        assert cat_paths == post["categories"], rel
        tags = [f"tags/{term_slug(t, None, 0)}/" for t in normalise_tags(fm.data.get("tags"))]
        assert tags == post["tags"], rel


@pytest.mark.parametrize("pattern, reads_front", [
    (":year/:month/:day/:title/", False),
    (":category/:post_title/:hash.html", False),
    (":year/:slug/", True),  # a front-matter slug fills :slug
    (":id/", True),
    (":year/:lang/:title/", True),
])
def test_patterns_that_read_front_matter(pattern, reads_front):
    assert uses_front_matter(pattern) is reads_front
    # Without front matter, a pattern that does not read it gives the same path.
    if not reads_front:
        date = dt.datetime(2021, 10, 11, 7, 53, tzinfo=dt.timezone.utc)
        args = dict(slug="a-post", title="A Post", date=date, categories_last_slug="News",
                    default_category="uncategorized", permalink_defaults={})
        assert post_permalink(pattern, front_matter={}, **args) == \
            post_permalink(pattern, front_matter={"title": "X", "id": 7, "lang": "en"}, **args)

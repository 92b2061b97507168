"""Hexo's category and tag rules (setCategories, setTags, Category/Tag slugs)."""
from __future__ import annotations

import pytest

from sitegen.hexo.taxonomy import (
    category_slug,
    category_slugs,
    normalise_categories,
    normalise_tags,
    term_slug,
)


def test_flat_list_is_one_hierarchy():
    assert normalise_categories(["Foo", "Bar", "Baz"]) == (("Foo", "Bar", "Baz"),)


def test_seed_categories_are_one_path():
    assert normalise_categories(["新媒体", "高科技行业门户", "新闻"]) == (
        ("新媒体", "高科技行业门户", "新闻"),)


def test_nested_lists_give_one_path_each():
    value = [["Diary", "Life"], "Travel", ["Diary", "Food"], ["Diary", "Life"]]
    assert normalise_categories(value) == (
        ("Diary", "Life"), ("Travel",), ("Diary", "Food"))


def test_string_is_one_category():
    assert normalise_categories("Notes") == (("Notes",),)


@pytest.mark.parametrize("empty", [None, "", [], [None, ""], [[], [None]], False, 0])
def test_empty_values_give_no_categories(empty):
    assert normalise_categories(empty) == ()


def test_empty_items_are_dropped_keeping_the_rest():
    assert normalise_categories(["A", None, "", "  ", "B"]) == (("A", "B"),)
    assert normalise_categories([["A", None, "B"], None, "", "C"]) == (("A", "B"), ("C",))


def test_non_text_names_are_written_as_javascript_does():
    assert normalise_categories([2021, True, 1.0, 2.5]) == (("2021", "true", "1", "2.5"),)
    assert normalise_categories(2021) == (("2021",),)
    assert normalise_categories([["A", ["B", "C"]]]) == (("A", "B,C"),)


def test_mappings_are_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="categories: expected"):
        normalise_categories({"Foo": "Bar"})
    with pytest.raises(ValueError, match="categories: expected names"):
        normalise_categories([{"Foo": "Bar"}])
    with pytest.raises(ValueError, match="tags: expected"):
        normalise_tags([{"a": 1}])


def test_tags():
    assert normalise_tags(["Foo", "Bar", "Foo", None, "", 42]) == ("Foo", "Bar", "42")
    assert normalise_tags("a, b") == ("a, b",)  # one tag, as in Hexo
    assert normalise_tags(None) == ()
    assert normalise_tags([]) == ()
    assert normalise_tags(False) == ()


def test_term_slug_uses_map_then_slugize():
    assert term_slug("C++", None, 0) == "C"
    assert term_slug("C++", {"C++": "cpp"}, 0) == "cpp"
    assert term_slug("Hello World", {}, 1) == "hello-world"
    assert term_slug("Hello World", None, 2) == "HELLO-WORLD"
    assert term_slug("Hello World", {"Hello World": "Mapped Name"}, 1) == "mapped-name"
    assert term_slug("X", {"X": ""}, 0) == "X"  # an empty mapping falls back to the name
    assert term_slug("Year", {"Year": 2021}, 0) == "2021"
    assert term_slug("中文", None, 1) == "中文"


def test_category_slug_joins_parent_slugs():
    path = ("Foo Bar", "C++", "中文")
    assert category_slug(path, None, 0) == "Foo-Bar/C/中文"
    assert category_slug(path, {"C++": "cpp"}, 1) == "foo-bar/cpp/中文"
    assert category_slugs(("Foo", "Bar", "Baz"), None, 0) == ("Foo", "Foo/Bar", "Foo/Bar/Baz")
    assert category_slugs((), None, 0) == ()

"""hexo-util slugize semantics."""
from __future__ import annotations

import pytest

from sitegen.hexo.slug import fold_diacritics, js_string, slugize


@pytest.mark.parametrize("text,expected", [
    ("C++", "C"),
    ("C#", "C"),
    ("Hello World!", "Hello-World"),
    ("中文測試", "中文測試"),
    ("日本語テスト", "日本語テスト"),
    ("한국어 제목", "한국어-제목"),
    ("ガイド", "ガイド"),  # voiced kana must not lose their marks
    ("🎉 Party 🎉", "🎉-Party-🎉"),
    ("../etc/passwd", "etc-passwd"),
    ("  --leading and trailing--  ", "leading-and-trailing"),
    ("a~`!@#$%^&*()-_+=[]{}|\\;:\"'<>,.?/b", "a-b"),
    ("tab\there\nnewline", "tabherenewline"),  # control characters vanish first
    ("full\u3000width\u00a0spaces", "full-width-spaces"),
    ("Ｆｕｌｌ！", "Full！"),  # fullwidth letters fold, fullwidth "!" is not ASCII punctuation
    ("", ""),
    ("!!!", ""),
])
def test_slugize(text, expected):
    assert slugize(text) == expected


@pytest.mark.parametrize("text,expected", [
    ("Café Crème", "Cafe-Creme"),
    ("Ørsted Æble Œuvre", "Orsted-AEble-OEuvre"),
    ("Straße", "Strase"),  # Hexo folds ß to a single "s"
    ("Łódź đá", "Lodz-da"),
    ("ǅemal Ĳssel", "Dzemal-IJssel"),
    ("Ærø – x", "AEro-–-x"),  # an en dash is not in the ASCII set: kept
])
def test_diacritics_fold_to_ascii(text, expected):
    assert slugize(text) == expected


def test_fold_keeps_non_latin_scripts():
    text = "Ελληνικά Русский 中文 ガ ²"
    assert fold_diacritics(text) == text


def test_transform_and_separator():
    assert slugize("Hello World", transform=1) == "hello-world"
    assert slugize("Hello World", transform=2) == "HELLO-WORLD"
    assert slugize("Hello  World", separator="_") == "Hello_World"
    assert slugize("a__b  c", separator="_") == "a_b_c"
    assert slugize("Hello World", separator="") == "Hello-World"  # empty means the default
    assert slugize("x", separator="\\") == "x"
    assert slugize("a b", separator="\\") == "a\\b"


@pytest.mark.parametrize("text", [
    "../../secret", "..", "a/../b", "./x", "..\\..\\win", "%2e%2e/x", "/abs/path", "a\x00b",
])
def test_slug_never_contains_path_tricks(text):
    slug = slugize(text)
    assert "/" not in slug and "\\" not in slug and "\x00" not in slug
    assert ".." not in slug
    assert not slug.startswith(".")


def test_slugize_rejects_non_text():
    with pytest.raises(TypeError):
        slugize(12)  # type: ignore[arg-type]


@pytest.mark.parametrize("value,expected", [
    ("x", "x"), (None, "null"), (True, "true"), (False, "false"), (3, "3"), (2.0, "2"),
    (2.5, "2.5"), (["a", 1, None], "a,1,"), ({"a": 1}, "[object Object]"),
    (float("inf"), "Infinity"),
])
def test_js_string(value, expected):
    assert js_string(value) == expected

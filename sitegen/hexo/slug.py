"""Hexo's slugs (hexo-util `slugize`) and JavaScript-style text conversion.

Rules, in Hexo's order: fold Latin diacritics to ASCII, drop control
characters (U+0000-U+001F, so a tab or newline vanishes rather than becoming
a separator), turn each run of whitespace and ASCII punctuation into one
separator, collapse repeated separators, trim them from both ends, then
optionally change case. Everything else (CJK, kana, Hangul, emoji, Greek...)
is kept as written. Because `.` and `/` are separators, no slug can contain
a path segment such as `..`.
"""
from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache

# JavaScript's `\s` (ASCII whitespace plus Unicode spaces and the BOM) and the
# punctuation set hexo-util treats as separators.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_SPECIAL = re.compile("[" + _JS_SPACE + r"~`!@#$%^&*()\-_+=\[\]{}|\\;:\"'<>,.?/" + "]+")
_CONTROL = re.compile("[\x00-\x1f]+")
_NON_ASCII = re.compile("[^\x00-\x7e]")

# Letters that Unicode does not decompose into an ASCII base letter plus
# marks, but which Hexo still folds. Hexo maps ß to "s" (not "ss"); keeping
# that keeps existing URLs stable.
_EXTRA_FOLDS = {
    "ø": "o", "Ø": "O", "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE",
    "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ħ": "h", "Ħ": "H",
    "ŧ": "t", "Ŧ": "T", "ı": "i", "ß": "s", "ẞ": "S", "ŀ": "l", "Ŀ": "L",
    "ŉ": "n", "ƒ": "f", "ẚ": "a", "ǿ": "o", "Ǿ": "O", "ǽ": "ae", "Ǽ": "AE",
    "ǣ": "ae", "Ǣ": "AE", "ƀ": "b", "ɨ": "i", "ʉ": "u",
}


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """ASCII letters for a Latin letter with diacritics; other characters unchanged."""
    if ch in _EXTRA_FOLDS:
        return _EXTRA_FOLDS[ch]
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    # Only fold to plain ASCII letters: kana with voicing marks, Hangul and
    # symbols such as "²" or "！" must stay as they are.
    if base and base.isascii() and base.isalpha():
        return base
    return ch


def fold_diacritics(text: str) -> str:
    """Replace accented Latin letters with their ASCII base letters."""
    if text.isascii():
        return text
    return _NON_ASCII.sub(lambda m: _fold_char(m.group()), text)


@lru_cache(maxsize=64)
def _separator_patterns(separator: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    sep = re.escape(separator)
    return re.compile(f"(?:{sep}){{2,}}"), re.compile(f"^(?:{sep})+|(?:{sep})+$")


def slugize(text: str, separator: str = "-", transform: int = 0) -> str:
    """Hexo's slug of `text`; transform 1 lower-cases, 2 upper-cases."""
    if not isinstance(text, str):
        raise TypeError(f"slugize expects a string, not {type(text).__name__}")
    separator = separator or "-"
    repeated, edges = _separator_patterns(separator)
    result = _CONTROL.sub("", fold_diacritics(text))
    result = _SPECIAL.sub(lambda _: separator, result)
    result = repeated.sub(lambda _: separator, result)
    result = edges.sub("", result)
    if transform == 1:
        return result.lower()
    if transform == 2:
        return result.upper()
    return result


def js_string(value: object) -> str:
    """Text for `value` the way JavaScript's `${value}` writes it.

    Hexo builds tag names, category names and permalink parts with template
    strings, so YAML `true` becomes "true", `2.0` becomes "2" and a missing
    value becomes "undefined" (None stands for JavaScript null here).
    """
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _js_number(value)
    if isinstance(value, (list, tuple)):
        return ",".join("" if item is None else js_string(item) for item in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _js_number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return repr(value)

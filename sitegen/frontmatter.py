"""YAML / JSON front matter, split the way hexo-front-matter does it.

Accepted forms (the separator is `---` or `;;;`, three or more of them):

    ---            title: x        ;;;               "title": "x"
    title: x       ---             "title": "x"      ;;;
    ---            body            ;;;               body
    body                           body

`;;;` marks JSON members without the outer braces. Blank lines before an
opening separator are skipped (Hexo reaches the same result through YAML's
document marker), and so are spaces after it (Hexo would show the block as
body text). An empty block (`---` straight after `---`) is an empty mapping. Tabs that indent a YAML line become two spaces each, as in Hexo.

For the form without an opening separator Hexo guesses: everything up to the
first line starting with `---` is tried as YAML, and when that YAML is not a
mapping the file simply has no front matter (so a Markdown paragraph followed
by a `---` rule stays body). With an opening separator a non-mapping is an
error.

YAML follows the rules of Hexo's parser (js-yaml 4, the YAML 1.2 core
schema), not PyYAML's YAML 1.1 defaults: `yes`, `no`, `on`, `off` stay text,
`010` is ten, and a repeated key is an error. Timestamps are NOT converted:
`date: 2013-12-24 23:30:09` stays the string as written, so that
`sitegen.hexo.dates.parse_date` can read it in the site time zone (or keep
its explicit offset). An explicit `!!timestamp` tag gives a datetime, which
parse_date also accepts. Keys are always strings (`1:` becomes "1").
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import yaml

from sitegen.errors import SourceError
from sitegen.hexo.slug import js_string

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Opening form: the block ends at the first line that starts with the same
# separator; like Hexo, the rest of that line is body. (Found with str.find: a
# lazy regex stepped through the whole block a character at a time.)
_OPENING = re.compile(r"(?:[ \t]*\r?\n)*(-{3,}|;{3,})[ \t]*\r?\n")
_OPENING_ONLY = re.compile(r"(?:[ \t]*\r?\n)*(?:-{3}|;{3})")
# Form without an opening separator: front matter up to the first separator line.
_BARE = re.compile(r"(?P<data>.+?)\r?\n(?P<sep>-{3,}|;{3,})\r?\n?", re.DOTALL)
_LEADING_TABS = re.compile(r"\n(\t+)")


@dataclass(frozen=True)
class FrontMatter:
    """Parsed front matter; `body_line` is the 1-based file line where the body starts."""

    data: dict
    body: str
    body_line: int


class _Loader(_BaseLoader):  # type: ignore[misc, valid-type]
    """Safe loader with js-yaml's scalar rules and no implicit timestamps."""

    yaml_implicit_resolvers: ClassVar[dict] = {}

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, yaml.MappingNode):
            raise yaml.constructor.ConstructorError(
                None, None, f"expected a mapping, found {node.id}", node.start_mark)
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self._key(key_node)
            if key in seen:  # js-yaml refuses these; PyYAML would keep the last
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicated mapping key {key!r}", key_node.start_mark)
            seen.add(key)
        self.flatten_mapping(node)
        return {self._key(k): self.construct_object(v, deep=deep) for k, v in node.value}

    def _key(self, key_node) -> str:
        """Keys are text, as in JavaScript objects: `1:` is "1", `true:` is "true"."""
        key = self.construct_object(key_node, deep=True)
        if isinstance(key, str):
            return key
        if key is None or isinstance(key, (int, float)):
            return js_string(key)
        raise yaml.constructor.ConstructorError(
            None, None, "a mapping key must be a single value, not a list or mapping",
            key_node.start_mark)


def _int_of(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    base = {"0b": 2, "0o": 8, "0x": 16}.get(digits[:2], 10)
    return sign * int(digits[2:] if base != 10 else digits, base)


def _float_of(text: str) -> float:
    text = text.lower()
    if text.lstrip("+-") == ".inf":
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


def _construct_int(loader: _Loader, node: yaml.Node) -> int:
    return _int_of(loader.construct_scalar(node))


def _construct_float(loader: _Loader, node: yaml.Node) -> float:
    return _float_of(loader.construct_scalar(node))


_SCALARS = [
    ("tag:yaml.org,2002:bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("tag:yaml.org,2002:int", r"[-+]?(?:0b[01]+|0o[0-7]+|0x[0-9a-fA-F]+|[0-9]+)",
     "-+0123456789"),
    ("tag:yaml.org,2002:float",
     (r"[-+]?[0-9]+(?:\.[0-9]*)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?"
      r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"), "-+0123456789."),
    ("tag:yaml.org,2002:null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", r"<<", "<"),
]
for _tag, _pattern, _first in _SCALARS:
    _Loader.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), list(_first))
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def parse_front_matter(text: str, path: str) -> FrontMatter:
    """Split `text` into front matter and body; errors carry file lines."""
    text = text.removeprefix("\ufeff")
    opened = _split_opened(text)
    if opened:
        sep, sep_start, raw, end = opened
        data_line = text.count("\n", 0, sep_start) + 2
        data = _load(raw, sep, path, data_line, strict=True)
        return FrontMatter(data or {}, text[end:], text.count("\n", 0, end) + 1)
    if _OPENING_ONLY.match(text):
        return FrontMatter({}, text, 1)  # an opening separator that is never closed
    m = _BARE.match(text)
    if m:
        data = _load(m["data"], m["sep"], path, 1, strict=False)
        if data is not None:
            return FrontMatter(data, text[m.end():], text.count("\n", 0, m.end()) + 1)
    return FrontMatter({}, text, 1)


def _split_opened(text: str) -> tuple[str, int, str, int] | None:
    """(separator, its offset, the block between, end of the closing line) or None."""
    m = _OPENING.match(text)
    if m is None:
        return None
    sep, start = m.group(1), m.end()
    if text.startswith(sep, start):
        raw, close = "", start
    else:
        newline = text.find("\n" + sep, start)
        if newline < 0:
            return None
        raw, close = text[start:newline].removesuffix("\r"), newline + 1
    end = close + len(sep)
    end += text.startswith("\r", end)
    end += text.startswith("\n", end)
    return sep, m.start(1), raw, end


def _load(raw: str, sep: str, path: str, first_line: int, strict: bool) -> dict | None:
    """The mapping in `raw` (which starts at file line `first_line`), or None if not one."""
    if not raw.strip():
        return {} if strict else None
    if sep.startswith(";"):
        value = _load_json(raw, path, first_line, strict)
    else:
        value = _load_yaml(raw, path, first_line)
    if isinstance(value, dict):
        return value
    if strict:
        kind = "a list" if isinstance(value, list) else f"a single value ({js_string(value)!r})"
        raise SourceError(path, first_line, f"front matter must be a mapping of keys, not {kind}")
    return None


# --- the common simple case, without PyYAML ---------------------------------------
#
# Most front matter is `key: scalar` lines and block lists of scalars. PyYAML builds
# and resolves a node per value in Python, which costs more than parsing the body;
# these lines are read directly, with the loader's own resolvers and constructors.
# Anything else (comments, anchors, tags, escapes, nesting, tabs, continuation lines,
# duplicate keys …) returns None and goes to PyYAML, which also reports the errors.

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,99}")  # YAML caps implicit keys' length
_PLAIN_START_BAD = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_BAD = frozenset(",[]{}:#'\"")
_BY_TAG = {
    "tag:yaml.org,2002:bool": lambda text: text.lower() == "true",
    "tag:yaml.org,2002:int": _int_of,
    "tag:yaml.org,2002:float": _float_of,
    "tag:yaml.org,2002:null": lambda text: None,
}
_NO_VALUE = object()
_simple_keys: dict[str, bool] = {}  # the same few keys recur in every file


def _plain(text: str) -> object:
    """A single-line plain scalar, resolved as _Loader does; _NO_VALUE if unsure."""
    if not text or text[0] in _PLAIN_START_BAD or ": " in text or " #" in text \
            or text.endswith(":"):
        return _NO_VALUE
    for tag, pattern in _Loader.yaml_implicit_resolvers.get(text[0], ()):
        if pattern.match(text):
            construct = _BY_TAG.get(tag)
            return _NO_VALUE if construct is None else construct(text)
    return text


def _simple_key(key: str) -> bool:
    ok = _simple_keys.get(key)
    if ok is None:
        ok = _KEY.fullmatch(key) is not None and _plain(key) is key
        if len(_simple_keys) < 1000:
            _simple_keys[key] = ok
    return ok


def _scalar(text: str) -> object:
    """A single-line scalar (never empty): quoted, plain or a flow list of plain ones."""
    first = text[0]
    if first == "'":
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != "'" or "'" in inner.replace("''", ""):
            return _NO_VALUE
        return inner.replace("''", "'")
    if first == '"':
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != '"' or '"' in inner or "\\" in inner:
            return _NO_VALUE
        return inner
    if first == "[":
        if text[-1] != "]":
            return _NO_VALUE
        inner = text[1:-1].strip(" ")
        if not inner:
            return []
        items = [item.strip(" ") for item in inner.split(",")]
        if any(not item or not _FLOW_BAD.isdisjoint(item) for item in items):
            return _NO_VALUE
        values = [_plain(item) for item in items]
        return _NO_VALUE if _NO_VALUE in values else values
    return _plain(text)


def _simple_yaml(raw: str) -> dict | None:
    """`raw` as _Loader reads it, if it is simple enough to read here; else None."""
    data: dict = {}
    lines = raw.split("\n")
    n, i = len(lines), 0
    while i < n:
        line = lines[i]
        i += 1
        if not line.isprintable():  # tabs, CR, controls: PyYAML's rules
            return None
        key, colon, rest = line.partition(":")
        if not colon:
            if line.strip(" "):
                return None
            continue
        if key in data or not _simple_key(key) or rest[:1] not in ("", " "):
            return None
        text = rest.strip(" ")
        if text:
            value = _scalar(text)
            if value is _NO_VALUE:
                return None
        else:  # an empty value, or a block list on the lines below
            items: list = []
            indent = -1
            while i < n and lines[i][:1] in (" ", "-"):
                item = lines[i].lstrip(" ")
                if not item:
                    break
                if not item.startswith("- ") or not item.isprintable():
                    return None
                if indent < 0:
                    indent = len(lines[i]) - len(item)
                elif len(lines[i]) - len(item) != indent:
                    return None
                text = item[2:].strip(" ")
                value = _scalar(text) if text else _NO_VALUE
                if value is _NO_VALUE or isinstance(value, list):
                    return None
                items.append(value)
                i += 1
            value = items if indent >= 0 else None
        data[key] = value
    return data or None


def _load_yaml(raw: str, path: str, first_line: int) -> object:
    simple = _simple_yaml(raw)
    if simple is not None:
        return simple
    raw = _LEADING_TABS.sub(lambda m: "\n" + "  " * len(m.group(1)), raw)
    try:
        return yaml.load(raw, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        what = exc.problem or exc.context or "syntax error"
        raise SourceError(path, line, f"invalid YAML front matter: {what}") from None
    except yaml.YAMLError as exc:
        raise SourceError(path, first_line, f"invalid YAML front matter: {exc}") from None
    except RecursionError:
        raise SourceError(path, first_line,
                          "invalid YAML front matter: nested too deeply") from None


def _load_json(raw: str, path: str, first_line: int, strict: bool) -> object:
    # Hexo's form has no braces; a full object is accepted too.
    text = raw if raw.lstrip().startswith("{") else "{" + raw + "}"
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        if not strict:
            return None  # Hexo also ignores a guessed block that is not JSON
        line = first_line + getattr(exc, "lineno", 1) - 1
        msg = getattr(exc, "msg", "nested too deeply")
        raise SourceError(path, line, f"invalid JSON front matter: {msg}") from None


def read_source(path: Path, rel: str) -> str:
    """The UTF-8 text of `path` without a BOM; `rel` names it in errors."""
    return read_source_bytes(path, rel)[1]


def read_source_bytes(path: Path | str, rel: str, size: int = -1) -> tuple[bytes, str]:
    """(the bytes of `path` without a BOM, their text); `size` is the expected length."""
    try:
        raw = _read(path, size)
    except OSError as exc:
        raise SourceError(rel, 0, f"cannot read file: {exc.strerror or exc}") from None
    start = 3 if raw.startswith(b"\xef\xbb\xbf") else 0
    data = raw[start:] if start else raw
    try:
        return data, data.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = start + exc.start
        line_start = raw.rfind(b"\n", 0, offset) + 1
        line = raw.count(b"\n", 0, offset) + 1
        column = offset - line_start + 1
        raise SourceError(
            rel, line,
            f"not valid UTF-8 (byte 0x{raw[offset]:02x} at column {column}); "
            "save the file as UTF-8",
        ) from None


def _read(path: Path | str, size: int) -> bytes:
    # With the size known from discovery, plain os.read skips the buffered file object
    # and its stat; reading on to end of file still gets all of a file that grew.
    if size < 0:
        with open(path, "rb") as f:
            return f.read()
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        chunks = []
        want = size + 1
        while chunk := os.read(fd, want):
            chunks.append(chunk)
            want = 1 << 16
    finally:
        os.close(fd)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)

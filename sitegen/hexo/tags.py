"""Expand Hexo tag plugins (`{% name args %}…{% endname %}`) in a post body.

Hexo runs tag plugins on the Markdown source after protecting code: fenced code, inline
code spans and HTML comments keep their `{% %}` literally. Indented code and `<code>`
elements are protected here too. Each tag's HTML goes into the text as an island (see
sitegen.markdown) so Markdown rendering keeps it verbatim, as Hexo's own placeholders do.

Not supported on purpose: `{{ var }}` and `{# #}` are left as written (Hexo would run
them through Nunjucks), and `include_code` (it reads files) is an unknown tag.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sitegen.hexo.refs import has_refs, resolve_refs
from sitegen.hexo.tag_plugins import TAGS, TagEnv
from sitegen.markdown import html_island, markdown_parser, render_markdown

__all__ = ["TagContext", "expand_tags", "has_refs", "resolve_refs", "split_args"]


@dataclass(frozen=True)
class TagContext:
    path: str
    body_line: int  # line of the original file on which the body starts
    warn: Callable[[int, str], None]


def expand_tags(body: str, ctx: TagContext, *, markdown: bool = True) -> str:
    """Replace tag plugins by their output; `markdown=False` for bodies written in HTML.

    Bodies without `{%` come back unchanged (most archive posts). Otherwise line endings
    are normalised to "\\n". Problems are reported through `ctx.warn` and the offending
    text is left visible.
    """
    if "{%" not in body:
        return body
    return _Run(ctx, markdown).expand(body.replace("\r\n", "\n"), ctx.body_line)


def split_args(text: str) -> list[str]:
    """Split tag arguments as Nunjucks does: on whitespace, quotes group and are removed."""
    args: list[str] = []
    cur: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            if cur:
                args.append("".join(cur))
                cur = []
            i += 1
            continue
        if ch in "\"'":
            end = _string_end(text, i)
            if end > 0:
                cur.append(re.sub(r"\\(.)", r"\1", text[i + 1:end]))
                i = end + 1
                continue
        cur.append(ch)  # an unmatched quote is an apostrophe in prose
        i += 1
    if cur:
        args.append("".join(cur))
    return args


def _string_end(text: str, start: int) -> int:
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == text[start]:
            return i
        i += 1
    return -1


# --- scanning ------------------------------------------------------------------------

_NEXT_RE = re.compile(r"\{%|<!--|<code(?=[\s>])|`", re.IGNORECASE)
_CODE_CLOSE_RE = re.compile(r"</code\s*>", re.IGNORECASE)
_NAME_RE = re.compile(r"-?\s*([A-Za-z_][\w-]*)\s*(.*?)\s*-?$", re.DOTALL)
_MAYBE_CODE_RE = re.compile(r"```|~~~|^(?: {4}|\t)", re.MULTILINE)
_BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")
_RAW_RE = re.compile(r"\{%-?\s*raw\s*-?%\}(.*?)\{%-?\s*endraw\s*-?%\}", re.DOTALL)


def _code_regions(text: str) -> list[tuple[int, int]]:
    """Character spans of fenced and indented code blocks, as markdown-it sees them."""
    if not _MAYBE_CODE_RE.search(text):
        return []
    md = markdown_parser()
    tokens: list = []
    md.block.parse(text, md, {}, tokens)
    starts = [0, *(m.end() for m in re.finditer("\n", text))]
    spans = []
    for tok in tokens:
        if tok.type in ("fence", "code_block") and tok.map:
            first, last = tok.map
            spans.append((starts[first], starts[last] if last < len(starts) else len(text)))
    return spans


def _tag_end(text: str, start: int) -> int:
    """Index just past the `%}` closing a tag opened before `start`, or -1.

    Like Hexo, a `%}` inside a quoted argument does not close the tag; quotes that run
    past the next tag are apostrophes in prose, so the first `%}` is taken then.
    """
    quote = ""
    for i in range(start, len(text) - 1):
        ch = text[i]
        if ch in "\"'":
            quote = ch if not quote else ("" if quote == ch else quote)
        elif ch == "%" and text[i + 1] == "}" and not quote:
            if "{%" not in text[start:i]:
                return i + 2
            break
    k = text.find("%}", start)
    return k + 2 if k >= 0 else -1


def _find_close(text: str, start: int, name: str) -> tuple[int, int] | None:
    """Span of the `{% end<name> %}` matching an opening tag, allowing nesting."""
    pattern = re.compile(r"\{%-?\s*(end)?" + re.escape(name) + r"(?![\w-])(?:[^%]|%(?!\}))*%\}")
    depth = 1
    for m in pattern.finditer(text, start):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            return m.start(), m.end()
    return None


def _closing_backticks(text: str, start: int, count: int) -> int:
    """End of the code span whose opening run of `count` backticks ends at `start`, or -1."""
    run = re.compile(f"(?<!`)`{{{count}}}(?!`)")
    m = run.search(text, start)
    if not m or _BLANK_LINE_RE.search(text, start, m.start()):
        return -1
    return m.end()


def _trim_body(body: str) -> str:
    """Hexo's trimBody: remove the common indent, then one leading and trailing newline."""
    indents = [len(m.group(0)) for m in re.finditer(r"^[ \t]*(?=\S)", body, re.MULTILINE)]
    if indents and min(indents):
        body = re.sub(rf"^[ \t]{{{min(indents)}}}", "", body, flags=re.MULTILINE)
    body = body.removeprefix("\n")
    return body.removesuffix("\n")


@dataclass
class _Run:
    """State of one expand_tags call (names of unknown tags already reported)."""

    ctx: TagContext
    markdown: bool
    unknown: set[str] = field(default_factory=set)

    def expand(self, text: str, first_line: int) -> str:
        code = _code_regions(text) if self.markdown else []
        out: list[str] = []
        pos = ci = 0
        while True:
            while ci < len(code) and code[ci][1] <= pos:
                ci += 1
            m = _NEXT_RE.search(text, pos)
            if ci < len(code) and (m is None or code[ci][0] <= m.start()):
                out.append(text[pos:code[ci][1]])
                pos = code[ci][1]
                continue
            if m is None:
                break
            out.append(text[pos:m.start()])
            pos = self._step(text, m, first_line, out)
        out.append(text[pos:])
        return "".join(out)

    def _step(self, text: str, m: re.Match, first_line: int, out: list[str]) -> int:
        """Handle what `m` found; append its output and return where scanning resumes."""
        start, found = m.start(), m.group(0)
        if found == "{%":
            return self._tag(text, start, first_line, out)
        if found == "<!--":
            k = text.find("-->", start + 4)
            end = len(text) if k < 0 else k + 3
        elif found != "`":
            close = _CODE_CLOSE_RE.search(text, start)
            end = close.end() if close else m.end()
        else:
            run_end = start
            while run_end < len(text) and text[run_end] == "`":
                run_end += 1
            escaped = start > 0 and text[start - 1] == "\\"
            close = -1 if escaped else _closing_backticks(text, run_end, run_end - start)
            end = close if close > 0 else run_end
        out.append(text[start:end])
        return end

    def _tag(self, text: str, start: int, first_line: int, out: list[str]) -> int:
        line = first_line + text.count("\n", 0, start)
        end = _tag_end(text, start + 2)
        inner = text[start + 2:end - 2] if end > 0 else ""
        # A second "{%" before the "%}" means this one was never closed.
        parsed = _NAME_RE.fullmatch(inner) if "{%" not in inner else None
        if parsed is None:
            self.ctx.warn(line, "'{%' does not start a valid tag; left as text")
            out.append("{%")
            return start + 2
        name, argtext = parsed.groups()
        literal = text[start:end]
        if name == "raw":
            close = _find_close(text, end, "raw")
            if close is None:
                self.ctx.warn(line, "'{% raw %}' has no matching '{% endraw %}'")
                out.append(literal)
                return end
            out.append(html_island(text[end:close[0]]))
            return close[1]
        spec = TAGS.get(name)
        if spec is None:
            if name.startswith("end") and name[3:] in self.unknown:
                pass  # already reported with its opening tag
            elif name.startswith("end") and name[3:] in TAGS:
                self.ctx.warn(line, f"'{{% {name} %}}' has no opening '{{% {name[3:]} %}}'")
            else:
                self.unknown.add(name)
                self.ctx.warn(line, f"unknown tag plugin '{name}'")
            out.append(literal)
            return end
        body, resume = "", end
        if spec.block:
            close = _find_close(text, end, name)
            if close is None:
                self.ctx.warn(line, f"'{{% {name} %}}' has no matching '{{% end{name} %}}'")
                out.append(literal)
                return end
            raw_body, resume = text[end:close[0]], close[1]
            body = _trim_body(raw_body)
            body_line = first_line + text.count("\n", 0, end) + raw_body.startswith("\n")
            if name in ("codeblock", "code"):
                body = _RAW_RE.sub(lambda r: r.group(1), body)
        else:
            body_line = line
        env = TagEnv(render=lambda src: render_markdown(self.expand(src, body_line)).html,
                     warn=lambda msg: self.ctx.warn(line, msg))
        try:
            html = spec.fn(split_args(argtext), body, env)
        except Exception as exc:  # noqa: BLE001 - one bad tag must not stop a build
            self.ctx.warn(line, f"tag plugin '{name}' failed: {exc}")
            out.append(text[start:resume])
            return resume
        out.append(html_island(html) if spec.island else html)
        return resume

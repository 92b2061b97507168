"""Code highlighting with Pygments CSS classes, shared by fenced code and tag plugins."""
from __future__ import annotations

import functools
import html
import re
from typing import TYPE_CHECKING

# Pygments loads only for a block in a language it knows: importing it costs 35 ms
# (its plugin lookup imports importlib.metadata), which a rebuild after editing a post
# whose code blocks name no language would pay for nothing.
if TYPE_CHECKING:
    from pygments.formatters import HtmlFormatter
    from pygments.lexer import Lexer

_LANG_CLASS = re.compile(r"[^\w.+#-]")


@functools.lru_cache(maxsize=512)
def _lexer(lang: str) -> Lexer | None:
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    # Looked up by name only: guessing a language from content is slow and often wrong.
    try:
        return get_lexer_by_name(lang, stripnl=False, ensurenl=True)
    except ClassNotFound:
        return None


@functools.lru_cache(maxsize=64)
def _formatter(marked: frozenset[int]) -> HtmlFormatter:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(nowrap=True, hl_lines=sorted(marked))


def _plain(code: str, marked: frozenset[int]) -> str:
    out = []
    for n, line in enumerate(code.split("\n"), start=1):
        text = html.escape(line, quote=False) + "\n"
        out.append(f'<span class="hll">{text}</span>' if n in marked else text)
    return "".join(out)


def highlight_code(code: str, lang: str | None, marked: frozenset[int] = frozenset()) -> str:
    """Return `<pre class="highlight"><code class="language-x">…</code></pre>`.

    Known languages get Pygments token spans; unknown ones are escaped plain text.
    `marked` holds 1-based line numbers wrapped in `<span class="hll">`.
    """
    code = code.removesuffix("\n")
    lexer = _lexer(lang.lower()) if lang else None
    if lexer is None:
        body = _plain(code, marked)
    else:
        from pygments import highlight

        body = highlight(code, lexer, _formatter(marked))
    # Both paths end every line with "\n"; the block's last one is not part of the code.
    if body.endswith("\n"):
        body = body[:-1]
    elif body.endswith("\n</span>"):
        body = body[:-8] + "</span>"
    cls = f' class="language-{_LANG_CLASS.sub("", lang)}"' if lang else ""
    return f'<pre class="highlight"><code{cls}>{body}</code></pre>'


def code_figure(code: str, lang: str | None, caption_html: str = "",
                marked: frozenset[int] = frozenset()) -> str:
    """A highlighted block, wrapped in a `<figure>` with a caption when one is given."""
    pre = highlight_code(code, lang, marked)
    if not caption_html:
        return pre
    return f'<figure class="code-block"><figcaption>{caption_html}</figcaption>{pre}</figure>'


def parse_marked_lines(value: str) -> frozenset[int]:
    """Hexo's `mark:1,7-8,10` syntax -> {1, 7, 8, 10}; junk items are skipped."""
    lines: set[int] = set()
    for item in value.split(","):
        lo, sep, hi = item.strip().partition("-")
        try:
            a = int(lo)
            b = int(hi) if sep else a
        except ValueError:
            continue
        lines.update(range(min(a, b), max(a, b) + 1))
    return frozenset(lines)


def pygments_css(style: str, dark_style: str) -> str:
    """CSS for `.highlight`: `style` by default, `dark_style` for dark mode.

    Dark mode applies when the OS prefers dark (unless `data-theme=light` is set on the
    root) or when `data-theme=dark` is set. Dark rules first reset token colours so a
    colour the light style sets but the dark style does not cannot leak through.
    """
    light = _style_formatter(style)
    dark = _style_formatter(dark_style)
    auto = ":root:not([data-theme=light]) .highlight"
    forced = "[data-theme=dark] .highlight"

    def dark_rules(prefix: str) -> str:
        reset = f"{prefix} span {{ color: inherit; background-color: transparent; "
        reset += "font-weight: inherit; font-style: inherit; }"
        return "\n".join([reset, *_rules(dark, prefix)])

    return "\n".join([
        *_rules(light, ".highlight"),
        "@media (prefers-color-scheme: dark) {",
        dark_rules(auto),
        "}",
        dark_rules(forced),
        "",
    ])


def _style_formatter(style: str) -> HtmlFormatter:
    from pygments.formatters import HtmlFormatter
    from pygments.util import ClassNotFound

    try:
        return HtmlFormatter(style=style)
    except ClassNotFound as exc:
        raise ValueError(f"unknown Pygments style {style!r}") from exc


def _rules(formatter: HtmlFormatter, prefix: str) -> list[str]:
    # Background and token rules only: the line-number rules Pygments adds are unscoped
    # (`pre { … }`) and would restyle every <pre> on the site.
    return [*formatter.get_background_style_defs(prefix), *formatter.get_token_style_defs(prefix)]

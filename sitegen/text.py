"""Plain-text helpers: strip HTML, summarise, count words (CJK-aware)."""
from __future__ import annotations

import functools
import html as htmllib
import re

_HIDDEN = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.DOTALL | re.IGNORECASE)
# Block-level tags separate words; inline ones (strong, a, span…) must not, or Chinese
# text reads "然而， 软件生态 的完善".
# Only the names ignore case: an ignore-case [^>]* made this the costliest pass.
_BLOCK = re.compile(r"</?(?i:p|div|br|hr|li|ul|ol|h[1-6]|tr|td|th|table|thead|tbody|blockquote|"
                    r"pre|section|article|figure|figcaption|header|footer|dd|dt|dl|img)\b[^>]*>")
_TAGS = re.compile(r"<[^>]*>")
# CJK ideographs, kana and hangul count one "word" per character, as readers read them.
_CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_LETTER = "A-Za-z0-9\u00c0-\u024f"


@functools.cache
def _word_patterns() -> tuple[re.Pattern, re.Pattern, re.Pattern]:
    """(one CJK character, a run of others, a word in other scripts). Compiled on
    first use: the big character sets took 9 ms of each rebuild's start-up, and a
    rebuild that renders no body never uses them."""
    return (re.compile(f"[{_CJK_CHARS}]"),
            # `[x][x]*`, not `[x]+`: re skips ahead to a match only when the pattern
            # starts with a plain character set, instead of trying every character (3x faster).
            re.compile(f"[^{_CJK_CHARS}][^{_CJK_CHARS}]*"),
            re.compile(f"[{_LETTER}][{_LETTER}]*(?:['’-][{_LETTER}]+)*"))


def plain_text(html: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed."""
    text = _TAGS.sub("", _BLOCK.sub(" ", _HIDDEN.sub(" ", html)))
    # split() and re's \s agree on what whitespace is, and split() is one C pass.
    return " ".join(htmllib.unescape(text).split())


def summarise(text: str, length: int) -> str:
    """The first `length` characters, cut at a word boundary when one is near."""
    if len(text) <= length:
        return text
    cut = text[:length]
    space = cut.rfind(" ")
    if space > length * 0.6 and not _word_patterns()[0].search(cut[space - 1 : space + 2]):
        cut = cut[:space]
    return cut.rstrip(" ,.;:，。；：、") + "…"


def word_count(text: str) -> int:
    # Deleting everything else and measuring what is left is one pass in C.
    _, others, word = _word_patterns()
    return len(others.sub("", text)) + len(word.findall(text))


def reading_minutes(words: int, cjk_per_minute: int = 400) -> int:
    """Rounded-up minutes; 400 characters or words a minute suits mixed CJK text."""
    return max(1, -(-words // cjk_per_minute))

"""Plain text, summaries and word counts of post bodies."""
from __future__ import annotations

import html as htmllib
import random
import re

from sitegen.text import plain_text, summarise, word_count

# The straightforward forms these functions must keep agreeing with.
_HIDDEN = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->", re.DOTALL | re.IGNORECASE)
_BLOCK = re.compile(r"</?(?:p|div|br|hr|li|ul|ol|h[1-6]|tr|td|th|table|thead|tbody|blockquote|pre|"
                    r"section|article|figure|figcaption|header|footer|dd|dt|dl|img)\b[^>]*>",
                    re.IGNORECASE)
_CJK = "[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
_WORD = re.compile(r"[A-Za-z0-9\u00c0-\u024f]+(?:['’-][A-Za-z0-9\u00c0-\u024f]+)*")


def reference_plain_text(html: str) -> str:
    text = re.sub(r"<[^>]*>", "", _BLOCK.sub(" ", _HIDDEN.sub(" ", html)))
    return re.sub(r"\s+", " ", htmllib.unescape(text)).strip()


def reference_word_count(text: str) -> int:
    return len(re.findall(_CJK, text)) + len(_WORD.findall(text))


_PIECES = [
    "<p>", "</p>", "<P class='x'>", "<div>", "</DIV >", "<br/>", "<img src=a>", "<span>", "</span>",
    "<strong>", "<a href='u'>", "</a>", "<h2 id=x>", "<pre>", "<preview>", "<script>x<y</script>",
    "<STYLE>a{}</style>", "<!-- c -->", "<!--", "-->", "<", ">", "&amp;", "&lt;", "&nbsp;", "&#12354;",
    "中文", "。", "，", "、", "「」", "かな", "カタ", "한국어", "\u4dc0", "\ud7b0", "\uf900", "\u3400",
    "word", "don't", "co-op", "it’s", "-x-", "'", "café", "Ωmega", "ǅ", "42", "3.14", "ſ", "K",
    " ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u2028", "\u3000",
    "\u200b", "\ufeff",
]


def _random_html(rng: random.Random) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 30)))


def test_plain_text_and_word_count_agree_with_the_plain_definitions():
    rng = random.Random(11)
    for _ in range(5000):
        html = _random_html(rng)
        text = plain_text(html)
        assert text == reference_plain_text(html), repr(html)
        assert word_count(text) == reference_word_count(text), repr(text)
        assert word_count(html) == reference_word_count(html), repr(html)


def test_block_tags_separate_words_and_inline_tags_do_not():
    assert plain_text("<p>然而，</p><P>软件<strong>生态</strong>的完善</P>") == "然而， 软件生态的完善"
    assert plain_text("<div>a<br>b</div> <!-- x --> <script>y</script>c &amp; d") == "a b c & d"


def test_word_count_counts_cjk_characters_and_other_words():
    assert word_count("中文 text, don't stop-here 42 かな 한국") == 2 + 4 + 2 + 2
    assert word_count("，。、") == 0


def test_summarise_cuts_at_a_word_boundary():
    assert summarise("short", 10) == "short"
    assert summarise("one two three four", 16) == "one two three…"

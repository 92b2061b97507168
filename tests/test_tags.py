"""Hexo tag plugins: parsing, code protection, each tag's output, references, warnings."""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from sitegen.hexo.tags import TagContext, expand_tags, has_refs, resolve_refs, split_args
from sitegen.markdown import render_markdown
from tests.test_markdown import check_snapshot

UNIT_TEST_POSTS = Path("/work/shared/hexo-unit-test/source/_posts")


class Warnings(list):
    def __call__(self, line: int, message: str) -> None:
        self.append((line, message))


def expand(body: str, body_line: int = 1) -> tuple[str, Warnings]:
    warnings = Warnings()
    return expand_tags(body, TagContext("post.md", body_line, warnings)), warnings


def render(body: str) -> str:
    out, warnings = expand(body)
    assert warnings == []
    return render_markdown(out).html


FACTS = {
    ("post_path", "hello"): "/2020/01/02/hello/",
    ("post_title", "hello"): "Hello & <World>",
    ("asset_path", "pic.png"): "/2020/01/02/hello/pic.png",
    ("asset_path", "doc.pdf"): "/2020/01/02/hello/doc.pdf",
    ("url_for", "/images/a.png"): "/blog/images/a.png",
}


def resolved(html: str) -> tuple[str, list[tuple[str, str]]]:
    missing: list[tuple[str, str]] = []
    out = resolve_refs(html, lambda kind, key: FACTS.get((kind, key)),
                       lambda kind, key: missing.append((kind, key)))
    return out, missing


def test_body_without_tags_is_returned_as_is():
    body = "<div>   \n<p>text {{ not a tag }}</p>\r\n  \n</div>\n"
    out, warnings = expand(body)
    assert out is body and warnings == []


def test_apostrophes_do_not_swallow_the_next_tag():
    out = render("{% link it's http://a.b/c %} and {% link don't http://d.e %}\n")
    assert '<a href="http://a.b/c">it&#39;s</a>' in out
    assert '<a href="http://d.e">don&#39;t</a>' in out


def test_split_args_like_nunjucks():
    assert split_args('a "b c" lang:js \'"t" "u"\'') == ["a", "b c", "lang:js", '"t" "u"']
    assert split_args("Seth Godin's blog") == ["Seth", "Godin's", "blog"]


@pytest.mark.parametrize("args, footer", [
    ("", ""),
    ("David Levithan, Wide Awake",
     "<footer><strong>David Levithan</strong><cite>Wide Awake</cite></footer>"),
    ("@DevDocs https://twitter.com/devdocs/status/356095192085962752",
     ('<footer><strong>@DevDocs</strong><cite><a href="https://twitter.com/devdocs/status/'
     '356095192085962752">twitter.com/devdocs/status/356095192085962752</a></cite></footer>')),
    ("Seth Godin http://sethgodin.typepad.com/x.html Welcome to Island Marketing",
     ('<footer><strong>Seth Godin</strong><cite><a href="http://sethgodin.typepad.com/x.html">'
     "Welcome to Island Marketing</a></cite></footer>")),
])
def test_blockquote(args, footer):
    out = render(f"{{% blockquote {args} %}}\nDo **not** just seek.\n{{% endblockquote %}}\n")
    assert out == f"<blockquote><p>Do <strong>not</strong> just seek.</p>\n{footer}</blockquote>\n"


def test_quote_alias_and_pullquote():
    assert render("{% quote %}\nq\n{% endquote %}\n") == "<blockquote><p>q</p>\n</blockquote>\n"
    out = render("{% pullquote left %}\nLorem\n{% endpullquote %}\n")
    assert out == '<blockquote class="pullquote left"><p>Lorem</p>\n</blockquote>\n'


def test_codeblock_caption_url_lang_and_marks():
    out = render("{% codeblock Array.map %}\narray.map(cb)\n{% endcodeblock %}")
    assert out.startswith('<figure class="code-block"><figcaption><span>Array.map</span>'
                          '</figcaption><pre class="highlight"><code>array.map(cb)</code>')
    out = render("{% codeblock .compact http://underscorejs.org/#compact Underscore.js %}\n"
                 "x\n{% endcodeblock %}")
    assert ('<figcaption><span>.compact</span><a href="http://underscorejs.org/#compact">'
            "Underscore.js</a></figcaption>") in out
    out = render("{% code lang:python mark:2 %}\n  a = 1\n  b = {{ 2 }}\n{% endcode %}")
    assert '<code class="language-python"><span class="n">a</span>' in out  # indent removed
    assert '<span class="hll"><span class="n">b</span>' in out and "{{" in out
    out = render("{% codeblock highlight:false %}\n<b>\n{% endcodeblock %}\n")
    assert out == "<pre><code>&lt;b&gt;</code></pre>\n"


def test_codeblock_body_stays_literal_except_raw():
    out = render("{% codeblock %}\n{% raw %}{{ a }}{% endraw %} {% link x http://y %}\n"
                 "{% endcodeblock %}")
    assert "{{ a }} {% link x http://y %}" in out


@pytest.mark.parametrize("tag, html", [
    ("{% img /images/a.png %}", '<img src="/blog/images/a.png">'),
    ("{% img left big http://ex.com/a.png 100 200 '\"Title here\" \"Alt here\"' %}",
     ('<img src="http://ex.com/a.png" class="left big" width="100" height="200" '
     'title="Title here" alt="Alt here">')),
    ("{% image https://ex.com/b.png 640 Just a title %}",
     '<img src="https://ex.com/b.png" width="640" title="Just a title">'),
    ("{% link Hexo site https://hexo.io true Go there %}",
     '<a href="https://hexo.io" title="Go there" target="_blank">Hexo site</a>'),
    ("{% link plain http://a.b/c?d=1&e=2 %}", '<a href="http://a.b/c?d=1&amp;e=2">plain</a>'),
    ("{% iframe https://ex.com/embed %}",
     ('<iframe src="https://ex.com/embed" width="100%" height="300" frameborder="0" '
     'loading="lazy" allowfullscreen></iframe>')),
    ("{% iframe https://ex.com/e 640 default %}",
     ('<iframe src="https://ex.com/e" width="640" height="300" frameborder="0" loading="lazy" '
     "allowfullscreen></iframe>")),
    ("{% youtube abc %}",
     ('<div class="video-container"><iframe src="https://www.youtube.com/embed/abc" '
     'frameborder="0" loading="lazy" allowfullscreen></iframe></div>')),
    ("{% youtube PLx playlist false %}",
     ('<div class="video-container"><iframe src="https://www.youtube-nocookie.com/embed/'
     'videoseries?list=PLx" frameborder="0" loading="lazy" allowfullscreen></iframe></div>')),
    ("{% youtube abc false %}", 'src="https://www.youtube-nocookie.com/embed/abc"'),
    ("{% vimeo 82090131 %}",
     ('<div class="video-container"><iframe src="https://player.vimeo.com/video/82090131" '
     'frameborder="0" loading="lazy" allowfullscreen></iframe></div>')),
    ("{% gist 996818 a.js %}", '<script src="//gist.github.com/996818.js?file=a.js"></script>'),
    ("{% jsfiddle ccWP7 %}",
     ('<iframe scrolling="no" width="100%" height="300" src="https://jsfiddle.net/ccWP7/embedded/'
     'js,resources,html,css,result/light" frameborder="0" loading="lazy" allowfullscreen>'
     "</iframe>")),
    ("{% url_for Images /images/a.png %}", '<a href="/blog/images/a.png">Images</a>'),
])
def test_inline_tags(tag, html):
    out, missing = resolved(render(tag + "\n"))
    assert html in out and missing == []


def test_tag_inside_paragraph_stays_inline():
    out = render("See {% link docs https://hexo.io %} now.")
    assert out == '<p>See <a href="https://hexo.io">docs</a> now.</p>\n'


def test_post_link_and_post_path_resolve_after_markdown():
    html = render("A [link]({% post_path hello %}#part) and {% post_link hello %} and "
                  "{% post_link hello#sec Read <this> %} and {% post_link hello <b>raw</b> false %}\n"
                  '<a href="{% post_path hello %}" title="{% post_path hello %}">x</a>')
    assert has_refs(html) and not has_refs(render("{% link a https://b.c %}"))
    out, missing = resolved(html)
    assert '<a href="/2020/01/02/hello/#part">link</a>' in out
    assert '<a href="/2020/01/02/hello/" title="Hello &amp; &lt;World&gt;">Hello &amp; &lt;World&gt;</a>' in out
    assert '<a href="/2020/01/02/hello/#sec" title="Hello &amp; &lt;World&gt;">Read &lt;this&gt;</a>' in out
    assert ">Read &lt;this&gt;</a>" in out and "><b>raw</b></a>" in out
    assert '<a href="/2020/01/02/hello/" title="/2020/01/02/hello/">x</a>' in out
    assert missing == []


def test_asset_tags_resolve():
    html = render("{% asset_img big pic.png 300 '\"Photo\" \"A photo\"' %}\n\n"
                  "{% asset_link doc.pdf The <doc> %}\n\n![i]({% asset_path pic.png %})")
    out, missing = resolved(html)
    assert ('<img src="/2020/01/02/hello/pic.png" class="big" width="300" title="Photo" '
            'alt="A photo">') in out
    assert '<a href="/2020/01/02/hello/doc.pdf" title="The &lt;doc&gt;">The &lt;doc&gt;</a>' in out
    assert '<img src="/2020/01/02/hello/pic.png" alt="i">' in out
    assert missing == []


def test_unresolved_references_are_reported():
    # Text first: a line starting with a tag is raw HTML in Hexo (its placeholder is a comment).
    html = render("See {% post_link nope %} [x]({% post_path gone %}) {% asset_img none.png %}")
    out, missing = resolved(html)
    assert '<a href="#">Post not found: nope</a>' in out
    assert '<a href="">x</a>' in out
    assert missing == [("post_link", "nope"), ("post_path", "gone"), ("asset_img", "none.png")]
    assert "\ufdd2" not in out and "%EF%B7" not in out


@pytest.mark.parametrize("body", [
    "```\n{% link a http://b %} {{ x }} {% if y %}\n```\n",
    "~~~js\n{% if y %}{{ x }}\n~~~\n",
    "> ```\n> {% if y %}\n> ```\n",
    "text\n\n    {% if y %} {{ x }}\n",
    "inline `{% if y %}` and ``{{ x }} ` {% z %}``",
    "<!-- {% if y %} -->",
    "<code>{% if y %}</code>",
])
def test_code_and_comments_keep_tags_literal(body):
    out, warnings = expand(body)
    assert out == body and warnings == []
    rendered = render_markdown(out).html
    text = html.unescape(re.sub(r"<[^>]+>", "", rendered))  # Pygments splits code into spans
    assert "{% if y %}" in text or "{% link" in text or "{{ x }}" in text or body in rendered


def test_tags_next_to_code_are_still_expanded():
    out = render("`code` {% link a https://b.c %}\n\n```\nx\n```\n{% link d https://e.f %}")
    assert '<a href="https://b.c">a</a>' in out and '<a href="https://e.f">d</a>' in out


def test_raw_passes_content_untouched():
    out = render("{% raw %}\n{{ x }} {% foo %} *not em*\n{% endraw %}\n")
    assert "{{ x }} {% foo %} *not em*" in out and "<em>" not in out


def test_unknown_tag_warns_with_original_line_and_stays_visible():
    out, warnings = expand("first\n\nsecond {% foo bar %}\n{% endfoo %}\n", body_line=7)
    assert warnings == [(9, "unknown tag plugin 'foo'")]
    assert "{% foo bar %}" in render_markdown(out).html


def test_missing_end_tag_warns_and_stays_visible():
    out, warnings = expand("a\n{% codeblock js %}\nx = 1\n", body_line=3)
    assert warnings == [(4, "'{% codeblock %}' has no matching '{% endcodeblock %}'")]
    assert "{% codeblock js %}" in render_markdown(out).html


def test_unclosed_tag_and_stray_end_tag_warn():
    out, warnings = expand("50{% of it\n\n{% endblockquote %}", body_line=1)
    assert [line for line, _ in warnings] == [1, 3]
    assert "does not start a valid tag" in warnings[0][1]
    assert "{% endblockquote %}" in out and "50{% of it" in out


def test_warnings_inside_nested_bodies_count_original_lines():
    _, warnings = expand("x\n{% blockquote %}\none\n{% nope %}\n{% endblockquote %}", body_line=10)
    assert warnings == [(13, "unknown tag plugin 'nope'")]


def test_nested_tags_in_blockquote():
    out = render("{% blockquote %}\nSee {% link it https://x.y %}.\n{% endblockquote %}\n")
    assert out == '<blockquote><p>See <a href="https://x.y">it</a>.</p>\n</blockquote>\n'


def test_html_bodies_protect_code_elements_only():
    warnings = Warnings()
    body = "<div>\n    {% link a https://b.c %}\n<code>{% x %}</code></div>"
    out = expand_tags(body, TagContext("p.html", 1, warnings), markdown=False)
    assert '<a href="https://b.c">a</a>' in out and "<code>{% x %}</code>" in out
    assert warnings == []


@pytest.mark.skipif(not UNIT_TEST_POSTS.exists(), reason="hexo-unit-test corpus not available")
@pytest.mark.parametrize("name", ["tag-plugins.md", "videos.md"])
def test_hexo_unit_test_posts_expand_without_warnings(name):
    text = (UNIT_TEST_POSTS / name).read_text(encoding="utf-8")
    body = text.split("---\n", 1)[1]
    out, warnings = expand(body, body_line=text[: text.index("---\n") + 4].count("\n") + 1)
    assert warnings == []
    html = render_markdown(out).html
    assert "{%" not in html
    if name == "videos.md":
        assert "https://www.youtube.com/embed/TIbZDRXM-Tg" in html
        assert "https://player.vimeo.com/video/82090131" in html
    else:
        assert html.count("<blockquote") == 6 and '<script src="//gist.github.com/996818.js">' in html


TAG_SNAPSHOT_SOURCE = """\
## Quote

{% blockquote David Levithan, Wide Awake %}
Do not just seek happiness for yourself.
{% endblockquote %}

{% codeblock hello.py lang:python http://example.com/hello.py source mark:2 %}
def hello():
    return "{{ world }}"
{% endcodeblock %}

Inline {% link Hexo https://hexo.io true %} and {% img /a.png 10 20 %}.

{% pullquote right %}
Pulled.
{% endpullquote %}
"""


def test_tag_snapshot():
    out, _ = resolved(render(TAG_SNAPSHOT_SOURCE))
    check_snapshot("tags.html", out)

"""End-to-end builds of small real sites: URLs, listings, taxonomies, outputs."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from urllib.parse import quote

import pytest

from sitegen.errors import BuildFailed

SEED_FRONT = """\
title: '资本纷纷涌入，AI芯片落地难'
categories:
 - 新媒体
 - 高科技行业门户
 - 新闻
headimg: 'https://mp.example.com/Upload/1.jpg'
author: 高科技行业门户
comments: false
date: Mon, 11 Oct 2021 07:53:00 GMT
thumbnail: 'https://mp.example.com/Upload/1.jpg'
"""
SEED_BODY = (
    '<div>   \n<p style="text-align:center"><img src="https://mp.example.com/Upload/1.jpg" '
    'alt="AI芯片大乱斗" referrerpolicy="no-referrer"></p><p style="text-indent: 2em; '
    'text-align: left;">最近,英特尔推出了第二代神经拟态芯片。</p><p style="text-indent: 2em;">'
    '<strong>资本的涌入</strong></p> \n  \n</div>\n'
)


def seed_site(make_site, **kw):
    site = make_site(**kw)
    site.write("_posts/000_9f585461354113b9.md", "\n---\n" + SEED_FRONT + "---\n\n" + SEED_BODY)
    return site


def test_seed_post_url_categories_and_author(make_site):
    site = seed_site(make_site)
    result = site.build()
    assert result.posts == 1
    html = site.read("2021/10/11/000_9f585461354113b9/index.html")
    assert "资本纷纷涌入，AI芯片落地难" in html
    # The raw HTML body comes out as one intact article.
    assert '<p style="text-indent: 2em; text-align: left;">最近,英特尔推出了第二代神经拟态芯片。</p>' in html
    assert "&lt;p" not in html and "<pre><code>" not in html
    assert html.count("<div>") >= 1 and "</div>" in html
    assert '<time datetime="2021-10-11T07:53:00+00:00">' in html
    for path in ("新媒体", "新媒体/高科技行业门户", "新媒体/高科技行业门户/新闻"):
        page = site.read(f"categories/{path}/index.html")
        assert "资本纷纷涌入" in page
    assert "/categories/" + quote("新媒体") + "/" in html  # links percent-encode CJK
    author = site.read("authors/高科技行业门户/index.html")
    assert "资本纷纷涌入" in author
    child = site.read("categories/新媒体/index.html")
    assert quote("新媒体/高科技行业门户") in child  # a category page lists its children


def test_dates_follow_site_timezone_not_machine(make_site, monkeypatch):
    import time

    site = seed_site(make_site, config='theme = "minimal"\n[site]\ntimezone = "Asia/Shanghai"\n')
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        site.build()
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    html = site.read("2021/10/11/000_9f585461354113b9/index.html")
    assert '<time datetime="2021-10-11T15:53:00+08:00">' in html


def test_hexo_folder_builds_to_public_dir(make_site):
    site = make_site(kind="hexo", config=(
        "title: Hexo Blog\nurl: http://example.com/blog\nroot: /blog/\npermalink: :year/:i_month/:title.html\n"
        "per_page: 2\npublic_dir: public\ntimezone: UTC\ntheme: landscape\nsitegen_theme: minimal\n"))
    for i in range(5):
        site.post(f"p{i}.md", f"title: Post {i}\ndate: 2020-0{i + 1}-15 10:00:00\ntags: [a]")
    site.build()
    assert site.exists("2020/3/p2.html")
    assert site.exists("page/2/index.html") and site.exists("page/3/index.html")
    assert not site.exists("page/4/index.html")
    assert site.exists("tags/a/page/3/index.html")
    assert site.exists("archives/2020/index.html") and site.exists("archives/2020/03/index.html")
    assert '/blog/2020/5/p4.html' in site.read("index.html")


def test_per_page_zero_means_one_page(make_site):
    site = make_site(config='theme = "minimal"\n[pagination]\nper_page = 0\n')
    for i in range(12):
        site.post(f"p{i}.md", f"title: P{i}\ndate: 2020-01-{i + 1:02d}")
    site.build()
    assert site.read("index.html").count('<li><a href="/2020/01/') == 12
    assert not site.exists("page/2/index.html")


def test_drafts_unpublished_and_skipped_files(make_site):
    site = make_site()
    site.post("live.md", "title: Live\ndate: 2020-01-01\ncategories: [Shown]")
    site.post("hidden.md", "title: Hidden\ndate: 2020-01-02\npublished: false\ncategories: [Secret]\ntags: [secret]")
    site.write("_drafts/wip.md", "---\ntitle: WIP\ndate: 2020-01-03\n---\nDraft body\n")
    site.write("_private/x.md", "---\ntitle: nope\n---\n")
    site.write(".hidden.md", "---\ntitle: nope\n---\n")
    site.write("backup.md~", "x")
    site.write("notes.md%", "x")
    site.write("files/data.txt", "copied as is")
    site.write("about/index.md", "---\ntitle: About me\n---\nHello\n")
    site.build()
    files = site.files()
    assert "2020/01/01/live/index.html" in files
    assert not any("hidden" in f or "Secret" in f or "secret" in f for f in files)
    assert not any("wip" in f for f in files)
    assert not any("nope" in f or "private" in f or "backup" in f or "notes" in f for f in files)
    assert site.read("files/data.txt") == "copied as is"
    assert "About me" in site.read("about/index.html")
    site.build(drafts=True)
    assert site.exists("2020/01/03/wip/index.html")


def test_front_matter_forms(make_site):
    site = make_site()
    site.write("_posts/noopen.md", "title: No opening line\ndate: 2020-01-01\n---\nBody\n")
    site.write("_posts/json.md", ';;;\n{"title": "JSON post", "date": "2020-01-02", "tags": ["j"]}\n;;;\nBody\n')
    site.write("_posts/alias.md", "---\ntitle: Alias\ndate: 2020-01-03\ncategory: Solo\ntag: one\n---\nBody\n")
    site.write("_posts/untitled.md", "---\ndate: 2020-01-04\n---\nBody\n")
    site.build()
    assert "No opening line" in site.read("2020/01/01/noopen/index.html")
    assert "JSON post" in site.read("2020/01/02/json/index.html")
    assert site.exists("tags/j/index.html")
    assert site.exists("categories/Solo/index.html") and site.exists("tags/one/index.html")
    assert site.exists("2020/01/04/untitled/index.html")


def test_nested_category_lists_and_default_author(make_site):
    site = make_site()
    site.post("multi.md", "title: Multi\ndate: 2020-05-05\ncategories:\n  - [A, B]\n  - C\n")
    site.build()
    for path in ("A", "A/B", "C"):
        assert "Multi" in site.read(f"categories/{path}/index.html")
    assert "Multi" in site.read("authors/Site-Author/index.html")


def test_feeds_sitemap_robots_search(make_site):
    site = seed_site(make_site)
    site.post("md.md", "title: Markdown <b>&</b>\ndate: 2022-02-02 10:00:00\ntags: [x]", "Some *text*.\n")
    site.build()
    atom = ET.fromstring(site.read("atom.xml"))
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = atom.findall("a:entry", ns)
    assert [e.find("a:title", ns).text for e in entries] == ["Markdown <b>&</b>", "资本纷纷涌入，AI芯片落地难"]
    assert entries[0].find("a:link", ns).get("href") == "http://example.com/2022/02/02/md/"
    assert "<em>text</em>" in entries[0].find("a:content", ns).text
    sitemap = ET.fromstring(site.read("sitemap.xml"))
    locs = [e.text for e in sitemap.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    assert "http://example.com/2022/02/02/md/" in locs
    assert "Sitemap: http://example.com/sitemap.xml" in site.read("robots.txt")
    index = json.loads(site.read("search.json"))
    seed = next(i for i in index if i["title"].startswith("资本"))
    assert seed["date"] == "2021-10-11T07:53:00+00:00"
    assert seed["categories"] == ["新媒体", "高科技行业门户", "新闻"]
    assert "英特尔" in seed["excerpt"] and "<" not in seed["excerpt"]
    assert site.exists("404.html")


def test_atom_feed_limits_to_twenty(make_site):
    site = make_site()
    for i in range(25):
        site.post(f"p{i:02d}.md", f"title: P{i}\ndate: 2020-02-{i + 1:02d}")
    site.build()
    atom = ET.fromstring(site.read("atom.xml"))
    assert len(atom.findall("{http://www.w3.org/2005/Atom}entry")) == 20


def test_every_broken_file_is_reported_and_output_kept(make_site):
    site = make_site()
    site.post("good.md", "title: Good\ndate: 2020-01-01")
    site.build()
    before = site.read("2020/01/01/good/index.html")
    site.write("_posts/bad-yaml.md", "---\ntitle: ok\ntags: [unclosed\n---\nx\n")
    site.write("_posts/bad-date.md", "---\ntitle: ok\ndate: not a date at all\n---\nx\n")
    site.write("_posts/list.md", "---\n- a\n- b\n---\nx\n")
    site.write("_posts/latin1.md", "---\ntitle: ok\n---\ncaf\xe9\n".encode("latin-1"))
    site.post("new.md", "title: New\ndate: 2020-01-02")
    with pytest.raises(BuildFailed) as info:
        site.build()
    text = "\n".join(str(p) for p in info.value.problems)
    assert "_posts/bad-yaml.md:3:" in text or "_posts/bad-yaml.md:4:" in text
    assert "_posts/bad-date.md:3:" in text
    assert "_posts/list.md:2:" in text
    assert "_posts/latin1.md:4:" in text
    assert site.read("2020/01/01/good/index.html") == before
    assert not site.exists("2020/01/02/new/index.html")  # nothing changed
    result = site.build(keep_going=True)
    assert site.exists("2020/01/02/new/index.html")
    assert len([w for w in result.warnings if "bad-" in w.path or "list" in w.path]) >= 3


def test_two_sources_same_output_is_an_error(make_site):
    site = make_site()
    site.post("a.md", "title: A\ndate: 2020-01-01\npermalink: same/")
    site.post("b.md", "title: B\ndate: 2020-01-02\npermalink: same/")
    with pytest.raises(BuildFailed) as info:
        site.build()
    message = "\n".join(str(p) for p in info.value.problems)
    assert "_posts/a.md" in message and "_posts/b.md" in message and "same/index.html" in message


def test_colliding_tag_slugs_share_a_page(make_site):
    site = make_site()
    site.post("a.md", "title: Plus\ndate: 2020-01-01\ntags: [C++]")
    site.post("b.md", "title: Sharp\ndate: 2020-01-02\ntags: ['C#']")
    result = site.build()
    page = site.read("tags/C/index.html")
    assert "Plus" in page and "Sharp" in page
    assert any("same URL" in w.message for w in result.warnings)


@pytest.mark.parametrize("permalink", ["../../escape/", "/../x/", "a/../../b/", "/etc/passwd\x00/"])
def test_nothing_written_outside_output(make_site, permalink):
    site = make_site()
    site.post("evil.md", f"title: Evil\ndate: 2020-01-01\npermalink: {json.dumps(permalink)}")
    with pytest.raises(BuildFailed) as info:
        site.build()
    assert any("evil.md" in p.path for p in info.value.problems)
    assert not (site.root / "escape").exists() and not (site.root.parent / "escape").exists()


def test_deleted_post_disappears_and_unchanged_files_keep_mtime(make_site):
    site = make_site()
    for day in (1, 2, 3):
        site.post(f"p{day}.md", f"title: P{day}\ndate: 2020-01-0{day}")
    gone = site.post("b.md", "title: B\ndate: 2020-01-09")
    site.build()
    oldest = site.output / "2020/01/01/p1/index.html"
    stat = oldest.stat()
    gone.unlink()
    result = site.build()
    assert not site.exists("2020/01/09/b/index.html")
    assert not (site.output / "2020/01/09").exists()
    # p1's neighbours did not change, so its page was neither rendered nor rewritten;
    # p3's "newer" link pointed at b, so p3 changed.
    assert oldest.stat().st_mtime_ns == stat.st_mtime_ns
    assert "2020/01/03/p3/index.html" in result.changed
    assert "2020/01/01/p1/index.html" not in result.changed


def test_sanitize_removes_scripts_keeps_formatting(make_site):
    site = make_site(config='theme = "minimal"\n[writing]\nsanitize = true\n')
    site.post("x.md", "title: X\ndate: 2020-01-01",
              '<div><p style="text-indent: 2em" onclick="steal()">Text<script>alert(1)</script>'
              '<a href="javascript:alert(2)">link</a><img src="/a.png" alt="pic"></p></div>\n')
    site.build()
    html = site.read("2020/01/01/x/index.html")
    assert 'style="text-indent: 2em"' in html and 'alt="pic"' in html
    assert "alert(1)" not in html and "onclick" not in html and "javascript:" not in html


def test_template_error_names_template_and_line(make_site):
    site = make_site()
    site.post("a.md", "title: A\ndate: 2020-01-01")
    (site.root / "templates").mkdir()
    (site.root / "templates" / "post.html").write_text("line one\n{{ page.no_such_thing }}\n")
    with pytest.raises(BuildFailed) as info:
        site.build()
    problem = info.value.problems[0]
    assert problem.path.endswith("post.html") and problem.line == 2
    assert "no_such_thing" in problem.message


def test_tag_plugins_post_link_and_unknown_tag_warning(make_site):
    site = make_site(config='theme = "minimal"\n[writing]\npost_asset_folder = true\n')
    site.post("target.md", "title: Target Post\ndate: 2020-01-01")
    site.post("linker.md", "title: Linker\ndate: 2020-01-02",
              "Intro line\n\n{% post_link target %}\n\n{% asset_img cat.png A cat %}\n\n"
              "{% nosuchtag foo %}\n\n```\n{% post_link target %} stays literal\n```\n")
    site.write("_posts/linker/cat.png", b"\x89PNG fake")
    result = site.build()
    html = site.read("2020/01/02/linker/index.html")
    assert '<a href="/2020/01/01/target/"' in html and "Target Post</a>" in html
    assert 'src="/2020/01/02/linker/cat.png"' in html
    assert site.exists("2020/01/02/linker/cat.png")  # the asset folder is copied beside the post
    assert "{% post_link target %} stays literal" in html
    assert "nosuchtag" in html  # its text stays visible
    warning = next(w for w in result.warnings if "nosuchtag" in w.message)
    assert warning.path == "_posts/linker.md" and warning.line == 12


def test_missing_post_link_target_warns(make_site):
    site = make_site()
    site.post("a.md", "title: A\ndate: 2020-01-01", "See {% post_link nowhere %}.\n")
    result = site.build()
    assert any(w.path == "_posts/a.md" and "nowhere" in w.message for w in result.warnings)


def test_code_highlighting_and_markdown_features(make_site):
    site = make_site()
    site.post("md.md", "title: MD\ndate: 2020-01-01",
              "| a | b |\n|:--|--:|\n| 1 | 2 |\n\n~~gone~~ https://example.org/x\nline\nbreak\n\n"
              "## Section One\n\n```python\nx = {{ 1 }}  # {% if %}\n```\n\n<!--more-->\n\nRest.\n")
    site.build()
    html = site.read("2020/01/01/md/index.html")
    assert '<th align="left">a</th>' in html and "<del>gone</del>" in html
    assert '<a href="https://example.org/x">' in html and "line<br>" in html
    assert 'id="Section-One"' in html
    assert 'class="highlight' in html and "{{" in html and "{%" in html
    assert '<span id="more"></span>' in html


def test_hexo_url_keys(make_site):
    site = make_site(kind="hexo", config=(
        "title: T\nurl: http://example.com\npermalink: :category/:title/\ndefault_category: misc\n"
        "category_map:\n  新闻: news\ntag_map:\n  C++: cpp\nfilename_case: 1\nfuture: false\n"
        "archive_dir: arch\ncategory_dir: cat\ntag_dir: tag\nauthor_dir: people\npagination_dir: p\n"
        "per_page: 1\nsitegen_theme: minimal\n"))
    site.post("Mixed Case.md", "title: Mixed\ndate: 2020-01-01\ncategories: [新闻, Tech]\ntags: [C++]\n"
              "author: Ann Lee")
    site.post("plain.md", "title: Plain\ndate: 2020-01-02")
    site.post("later.md", "title: Later\ndate: 2999-01-01")
    site.build()
    files = site.files()
    assert "news/tech/Mixed Case/index.html" in files  # :category is the last category's full slug
    assert "misc/plain/index.html" in files  # default_category fills :category
    assert not any("later" in f for f in files)  # future: false
    assert "cat/news/tech/index.html" in files and "tag/cpp/index.html" in files
    assert "people/ann-lee/index.html" in files and "arch/index.html" in files
    assert "p/2/index.html" in files and "arch/p/2/index.html" in files


def test_permalink_defaults_and_front_matter_override(make_site):
    site = make_site(config='theme = "minimal"\n[url]\npermalink = ":lang/:title/"\n'
                            '[url.permalink_defaults]\nlang = "en"\n')
    site.post("a.md", "title: A\ndate: 2020-01-01")
    site.post("b.md", "title: B\ndate: 2020-01-01\nlang: zh")
    site.post("c.md", "title: C\ndate: 2020-01-01\npermalink: custom/place/")
    site.build()
    assert site.exists("en/a/index.html") and site.exists("zh/b/index.html")
    assert site.exists("custom/place/index.html")


def test_unfilled_permalink_placeholder_warns(make_site):
    site = make_site(config='theme = "minimal"\n[url]\npermalink = ":nope/:title/"\n')
    site.post("a.md", "title: A\ndate: 2020-01-01")
    result = site.build()
    assert site.exists("undefined/a/index.html")  # what Hexo writes
    assert any(w.path == "_posts/a.md" and ":nope" in w.message for w in result.warnings)

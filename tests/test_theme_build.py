"""The default theme's HTML, built by the real pipeline: structure, meta, i18n, weight."""
from __future__ import annotations

import gzip
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from browser import build_site, write_site

from sitegen.templates import TemplateFingerprints, builtin_themes_dir, load_theme, make_env

THEME = builtin_themes_dir() / "default"
POST = "2021/10/11/ai-chips/index.html"  # the long post: headings, table, code, images
SHORT = "2021/10/02/kunlun/index.html"


class Elements(HTMLParser):
    """Every start tag as (tag, attrs), plus the page's visible-ish text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag: str, **want: str) -> list[dict[str, str]]:
        want = {k.rstrip("_").replace("_", "-"): v for k, v in want.items()}
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in want.items())]


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    return build_site(write_site(tmp_path_factory.mktemp("zh") / "site"))


def page(out: Path, rel: str) -> tuple[str, Elements]:
    html = (out / rel).read_text(encoding="utf-8")
    return html, Elements(html)


ALL_PAGES = ["index.html", "page/2/index.html", POST, SHORT, "about/index.html",
             "archives/index.html", "archives/2021/10/index.html", "categories/index.html",
             "categories/科技/index.html", "categories/科技/芯片/index.html", "tags/index.html",
             "tags/芯片/index.html", "authors/index.html", "authors/张三/index.html",
             "search/index.html", "404.html"]


@pytest.mark.parametrize("rel", ALL_PAGES)
def test_every_page_has_landmarks_lang_and_local_assets(out, rel):
    html, doc = page(out, rel)
    assert '<html lang="zh-CN">' in html
    assert doc.find("a", class_="skip-link", href="#main")
    assert doc.find("main", id="main") and doc.find("header") and doc.find("footer")
    assert doc.find("nav", aria_label="主导航")
    assert doc.find("link", rel="alternate", type="application/atom+xml", href="/atom.xml")
    # Nothing is fetched from elsewhere: every stylesheet, script, icon and image is local.
    fetched = [a.get("src") for t, a in doc.tags if t in ("script", "img") and a.get("src")]
    fetched += [a["href"] for t, a in doc.tags if t == "link" and a.get("rel") in ("stylesheet", "icon")]
    assert fetched and all(u.startswith("/") and not u.startswith("//") for u in fetched), fetched
    for url in fetched:
        assert (out / url.lstrip("/")).is_file(), url
    # CSS and JS are fingerprinted for long caching.
    assets = [u for u in fetched if u.endswith((".css", ".js"))]
    assert assets and all(re.search(r"\.[0-9a-f]{10}\.(css|js)$", u) for u in assets), assets
    for _, attrs in doc.tags:
        if _ == "img":
            assert "alt" in attrs


def test_post_head_has_canonical_open_graph_and_twitter(out):
    _, doc = page(out, POST)
    assert doc.find("link", rel="canonical", href="http://127.0.0.1/2021/10/11/ai-chips/")
    og = {a["property"]: a["content"] for a in doc.find("meta") if "property" in a}
    assert og["og:type"] == "article"
    assert og["og:title"].startswith("资本纷纷涌入，AI芯片落地难")
    assert og["og:url"] == "http://127.0.0.1/2021/10/11/ai-chips/"
    assert og["og:image"] == "http://127.0.0.1/images/head.png"
    assert og["og:locale"] == "zh_CN"
    assert og["og:description"].startswith("最近，英特尔推出了第二代神经拟态芯片")
    assert {m["content"] for m in doc.find("meta", property="article:tag")} == {"芯片", "投资"}
    assert doc.find("meta", name="twitter:card", content="summary_large_image")


def test_listing_page_two_is_its_own_canonical_and_404_is_not_indexed(out):
    _, doc = page(out, "page/2/index.html")
    assert doc.find("link", rel="canonical", href="http://127.0.0.1/page/2/")
    for rel, url in [("tags/index.html", "/tags/"), ("search/index.html", "/search/"),
                     ("archives/2021/10/index.html", "/archives/2021/10/")]:
        _, doc = page(out, rel)
        assert doc.find("link", rel="canonical", href="http://127.0.0.1" + url), rel
    _, doc = page(out, "404.html")
    assert not doc.find("link", rel="canonical")
    assert doc.find("meta", name="robots", content="noindex")


def test_post_shows_breadcrumb_meta_toc_tags_and_body_styles(out):
    html, doc = page(out, POST)
    crumbs = re.search(r'<nav class="breadcrumb"[^>]*>(.*?)</nav>', html, re.DOTALL).group(1)
    assert re.findall(r">([^<]+)</a>", crumbs) == ["科技", "芯片"]
    assert doc.find("a", href="/categories/%E7%A7%91%E6%8A%80/%E8%8A%AF%E7%89%87/")
    assert doc.find("a", rel="author", href="/authors/%E5%BC%A0%E4%B8%89/")
    assert "分钟读完" in html
    assert doc.find("time", datetime="2021-10-11T15:53:00+08:00")
    # A table of contents for a post with enough headings, linking to them.
    assert doc.find("details", class_="toc-box", id="toc")
    toc_targets = {a["href"][1:] for t, a in doc.tags if t == "a" and a.get("href", "").startswith("#")
                   and a["href"] != "#main" and a["href"] != "#top"}
    heading_ids = {a["id"] for t, a in doc.tags if t in ("h2", "h3") and "id" in a}
    assert toc_targets and toc_targets <= heading_ids
    assert [a["href"] for a in doc.find("a", rel="tag")] == [
        "/tags/%E8%8A%AF%E7%89%87/", "/tags/%E6%8A%95%E8%B5%84/"]
    # The article's own inline styles and alt texts survive.
    assert 'style="text-indent: 2em; text-align: left;"' in html
    assert doc.find("img", alt="芯片示意图")
    # The header image comes first, eagerly, with its size hints when known.
    head = doc.find("img", src="/images/head.png")
    assert head and head[0].get("fetchpriority") == "high" and "loading" not in head[0]
    assert '<script type="application/ld+json">' in html


def test_short_post_has_no_toc_and_hexo_prev_next(out):
    html, doc = page(out, SHORT)
    assert not doc.find("details", id="toc")
    # Hexo's meaning: prev is the newer post, next the older one.
    assert doc.find("a", rel="prev", href="/2021/10/11/ai-chips/")
    assert doc.find("a", rel="next", href="/2021/09/20/open-source/")
    assert html.index("较新一篇") < html.index("较早一篇")


def test_cards_show_thumbnail_title_date_author_category_excerpt(out):
    html, _ = page(out, "index.html")
    cards = re.findall(r'<article class="card[^"]*">(.*?)</article>', html, re.DOTALL)
    assert len(cards) == 3  # per_page = 3
    first = cards[0]
    assert '<img src="/images/head.png"' in first and 'loading="lazy"' in first
    assert ">资本纷纷涌入，AI芯片落地难</a>" in first
    assert '<time datetime="2021-10-11T15:53:00+08:00">2021-10-11</time>' in first
    assert ">张三</a>" in first and ">芯片</a>" in first
    assert 'class="card-excerpt">最近，英特尔' in first
    assert "has-thumb" not in re.search(r'<article class="card[^"]*">', html[html.index(cards[2]) - 40:]).group(0)


def test_pagination_is_accessible(out):
    _, doc = page(out, "page/2/index.html")
    assert doc.find("nav", class_="pagination", aria_label="分页")
    current = doc.find("a", aria_current="page")
    assert [a["href"] for a in current if a.get("aria-label") == "第 2 页"] == ["/page/2/"]
    assert doc.find("a", rel="prev", href="/") and doc.find("a", rel="next", href="/page/3/")
    _, first = page(out, "index.html")
    assert not first.find("a", rel="prev")


def test_archive_is_a_timeline_by_year_and_month(out):
    html, _ = page(out, "archives/page/2/index.html")
    years = re.findall(r'<h2 id="y(\d{4})">', html)
    months = re.findall(r'<h3 id="m(\d{6})">', html)
    assert years and months and all(m[:4] in years for m in months)
    month_page, _ = page(out, "archives/2021/10/index.html")
    assert "<h1>2021 年 10 月</h1>" in month_page
    assert month_page.count('<ol class="timeline-posts">') == 1


def test_categories_tree_tags_cloud_and_authors_have_counts(out):
    html, _ = page(out, "categories/index.html")
    tech = re.search(r'<li><a href="/categories/%E7%A7%91%E6%8A%80/">科技</a> <span class="count">3</span>'
                     r'(.*?)</ul>', html, re.DOTALL)
    assert tech, html
    assert re.search(r'>芯片</a> <span class="count">2</span>', tech.group(1))
    assert re.search(r'>软件</a> <span class="count">1</span>', tech.group(1))
    html, _ = page(out, "tags/index.html")
    assert re.search(r'<li class="w5"><a href="/tags/%E8%8A%AF%E7%89%87/">芯片', html)
    assert re.search(r'<li class="w1"><a href="/tags/%E6%8A%95%E8%B5%84/">投资', html)
    html, _ = page(out, "authors/index.html")
    names = re.findall(r'<span class="name">([^<]+)</span><span class="count">(\d+) 篇文章', html)
    assert names[0][1] == "2" and ("Alice", "1") in names and len(names) == 4


def test_category_page_shows_its_trail_and_children(out):
    html, doc = page(out, "categories/科技/芯片/index.html")
    assert doc.find("nav", class_="breadcrumb")
    assert "<h1>芯片</h1>" in html and "2 篇文章" in html
    parent, _ = page(out, "categories/科技/index.html")
    assert re.search(r'<ul class="chips" aria-label="子分类">.*芯片 <span class="count">2</span>', parent, re.DOTALL)


def test_404_and_search_use_root_absolute_links(out):
    _, doc = page(out, "404.html")
    hrefs = [a["href"] for t, a in doc.tags if t == "a"]
    assert all(h.startswith(("/", "#")) for h in hrefs), hrefs
    assert doc.find("form", action="/search/", method="get")
    _, doc = page(out, "search/index.html")
    box = doc.find("div", id="search")[0]
    assert box["data-index"] == "/search.json" and "{0}" in box["data-found"]
    assert doc.find("input", name="q", type="search")


def test_post_page_weighs_under_30_kb_before_images(out):
    html, doc = page(out, POST)
    files = [a["href"] for a in doc.find("link", rel="stylesheet")]
    files += [a["src"] for t, a in doc.tags if t == "script" and a.get("src")]
    assert not any("lists" in f for f in files)  # listing styles stay off post pages
    data = [html.encode()] + [(out / f.lstrip("/")).read_bytes() for f in files]
    total = sum(len(d) for d in data)
    print(f"post page: {total} bytes, {sum(len(gzip.compress(d)) for d in data)} gzipped")
    assert total < 30_000


def test_site_wide_helpers_stay_off_posts_and_listings():
    """Pages using list_categories & co re-render on any change; posts and listings must not."""
    theme = load_theme(Path("/nonexistent"), Path("/nonexistent"), "default", {})
    prints = TemplateFingerprints(make_env(theme))
    for name in ("post.html", "page.html", "index.html", "archive.html", "category.html",
                 "tag.html", "author.html", "search.html", "404.html"):
        assert not prints.site_wide(name), name


def test_languages_cover_every_key_the_templates_use():
    zh = yaml.safe_load((THEME / "languages" / "zh-CN.yml").read_text(encoding="utf-8"))
    en = yaml.safe_load((THEME / "languages" / "en.yml").read_text(encoding="utf-8"))
    assert set(zh) == set(en)
    used = set()
    for path in (THEME / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")  # t('key', …) or 'key' | t(…)
        used |= set(re.findall(r"'([a-z0-9_]+)'\s*\|\s*t\b", text))
        text = re.sub(r"\|\s*t\(", "", text)  # the filter's own arguments are not keys
        used |= set(re.findall(r"\bt\('([a-z0-9_]+)'\s*[,)]", text))
    # Keys built at render time: month names and the theme's nav entries.
    nav = load_theme(Path("/nonexistent"), Path("/nonexistent"), "default", {}).settings["nav"]
    used |= {f"month_{m:02d}" for m in range(1, 13)} | {"home", *nav}
    assert used <= set(zh), used - set(zh)


def test_english_site_gets_english_strings(tmp_path):
    out = build_site(write_site(tmp_path / "site", language="en"))
    html, doc = page(out, POST)
    assert '<html lang="en">' in html
    assert "Skip to content" in html and "min read" in html and "跳到正文" not in html
    assert doc.find("meta", property="og:locale", content="en")


def test_theme_nav_without_menu_and_a_site_under_a_subpath(tmp_path):
    root = write_site(tmp_path / "site")
    toml = (root / "sitegen.toml").read_text(encoding="utf-8")
    toml = toml.replace('url = "http://127.0.0.1"', 'url = "http://127.0.0.1/blog"')
    (root / "sitegen.toml").write_text(toml.split("[menu]")[0], encoding="utf-8")
    out = build_site(root)
    html, doc = page(out, "404.html")
    nav = re.search(r'<nav class="site-nav".*?</nav>', html, re.DOTALL).group(0)
    assert re.findall(r'href="([^"]+)"', nav) == [
        "/blog/archives/", "/blog/categories/", "/blog/tags/", "/blog/authors/", "/blog/search/"]
    urls = [a.get("href") or a.get("src") for t, a in doc.tags if t in ("a", "link", "script", "form")]
    urls += [a["action"] for a in doc.find("form")]
    assert all(u.startswith(("/blog/", "#")) for u in urls if u), urls
    _, post = page(out, POST)
    assert post.find("link", rel="canonical", href="http://127.0.0.1/blog/2021/10/11/ai-chips/")
    sheets = [a["href"] for a in post.find("link", rel="stylesheet")]
    assert sheets and sheets[0].startswith("/blog/css/site.")
    assert post.find("img", src="/blog/images/head.png")
    assert post.find("meta", property="og:image", content="http://127.0.0.1/blog/images/head.png")


def test_custom_css_from_the_site_theme_folder_is_fingerprinted(tmp_path):
    root = write_site(tmp_path / "site")
    custom = root / "themes" / "default" / "static" / "css" / "custom.css"
    custom.parent.mkdir(parents=True)
    custom.write_text(":root { --accent: #0a7; }\n", encoding="utf-8")
    with (root / "sitegen.toml").open("a", encoding="utf-8") as f:
        f.write('\n[theme_config]\ncustom_css = ["css/custom.css"]\n')
    out = build_site(root)
    _, doc = page(out, POST)
    sheets = [a["href"] for a in doc.find("link", rel="stylesheet")]
    assert len(sheets) == 2 and re.fullmatch(r"/css/custom\.[0-9a-f]{10}\.css", sheets[1])
    assert (out / sheets[1].lstrip("/")).read_text(encoding="utf-8").startswith(":root")


def test_remote_images_send_no_referrer(make_site):
    site = make_site(theme="default")
    site.post("remote.md", "title: 远程图片\ndate: 2021-01-01 10:00:00\n"
              "headimg: https://img.example.com/a.jpg\nthumbnail: https://img.example.com/a.jpg")
    site.build()
    post = Elements(site.read("2021/01/01/remote/index.html"))
    img = post.find("img", src="https://img.example.com/a.jpg")
    assert img and img[0]["referrerpolicy"] == "no-referrer"
    card = Elements(site.read("index.html")).find("img", src="https://img.example.com/a.jpg")
    assert card and card[0]["referrerpolicy"] == "no-referrer"


def test_untitled_posts_still_get_a_link_text_and_post_lang_is_marked(make_site):
    site = make_site(theme="default", config='theme = "default"\n[site]\nlanguage = "zh-CN"\n')
    site.post("notitle.md", "date: 2021-01-01 10:00:00\ntitle: ''")
    site.post("english.md", "title: Hello\nlang: en\ndate: 2021-01-02 10:00:00")
    site.build()
    home = site.read("index.html")
    assert re.search(r'<a href="[^"]+">无标题</a>', home)
    assert '<article class="post" lang="en">' in site.read("2021/01/02/english/index.html")


@pytest.mark.parametrize(("rel", "current"), [
    ("index.html", "/"), ("page/2/index.html", None), ("search/index.html", "/search/"),
    ("404.html", None), ("archives/index.html", "/archives/"), ("about/index.html", "/about/"),
    ("tags/index.html", None), ("categories/index.html", "/categories/")])
def test_menu_marks_only_the_current_page(out, rel, current):
    html, _ = page(out, rel)
    nav = re.search(r'<nav class="site-nav".*?</nav>', html, re.DOTALL).group(0)
    assert re.findall(r'href="([^"]+)" aria-current="page"', nav) == ([current] if current else [])


def test_a_seed_sized_post_stays_under_30_kb(make_site):
    """The seed article is ~8.6 KB of HTML: 35 indented paragraphs and two images."""
    site = make_site(theme="default")
    para = ('<p style="text-indent: 2em; text-align: left;">'
            + "在AI芯片方面，除了英特尔推出的神经拟态芯片，百度也宣布第二代自研AI芯片正式量产。" * 2 + "</p>")
    body = '<div>\n<p style="text-align:center"><img src="/a.png" alt="AI芯片"></p>' + para * 33 + "</div>\n"
    site.post("seed.md", "title: '资本纷纷涌入，AI芯片落地难'\ndate: 2021-10-11 15:53:00\n"
              "categories:\n - 新媒体\n - 高科技行业门户\n - 新闻\nauthor: 高科技行业门户\n"
              "headimg: /a.png", body)
    site.write("a.png", b"\x89PNG\r\n\x1a\n")
    site.build()
    html = site.read("2021/10/11/seed/index.html")
    assert len(body.encode()) > 8_500
    doc = Elements(html)
    files = [a["href"] for a in doc.find("link", rel="stylesheet")]
    files += [a["src"] for t, a in doc.tags if t == "script" and a.get("src")]
    total = len(html.encode()) + sum((site.output / f.lstrip("/")).stat().st_size for f in files)
    print(f"seed-sized post page: {total} bytes")
    assert total < 30_000, total

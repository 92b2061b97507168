"""Card HTML kept between builds: never stale, never trusted when damaged."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from test_incremental import tree

from sitegen.card_cache import CardStore, args_key
from sitegen.templates import builtin_themes_dir
from sitegen.views import Card

HEXO = "title: Test\nauthor: Site Author\nsitegen_theme: default\n"
DEFAULT_MACROS = builtin_themes_dir() / "default" / "templates" / "partials" / "macros.html"


def store_file(site) -> Path:
    return site.root / ".sitegen" / "cache" / "cards" / "cards.sqlite"


def rows(site) -> int:
    with sqlite3.connect(store_file(site)) as db:
        return db.execute("SELECT COUNT(*) FROM cards").fetchone()[0]


def populate(site, n: int = 24) -> None:
    for i in range(n):
        site.post(f"p{i:03d}.md", f"title: 文章 {i}\ndate: 2021-0{i % 9 + 1}-1{i % 9} 08:00:00\n"
                  f"categories: [新媒体, 科技{i % 3}]\ntags: [t{i % 4}]\nauthor: 作者{i % 5}",
                  f"<div><p>正文 {i}</p></div>\n")


def assert_equals_cold(site, **options) -> None:
    """The incremental output is what a build with no caches and no output gives."""
    incremental = tree(site.output)
    shutil.rmtree(site.output)
    shutil.rmtree(site.root / ".sitegen")
    site.build(**options)
    assert tree(site.output) == incremental


@pytest.fixture
def hexo_site(make_site):
    def make(config: str = HEXO, n: int = 24):
        site = make_site(kind="hexo", config=config, theme="default")
        populate(site, n)
        site.build()
        assert rows(site) >= n  # every post's card (and timeline entry) is stored
        return site
    return make


def test_title_change_shows_on_every_card(hexo_site):
    site = hexo_site()
    post = site.source / "_posts" / "p005.md"
    post.write_text(post.read_text(encoding="utf-8").replace("文章 5", "改过的标题"), encoding="utf-8")
    site.build()
    for listing in ("", "archives/", "categories/新媒体/", "authors/作者0/"):
        pages = [p for p in site.files() if p.startswith(listing) and p.endswith("index.html")]
        shown = "".join(site.read(p) for p in pages)
        assert "改过的标题" in shown and "文章 5<" not in shown, listing
    assert_equals_cold(site)


def test_card_template_change_renders_cards_again(hexo_site):
    site = hexo_site()
    before = rows(site)
    templates = site.root / "templates" / "partials"
    templates.mkdir(parents=True)
    macros = DEFAULT_MACROS.read_text(encoding="utf-8")
    assert '<h2 class="card-title">' in macros
    (templates / "macros.html").write_text(
        macros.replace('<h2 class="card-title">', '<h2 class="card-title changed">'), encoding="utf-8")
    site.build()
    assert site.read("index.html").count("card-title changed") == 10
    assert rows(site) > before  # the old cards could not serve
    assert_equals_cold(site)


@pytest.mark.parametrize("change", ["date_format: YYYY/MM/DD\n", "root: /blog/\n",
                                    "language: en\n"])
def test_config_value_shown_on_cards_renders_them_again(hexo_site, change):
    site = hexo_site()
    site.config(HEXO + change)
    site.build()
    home = site.read("index.html")
    if "date_format" in change:
        assert ">2021/09/18</time>" in home
    elif "root" in change:
        assert 'href="/blog/2021/' in home and 'href="/2021/' not in home
    assert_equals_cold(site)


def test_added_post_reuses_stored_cards_in_parallel(hexo_site):
    site = hexo_site(n=240)  # enough jobs for the worker processes
    before = rows(site)
    site.post("new.md", "title: 新文章\ndate: 2022-01-01 10:00:00\ncategories: [新媒体]\nauthor: 作者1")
    site.build(jobs=2)
    assert "新文章" in site.read("index.html")
    assert rows(site) - before <= 3  # the new post's card, timeline entry: not all again
    parallel = tree(site.output)
    assert_equals_cold(site, jobs=1)
    assert tree(site.output) == parallel


def test_damaged_store_is_discarded(hexo_site):
    site = hexo_site()
    store_file(site).write_bytes(b"\x00garbage, not a database\xff" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{store_file(site)}{suffix}").unlink(missing_ok=True)
    post = site.source / "_posts" / "p001.md"
    post.write_text(post.read_text(encoding="utf-8").replace("文章 1", "新标题"), encoding="utf-8")
    site.build()
    assert rows(site) > 0  # made again
    assert_equals_cold(site)


def test_damaged_row_is_not_served(hexo_site):
    site = hexo_site()
    with sqlite3.connect(store_file(site)) as db:
        db.execute("UPDATE cards SET html = CAST(REPLACE(CAST(html AS TEXT), '文章', '坏的')"
                   " AS BLOB)")
    (site.root / "_config.yml").write_text(HEXO + "per_page: 5\n")  # every listing again
    site.build()
    assert "坏的" not in site.read("index.html")
    assert_equals_cold(site)


def test_store_from_another_version_is_discarded(hexo_site):
    site = hexo_site()
    with sqlite3.connect(store_file(site)) as db:
        db.execute("UPDATE meta SET value='cards/0/old' WHERE name='tag'")
        db.execute("UPDATE cards SET html = CAST('<p>old</p>' AS BLOB), crc = 0")
    store = CardStore(store_file(site).parent)
    store.open()
    assert store.get("anything") is None
    with sqlite3.connect(store_file(site)) as db:
        assert db.execute("SELECT COUNT(*) FROM cards").fetchone()[0] == 0
    store.close()


THIRD_PARTY_LIST = """\
{% extends "base.html" %}
{% block main %}
{% for post in paginator.posts %}{{ memo_macro("card.html", "card", post.path, post) }}{% endfor %}
{% endblock %}
"""


def test_theme_memo_key_is_not_trusted_across_builds(make_site):
    """A theme keys a card by its path only: right within a build, not across."""
    site = make_site(theme="minimal")
    theme = site.root / "themes" / "minimal" / "templates"
    (theme / "card.html").write_text(
        '{% macro card(post) %}<p>{{ post.title }} {{ post.date.display }}</p>{% endmacro %}')
    (theme / "list.html").write_text(THIRD_PARTY_LIST)
    for i in range(3):
        site.post(f"p{i}.md", f"title: Old {i}\ndate: 2021-01-0{i + 1} 08:00:00")
    site.build()
    assert "<p>Old 1 2021-01-02</p>" in site.read("index.html")
    post = site.source / "_posts" / "p1.md"
    post.write_text(post.read_text().replace("Old 1", "New 1"))
    site.build()
    assert "<p>New 1 2021-01-02</p>" in site.read("index.html")
    assert_equals_cold(site)


def test_prune_drops_cards_of_gone_posts_and_old_scopes(tmp_path):
    store = CardStore(tmp_path)
    store.open()
    store.save([("k1", "post-a", "s1", "<a>"), ("k2", "post-b", "s1", "<b>")], {"s1": "m.html:card"})
    store.save([("k3", "post-a", "s2", "<a2>")], {"s2": "m.html:card"})
    store.save([("k4", "post-a", "s3", "<a3>")], {"s3": "m.html:card"})
    assert store.prune({"post-a"}) == 2  # post-b is gone; s1 is the oldest of three scopes
    assert [store.get(k) for k in ("k1", "k2", "k3", "k4")] == [None, None, "<a2>", "<a3>"]
    store.close()


def test_fetched_cards_are_served_without_a_query_each_and_checked(tmp_path):
    store = CardStore(tmp_path)
    store.open()
    store.save([(f"k{i}", f"post-{i}", "s1", f"<p>{i}</p>") for i in range(1200)], {"s1": "m:card"})
    with sqlite3.connect(tmp_path / "cards.sqlite") as db:
        db.execute("UPDATE cards SET html = CAST('<p>bad</p>' AS BLOB) WHERE key='k7'")
    queries = []
    store._db().set_trace_callback(queries.append)
    store.fetch([f"k{i}" for i in range(1100)] + ["missing"])  # more keys than one query takes
    assert 1 < len(queries) <= 3
    queries.clear()
    assert [store.get(f"k{i}") for i in (0, 550, 1099)] == ["<p>0</p>", "<p>550</p>", "<p>1099</p>"]
    assert store.get("k7") is None  # its checksum no longer matches
    assert queries == []
    assert store.get("k1150") == "<p>1150</p>" and len(queries) == 1  # not fetched: asked for
    store.close()


def test_listing_pages_fetch_their_stored_cards_in_batches(hexo_site, monkeypatch):
    """After a post moves, the listing pages between its two places show the
    same cards elsewhere: each batch reads the ones it shows in a few queries."""
    site = hexo_site(n=60)
    fetched: list[str] = []
    real = CardStore.fetch
    monkeypatch.setattr(CardStore, "fetch", lambda self, keys: real(self, fetched.extend(keys) or keys))
    post = site.source / "_posts" / "p050.md"
    post.write_text(post.read_text(encoding="utf-8").replace("date: 2021-06-15", "date: 2021-09-30"),
                    encoding="utf-8")
    result = site.build(jobs=1)
    assert result.model == "reordered" and result.rendered > 10
    assert len(fetched) > 20  # the cards of the home and archive pages after the first of each
    assert_equals_cold(site)


def test_args_key_only_for_one_card_among_plain_values():
    card = Card.__new__(Card)
    other = Card.__new__(Card)
    assert args_key((card, True, False), {}) == ("(True, False)", card)
    assert args_key((card, 3, "x", [1, {"a": None}]), {"size": 2})[1] is card
    assert args_key((card, 1), {}) != args_key((card, True), {})  # 1 and True show differently
    assert args_key((card, object()), {}) is None
    assert args_key((card, other), {}) is None
    assert args_key(("no card",), {}) is None


def test_card_view_is_lazy_but_whole_when_looked_at_as_a_whole(make_site):
    from sitegen.render import Renderer

    site = make_site(kind="hexo", theme="default")
    populate(site, 2)
    captured = {}

    import sitegen.render as render

    original = render.render_jobs

    def capture(setup, jobs, workers, progress=None, beside=None):
        captured["renderer"] = Renderer(setup)
        return original(setup, jobs, workers, progress, beside)

    render.render_jobs = capture
    try:
        site.build()
    finally:
        render.render_jobs = original
    renderer = captured["renderer"]
    card = renderer._card(0)
    assert dict.__len__(card) == 1  # nothing made yet but the title
    assert card["date"]["iso"].startswith("2021-")
    full = renderer._card(1)
    plain = json.loads(json.dumps(full))
    assert list(plain) == list(full) and len(full) == len(plain) == 14
    assert list(plain)[:4] == ["title", "url", "path", "date"]  # fields in their own order
    assert dict(card) == card and card == dict(card) and "tags" in card
    assert card.get("nope", 1) == 1
    with pytest.raises(KeyError):
        card["nope"]

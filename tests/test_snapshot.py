"""A rebuild after small edits patches the last build's model and plan; the result
must be exactly what assembling and planning from scratch gives."""
from __future__ import annotations

import pickle
import shutil

import pytest
from test_incremental import tree


def populate(site) -> None:
    for i in range(14):
        cats = "[新媒体, 科技]" if i % 3 else "[财经]"
        site.post(f"p{i:02d}.md", f"title: 文章 {i}\ndate: 2021-0{i % 9 + 1}-1{i % 9} 08:00:00\n"
                  f"categories: {cats}\ntags: [t{i % 4}]\nauthor: 作者{i % 5}",
                  f"<div><p>正文 {i}</p></div>\n<!-- more -->\n<p>更多 {i}</p>\n")
    site.post("future.md", "title: 将来\ndate: 2999-01-01 00:00:00\ntags: [t1]")
    site.post("nodate.md", "title: 没有日期\ntags: [t2]")
    site.write("about/index.md", "---\ntitle: About\n---\nHello\n")


def edit(site, name: str, old: str, new: str) -> None:
    path = site.source / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def manifest_inputs(root) -> dict[str, str]:
    from sitegen.output import Manifest

    return {k: v.inputs for k, v in Manifest.load(root / ".sitegen" / "manifest.pickle").entries.items()}


def cold_copy(site, tmp_path, n: int):
    cold = tmp_path / f"cold{n}"
    shutil.copytree(site.root, cold, ignore=shutil.ignore_patterns(".sitegen", "output"))
    for src, dst in zip(sorted(site.source.rglob("*")), sorted((cold / "content").rglob("*")),
                        strict=True):
        shutil.copystat(src, dst)  # a post without a date shows its file's time
    return cold


EDITS = [
    # (what, file, old text, new text, expected model)
    ("title", "_posts/p05.md", "文章 5", "改过的标题", "patched"),
    ("body", "_posts/p07.md", "正文 7", "新的正文", "patched"),
    ("excerpt", "_posts/p02.md", "<!-- more -->", "", "patched"),
    ("page", "about/index.md", "Hello", "Hello again", "patched"),
    ("hidden future post", "_posts/future.md", "将来", "还在将来", "patched"),
    # Edits that move a post take it out and put it in again.
    ("post without a date", "_posts/nodate.md", "没有日期", "仍然没有日期", "reordered"),
    ("date", "_posts/p03.md", "2021-04-13", "2021-04-20", "reordered"),
    ("category", "_posts/p04.md", "[新媒体, 科技]", "[财经]", "regrouped"),
    ("tag", "_posts/p08.md", "[t0]", "[t9]", "regrouped"),
    ("author", "_posts/p09.md", "作者4", "新作者", "regrouped"),
    ("unpublished", "_posts/p10.md", "title:", "published: false\ntitle:", "reordered"),
    ("published again", "_posts/p10.md", "published: false\n", "", "reordered"),
    ("title again", "_posts/p05.md", "改过的标题", "第三个标题", "patched"),
    # Edits that keep a post's place but not its terms regroup them.
    ("new child of a known category", "_posts/p05.md", "[新媒体, 科技]", "[新媒体, 新子类]",
     "regrouped"),
    ("from one known child to another", "_posts/p07.md", "[新媒体, 科技]", "[新媒体, 新子类]",
     "regrouped"),  # the parent's posts and children stay; its children's counts do not
    ("last post of a tag leaves it", "_posts/p08.md", "[t9]", "[t0]", "regrouped"),
    ("two category paths, one new", "_posts/p00.md", "[财经]", "[[生活, 旅行], [财经]]", "regrouped"),
    ("tag and title together", "_posts/p01.md", "文章 1\ndate: 2021-02-11 08:00:00\n"
     "categories: [新媒体, 科技]\ntags: [t1]", "文章一\ndate: 2021-02-11 08:00:00\n"
     "categories: [新媒体, 科技]\ntags: [t1, t2]", "regrouped"),
    ("tag spelled a second way", "_posts/p02.md", "tags: [t2]", "tags: [t 1, t-1]", "assembled"),
    ("one spelling again", "_posts/p02.md", "tags: [t 1, t-1]", "tags: [t2]", "assembled"),
    ("no author", "_posts/p03.md", "author: 作者3", "title2: x", "regrouped"),
]


def assert_rebuild_equals_cold(site, tmp_path, n: int, what: str, expected: str) -> None:
    """Build; the model must come the `expected` way, and output bytes and page keys
    must equal a build of a copy with no caches."""
    from sitegen.build import BuildOptions, build

    assert site.build().model == expected, what
    cold = cold_copy(site, tmp_path, n)
    assert build(cold, BuildOptions(jobs=1, images=False)).model == "assembled"
    assert tree(site.output) == tree(cold / "output"), what
    assert manifest_inputs(site.root) == manifest_inputs(cold), what


def test_patched_model_equals_a_fresh_one(make_site, tmp_path):
    site = make_site()
    populate(site)
    assert site.build().model == "assembled"
    for n, (what, name, old, new, expected) in enumerate(EDITS):
        edit(site, name, old, new)
        assert_rebuild_equals_cold(site, tmp_path, n, what, expected)


def test_a_regrouped_post_whose_url_shows_its_category_is_moved(make_site, tmp_path):
    """With :category in the permalink, a new category moves the post to a new URL."""
    site = make_site(config='theme = "minimal"\n[site]\ntitle = "T"\n'
                            'permalink = ":category/:title/"\n')
    populate(site)
    assert site.build().model == "assembled"
    edit(site, "_posts/p04.md", "[新媒体, 科技]", "[新媒体, 新子类]")
    assert_rebuild_equals_cold(site, tmp_path, 0, "category in the URL", "reordered")
    assert (site.output / "新媒体" / "新子类" / "p04" / "index.html").is_file()
    assert not (site.output / "新媒体" / "科技" / "p04").exists()


LINK_STEPS = [
    # (what, change, expected model, what the linking post and page must show)
    ("target's title", lambda site: edit(site, "_posts/p05.md", "文章 5", "新标题五"), "patched",
     ["新标题五"]),
    ("target's date, and so its URL", lambda site: edit(site, "_posts/p06.md", "2021-07-16",
                                                         "2021-12-30"), "reordered",
     ["/2021/12/30/p06/"]),
    ("target of the page's link retitled", lambda site: edit(site, "_posts/p07.md", "文章 7", "七号"),
     "patched", ["七号"]),
    ("target removed", lambda site: (site.source / "_posts" / "p05.md").unlink(), "reordered",
     ["Post not found: p05"]),
    ("a post takes the missing target's slug", lambda site: site.post(
        "p05.md", "title: 又一个五\ndate: 2019-05-05 00:00:00"), "reordered", ["又一个五"]),
]


def test_a_page_linking_a_post_follows_that_post(make_site, tmp_path):
    """post_link and post_path show the target's title and URL: when those change,
    or the target goes, the linking post and page are rendered again."""
    site = make_site()
    populate(site)
    site.post("linker.md", "title: 链接\ndate: 2020-01-01 00:00:00",
              "见 {% post_link p05 %}，{% post_path p06 %}。\n")
    site.write("links/index.md", "---\ntitle: Links\n---\n{% post_link p07 %} {% post_link p05 %}\n")
    assert site.build().model == "assembled"
    for n, (what, change, expected, shown) in enumerate(LINK_STEPS):
        change(site)
        assert_rebuild_equals_cold(site, tmp_path, n, what, expected)
        both = site.read("2020/01/01/linker/index.html") + site.read("links/index.html")
        assert all(text in both for text in shown), what


def _add(name, front):
    return lambda site: site.post(name, front, "<p>新的一篇</p>\n")


def _remove(name):
    return lambda site: (site.source / "_posts" / name).unlink()


STEPS = [
    # (what, change, expected model)
    ("newest post, known terms", _add("n1.md", "title: 最新\ndate: 2022-01-01 00:00:00\n"
                                            "categories: [新媒体, 科技]\ntags: [t1]\nauthor: 作者1"),
     "reordered"),
    ("new category, tag and author", _add("n2.md", "title: 新分类\ndate: 2021-05-05 00:00:00\n"
                                                "categories: [[生活, 旅行], [财经]]\ntags: [新标签, t2]\n"
                                                "author: 新人"), "reordered"),
    ("oldest post", _add("n3.md", "title: 最早\ndate: 2019-01-01 00:00:00\ntags: [t3]"), "reordered"),
    ("same date as another post", _add("n4.md", "title: 同一天\ndate: 2021-02-11 08:00:00"),
     "reordered"),
    ("removed post", _remove("p06.md"), "reordered"),
    ("last post of its terms removed", _remove("n2.md"), "reordered"),
    ("unpublished post added", _add("n5.md", "title: 未发表\ndate: 2021-03-01 00:00:00\n"
                                           "published: false"), "patched"),
    ("post dated in the future added", _add("n9.md", "title: 未来\ndate: 2998-01-01 00:00:00"),
     "reordered"),
    ("tag spelled another way, same URL", _add("n6.md", "title: 写法\ndate: 2021-07-07 00:00:00\n"
                                                     "tags: [t 1, t-1]"), "assembled"),
    ("post in a term with two spellings removed", _remove("n6.md"), "assembled"),
    ("page added", lambda site: site.write("more/index.md", "---\ntitle: More\n---\nHi\n"),
     "assembled"),
    ("page removed", lambda site: (site.source / "more" / "index.md").unlink(), "assembled"),
    ("added beside a post whose title changes", lambda site: (
        _add("n10.md", "title: 十\ndate: 2021-06-15 09:00:00")(site),
        edit(site, "_posts/p05.md", "文章 5", "文章五")), "reordered"),
    ("two added, one removed", lambda site: (_add("n7.md", "title: 七\ndate: 2021-08-08 00:00:00")(site),
                                             _add("n8.md", "title: 八\ndate: 2020-08-08 00:00:00\n"
                                                  "tags: [八]")(site),
                                             _remove("n1.md")(site)), "reordered"),
]


@pytest.mark.parametrize("theme", ["minimal", "default"])
def test_added_and_removed_posts_are_reordered_in(make_site, tmp_path, theme):
    """Posts added, removed or moved are put in the last build's model; the result
    must equal a build from scratch, page keys included."""
    site = make_site(theme=theme)
    populate(site)
    assert site.build().model == "assembled"
    for n, (what, change, expected) in enumerate(STEPS):
        change(site)
        assert_rebuild_equals_cold(site, tmp_path, n, what, expected)
    assert site.build().model == ""  # nothing changed: the whole build was skipped


def test_every_planned_job_has_every_field(make_site):
    """plan makes jobs without the named-tuple constructor (for speed): each must
    still carry exactly Job's fields."""
    from sitegen.plan import Job

    site = make_site()
    populate(site)
    site.build()
    data = (site.root / ".sitegen" / "snapshot.pickle").read_bytes()
    head_end = data.index(b"\0", data.index(b"\0") + 1) + 1 + 4  # magic+kind, tag, crc
    rows = pickle.loads(data[head_end:])[1]["jobs"]
    assert len(rows) > 40 and {len(row) for row in rows} == {len(Job._fields)}


def test_damaged_snapshot_is_not_trusted(make_site):
    site = make_site()
    populate(site)
    site.build()
    snapshot = site.root / ".sitegen" / "snapshot.pickle"
    data = bytearray(snapshot.read_bytes())
    data[-10] ^= 0xFF
    snapshot.write_bytes(bytes(data))
    edit(site, "_posts/p01.md", "正文 1", "正文一")
    assert site.build().model == "assembled"
    edit(site, "_posts/p01.md", "正文一", "正文二")
    assert site.build().model == "patched"
    (site.root / ".sitegen" / "snapshot-delta.pickle").write_bytes(b"garbage")
    edit(site, "_posts/p01.md", "正文二", "正文三")
    result = site.build()
    assert result.model == "patched"
    assert "正文三" in site.read("2021/02/11/p01/index.html")


def test_moving_a_post_reorders_terms_that_sort_alike(make_site, tmp_path):
    """Tags "Go" and "go" (slugs keep their case) sort alike; assemble lists them in
    the order posts first show them, which a moved post changes."""
    site = make_site()
    populate(site)
    site.post("a.md", "title: A\ndate: 2022-03-01 00:00:00\ntags: [go]\nauthor: Bob")
    site.post("b.md", "title: B\ndate: 2022-02-01 00:00:00\ntags: [Go]\nauthor: bob")
    assert site.build().model == "assembled"
    edit(site, "_posts/b.md", "2022-02-01", "2022-04-01")
    assert_rebuild_equals_cold(site, tmp_path, 0, "terms that sort alike", "reordered")


def test_regrouped_terms_equal_terms_made_anew():
    """After a few posts change categories, tags or author in place, the terms
    patched from the saved ones equal (in order too) what site_terms makes from
    every post, or the patch gives up."""
    import random

    from sitegen.assemble import SlugBook, site_terms
    from sitegen.model import Post
    from sitegen.term_edits import regrouped_terms

    rng = random.Random(7)
    names = ["新媒体", "科技", "财经", "生活", "旅行", "Go", "Rust", "数据", "深度"]

    def books():
        return tuple(SlugBook(kind, {}, 0, []) for kind in ("category", "tag", "author"))

    def post(i, cats, tags, authors):
        hierarchies = tuple(tuple(rng.sample(names, rng.randint(1, 3)))
                            for _ in range(rng.randint(0, 2)))
        paths, nodes = cats.paths(hierarchies, f"p{i}")
        author = rng.choice(names[:4] + [""])
        made = object.__new__(Post)
        made.__dict__.update(categories=nodes, category_paths=paths,
                             tags=tags.flat(tuple(rng.sample(names, rng.randint(0, 3))), f"p{i}"),
                             author=authors.flat((author,), f"p{i}")[0] if author else "")
        return made

    patched = 0
    for _trial in range(200):
        first = books()
        posts = [post(i, *first) for i in range(rng.randint(1, 30))]
        saved = tuple(site_terms(posts, *first).values())
        seeded = books()
        for book, terms in zip(seeded, saved, strict=True):
            for slug, term in terms.items():
                book.names[slug] = [term.name, *term.aliases]
        moved = rng.sample(range(len(posts)), rng.randint(1, min(3, len(posts))))
        before = {i: (posts[i].categories, posts[i].category_paths, posts[i].tags, posts[i].author)
                  for i in moved}
        for i in moved:
            posts[i] = post(i, *seeded)
        got = regrouped_terms(saved, before, posts, seeded)
        expected = site_terms(posts, *seeded)
        if got is not None:
            patched += 1
            for kind in expected:
                assert list(got[kind].items()) == list(expected[kind].items()), kind
    assert patched > 150  # the patch must not give up on ordinary edits


def test_periods_list_posts_in_order_whether_or_not_months_run_together():
    """plan._by_period finds runs of a month; posts dated in other time zones can
    interleave months, and the groups (and their order: the sitemap follows it)
    must be those of filing posts one by one."""
    import random
    from collections import defaultdict
    from datetime import datetime
    from types import SimpleNamespace

    from sitegen.plan import _by_period

    def one_by_one(site):
        groups = defaultdict(list)
        for i, post in enumerate(site.posts):
            groups[(post.doc.date.year, None)].append(i)
            groups[(post.doc.date.year, post.doc.date.month)].append(i)
        return {k: tuple(v) for k, v in groups.items()}

    rng = random.Random(3)
    for _ in range(300):
        dates = [datetime(2020 + rng.randint(0, 2), rng.randint(1, 12), 1)
                 for _ in range(rng.randint(0, 40))]
        if rng.random() < 0.5:
            dates.sort(reverse=True)
        site = SimpleNamespace(posts=[SimpleNamespace(doc=SimpleNamespace(date=d)) for d in dates])
        assert list(_by_period(site).items()) == list(one_by_one(site).items())

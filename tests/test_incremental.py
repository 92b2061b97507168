"""Incremental builds give exactly what a cold build gives, and do only the needed work."""
from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

from sitegen.cache import BodyStore


def tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def cold_tree(site, tmp_path: Path) -> dict[str, str]:
    """The output tree a cold build of the same site gives (built in a copy)."""
    from sitegen.build import BuildOptions, build

    cold = tmp_path / "cold"
    shutil.copytree(site.root, cold, ignore=shutil.ignore_patterns(".sitegen", "output"))
    build(cold, BuildOptions(jobs=1, images=False))
    return tree(cold / "output")


def populate(site) -> None:
    for i in range(30):
        cats = "[新媒体, 科技]" if i % 3 else "[财经]"
        site.post(f"p{i:02d}.md", f"title: 文章 {i}\ndate: 2021-0{i % 9 + 1}-1{i % 9} 08:00:00\n"
                  f"categories: {cats}\ntags: [t{i % 4}]\nauthor: 作者{i % 5}",
                  f"<div><p>正文 {i}</p></div>\n")
    site.write("about/index.md", "---\ntitle: About\n---\nHello\n")


def edit_series(site) -> None:
    src = site.source / "_posts"
    (src / "p03.md").write_text((src / "p03.md").read_text().replace("文章 3", "改过的标题"))
    (src / "p07.md").unlink()
    site.post("new.md", "title: 新文章\ndate: 2021-05-05 10:00:00\ncategories: [新分类]\ntags: [t9]")
    (src / "p10.md").write_text((src / "p10.md").read_text().replace("[新媒体, 科技]", "[财经]"))


def test_incremental_equals_cold_and_single_job(make_site, tmp_path, monkeypatch):
    monkeypatch.setattr("sitegen.render.PARALLEL_FROM", 1)  # 30 posts: workers render anyway
    site = make_site(theme="default")
    populate(site)
    site.build(jobs=2)
    edit_series(site)
    site.build(jobs=2)
    incremental = tree(site.output)

    shutil.rmtree(site.output)
    shutil.rmtree(site.root / ".sitegen")
    site.build(jobs=2)
    assert tree(site.output) == incremental

    shutil.rmtree(site.output)
    shutil.rmtree(site.root / ".sitegen")
    site.build(jobs=1)
    assert tree(site.output) == incremental


def test_parallel_build_equals_single_job_on_many_posts(make_site, monkeypatch):
    site = make_site(theme="default")
    for i in range(260):  # enough for the process pools to start
        site.post(f"p{i:03d}.md", f"title: P{i}\ndate: 2020-01-01 00:{i % 60:02d}:{i % 59:02d}\n"
                  f"categories: [C{i % 7}, D{i % 3}]\ntags: [x{i % 11}]")
    site.build(jobs=2)  # no stored cards: this process renders the home listing beside the workers
    # A newest post moves every listing page; the workers render them with the stored cards.
    monkeypatch.setattr("sitegen.render.PARALLEL_FROM", 20)
    site.post("new.md", "title: 新\ndate: 2021-01-01 00:00:00\ncategories: [C1]\ntags: [x1]")
    assert site.build(jobs=2).rendered >= 20
    parallel = tree(site.output)
    shutil.rmtree(site.output)
    shutil.rmtree(site.root / ".sitegen")
    site.build(jobs=1)
    assert tree(site.output) == parallel


def test_no_change_rebuild_writes_nothing(make_site):
    site = make_site()
    populate(site)
    site.build()
    stamps = {p: p.stat().st_mtime_ns for p in site.output.rglob("*") if p.is_file()}
    result = site.build()
    assert result.written == 0 and result.rendered == 0
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps


def test_edit_rerenders_only_dependent_pages(make_site):
    site = make_site()
    populate(site)
    site.build()
    post = site.source / "_posts" / "p05.md"
    post.write_text(post.read_text().replace("正文 5", "新的正文"))
    result = site.build()
    assert "新的正文" in site.read("2021/06/15/p05/index.html")
    assert result.parsed == 1
    # Its own page changed; an unrelated post's page was not rendered.
    assert "2021/06/15/p05/index.html" in result.changed
    assert "2021/01/10/p00/index.html" not in result.changed
    assert result.rendered < 15


def test_tampered_output_is_repaired(make_site):
    site = make_site()
    populate(site)
    site.build()
    page = site.output / "2021/06/15/p05/index.html"
    good = page.read_bytes()
    page.write_text("tampered")
    site.build()
    assert page.read_bytes() == good
    page.unlink()
    site.build()
    assert page.read_bytes() == good


def test_template_change_rerenders_pages_using_it(make_site):
    site = make_site()
    populate(site)
    site.build()
    template = site.root / "themes" / "minimal" / "templates" / "page.html"
    template.write_text(template.read_text().replace("<h1>", '<h1 class="changed">'))
    result = site.build()
    assert 'class="changed"' in site.read("about/index.html")
    assert result.changed == ["about/index.html"]


def _body_file(site) -> Path:
    return BodyStore(site.root / ".sitegen" / "cache" / "bodies").file


def _body_rows(site) -> sqlite3.Connection:
    return sqlite3.connect(_body_file(site), isolation_level=None)


def test_corrupt_cache_is_discarded(make_site):
    site = make_site()
    populate(site)
    site.build()
    expected = tree(site.output)
    for name in ("docs.pickle", "manifest.pickle", "last-build.pickle"):
        (site.root / ".sitegen" / name).write_bytes(b"\x00garbage{")
    db = _body_rows(site)
    keys = [k for (k,) in db.execute("SELECT key FROM bodies ORDER BY key")]
    assert len(keys) > 10
    for key in keys[:3]:
        db.execute("DELETE FROM bodies WHERE key=?", (key,))
    for key in keys[3:6]:
        db.execute("UPDATE bodies SET data=? WHERE key=?", (b"not zlib at all", key))
    (data,) = db.execute("SELECT data FROM bodies WHERE key=?", (keys[6],)).fetchone()
    db.execute("UPDATE bodies SET data=? WHERE key=?", (data[:-5], keys[6]))  # truncated
    (data,) = db.execute("SELECT data FROM bodies WHERE key=?", (keys[7],)).fetchone()
    flipped = data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0x20]) + data[len(data) // 2 + 1:]
    db.execute("UPDATE bodies SET data=? WHERE key=?", (flipped, keys[7]))  # same length
    db.close()
    site.build()
    assert tree(site.output) == expected


def test_damaged_body_only_the_feed_shows_is_discarded(make_site, tmp_path):
    """A page that is not rendered again can still show its body in atom.xml."""
    site = make_site()
    populate(site)
    site.build()
    db = _body_rows(site)
    db.execute("UPDATE bodies SET data=?", (b"not zlib at all",))
    db.close()
    path = site.source / "_posts" / "p00.md"  # an old post: its body changes, not its title
    path.write_text(path.read_text().replace("正文 0", "新的正文 0"), encoding="utf-8")
    site.build()
    assert "新的正文 0" in (site.output / "2021/01/10/p00/index.html").read_text(encoding="utf-8")
    assert tree(site.output) == cold_tree(site, tmp_path)


def test_cache_from_a_damaged_or_other_version_file_is_not_trusted(make_site):
    site = make_site()
    populate(site)
    site.build()
    expected = tree(site.output)
    docs = site.root / ".sitegen" / "docs.pickle"
    data = docs.read_bytes()
    docs.write_bytes(data[:-40] + bytes(b ^ 0xFF for b in data[-40:]))  # checksum fails
    manifest = site.root / ".sitegen" / "manifest.pickle"
    manifest.write_bytes(manifest.read_bytes().replace(b"SGC2", b"SGC1", 1))  # older format
    _body_file(site).write_bytes(b"garbage" * 500)
    for suffix in ("-wal", "-shm"):
        Path(f"{_body_file(site)}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(site.output)
    result = site.build()
    assert result.parsed == len(list(site.source.rglob("*.md")))
    assert tree(site.output) == expected


def test_empty_or_truncated_cache_files_are_not_trusted(make_site):
    """Cache files are read through a memory map: an empty file cannot be mapped,
    and a truncated one ends inside the pickle."""
    site = make_site()
    populate(site)
    site.build()
    expected = tree(site.output)
    cache = site.root / ".sitegen"
    (cache / "snapshot.pickle").write_bytes(b"")
    docs = cache / "docs.pickle"
    docs.write_bytes(docs.read_bytes()[: docs.stat().st_size // 2])
    (cache / "manifest.pickle").write_bytes(b"")
    shutil.rmtree(site.output)
    result = site.build()
    assert result.parsed == len(list(site.source.rglob("*.md")))
    assert result.model == "assembled"
    assert tree(site.output) == expected


def test_front_matter_edits_do_not_render_the_body_again(make_site, tmp_path, monkeypatch):
    """A new title, tag or date leaves the body as it was: its last rendering is
    used (and the output still equals a cold build's); a body edit renders it."""
    import sitegen.markdown

    site = make_site()
    populate(site)
    site.build()
    rendered = []
    real = sitegen.markdown.render_markdown
    monkeypatch.setattr(sitegen.markdown, "render_markdown",
                        lambda text: rendered.append(text) or real(text))
    post = site.source / "_posts" / "p05.md"
    text = post.read_text(encoding="utf-8")
    post.write_text(text.replace("title: 文章 5", "title: 新标题").replace("[t1]", "[新标签]")
                    .replace("2021-06-15", "2021-06-20"), encoding="utf-8")
    result = site.build()
    assert result.parsed == 1 and rendered == []
    assert "新标题" in site.read("2021/06/20/p05/index.html")
    assert "正文 5" in site.read("2021/06/20/p05/index.html")
    post.write_text(post.read_text(encoding="utf-8").replace("正文 5", "新的正文"), encoding="utf-8")
    site.build()
    assert len(rendered) == 1 and "新的正文" in site.read("2021/06/20/p05/index.html")
    assert tree(site.output) == cold_tree(site, tmp_path)


def test_damaged_body_found_at_render_is_parsed_again(make_site):
    site = make_site()
    populate(site)
    site.build()
    expected = tree(site.output)
    db = _body_rows(site)
    db.execute("UPDATE bodies SET data=?", (b"damaged",))  # the doc cache still points at them
    db.close()
    shutil.rmtree(site.output)
    site.build()
    assert tree(site.output) == expected


def test_failed_build_leaves_output_and_cache_usable(make_site):
    site = make_site()
    populate(site)
    site.build()
    before = tree(site.output)
    site.write("_posts/broken.md", "---\ntitle: [x\n---\n")
    try:
        site.build()
    except Exception:  # noqa: BLE001 - the failure itself is tested elsewhere
        pass
    assert tree(site.output) == before
    os.unlink(site.source / "_posts" / "broken.md")
    assert site.build().written == 0


def test_killed_build_leaves_previous_output_whole(make_site):
    import signal
    import subprocess
    import sys
    import time

    site = make_site()
    for i in range(400):
        site.post(f"p{i:03d}.md", f"title: P{i}\ndate: 2020-01-01 00:{i % 60:02d}:00")
    site.build()
    before = tree(site.output)
    for path in (site.source / "_posts").glob("*.md"):
        path.write_text(path.read_text().replace("title: P", "title: Q"))
    proc = subprocess.Popen([sys.executable, "-m", "sitegen", "--site", str(site.root), "build",
                             "--no-images", "--jobs", "1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    stage = site.root / ".sitegen" / "stage"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if stage.is_dir() and any(stage.iterdir()):  # rendering has begun: commit has not
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, "the build finished before it could be killed"
    assert tree(site.output) == before  # not one file changed
    site.build()  # the cache survived the crash
    assert "Q0" in site.read("2020/01/01/p000/index.html")


def test_adding_a_post_rerenders_only_what_shows_it(make_site):
    site = make_site()
    populate(site)
    site.build()
    site.post("added.md", "title: Added\ndate: 2021-09-30 08:00:00\ncategories: [财经]\ntags: [t1]")
    result = site.build()
    assert "2021/09/30/added/index.html" in result.changed
    # Posts that are not its neighbours keep their pages untouched.
    assert "2021/01/10/p00/index.html" not in result.changed
    assert "about/index.html" not in result.changed
    # Rendered at all: the new post, its neighbours, the listings it joins (or shifts),
    # and the category/tag/author indexes whose counts changed. Not every page.
    assert result.rendered < result.files // 2, (result.rendered, result.files)


def test_first_build_into_an_empty_output_moves_one_tree(make_site):
    """An empty (or missing) output gets the staged tree with one rename; a later
    build over it updates file by file and both equal a build into a fresh folder."""
    site = make_site()
    populate(site)
    site.output.mkdir(parents=True)  # present but empty: the first build may replace it
    site.build()
    first = tree(site.output)
    assert "index.html" in first and not (site.root / ".sitegen" / "stage").exists()
    for name in ("manifest.pickle", "last-build.pickle"):
        (site.root / ".sitegen" / name).unlink()
    site.post("p05.md", "title: 改\ndate: 2021-06-15 08:00:00\ncategories: [财经]")
    result = site.build()  # no manifest, non-empty output: staged flat, compared per file
    assert result.removed == 0 and "2021/06/15/p05/index.html" in result.changed
    incremental = tree(site.output)
    shutil.rmtree(site.output)
    shutil.rmtree(site.root / ".sitegen")
    site.build()
    assert tree(site.output) == incremental
    assert "改" in site.read("2021/06/15/p05/index.html")


def test_doc_cache_writes_a_small_delta_and_survives_losing_it(make_site):
    site = make_site()
    populate(site)
    site.build()
    cache = site.root / ".sitegen"
    base = (cache / "docs.pickle").stat().st_mtime_ns
    post = site.source / "_posts" / "p07.md"
    post.write_text(post.read_text().replace("文章 7", "文章 七"))
    assert site.build().parsed == 1
    assert (cache / "docs.pickle").stat().st_mtime_ns == base  # only the delta was written
    assert (cache / "docs-delta.pickle").stat().st_size < (cache / "docs.pickle").stat().st_size / 5
    (cache / "docs-delta.pickle").write_bytes(b"damaged")
    other = site.source / "_posts" / "p08.md"
    other.write_text(other.read_text().replace("文章 8", "文章 八"))
    assert site.build().parsed == 2  # p08, and p07 whose base entry is stale
    incremental = tree(site.output)
    shutil.rmtree(site.output)
    shutil.rmtree(cache)
    site.build()
    assert tree(site.output) == incremental
    assert "文章 七" in site.read("2021/08/17/p07/index.html")


def test_manifest_writes_a_small_delta_and_survives_losing_it(make_site, tmp_path):
    from sitegen.output import Manifest

    site = make_site()
    populate(site)
    site.build()
    cache = site.root / ".sitegen"
    base = (cache / "manifest.pickle").stat().st_mtime_ns
    first = Manifest.load(cache / "manifest.pickle").entries
    post = site.source / "_posts" / "p07.md"
    post.write_text(post.read_text().replace("文章 7", "文章 七"))
    (site.source / "_posts" / "p08.md").unlink()
    result = site.build()
    assert (cache / "manifest.pickle").stat().st_mtime_ns == base  # only the delta was written
    delta = (cache / "manifest-delta.pickle").stat().st_size
    assert delta < (cache / "manifest.pickle").stat().st_size / 2
    entries = Manifest.load(cache / "manifest.pickle").entries
    assert "2021/09/18/p08/index.html" in first and "2021/09/18/p08/index.html" not in entries
    assert set(entries) == set(tree(site.output))
    for output in result.changed:
        assert entries[output] != first.get(output)
        assert entries[output].size == (site.output / output).stat().st_size
    assert {o: e for o, e in entries.items() if o not in result.changed} == \
        {o: e for o, e in first.items() if o in entries and o not in result.changed}
    # A lost delta: its changes are found again by comparing the files themselves.
    (cache / "manifest-delta.pickle").write_bytes(b"damaged")
    other = site.source / "_posts" / "p09.md"
    other.write_text(other.read_text().replace("文章 9", "文章 九"))
    site.build()
    assert tree(site.output) == cold_tree(site, tmp_path)


def test_a_manifest_written_before_deltas_still_holds(make_site):
    """After an upgrade the old manifest (one dict) is used, not treated as lost,
    which would compare every output file with its page again."""
    from sitegen.cache import write_cache
    from sitegen.output import Manifest

    site = make_site()
    populate(site)
    site.build()
    path = site.root / ".sitegen" / "manifest.pickle"
    entries = Manifest.load(path).entries
    write_cache(path, "manifest", {k: tuple(v) for k, v in entries.items()})
    (path.parent / "manifest-delta.pickle").unlink(missing_ok=True)
    post = site.source / "_posts" / "p07.md"
    post.write_text(post.read_text().replace("文章 7", "文章 七"))
    result = site.build()
    assert 0 < result.rendered < len(entries) // 3
    assert Manifest.load(path).token  # saved again with a token


def test_failed_first_build_leaves_no_output_and_no_stage(make_site):
    import pytest

    from sitegen.errors import BuildFailed

    site = make_site()
    populate(site)
    (site.root / "templates").mkdir()
    (site.root / "templates" / "post.html").write_text("{{ page.no_such_thing }}\n")
    with pytest.raises(BuildFailed):
        site.build()  # pages rendered before the error were already in the staged tree
    assert not site.output.exists()
    assert not (site.root / ".sitegen" / "stage").exists()
    (site.root / "templates" / "post.html").unlink()
    site.build()
    assert "文章 3" in site.read("2021/04/13/p03/index.html")


def test_output_check_in_child_and_in_thread_agree(make_site, monkeypatch):
    """The untouched-output check runs in a forked child; without fork, in a thread."""
    from sitegen import output

    site = make_site()
    populate(site)
    site.build()
    (site.output / "2021/06/15/p05/index.html").write_text("tampered")
    (site.output / "archives/index.html").unlink()
    manifest = output.Manifest.load(site.root / ".sitegen" / "manifest.pickle")
    found = {}
    for name, checker in (("fork", output._ForkedCheck), ("thread", output._ThreadCheck)):
        items = list(manifest.entries.items())
        touched = checker(str(site.output), lambda items=items: items).result()
        found[name] = touched
    assert found["fork"] == found["thread"] == {"2021/06/15/p05/index.html", "archives/index.html"}
    monkeypatch.delattr(output.os, "fork")
    site.build()
    assert (site.output / "archives/index.html").is_file()
    assert b"tampered" not in (site.output / "2021/06/15/p05/index.html").read_bytes()


def test_listing_pages_show_new_counts_when_an_older_post_joins(make_site, tmp_path):
    """A post added at the end of a category's list changes only its last page's
    posts, but every page of the category shows the count (and the parent shows
    the child's count)."""
    site = make_site(theme="default")
    for i in range(25):
        site.post(f"p{i:02d}.md", f"title: 文章 {i}\ndate: 2021-02-{i + 1:02d} 08:00:00\n"
                  "categories: [[新媒体, 科技]]\ntags: [t]\nauthor: 作者")
    site.build()
    site.post("old.md", "title: 旧文\ndate: 2020-01-01 08:00:00\ncategories: [[新媒体, 科技]]\n"
              "tags: [t]\nauthor: 作者")
    site.build()
    assert tree(site.output) == cold_tree(site, tmp_path)


def test_editing_a_theme_language_file_rerenders_pages(make_site, tmp_path):
    site = make_site(config='theme = "mine"\n[site]\ntitle = "Test"\n')
    shutil.copytree(Path(__file__).parents[1] / "themes" / "default", site.root / "themes" / "mine")
    populate(site)
    site.build()
    strings = site.root / "themes" / "mine" / "languages" / "en.yml"
    strings.write_text(strings.read_text(encoding="utf-8").replace("older_post: Older",
                                                                    "older_post: Earlier"))
    site.build()
    assert "Earlier" in site.read("2021/06/15/p05/index.html")
    assert tree(site.output) == cold_tree(site, tmp_path)


def test_filters_of_constants_follow_the_settings_they_read(make_site, tmp_path):
    """Jinja folds a filter of constants into the compiled template, and compiled
    templates are cached between builds: filters that read settings must run at
    render time, or a changed root, date format or UI string would not show."""
    site = make_site(theme="default")
    (site.root / "templates").mkdir()
    (site.root / "templates" / "post.html").write_text(
        "{{ 'about/' | url_for }} {{ 'about/' | full_url }} {{ 'older_post' | t }} "
        "{{ '2021-06-15T08:00:00+08:00' | date }}\n", encoding="utf-8")
    site.post("a.md", "title: A\ndate: 2021-06-15 08:00:00")
    site.build()
    assert site.read("2021/06/15/a/index.html").split()[2:] == ["Older", "2021-06-15"]
    site.config('theme = "default"\n[site]\ntitle = "T"\nlanguage = "zh-CN"\n'
                '[url]\nurl = "http://example.org/blog"\nroot = "/blog/"\n'
                '[writing]\ndate_format = "YYYY/MM/DD"\n')
    site.build()
    assert site.read("2021/06/15/a/index.html").split() == [
        "/blog/about/", "http://example.org/blog/about/", "较早一篇", "2021/06/15"]
    assert tree(site.output) == cold_tree(site, tmp_path)


def test_cards_follow_the_shown_name_of_a_shared_author_slug(make_site, tmp_path):
    """Two spellings with one slug share a page named by the first; a newer post with
    the other spelling renames it on every card."""
    site = make_site(theme="default")
    for i in range(3):
        site.post(f"p{i}.md", f"title: 文章 {i}\ndate: 2021-02-0{i + 1} 08:00:00\nauthor: Bob Smith")
    site.build()
    site.post("new.md", "title: 新\ndate: 2022-01-01 08:00:00\nauthor: Bob-Smith")
    site.build()
    assert tree(site.output) == cold_tree(site, tmp_path)


def test_replaced_files_are_reused_for_the_next_pages(make_site):
    """Creating files is the costly part of rewriting thousands of listing pages, so
    the files a build replaces are kept and written over by the next one."""
    site = make_site()
    populate(site)
    site.build()
    site.post("n1.md", "title: 新一\ndate: 2022-01-01 08:00:00\ncategories: [财经]")
    site.build()
    spare_dir = site.root / ".sitegen" / "spare"
    spares = {p.stat().st_ino for p in spare_dir.iterdir()}
    assert len(spares) > 3
    site.post("n2.md", "title: 新二\ndate: 2022-02-01 08:00:00\ncategories: [财经]")
    result = site.build()
    reused = {(site.output / o).stat().st_ino for o in result.changed} & spares
    assert len(reused) >= min(len(spares), len(result.changed)) - 1
    assert "新二" in site.read("index.html")


def test_first_build_leaves_spares_for_the_pages_a_new_post_moves(make_site, tmp_path):
    """A first build makes empty spares for the home and archive listings, so the
    first added post writes those pages over them instead of creating files."""
    site = make_site()
    populate(site)  # 30 posts: 3 home pages, 3 archive pages
    site.build()
    spare_dir = site.root / ".sitegen" / "spare"
    spares = {p.stat().st_ino for p in spare_dir.iterdir()}
    assert len(spares) == 6
    assert all(p.stat().st_size == 0 for p in spare_dir.iterdir())
    site.post("n1.md", "title: 新一\ndate: 2022-01-01 08:00:00")
    result = site.build()
    moved = [o for o in result.changed if o.startswith(("index.html", "page/", "archives/"))]
    assert {(site.output / o).stat().st_ino for o in moved} & spares
    assert tree(site.output) == cold_tree(site, tmp_path)


def test_spares_go_to_pages_of_about_their_size(tmp_path):
    """A page gets the largest spare no bigger than its last size: cutting a big
    spare down to a short page frees disk blocks, a cost per page."""
    from sitegen.output import Spares

    folder = tmp_path / "spare"
    folder.mkdir()
    for size in (100, 900, 5000, 20000):
        (folder / f"s-{size}").write_bytes(b"x" * size)
    taken = Spares(folder).take({"short.html": 1000, "long.html": 30000, "new.html": 0,
                                 "tiny.html": 50, "small.html": 10})
    sizes = {output: os.path.getsize(path) for output, path in taken.items()}
    # Biggest pages choose first; one smaller than every spare gets the smallest left.
    assert sizes == {"long.html": 20000, "short.html": 900, "tiny.html": 100, "small.html": 5000}
    assert len(set(taken.values())) == len(taken)


def test_spare_files_never_write_through_links(make_site, tmp_path):
    """A page hard-linked from elsewhere is not kept as a spare, and a planted link in
    the spare folder is replaced, not written through."""
    site = make_site()
    populate(site)
    site.build()
    outside = tmp_path / "backup.html"
    os.link(site.output / "index.html", outside)
    before = outside.read_bytes()
    site.post("n1.md", "title: 新一\ndate: 2022-01-01 08:00:00")
    site.build()
    assert outside.read_bytes() == before  # the old page, still whole
    spare_dir = site.root / ".sitegen" / "spare"
    assert all(p.stat().st_ino != outside.stat().st_ino for p in spare_dir.iterdir())
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    for i, p in enumerate(sorted(spare_dir.iterdir())):
        p.unlink()
        if i % 2:
            p.symlink_to(victim)
        else:
            os.link(victim, p)
    site.post("n2.md", "title: 新二\ndate: 2022-02-01 08:00:00")
    site.build()
    assert victim.read_text() == "keep me"
    assert "新二" in site.read("index.html")
    assert tree(site.output) == cold_tree(site, tmp_path)


def test_a_page_whose_folder_was_removed_is_written_again(make_site, tmp_path):
    site = make_site()
    populate(site)
    site.build()
    shutil.rmtree(site.output / "2021/06/15/p05")
    src = site.source / "_posts" / "p05.md"
    src.write_text(src.read_text(encoding="utf-8").replace("文章 5", "新标题"), encoding="utf-8")
    site.build()
    assert "新标题" in site.read("2021/06/15/p05/index.html")
    assert tree(site.output) == cold_tree(site, tmp_path)


def _manifest_disagreements(site) -> list[str]:
    from sitegen.output import Manifest

    manifest = Manifest.load(site.root / ".sitegen" / "manifest.pickle")
    assert manifest.entries
    wrong = []
    for output, entry in manifest.entries.items():
        st = (site.output / output).stat()
        if (entry.size, entry.mtime_ns) != (st.st_size, st.st_mtime_ns):
            wrong.append(output)
    return wrong


def test_manifest_stamps_match_the_files_without_a_stat_per_page(make_site):
    """The commit takes each page's size and mtime from the worker that wrote it
    (a rename keeps both). A wrong stamp would make the next build hash the file
    again, so every entry must match the file on disk after every kind of build."""
    site = make_site()
    populate(site)
    site.build()  # first build: one tree
    assert _manifest_disagreements(site) == []
    site.post("n1.md", "title: 新一\ndate: 2022-01-01 08:00:00\ncategories: [财经]")
    site.build()  # pages written into empty spares
    assert _manifest_disagreements(site) == []
    edit_series(site)
    result = site.build()  # pages written over spares and into new files
    assert result.changed and _manifest_disagreements(site) == []


def test_a_body_store_of_the_older_format_is_removed(make_site):
    """Bodies were zlib-compressed in bodies.sqlite before; that file is never read."""
    site = make_site()
    populate(site)
    old = site.root / ".sitegen" / "cache" / "bodies" / "bodies.sqlite"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"an older store" * 100)
    Path(f"{old}-wal").write_bytes(b"wal")
    site.build()
    assert not old.exists() and not Path(f"{old}-wal").exists()
    assert _body_file(site).stat().st_size > 0


def test_large_replaced_files_are_not_kept_as_spares(tmp_path):
    """The search index and sitemap are megabytes and replaced by every build: kept,
    they filled the spare folder (384 MB at 10k posts) and no page could use them."""
    from sitegen.output import SPARE_MAX, Spares

    out = tmp_path / "out"
    out.mkdir()
    (out / "page.html").write_bytes(b"x" * 5000)
    (out / "search.json").write_bytes(b"x" * (SPARE_MAX + 1))
    spares = Spares(tmp_path / "spare")
    spares.keep(str(out / "page.html"))
    spares.keep(str(out / "search.json"))
    kept = sorted(p.stat().st_size for p in (tmp_path / "spare").iterdir())
    assert kept == [5000]


def test_templates_compiled_by_another_sitegen_are_not_used(make_site, tmp_path):
    """Jinja compiles a filter call by how the filter takes its arguments, and keys
    its cache by the template's source only: a theme compiled when `t` took no
    context (an older sitegen) failed on every page once it did."""
    import jinja2

    from sitegen.templates import builtin_themes_dir

    site = make_site(theme="default")
    populate(site)
    site.build()
    compiled = site.root / ".sitegen" / "jinja"
    for old in compiled.iterdir():
        old.unlink()
    env = jinja2.Environment(  # what the older sitegen left behind
        loader=jinja2.FileSystemLoader(str(builtin_themes_dir() / "default" / "templates")),
        bytecode_cache=jinja2.FileSystemBytecodeCache(str(compiled)),
        autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update({"t": lambda key, *args: key, "date": str, "url_for": str,
                        "full_url": str, "excerpt": str})
    for name in env.list_templates():
        env.get_template(name)
    site.post("n1.md", "title: 新一\ndate: 2022-01-01 08:00:00")
    site.build()
    assert "新一" in site.read("index.html")
    assert tree(site.output) == cold_tree(site, tmp_path)


def test_spares_are_sized_by_their_names(tmp_path):
    """take() reads a kept spare's size from its name (a stat of each of thousands of
    spares cost 20-30 ms a build); spares named by an older sitegen are stat'ed."""
    from sitegen.output import Spares

    out, folder = tmp_path / "out", tmp_path / "spare"
    out.mkdir()
    spares = Spares(folder)
    for size in (300, 7000):
        (out / f"{size}.html").write_bytes(b"x" * size)
        spares.keep(str(out / f"{size}.html"))
    spares.fill(1)
    (folder / "s-old").write_bytes(b"x" * 2000)
    names = sorted(p.name.split("-")[0] for p in folder.iterdir())
    assert names == ["p0", "p300", "p7000", "s"]
    (folder / next(p.name for p in folder.iterdir() if p.name.startswith("p300-"))).write_bytes(b"x" * 9000)
    taken = Spares(folder).take({"a.html": 400, "b.html": 2500, "c.html": 8000, "d.html": 100})
    assert {o: os.path.basename(p).split("-")[0] for o, p in taken.items()} == {
        "c.html": "p7000", "b.html": "s", "a.html": "p300", "d.html": "p0"}


def test_a_detached_snapshot_is_saved_where_the_platform_cannot_fork(make_site, monkeypatch):
    """`sitegen build` leaves the snapshot to a child it does not wait for; where
    there is no fork, this process saves it, or the next build would patch an
    older model than the output's."""
    import sitegen.workers

    monkeypatch.setattr(sitegen.workers, "can_fork", lambda: False)
    site = make_site()
    populate(site)
    site.build(detach_save=True)
    saved = [site.root / ".sitegen" / name for name in ("snapshot.pickle", "snapshot-delta.pickle")]

    def stamps() -> list[int]:
        return [p.stat().st_mtime_ns if p.exists() else 0 for p in saved]

    before = stamps()
    post = site.source / "_posts" / "p03.md"
    post.write_text(post.read_text(encoding="utf-8").replace("文章 3", "改过的标题"), encoding="utf-8")
    assert site.build(detach_save=True).model == "patched"
    assert stamps() != before

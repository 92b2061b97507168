"""`sitegen check` on hand-written output trees, at the root and under a subpath."""
from __future__ import annotations

from pathlib import Path

import pytest

from sitegen.check import CheckProblem, check_output


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def site(root: Path, base: str) -> Path:
    """A small but typical output whose links all carry the base path `base`."""
    b = base
    return write(root, {
        "index.html": f"""<!doctype html><html><head>
            <link rel="stylesheet" href="{b}css/style.css">
            <link rel="alternate" href="{b}atom.xml" type="application/atom+xml">
            <link rel="preconnect" href="https://fonts.example.com">
            <script src="{b}js/main.js"></script></head><body>
            <a href="{b}">home</a> <a href="{b}2024/05/hello/">post</a>
            <a href="{b}2024/05/hello/#intro">intro</a>
            <a href="2024/05/hello/?utm=x#%E4%B8%AD%E6%96%87">cjk anchor</a>
            <a href="{b}tags/%E4%B8%AD%E6%96%87/">tag</a>
            <a href="#top">top</a> <a href="#">menu</a> <a href="#main">main</a>
            <main id="main"></main>
            <a href="mailto:me@example.com">mail</a> <a href="tel:+1">tel</a>
            <a href="javascript:void(0)">js</a> <a href="https://example.org/x">out</a>
            <img src="data:image/png;base64,AAAA">
            </body></html>""",
        "2024/05/hello/index.html": f"""<html><body>
            <h2 id="intro">Intro</h2><h2 id="中文">CJK</h2>
            <img src="../../../images/cat.jpg"
                 srcset="../../../images/cat-480.jpg 480w, {b}images/cat.jpg 2x">
            <picture><source srcset="{b}images/cat-480.jpg"></picture>
            <a href="../../../">up</a> <a href="{b}about">about</a>
            <a href="{b}index.html#main">home main</a>
            </body></html>""",
        "tags/中文/index.html": "<p>tag</p>",
        "about.html": "<p>about</p>",
        "css/style.css": "body{}",
        "js/main.js": "",
        "images/cat.jpg": "jpg",
        "images/cat-480.jpg": "jpg",
        "atom.xml": f"""<?xml version="1.0" encoding="utf-8"?>
            <feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
            <entry><link href="https://u.github.io{b}2024/05/hello/"/></entry></feed>""",
        "sitemap.xml": f"""<?xml version="1.0" encoding="UTF-8"?>
            <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
            <url><loc>https://u.github.io{b}2024/05/hello/</loc></url>
            <url><loc>https://u.github.io{b}</loc></url></urlset>""",
        "search.json": "[]",
    })


@pytest.mark.parametrize("base", ["/", "/archive/"])
def test_clean_site_passes(tmp_path, base):
    assert check_output(site(tmp_path, base), base) == []


def test_full_base_url_is_accepted(tmp_path):
    out = site(tmp_path, "/archive/")
    assert check_output(out, "https://u.github.io/archive") == []


def test_planted_broken_link_names_page_and_line(tmp_path):
    out = site(tmp_path, "/")
    write(out, {"about.html": '<p>about</p>\n<a href="/2024/05/missing/">gone</a>'})
    problems = check_output(out, "/")
    assert len(problems) == 1
    assert problems[0].page == "about.html" and problems[0].line == 2
    assert "/2024/05/missing/" in problems[0].message
    assert str(problems[0]).startswith("about.html:2: broken link")


def test_missing_file_and_missing_image_in_srcset(tmp_path):
    out = site(tmp_path, "/")
    (out / "images/cat-480.jpg").unlink()
    (out / "js/main.js").unlink()
    problems = check_output(out, "/")
    assert {p.page for p in problems} == {"index.html", "2024/05/hello/index.html"}
    assert any("main.js" in p.message for p in problems)
    assert any("cat-480.jpg" in p.message for p in problems)


def test_root_link_outside_subpath_is_a_problem(tmp_path):
    out = site(tmp_path, "/archive/")
    write(out, {"about.html": '<a href="/css/style.css">forgot the prefix</a>'})
    (problem,) = check_output(out, "/archive/")
    assert problem.page == "about.html"
    assert "leaves the site's base path /archive/" in problem.message
    # The same tree checked as a root site: /css/style.css exists there.
    assert check_output(out, "/archive/") != check_output(out, "/")


def test_missing_anchors_same_page_and_cross_page(tmp_path):
    out = site(tmp_path, "/")
    write(out, {"about.html": '<a href="#nowhere">x</a> <a href="/2024/05/hello/#outro">y</a>'
                              '<a name="legacy"></a><a href="#legacy">ok</a>'})
    messages = [p.message for p in check_output(out, "/")]
    assert len(messages) == 2
    assert any("'nowhere'" in m for m in messages)
    assert any("'outro'" in m for m in messages)


def test_malformed_sitemap_and_feed(tmp_path):
    out = site(tmp_path, "/")
    write(out, {"sitemap.xml": "<urlset><url><loc>x</loc></urlset>",
                "atom.xml": "<feed>&nbsp;</feed>"})
    problems = {p.page: p for p in check_output(out, "/")}
    assert set(problems) == {"sitemap.xml", "atom.xml"}
    assert "not well-formed XML" in problems["sitemap.xml"].message
    assert "not well-formed XML" in problems["atom.xml"].message


def test_xml_entity_declarations_are_refused(tmp_path):
    out = site(tmp_path, "/")
    write(out, {"atom.xml": '<?xml version="1.0"?><!DOCTYPE f [<!ENTITY a "aaaa">]>'
                            "<feed>&a;</feed>"})
    (problem,) = check_output(out, "/")
    assert problem.page == "atom.xml" and "entit" in problem.message


def test_sitemap_entries_must_exist_under_the_base(tmp_path):
    out = site(tmp_path, "/archive/")
    write(out, {"sitemap.xml": "<urlset><url><loc>https://u.github.io/2024/05/hello/</loc></url>"
                               "<url><loc>https://u.github.io/archive/nope/</loc></url></urlset>"})
    messages = [p.message for p in check_output(out, "/archive/")]
    assert len(messages) == 2
    assert any("leaves the base path" in m for m in messages)
    assert any("no such page" in m for m in messages)


def test_remote_image_is_a_problem_unless_allowed(tmp_path):
    out = site(tmp_path, "/")
    write(out, {"about.html": '<img src="https://img.example.com/a.png">'
                              '<img srcset="//cdn.example.com/b.png 2x">'
                              '<a href="https://img.example.com/page">a link is fine</a>'})
    problems = check_output(out, "/")
    assert sorted(p.message for p in problems) == [
        "remote image not localised: //cdn.example.com/b.png",
        "remote image not localised: https://img.example.com/a.png",
    ]
    allowed = {"https://img.example.com/a.png", "//cdn.example.com/b.png"}
    assert check_output(out, "/", allowed_remote=allowed) == []


def test_repeated_problem_reported_once_per_page(tmp_path):
    out = site(tmp_path, "/")
    write(out, {"about.html": '<a href="/x/">1</a><a href="/x/">2</a>'})
    assert check_output(out, "/") == [
        CheckProblem("about.html", "broken link '/x/': no such file in the output", 1)
    ]


def test_invalid_search_json(tmp_path):
    out = site(tmp_path, "/")
    write(out, {"search.json": "[{"})
    (problem,) = check_output(out, "/")
    assert problem.page == "search.json" and "not valid JSON" in problem.message


def test_missing_output_folder(tmp_path):
    with pytest.raises(FileNotFoundError):
        check_output(tmp_path / "public")


def test_parallel_parsing_finds_the_same_problems(tmp_path):
    out = site(tmp_path, "/archive/")
    for i in range(30):
        write(out, {f"p/{i}/index.html": f'<a id="x" href="/archive/p/{(i + 1) % 30}/#x">n</a>'
                                         f'<a href="../{i + 40}/">broken</a>'})
    serial = check_output(out, "/archive/", jobs=1)
    assert len(serial) == 30
    assert check_output(out, "/archive/", jobs=2) == serial

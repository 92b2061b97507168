"""Image localisation through a whole build: pages, feeds and the report."""
from __future__ import annotations

import json

from sitegen.errors import BuildFailed

pytest_plugins = ["conftest_images"]


def image_site(make_site, server, extra: str = ""):
    site = make_site(config=(
        'theme = "minimal"\n[images]\n'
        f'allow_hosts = ["{server.host}"]\ndeadline = 3\nretries = 0\n{extra}'))
    photo = server.unique("/img/photo.jpg")
    missing = server.unique("/missing/gone.jpg")
    site.post("pics.md", f"title: Pictures\ndate: 2021-10-11 07:53:00\nheadimg: '{photo}'\n"
              f"thumbnail: '{photo}'",
              f'<div>   \n<p style="text-align:center"><img src="{photo}" alt="AI芯片" '
              f'referrerpolicy="no-referrer"></p><p style="text-indent: 2em">正文</p>'
              f'<p><img src="{missing}" alt="gone"></p> \n  \n</div>\n')
    return site, photo, missing


def test_build_localises_rewrites_and_reports(make_site, image_server):
    site, photo, missing = image_site(make_site, image_server)
    result = site.build(images=True)
    html = site.read("2021/10/11/pics/index.html")
    assert photo not in html.split("<main>")[1].split('<img src="' + missing)[0]
    local = [f for f in site.files() if f.startswith("images/") and f.endswith(".webp")]
    assert local, site.files()
    assert any(f'src="/{f}"' in html for f in local)
    assert 'alt="AI芯片"' in html and 'style="text-indent: 2em"' in html
    assert 'width="' in html and 'loading="lazy"' in html and "srcset=" in html
    # The image that cannot be localised keeps its URL and sends no referrer.
    assert f'<img src="{missing}" alt="gone" referrerpolicy="no-referrer"' in html
    assert result.images.stats.failed == 1 and result.images.stats.fetched == 1
    report = json.loads((site.root / ".sitegen" / "image-report.json").read_text())
    assert [(f["source"], f["url"], f["reason"]) for f in report["failures"]] == [
        ("_posts/pics.md", missing, "404")]
    # The feed points at the local copy with an absolute URL.
    assert "http://example.com/images/" in site.read("atom.xml")
    # Nothing under the source folder, everything cached under .sitegen/.
    assert not list(site.source.rglob("*.webp"))
    assert list((site.root / ".sitegen" / "cache" / "images").rglob("*.webp"))


def test_second_build_makes_no_requests(make_site, image_server):
    site, photo, _ = image_site(make_site, image_server)
    site.build(images=True)
    before = image_server.total()
    (site.output / "index.html").unlink()  # force a real rebuild, not the no-change fast path
    result = site.build(images=True)
    assert image_server.total() == before
    assert result.images.stats.fetched == 0
    assert any(f.endswith(".webp") for f in site.files())


def test_strict_fails_on_unlocalisable_image(make_site, image_server):
    site, _, missing = image_site(make_site, image_server)
    try:
        site.build(images=True, strict=True)
    except BuildFailed as exc:
        assert any(missing in p.message for p in exc.problems)
    else:
        raise AssertionError("--strict should fail the build")
    assert not site.output.exists()


def test_offline_uses_cache_only(make_site, image_server):
    site, photo, _ = image_site(make_site, image_server)
    result = site.build(images=True, offline=True)
    assert image_server.count(image_server.path_of(photo)) == 0
    assert result.images.stats.failed == 2
    assert photo in site.read("2021/10/11/pics/index.html")  # kept remote, page not broken

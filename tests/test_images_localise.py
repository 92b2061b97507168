"""localise() end to end: fields, thumbnails, local files, prefixes, the report."""
from __future__ import annotations

import json

from imageserver import encode, gradient, localise_html, settings_for
from PIL import Image

from sitegen.images import ImageDoc, ImageSettings, format_summary, localise, write_report

pytest_plugins = ["conftest_images"]


def test_front_matter_fields_point_at_local_files(image_server, tmp_path):
    head = image_server.unique("/img/photo.jpg")
    photos = [image_server.unique("/img/small.png"), image_server.unique("/404/p.png")]
    fields = {"title": "Hello", "headimg": head, "photos": photos, "tags": ["a"],
              "cover": 42}
    result = localise_html(image_server, tmp_path, "", fields=fields)
    out = result.docs[0].fields
    assert out["title"] == "Hello" and out["tags"] == ["a"] and out["cover"] == 42
    assert out["headimg"].startswith("/images/") and out["headimg"].endswith("-1600.webp")
    assert out["photos"][0].startswith("/images/") and out["photos"][1] == photos[1]
    assert [(f.url, f.reason) for f in result.failures] == [(photos[1], "404")]
    assert fields["headimg"] == head  # the input is not changed


def test_thumbnail_prefers_thumbnail_then_headimg_then_first_image(image_server, tmp_path):
    photo, small = image_server.unique("/img/photo.jpg"), image_server.unique("/img/small.png")
    body = f'<img src="{small}">'
    with_thumb = localise_html(image_server, tmp_path, body,
                               fields={"headimg": small, "thumbnail": photo}).docs[0]
    assert with_thumb.thumbnail.url.endswith("-480.webp")
    assert (with_thumb.thumbnail.width, with_thumb.thumbnail.height) == (480, 240)
    assert "1600w" in with_thumb.thumbnail.srcset
    with_head = localise_html(image_server, tmp_path, body, fields={"headimg": photo}).docs[0]
    assert with_head.thumbnail.url == with_thumb.thumbnail.url
    first = localise_html(image_server, tmp_path, body).docs[0]
    assert (first.thumbnail.width, first.thumbnail.height) == (300, 200)
    dead = image_server.unique("/404/t.png")
    failed = localise_html(image_server, tmp_path, body, fields={"thumbnail": dead}).docs[0]
    assert failed.thumbnail is None
    assert localise_html(image_server, tmp_path, "<p>no images</p>").docs[0].thumbnail is None


def test_relative_and_post_asset_images_use_the_same_pipeline(image_server, tmp_path):
    assets = tmp_path / "source" / "_posts" / "hello"
    assets.mkdir(parents=True)
    (assets / "diagram one.png").write_bytes(encode(gradient(2400, 1200, seed=7), "PNG"))
    (assets / "notes.txt").write_text("not an image")
    (tmp_path / "source" / "secret.png").write_bytes(encode(gradient(10, 10, seed=8), "PNG"))
    html = ('<img src="diagram%20one.png"><img src="notes.txt"><img src="missing.png">'
            '<img src="../secret.png"><img src="/images/site-wide.png">')
    doc = ImageDoc("_posts/hello.md", html, {"cover": "diagram one.png"}, base_dir=assets)
    result = localise([doc], settings_for(image_server), cache_dir=tmp_path / "cache")
    out = result.docs[0]
    assert out.html.startswith('<img src="/images/')
    assert 'width="1600" height="800"' in out.html
    assert out.fields["cover"] == out.html.split('"')[1]
    reasons = {f.url: f.reason for f in result.failures}
    assert reasons == {"notes.txt": "not an image", "missing.png": "file not found",
                       "../secret.png": "outside source folder"}
    assert '<img src="/images/site-wide.png">' in out.html
    assert result.stats.local == 1 and result.stats.requests == 0
    assert sorted(p.name for p in assets.iterdir()) == ["diagram one.png", "notes.txt"]


def test_asset_img_urls_under_the_page_url_are_files_of_the_asset_folder(image_server,
                                                                        tmp_path):
    assets = tmp_path / "_posts" / "hello"
    assets.mkdir(parents=True)
    (assets / "x.png").write_bytes(image_server.images["small.png"])
    html = ('<img src="/archive/2020/01/02/hello/x.png"><img src="/archive/other/x.png">'
            '<img src="x.png">')
    doc = ImageDoc("_posts/hello.md", html, {}, base_dir=assets,
                   page_url="/archive/2020/01/02/hello/")
    result = localise([doc], settings_for(image_server), cache_dir=tmp_path / "cache",
                      url_prefix="/archive/")
    first, second, third = result.docs[0].html.split("><")
    assert first.startswith('<img src="/archive/images/') and third.startswith('img src="/archive/images/')
    assert second == 'img src="/archive/other/x.png"'
    assert result.failures == () and result.stats.found == 1


def test_url_prefix_and_output_dir_shape_the_urls(image_server, tmp_path):
    url = image_server.unique("/img/small.png")
    result = localise_html(image_server, tmp_path, f'<img src="{url}">',
                           url_prefix="/archive", output_dir="assets/img")
    [name] = result.files
    assert name.startswith("assets/img/") and name.endswith("-300.webp")
    assert f'src="/archive/{name}"' in result.docs[0].html


def test_disabled_settings_leave_documents_alone(tmp_path):
    doc = ImageDoc("a.md", '<img src="https://example.com/a.png">', {"cover": "x.png"})
    result = localise([doc], ImageSettings(enabled=False), cache_dir=tmp_path)
    assert result.docs[0].html == doc.html and result.docs[0].fields == {"cover": "x.png"}
    assert result.files == {} and not any(tmp_path.iterdir())


def test_many_documents_keep_their_order_and_share_files(image_server, tmp_path):
    urls = [image_server.unique(f"/img/{n}") for n in ("small.png", "photo.jpg", "alpha.png")]
    docs = [ImageDoc(f"_posts/{i}.md", f'<img src="{urls[i % 3]}"><p>{i}</p>') for i in range(9)]
    seen = []
    result = localise(docs, settings_for(image_server, per_host=1), cache_dir=tmp_path,
                      progress=lambda stage, done, total: seen.append((stage, done, total)))
    assert [d.html.rsplit("<p>", 1)[1] for d in result.docs] == [f"{i}</p>" for i in range(9)]
    assert result.stats.found == 3 and result.stats.references == 9
    assert ("fetch", 3, 3) in seen and ("process", 3, 3) in seen
    for path in result.files.values():
        with Image.open(path) as image:
            assert image.format == "WEBP"


def test_report_and_summary_say_what_failed_and_why(image_server, tmp_path):
    good, dead = image_server.unique("/img/small.png"), image_server.unique("/404/a.png")
    bomb = image_server.unique("/img/bomb.png")
    result = localise_html(image_server, tmp_path,
                           f'<img src="{good}"><img src="{dead}"><img src="{bomb}">')
    report = tmp_path / ".sitegen" / "image-report.json"
    write_report(result, report)
    data = json.loads(report.read_text())
    assert data["stats"]["found"] == 3 and data["stats"]["failed"] == 2
    assert data["failure_reasons"] == {"404": 1, "bomb": 1}
    assert [(f["source"], f["url"], f["reason"]) for f in data["failures"]] == sorted(
        [("_posts/a.md", dead, "404"), ("_posts/a.md", bomb, "bomb")], key=lambda f: f[1])
    assert data["localised"][good].startswith("/images/")
    lines = format_summary(result, ".sitegen/image-report.json")
    assert lines[0] == "images: 3 found, 2 fetched, 0 from cache, 0 local, 2 failed"
    assert f"  _posts/a.md: {dead}: 404" in lines


def test_summary_lists_at_most_twenty_failures(image_server, tmp_path):
    urls = [f"http://10.0.0.{i}/a.png" for i in range(1, 26)]
    result = localise_html(image_server, tmp_path, "".join(f'<img src="{u}">' for u in urls))
    lines = format_summary(result, ".sitegen/image-report.json")
    assert lines[-1] == "  … and 5 more in .sitegen/image-report.json"
    assert sum(1 for line in lines if "blocked address" in line) == 20

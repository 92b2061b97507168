"""The persistent cache: a rebuild asks the network nothing, and damage is repaired."""
from __future__ import annotations

import json
import time
from pathlib import Path

from imageserver import localise_html, settings_for

from sitegen.images import ImageDoc, localise
from sitegen.images.cache import ImageCache, UrlRecord

pytest_plugins = ["conftest_images"]  # the loopback image server fixtures


def page(*urls: str) -> str:
    return "\n".join(f'<p><img src="{u}" alt="{i}"></p>' for i, u in enumerate(urls))


def test_second_build_makes_zero_requests_and_gives_the_same_output(image_server, tmp_path):
    urls = [image_server.unique(f"/img/{n}") for n in ("photo.jpg", "alpha.png", "anim.gif")]
    missing = image_server.unique("/404/x.png")
    html = page(*urls, missing)
    first = localise_html(image_server, tmp_path, html, fields={"headimg": urls[1]})
    before = image_server.total()
    second = localise_html(image_server, tmp_path, html, fields={"headimg": urls[1]})
    assert image_server.total() == before
    assert second.docs == first.docs
    assert second.files == first.files
    assert (second.stats.fetched, second.stats.from_cache, second.stats.requests) == (0, 3, 0)
    assert second.stats.processed == 0  # nothing re-encoded either
    [failure] = second.failures
    assert failure.reason == "404" and failure.cached


def test_one_image_at_many_urls_is_stored_and_encoded_once(image_server, tmp_path):
    urls = [image_server.unique("/img/small.png") for _ in range(3)]
    docs = [ImageDoc(f"_posts/{i}.md", page(u)) for i, u in enumerate(urls)]
    result = localise(docs, settings_for(image_server), cache_dir=tmp_path)
    sources = {doc.html.split('src="')[1].split('"')[0] for doc in result.docs}
    assert len(sources) == 1
    assert result.stats.fetched == 3 and result.stats.processed == 1
    originals = [p for p in (tmp_path / "images" / "originals").rglob("*") if p.is_file()]
    assert len(originals) == 1


def test_failures_are_retried_only_after_retry_failed_after_or_with_refetch(image_server,
                                                                            tmp_path):
    url = image_server.unique("/404/later.png")
    path = image_server.path_of(url)
    localise_html(image_server, tmp_path, page(url))
    localise_html(image_server, tmp_path, page(url))
    assert image_server.count(path) == 1  # remembered for a day
    localise_html(image_server, tmp_path, page(url), refetch=True)
    assert image_server.count(path) == 2
    localise_html(image_server, tmp_path, page(url), retry_failed_after=0)
    assert image_server.count(path) == 3


def test_offline_uses_only_the_cache(image_server, tmp_path):
    cached = image_server.unique("/img/small.png")
    localise_html(image_server, tmp_path, page(cached))
    fresh = image_server.unique("/img/photo.jpg")
    before = image_server.total()
    result = localise_html(image_server, tmp_path, page(cached, fresh), offline=True)
    assert image_server.total() == before
    assert [(f.url, f.reason) for f in result.failures] == [(fresh, "offline")]
    assert "/images/" in result.docs[0].html.split("<img")[1]


def test_refetch_revalidates_with_etag_and_keeps_the_original(image_server, tmp_path):
    url = image_server.unique("/etag/small.png")
    first = localise_html(image_server, tmp_path, page(url))
    record = ImageCache.at(tmp_path).url_record(url)
    assert record.etag == '"v1"'
    again = localise_html(image_server, tmp_path, page(url), refetch=True)
    [_, second_request] = image_server.headers_for(image_server.path_of(url))
    assert second_request["if-none-match"] == '"v1"'
    assert again.stats.revalidated == 1 and again.stats.processed == 0
    assert again.docs == first.docs


def test_url_record_holds_final_url_and_hash(image_server, tmp_path):
    target = image_server.unique("/img/small.png")
    url = image_server.unique(f"/redirect?to={target}")
    localise_html(image_server, tmp_path, page(url))
    record = ImageCache.at(tmp_path).url_record(url)
    assert record.ok and record.final_url == target
    assert Path(ImageCache.at(tmp_path).original_path(record.sha256)).read_bytes() == \
        image_server.images["small.png"]


def test_damaged_processed_file_is_made_again_without_network(image_server, tmp_path):
    url = image_server.unique("/img/small.png")
    first = localise_html(image_server, tmp_path, page(url))
    damaged = next(iter(first.files.values()))
    damaged.write_bytes(b"garbage")
    before = image_server.total()
    again = localise_html(image_server, tmp_path, page(url))
    assert image_server.total() == before
    assert again.stats.processed == 1
    assert damaged.read_bytes() != b"garbage"


def test_damaged_original_is_fetched_again(image_server, tmp_path):
    url = image_server.unique("/img/small.png")
    first = localise_html(image_server, tmp_path, page(url))
    cache = ImageCache.at(tmp_path)
    record = cache.url_record(url)
    cache.original_path(record.sha256).write_bytes(b"bit rot")
    for path in first.files.values():  # force a re-encode, which needs the original
        path.unlink()
    again = localise_html(image_server, tmp_path, page(url))
    assert again.failures == ()
    assert image_server.count(image_server.path_of(url)) == 2
    assert again.docs == first.docs


def test_damaged_original_offline_is_reported_not_crashed(image_server, tmp_path):
    url = image_server.unique("/img/small.png")
    first = localise_html(image_server, tmp_path, page(url))
    cache = ImageCache.at(tmp_path)
    cache.original_path(cache.url_record(url).sha256).unlink()
    for path in first.files.values():
        path.unlink()
    again = localise_html(image_server, tmp_path, page(url), offline=True)
    assert [f.reason for f in again.failures] == ["cache damaged"]
    assert 'referrerpolicy="no-referrer"' in again.docs[0].html


def test_unreadable_cache_entries_count_as_missing(tmp_path):
    cache = ImageCache.at(tmp_path)
    record = UrlRecord(url="https://example.com/a.png", ok=False, at=time.time(), reason="404")
    cache.put_url_record(record)
    assert cache.url_record(record.url) == record
    path = next((tmp_path / "images" / "urls").rglob("*.json"))
    path.write_text(json.dumps({"v": 1, "url": "https://example.com/a.png", "bogus": 1}))
    assert cache.url_record(record.url) is None
    path.write_text("{ torn")
    assert cache.url_record(record.url) is None


def test_writes_leave_no_temporary_files_and_stay_in_cache_dir(image_server, tmp_path):
    cache_dir = tmp_path / "cache"
    site = tmp_path / "site"
    site.mkdir()
    result = localise([ImageDoc("_posts/a.md", page(image_server.unique("/img/photo.jpg")),
                                base_dir=site)],
                      settings_for(image_server), cache_dir=cache_dir)
    assert all(p.is_relative_to(cache_dir) for p in result.files.values())
    assert list(site.iterdir()) == []
    assert not [p for p in cache_dir.rglob(".tmp-*")]
    assert all(p.stat().st_mode & 0o044 for p in result.files.values())  # publishable

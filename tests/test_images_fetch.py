"""Downloading through a real loopback server: every fault ends as a clear failure.

A failed image keeps its remote URL, gains referrerpolicy="no-referrer", and is
listed with the post and a reason; the page is never broken.
"""
from __future__ import annotations

import re

import pytest
from imageserver import localise_html
from PIL import Image

from sitegen.images.fetch import Fetcher, FetchError
from sitegen.images.settings import ImageSettings

pytest_plugins = ["conftest_images"]  # the loopback image server fixtures


def failure_reasons(result) -> dict[str, str]:
    return {f.url: f.reason for f in result.failures}


def test_good_image_is_fetched_and_img_points_at_local_webp(image_server, tmp_path):
    url = image_server.unique("/img/photo.jpg")
    result = localise_html(image_server, tmp_path, f'<p>x</p><img alt="a" src="{url}">')
    html = result.docs[0].html
    assert result.failures == ()
    main = re.search(r'src="/(images/[0-9a-f]{2}/[0-9a-f]{24}-1600\.webp)"', html).group(1)
    with Image.open(result.files[main]) as image:
        assert (image.format, image.size) == ("WEBP", (1600, 800))
    assert 'width="1600" height="800" loading="lazy" decoding="async"' in html
    widths = re.findall(r"-(\d+)\.webp (\d+)w", re.search(r'srcset="([^"]*)"', html).group(1))
    assert [int(w) for w, _ in widths] == [480, 960, 1600]
    assert all(w == d for w, d in widths)
    assert result.stats.fetched == 1 and result.stats.requests == 1


def test_404_keeps_remote_url_with_no_referrer_and_is_reported(image_server, tmp_path):
    url = image_server.unique("/404/gone.png")
    result = localise_html(image_server, tmp_path, f'<img src="{url}" alt="gone">')
    assert result.docs[0].html == f'<img src="{url}" alt="gone" referrerpolicy="no-referrer">'
    [failure] = result.failures
    assert (failure.source, failure.url, failure.reason) == ("_posts/a.md", url, "404")
    assert image_server.count(image_server.path_of(url)) == 1  # 404 is not retried


def test_503_is_retried_until_it_succeeds(image_server, tmp_path):
    url = image_server.unique("/flaky/photo.jpg")
    result = localise_html(image_server, tmp_path, f'<img src="{url}">')
    assert result.failures == ()
    assert image_server.count(image_server.path_of(url)) == 3
    assert result.stats.requests == 3


def test_503_gives_up_after_the_configured_retries(image_server, tmp_path):
    url = image_server.unique("/flaky/photo.jpg")
    result = localise_html(image_server, tmp_path, f'<img src="{url}">', retries=1)
    assert failure_reasons(result) == {url: "503"}
    assert image_server.count(image_server.path_of(url)) == 2


def test_retry_after_is_honoured(image_server, tmp_path):
    url = image_server.unique("/busy/1/photo.jpg")
    result = localise_html(image_server, tmp_path, f'<img src="{url}">')
    assert result.failures == ()
    first, second = image_server.times_for(image_server.path_of(url))
    assert second - first >= 1.0  # waited as the server asked


def test_retry_after_is_capped(image_server, tmp_path):
    url = image_server.unique("/busy/3600/photo.jpg")
    result = localise_html(image_server, tmp_path, f'<img src="{url}">', retry_after_cap=0.1)
    assert result.failures == ()  # an hour was asked; the cap made it a short wait
    assert image_server.count(image_server.path_of(url)) == 2


def test_content_type_is_not_trusted(image_server, tmp_path):
    html_page = image_server.unique("/html-as-jpeg/photo.jpg")
    svg = image_server.unique("/svg/icon.svg")
    truncated = image_server.unique("/img/truncated.jpg")
    result = localise_html(image_server, tmp_path,
                           f'<img src="{html_page}"><img src="{svg}"><img src="{truncated}">')
    assert failure_reasons(result) == {html_page: "not an image", svg: "unsupported format",
                                       truncated: "truncated"}
    assert result.docs[0].html.count('referrerpolicy="no-referrer"') == 3
    assert result.files == {}


def test_decompression_bomb_is_refused_from_its_header(image_server, tmp_path):
    url = image_server.unique("/img/bomb.png")
    result = localise_html(image_server, tmp_path, f'<img src="{url}">')
    [failure] = result.failures
    assert failure.reason == "bomb"
    assert "8000x8000" in failure.detail


def test_endless_body_stops_at_max_bytes(image_server, tmp_path):
    url = image_server.unique("/endless/photo.jpg")
    result = localise_html(image_server, tmp_path, f'<img src="{url}">', max_bytes=300_000)
    assert failure_reasons(result) == {url: "too large"}
    assert result.stats.bytes_downloaded <= 300_000 + 65_536  # stopped within one read


def test_declared_oversized_body_is_refused_before_reading(image_server, tmp_path):
    url = image_server.unique("/huge/photo.jpg")
    result = localise_html(image_server, tmp_path, f'<img src="{url}">')
    assert failure_reasons(result) == {url: "too large"}
    assert result.stats.bytes_downloaded == 0


def test_slow_trickle_ends_in_timeout(image_server, tmp_path):
    body = image_server.unique("/trickle/photo.jpg")
    headers = image_server.unique("/trickle-headers/photo.jpg")
    result = localise_html(image_server, tmp_path, f'<img src="{body}"><img src="{headers}">',
                           deadline=1.0)
    assert failure_reasons(result) == {body: "timeout", headers: "timeout"}
    assert image_server.count(image_server.path_of(body)) == 1  # a deadline is not retried


def test_redirects_are_followed_and_limited(image_server, tmp_path):
    target = image_server.url("/img/small.png")
    hop = image_server.unique(f"/redirect?to={target}")
    loop = image_server.url("/loop/0")
    result = localise_html(image_server, tmp_path, f'<img src="{hop}"><img src="{loop}">')
    assert failure_reasons(result) == {loop: "too many redirects"}
    assert image_server.count("/loop/5") == 1 and image_server.count("/loop/6") == 0
    assert "/images/" in result.docs[0].html.split("<img")[1]


def test_redirect_to_another_loopback_port_or_private_address_is_refused(
        image_server, other_server, tmp_path):
    targets = [other_server.url("/img/photo.jpg"), "http://10.0.0.7/a.jpg",
               "http://169.254.169.254/latest/meta-data/", "http://[::1]/a.jpg",
               f"http://localhost:{other_server.port}/img/photo.jpg"]
    urls = [image_server.unique(f"/redirect?to={target}") for target in targets]
    before = other_server.total()
    result = localise_html(image_server, tmp_path, "".join(f'<img src="{u}">' for u in urls))
    assert failure_reasons(result) == dict.fromkeys(urls, "blocked address")
    assert other_server.total() == before  # never connected to


def test_no_referer_is_sent_by_default_and_user_agent_is_configurable(image_server, tmp_path):
    url = image_server.unique("/no-referer/photo.jpg")
    result = localise_html(image_server, tmp_path, f'<img src="{url}">',
                           user_agent="archive-bot/2")
    assert result.failures == ()
    [headers] = image_server.headers_for(image_server.path_of(url))
    assert "referer" not in headers
    assert headers["user-agent"] == "archive-bot/2"
    assert headers["host"] == image_server.host


def test_per_host_headers_are_sent_to_that_host(image_server, tmp_path):
    url = image_server.unique("/needs-referer/small.png")
    refused = localise_html(image_server, tmp_path / "a", f'<img src="{url}">')
    assert failure_reasons(refused) == {url: "403"}
    result = localise_html(image_server, tmp_path / "b", f'<img src="{url}">',
                           headers={"127.0.0.1": {"Referer": "https://origin.example/"}})
    assert result.failures == ()


@pytest.mark.parametrize(("concurrency", "per_host", "bound"), [(8, 2, 2), (3, 8, 3)])
def test_downloads_are_bounded_overall_and_per_host(image_server, tmp_path, concurrency,
                                                     per_host, bound):
    image_server.max_in_flight = 0
    urls = [image_server.unique("/slow/small.png") for _ in range(8)]
    result = localise_html(image_server, tmp_path, "".join(f'<img src="{u}">' for u in urls),
                           concurrency=concurrency, per_host=per_host)
    assert result.failures == ()
    assert 1 < image_server.max_in_flight <= bound  # concurrent, within the limit


def test_chunked_transfer_encoding_is_read(image_server, tmp_path):
    url = image_server.unique("/chunked/photo.jpg")
    result = localise_html(image_server, tmp_path, f'<img src="{url}">')
    assert result.failures == ()


def test_connection_refused_is_retried_then_reported(image_server, tmp_path):
    import socket

    with socket.socket() as probe:  # a port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/a.jpg"
    result = localise_html(image_server, tmp_path, f'<img src="{url}">',
                           allow_hosts=(f"127.0.0.1:{port}",), retries=1)
    assert failure_reasons(result) == {url: "connection failed"}


def test_fetcher_counts_requests_and_bytes(image_server):
    fetcher = Fetcher(ImageSettings(allow_hosts=(image_server.host,), backoff=0.01))
    fetched = fetcher.fetch(image_server.unique("/img/small.png"))
    assert fetched.data == image_server.images["small.png"]
    assert fetcher.requests == 1 and fetcher.bytes_downloaded == len(fetched.data)
    try:
        fetcher.fetch(image_server.unique("/404/x"))
    except FetchError as exc:
        assert (exc.reason, exc.retryable) == ("404", False)
    else:
        raise AssertionError("a 404 must raise")

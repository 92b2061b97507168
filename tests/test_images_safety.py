"""SSRF safety: internal addresses are refused however the URL spells them."""
from __future__ import annotations

import ipaddress

import pytest
from imageserver import localise_html

from sitegen.images.safety import Refused, host_allowed, is_public, parse_target

pytest_plugins = ["conftest_images"]


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.9.10", "0.0.0.0", "10.1.2.3", "172.16.0.1", "192.168.1.1",
    "169.254.169.254", "100.64.0.1", "100.127.255.254", "224.0.0.1", "224.0.1.1",
    "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.2.1", "198.18.0.1",
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "ff0e::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::127.0.0.1", "2002:7f00:1::1",
    "64:ff9b::7f00:1", "64:ff9b::a00:1", "2001:db8::1",
])
def test_internal_addresses_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111",
                                     "2002:5db8:d822::1", "64:ff9b::808:808"])
def test_public_addresses_are_public(address):
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(("raw", "url"), [
    ("HTTP://Example.COM:80/a b.jpg?x=1&y=ü#frag", "http://example.com/a%20b.jpg?x=1&y=%C3%BC"),
    ("//cdn.example.com/x.png", "https://cdn.example.com/x.png"),
    ("https://user:secret@example.com/x.png", "https://example.com/x.png"),
    (" https://example.com:8443/x\n.png ", "https://example.com:8443/x.png"),
    ("https:\\\\example.com\\x.png", "https://example.com/x.png"),
    ("http://[::FFFF:127.0.0.1]/x", "http://[::ffff:7f00:1]/x"),
    ("http://bücher.example/x.png", "http://xn--bcher-kva.example/x.png"),
    ("http://example.com/%7Efoo/a%20b", "http://example.com/%7Efoo/a%20b"),
])
def test_urls_are_normalised(raw, url):
    assert parse_target(raw).url == url


@pytest.mark.parametrize("raw", ["http://", "ftp://example.com/x", "http://exa mple.com/x",
                                 "http://[::1/x", "http://example.com:99999/x",
                                 "javascript:alert(1)", "http://a..b/x"])
def test_malformed_urls_are_refused(raw):
    with pytest.raises(Refused) as info:
        parse_target(raw)
    assert info.value.reason == "invalid URL"


def test_allow_hosts_matches_host_or_host_and_port():
    target = parse_target("http://127.0.0.1:8080/x")
    assert host_allowed(target, ("127.0.0.1",))
    assert host_allowed(target, ("127.0.0.1:8080",))
    assert not host_allowed(target, ("127.0.0.1:8081",))
    assert not host_allowed(target, ("localhost:8080",))
    assert host_allowed(parse_target("http://[::1]:9/x"), ("[::1]:9",))


def test_every_spelling_of_loopback_is_refused_without_connecting(image_server, other_server,
                                                                  tmp_path):
    port = other_server.port
    spellings = [
        f"http://127.0.0.1:{port}/img/photo.jpg",
        f"HTTP://127.0.0.1:{port}/img/photo.jpg",
        f"//127.0.0.1:{port}/img/photo.jpg",
        f"http://localhost:{port}/img/photo.jpg",
        f"http://2130706433:{port}/img/photo.jpg",  # decimal
        f"http://0177.0.0.1:{port}/img/photo.jpg",  # octal
        f"http://0x7f.0.0.1:{port}/img/photo.jpg",  # hexadecimal
        f"http://127.1:{port}/img/photo.jpg",  # short form
        f"http://0.0.0.0:{port}/img/photo.jpg",
        f"http://[::1]:{port}/img/photo.jpg",
        f"http://[::ffff:127.0.0.1]:{port}/img/photo.jpg",
        f"http://{image_server.host}@127.0.0.1:{port}/img/photo.jpg",  # user@host
        f"http://127.0.0.1:{port}\\@{image_server.host}/img/photo.jpg",
    ]
    before = other_server.total()
    result = localise_html(image_server, tmp_path, "".join(f'<img src="{u}">' for u in spellings))
    reasons = {f.url: f.reason for f in result.failures}
    assert reasons == dict.fromkeys(spellings, "blocked address")
    assert other_server.total() == before
    assert result.docs[0].html.count('referrerpolicy="no-referrer"') == len(spellings)


def test_an_allowed_host_does_not_allow_other_ports(image_server, other_server, tmp_path):
    url = other_server.url("/img/photo.jpg")
    result = localise_html(image_server, tmp_path, f'<img src="{url}">',
                           allow_hosts=(f"127.0.0.1:{image_server.port}",))
    assert [f.reason for f in result.failures] == ["blocked address"]
    allowed = localise_html(image_server, tmp_path / "b", f'<img src="{url}">',
                            allow_hosts=("127.0.0.1",))  # the bare host allows every port
    assert allowed.failures == ()


def test_private_addresses_are_refused_before_any_connection(image_server, tmp_path):
    urls = ["http://10.255.255.1/a.jpg", "http://192.168.0.1/a.jpg", "http://[fe80::1]/a.jpg",
            "http://100.64.0.1/a.jpg", "http://169.254.169.254/latest/meta-data/"]
    result = localise_html(image_server, tmp_path, "".join(f'<img src="{u}">' for u in urls))
    assert {f.reason for f in result.failures} == {"blocked address"}
    assert result.stats.requests == 0

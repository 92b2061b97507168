"""`sitegen serve` pieces on their own: routing, types, Host rules, watching, events, overlay."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from sitegen.server.inject import inject, overlay_html, snippet
from sitegen.server.paths import BadPath, content_type, decode_segments, route
from sitegen.server.rebuild import event_for, public_text
from sitegen.server.reload import Clients, host_allowed, origin_allowed
from sitegen.server.state import RWLock
from sitegen.server.watcher import Debouncer, WatchPlan, is_editor_junk


@pytest.fixture
def out(tmp_path: Path) -> Path:
    out = tmp_path / "site" / "output"
    (out / "a" / "b").mkdir(parents=True)
    (out / "a" / "b" / "index.html").write_text("b")
    (out / "about.html").write_text("about")
    (out / "index.html").write_text("home")
    (tmp_path / "site" / "secret.txt").write_text("secret")
    return out


def test_route_files_folders_and_pretty_urls(out: Path) -> None:
    assert route("/", out, "/") == route("/index.html", out, "/")
    assert route("/a/b/", out, "/").file == (out / "a/b/index.html").resolve()
    assert route("/a/b?q=1", out, "/").location == "/a/b/?q=1"
    assert route("/about", out, "/").file == (out / "about.html").resolve()
    assert route("/about.html/", out, "/").status == 404
    assert route("/nope", out, "/").status == 404


def test_route_under_a_subpath(out: Path) -> None:
    assert route("/", out, "/blog/").status == 302
    assert route("/", out, "/blog/").location == "/blog/"
    assert route("/blog", out, "/blog/").location == "/blog/"
    assert route("/blog/a/b/", out, "/blog/").status == 200
    assert route("/a/b/", out, "/blog/").status == 404
    assert route("/", out, "/归档/").location == "/%E5%BD%92%E6%A1%A3/"
    assert route("/%E5%BD%92%E6%A1%A3/about", out, "/归档/").status == 200


@pytest.mark.parametrize("raw", ["/../x", "/a/../../x", "/%2e%2e/x", "/.%2E/x", "/a%2fb", "/a%5cb",
                                 "/a\\b", "//x", "/a//b", "/%00", "/a\x01", "relative", "/%ff",
                                 "/./x", "/%2e/x"])
def test_unsafe_paths_are_refused(raw: str) -> None:
    with pytest.raises(BadPath):
        decode_segments(raw)


def test_decoding_is_per_segment_and_utf8() -> None:
    assert decode_segments("/%E4%B8%AD/a%20b/") == ["中", "a b"]
    assert decode_segments("/%252e%252e/") == ["%2e%2e"]  # decoded once: a plain name


def test_symlink_out_of_the_tree_is_not_found(out: Path) -> None:
    (out / "out").symlink_to(out.parent, target_is_directory=True)
    assert route("/out/secret.txt", out, "/").status == 404


@pytest.mark.parametrize(("name", "expected"), [
    ("a.webp", "image/webp"), ("a.XML", "application/xml; charset=utf-8"),
    ("a.json", "application/json; charset=utf-8"), ("a.woff2", "font/woff2"),
    ("a.svg", "image/svg+xml; charset=utf-8"), ("a.js", "text/javascript; charset=utf-8"),
    ("a.css", "text/css; charset=utf-8"), ("a.avif", "image/avif"), ("a.ico", "image/x-icon"),
    ("a.html", "text/html; charset=utf-8"), ("README", "application/octet-stream"),
])
def test_content_types(name: str, expected: str) -> None:
    assert content_type(name) == expected


@pytest.mark.parametrize(("header", "bound", "ok"), [
    ("127.0.0.1:4000", "127.0.0.1", True), ("localhost:4000", "127.0.0.1", True),
    ("[::1]:4000", "127.0.0.1", True), ("app.localhost:4000", "127.0.0.1", True),
    ("evil.example:4000", "127.0.0.1", False), ("127.0.0.1:4001", "127.0.0.1", False),
    ("127.0.0.1", "127.0.0.1", False), (None, "127.0.0.1", False),
    ("192.168.1.5:4000", "0.0.0.0", True), ("192.168.1.5:4000", "127.0.0.1", False),
    ("evil.example:4000", "0.0.0.0", False), ("box.lan:4000", "box.lan", True),
])
def test_host_rule(header, bound: str, ok: bool) -> None:
    assert host_allowed(header, bound, 4000) is ok


def test_origin_rule() -> None:
    assert origin_allowed(None, "127.0.0.1", 4000)
    assert origin_allowed("http://localhost:4000", "127.0.0.1", 4000)
    assert not origin_allowed("http://evil.example", "127.0.0.1", 4000)
    assert not origin_allowed("null", "127.0.0.1", 4000)


@pytest.mark.parametrize("name", [".post.md.swp", "post.md~", "4913", "5036", ".#post.md",
                                  "#post.md#", "post.md.tmp", ".DS_Store", "x.kate-swp"])
def test_editor_junk(name: str) -> None:
    assert is_editor_junk(name)


@pytest.mark.parametrize("name", ["post.md", "site.css", "2024.md", ".nojekyll"])
def test_not_junk(name: str) -> None:
    assert not is_editor_junk(name)


def test_classify(tmp_path: Path) -> None:
    site = tmp_path
    plan = WatchPlan(site, site / "sitegen.toml", site / "content", site / "templates",
                     (site / "themes",), (site / "output", site / ".sitegen"))
    assert plan.classify(str(site / "sitegen.toml")) == "config"
    assert plan.classify(str(site / "_config.yml")) == "config"
    assert plan.classify(str(site / "content/_posts/a.md")) == "content"
    assert plan.classify(str(site / "content/2024"), is_dir=True) == "content"
    assert plan.classify(str(site / "themes/t/static/css/a.css")) == "style"
    assert plan.classify(str(site / "themes/t/templates/post.html")) == "theme"
    assert plan.classify(str(site / "templates/post.html")) == "theme"
    assert plan.classify(str(site / "templates"), is_dir=True) == "layout"
    assert plan.classify(str(site / "output/index.html")) is None
    assert plan.classify(str(site / ".sitegen/manifest.json")) is None
    assert plan.classify(str(site / "README.md")) is None
    assert plan.classify(str(site / "content/_posts/.a.md.swp")) is None


def test_debouncer_gathers_a_burst_into_one_batch() -> None:
    deb = Debouncer(quiet=0.2, max_wait=30)
    stop = threading.Event()
    got = []
    worker = threading.Thread(target=lambda: got.append(deb.next_batch(stop)))
    worker.start()
    for i in range(5):
        deb.add(f"/p{i}", "content")
        time.sleep(0.02)  # each gap is shorter than the quiet period
    worker.join(10)
    batch, _ = got[0]
    assert batch == {f"/p{i}": "content" for i in range(5)}
    stop.set()
    assert deb.next_batch(stop) is None


def test_events_for_a_good_build() -> None:
    changed = ["2024/a/index.html", "index.html", "atom.xml"]
    event = event_for(changed, "/blog/", False, "e2", False, False)
    assert event == {"type": "reload", "epoch": "e2",
                     "paths": ["/blog/2024/a/index.html", "/blog/index.html", "/blog/atom.xml"]}
    css = event_for(["css/site.1234567890.css", "index.html"], "/", True, "e3", False, False)
    assert css["type"] == "css" and css["paths"] == ["/css/site.1234567890.css"]
    assert event_for([], "/", False, "e", True, False) == {"type": "ok", "epoch": "e"}
    assert event_for([], "/", False, "e", False, False) is None
    assert event_for(["x.html"], "/", False, "e", False, True)["paths"] is None
    assert event_for(["img/a.png", "a.css"], "/", True, "e", False, False)["type"] == "reload"


def test_public_text_hides_absolute_paths(tmp_path: Path) -> None:
    hide = [(tmp_path / "site", ""), (Path.home(), "~")]
    text = f"{tmp_path}/site/sitegen.toml: bad; see {Path.home()}/x"
    assert public_text(text, hide) == "sitegen.toml: bad; see ~/x"


def test_overlay_escapes_messages() -> None:
    markup = overlay_html(['_posts/a.md:3: bad "<script>alert(1)</script>" & more'])
    assert "<script>" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in markup and "&amp; more" in markup


def test_inject_before_the_last_body_end() -> None:
    page = b"<html><body><pre></body></pre></BODY></html>"
    assert inject(page, b"X") == b"<html><body><pre></body></pre>X</BODY></html>"
    assert inject(b"<p>fragment", b"X") == b"<p>fragmentX"
    assert b'data-sitegen-status="404"' in snippet("e", 404, ())
    assert b"__sitegen_overlay" in snippet("e", 200, ("a:1: b",))


def test_rwlock_keeps_a_build_and_requests_apart() -> None:
    lock = RWLock()
    order: list[str] = []
    reading = threading.Event()
    release = threading.Event()

    def reader() -> None:
        with lock.read():
            reading.set()
            release.wait(10)
            order.append("read done")

    def writer() -> None:
        with lock.write():
            order.append("write")

    r = threading.Thread(target=reader)
    r.start()
    reading.wait(10)
    w = threading.Thread(target=writer)
    w.start()
    time.sleep(0.1)
    assert order == []  # the build waits for the request in flight
    release.set()
    r.join(10)
    w.join(10)
    assert order == ["read done", "write"]


def test_clients_get_every_event_and_close() -> None:
    clients = Clients()
    a, b = clients.connect(), clients.connect()
    assert clients.broadcast({"type": "ok", "epoch": "e"}) == 2
    assert a.get_nowait() == b.get_nowait() == b'data: {"type": "ok", "epoch": "e"}\n\n'
    clients.close()
    assert a.get_nowait() is None


def test_listening_on_every_interface_warns() -> None:
    from sitegen.server import host_warning

    assert "every device" in host_warning("0.0.0.0")
    assert host_warning("::") is not None
    assert host_warning("127.0.0.1") is None and host_warning("localhost") is None

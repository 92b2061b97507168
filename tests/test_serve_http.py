"""`sitegen serve` over real HTTP: a live server on 127.0.0.1, a raw SSE client, real edits."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_serve_support import REPO, WAIT, Preview, make_preview_site, post_text, write

SECRET = "TOP-SECRET-NEVER-SERVED"
POST = "/2024/01/01/first/"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_preview_site(tmp_path / "site")


@pytest.fixture
def preview(site: Path):
    with Preview(site) as running:
        yield running


# ---- path traversal -------------------------------------------------------------------------

TRAVERSALS = [
    "/../secret.txt", "/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
    "/.%2e/secret.txt", "/%2e./secret.txt", "/..%2fsecret.txt", "/%2e%2e%2fsecret.txt",
    "/..%2Fsecret.txt", "/..%5csecret.txt", "/..%5Csecret.txt", "/..\\secret.txt",
    "/css/..\\..\\secret.txt", "/css/%2e%2e/%2e%2e/secret.txt", "//secret.txt",
    "///secret.txt", "/css//../../secret.txt", "/%252e%252e/secret.txt", "/./../secret.txt",
    "/%00/../secret.txt", "/secret.txt%00.html", "/%c0%ae%c0%ae/secret.txt",
    "http://127.0.0.1/../secret.txt", "/escape/secret.txt", "/leak.txt", "/escape/",
]


def test_path_traversal_never_reads_outside_the_output(site: Path, preview: Preview) -> None:
    (site / "secret.txt").write_text(SECRET, encoding="utf-8")
    output = site / "output"
    (output / "escape").symlink_to(site, target_is_directory=True)  # a folder link out of the tree
    (output / "leak.txt").symlink_to(site / "secret.txt")  # a file link out of the tree
    for target in TRAVERSALS:
        status, _, body = preview.get(target)
        assert status in (400, 403, 404), (target, status)
        assert SECRET.encode() not in body, target
        assert b"[url]" not in body, target  # nor the config file next to the output
    status, _, body = preview.get("/sitegen.toml")
    assert status == 404


def test_a_symlink_inside_the_tree_is_served(site: Path, preview: Preview) -> None:
    (site / "output" / "alias.css").symlink_to(site / "output" / "css" / "site.css")
    status, _, body = preview.get("/alias.css")
    assert status == 200 and b"font-family" in body


# ---- pages, folders, 404 --------------------------------------------------------------------

def test_missing_page_gets_the_site_404_page_with_status_404(site: Path, preview: Preview) -> None:
    status, headers, body = preview.get("/no/such/page/")
    assert status == 404
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert b"Not found" in body and b"<header>" in body  # the theme's 404.html, not a stub
    assert str(site).encode() not in body and str(Path.home()).encode() not in body
    assert b"/__sitegen/client.js" in body  # reloads once the page exists


def test_without_a_404_page_a_plain_one_answers(site: Path, preview: Preview) -> None:
    (site / "output" / "404.html").unlink()
    status, _, body = preview.get("/nothing-here")
    assert status == 404 and b"Not found" in body and str(site).encode() not in body


def test_folder_serves_index_and_bare_folder_redirects(preview: Preview) -> None:
    status, headers, _ = preview.get(POST.rstrip("/") + "?x=1")
    assert status == 301 and headers["location"] == POST + "?x=1"
    status, headers, body = preview.get(POST)
    assert status == 200 and b"First post" in body
    assert headers["cache-control"] == "no-store"
    status, _, body = preview.get(POST + "index.html")
    assert status == 200 and b"First post" in body
    assert preview.get("/css/")[0] == 404  # a folder without index.html: no listing


def test_head_answers_headers_only(preview: Preview) -> None:
    status, headers, body = preview.get(POST, method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 0


def test_subpath_is_served_like_the_host_will(tmp_path: Path) -> None:
    site = make_preview_site(tmp_path / "site", url="http://example.com/archive")
    with Preview(site) as preview:
        assert preview.info.url.endswith("/archive/")
        status, headers, _ = preview.get("/")
        assert status == 302 and headers["location"] == "/archive/"
        status, headers, _ = preview.get("/archive")
        assert status == 301 and headers["location"] == "/archive/"
        body = preview.text("/archive/")
        assert 'href="/archive/2024/01/03/third/"' in body
        assert b"Third post" in preview.get("/archive/2024/01/03/third/")[2]
        status, _, body = preview.get("/2024/01/03/third/")  # outside the root: not the site
        assert status == 404 and b"<header>" in body


# ---- content types and names ----------------------------------------------------------------

TYPES = {
    "pic.webp": "image/webp", "pic.avif": "image/avif", "favicon.ico": "image/x-icon",
    "logo.svg": "image/svg+xml; charset=utf-8", "font.woff2": "font/woff2",
    "data.json": "application/json; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
    "notes.txt": "text/plain; charset=utf-8", "blob.bin": "application/octet-stream",
}


def test_content_types_declare_utf8_for_text(site: Path) -> None:
    for name in TYPES:
        (site / "content" / "files").mkdir(parents=True, exist_ok=True)
        (site / "content" / "files" / name).write_bytes(b"{}")
    with Preview(site) as preview:
        for name, expected in TYPES.items():
            status, headers, _ = preview.get(f"/files/{name}")
            assert (status, headers["content-type"]) == (200, expected), name
            assert headers["x-content-type-options"] == "nosniff"
        assert preview.get("/atom.xml")[1]["content-type"] == "application/xml; charset=utf-8"
        assert preview.get("/css/site.css")[1]["content-type"] == "text/css; charset=utf-8"
        assert preview.get(POST)[1]["content-type"] == "text/html; charset=utf-8"


def test_percent_encoded_cjk_path_resolves_to_the_utf8_file(site: Path) -> None:
    write(site / "content" / "资料" / "说明 文件.txt", "中文内容")
    with Preview(site) as preview:
        status, _, body = preview.get("/%E8%B5%84%E6%96%99/%E8%AF%B4%E6%98%8E%20%E6%96%87%E4%BB%B6.txt")
        assert status == 200 and body.decode("utf-8") == "中文内容"
        assert preview.get("/%E8%B5%84%E6%96%99/%FF.txt")[0] == 400  # not UTF-8


def test_etag_revalidation_and_ranges(preview: Preview) -> None:
    status, headers, body = preview.get("/css/site.css")
    assert status == 200 and headers["cache-control"] == "no-cache"
    assert preview.get("/css/site.css", {"If-None-Match": headers["etag"]})[0] == 304
    status, headers, part = preview.get("/css/site.css", {"Range": "bytes=0-3"})
    assert status == 206 and part == body[:4]
    assert headers["content-range"] == f"bytes 0-3/{len(body)}"
    assert preview.get("/css/site.css", {"Range": f"bytes={len(body) + 5}-"})[0] == 416


# ---- injection ------------------------------------------------------------------------------

def test_reload_script_only_in_served_html_never_on_disk(site: Path, preview: Preview) -> None:
    on_disk = (site / "output" / "2024/01/01/first/index.html").read_text(encoding="utf-8")
    assert "__sitegen" not in on_disk
    served = preview.text(POST)
    assert served.count('src="/__sitegen/client.js"') == 1
    assert served.index("/__sitegen/client.js") < served.rindex("</body>")
    assert "__sitegen" not in preview.text("/css/site.css")
    assert "__sitegen" not in preview.text("/atom.xml")
    status, headers, body = preview.get("/__sitegen/client.js")
    assert status == 200 and b"EventSource" in body
    assert headers["content-type"] == "text/javascript; charset=utf-8"


# ---- the live-reload endpoint ---------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}",
                                  "LOCALHOST:{port}"])
def test_event_stream_accepts_local_hosts(preview: Preview, host: str) -> None:
    stream = preview.events(host.format(port=preview.port))
    try:
        assert stream.status == 200
        assert stream.headers["content-type"] == "text/event-stream; charset=utf-8"
        hello = stream.next()
        assert hello["type"] == "hello" and hello["epoch"] and hello["problems"] == []
    finally:
        stream.close()


@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1:1",
                                  "127.0.0.1", "attacker.127.0.0.1.nip.io:{port}", ""])
def test_event_stream_refuses_foreign_hosts(preview: Preview, host: str) -> None:
    stream = preview.events(host.format(port=preview.port))
    try:
        assert stream.status == 403
    finally:
        stream.close()


def test_event_stream_refuses_a_foreign_origin(preview: Preview) -> None:
    from test_serve_support import EventStream

    host = f"127.0.0.1:{preview.port}"
    refused = EventStream(preview.port, host, origin="http://evil.example")
    allowed = EventStream(preview.port, host, origin=f"http://localhost:{preview.port}")
    try:
        assert refused.status == 403 and allowed.status == 200
    finally:
        refused.close()
        allowed.close()


# ---- rebuilds, events and the error overlay -------------------------------------------------

def test_edit_rebuilds_and_tells_pages_which_paths_changed(site: Path, preview: Preview) -> None:
    stream = preview.events()
    try:
        epoch = stream.next()["epoch"]
        write(site / "content/_posts/first.md", post_text("First post, edited", "2024-01-01 10:00:00"))
        event = stream.wait_for("reload")
        assert event["epoch"] != epoch
        assert "/2024/01/01/first/index.html" in event["paths"]
        assert "/2024/01/03/third/index.html" not in event["paths"]  # not a neighbour: no reload
        assert "First post, edited" in preview.text(POST)
    finally:
        stream.close()


def test_build_error_overlay_on_every_page_until_fixed(site: Path, preview: Preview) -> None:
    stream = preview.events()
    try:
        stream.next()
        write(site / "content/_posts/second.md", "---\ntitle: [unclosed <b>\n---\nBody\n")
        event = stream.wait_for("error")
        assert any(p.startswith("_posts/second.md:") for p in event["problems"])
        for path in (POST, "/", "/2024/01/02/second/", "/missing/"):
            body = preview.get(path)[2].decode("utf-8")
            assert 'id="__sitegen_overlay"' in body, path
            assert "_posts/second.md:" in body
            assert str(site) not in body and "<b>" not in body.split("__sitegen_overlay")[1]
        assert "__sitegen" not in (site / "output/index.html").read_text(encoding="utf-8")
        assert "__sitegen" not in preview.text("/css/site.css")
        late = preview.events()  # a page opened now learns of the error on connect
        assert late.next()["problems"] == event["problems"]
        late.close()
        write(site / "content/_posts/second.md", post_text("Second post", "2024-01-02 10:00:00"))
        stream.wait_for(("ok", "reload"))  # "ok" when the output is as before the error
        for path in (POST, "/"):
            assert "__sitegen_overlay" not in preview.text(path)
        errors = [line for line in preview.lines if line.startswith("error:")]
        assert len(errors) == 1 and "_posts/second.md:" in errors[0]
    finally:
        stream.close()


def test_the_terminal_shows_a_standing_error_once(site: Path, preview: Preview) -> None:
    stream = preview.events()
    try:
        stream.next()
        write(site / "content/_posts/second.md", "---\ntitle: [unclosed\n---\nBody\n")
        stream.wait_for("error")
        write(site / "content/_posts/third.md", post_text("Third, again", "2024-01-03 10:00:00"))
        stream.wait_for("error")  # still broken: the same error again
        for _ in range(3):
            preview.get(POST)
        assert len([line for line in preview.lines if line.startswith("error:")]) == 1
    finally:
        stream.close()


def test_css_only_change_sends_a_css_event(site: Path, preview: Preview) -> None:
    stream = preview.events()
    try:
        stream.next()
        css = site / "themes/minimal/static/css/site.css"
        css.write_text("body { color: rgb(1, 2, 3); }\n", encoding="utf-8")
        event = stream.wait_for("css")
        # The preview serves unfingerprinted names, so only the stylesheet itself changed.
        assert event["paths"] == ["/css/site.css"]
        assert "rgb(1, 2, 3)" in preview.text("/css/site.css")
    finally:
        stream.close()


def test_config_change_rebuilds_and_moves_the_root(site: Path, preview: Preview) -> None:
    stream = preview.events()
    try:
        stream.next()
        text = (site / "sitegen.toml").read_text(encoding="utf-8")
        (site / "sitegen.toml").write_text(text.replace("http://example.com", "http://example.com/blog")
                                           .replace('"Preview"', '"Renamed"'), encoding="utf-8")
        event = stream.wait_for("reload")
        assert event["paths"] is None
        assert "Renamed" in preview.text("/blog/")
        assert preview.get("/")[1]["location"] == "/blog/"
    finally:
        stream.close()


def test_broken_config_keeps_serving_with_the_error(site: Path, preview: Preview) -> None:
    stream = preview.events()
    try:
        stream.next()
        config = site / "sitegen.toml"
        good = config.read_text(encoding="utf-8")
        config.write_text(good + "per_page = [\n", encoding="utf-8")
        event = stream.wait_for("error")
        assert event["problems"][0].startswith("sitegen.toml")
        assert str(site) not in event["problems"][0]
        assert "__sitegen_overlay" in preview.text(POST)
        config.write_text(good, encoding="utf-8")
        stream.wait_for(("ok", "reload"))
    finally:
        stream.close()


def test_editor_junk_and_output_writes_do_not_rebuild(site: Path, preview: Preview) -> None:
    stream = preview.events()
    try:
        stream.next()
        posts = site / "content/_posts"
        for name in (".first.md.swp", "first.md~", "4913", ".#first.md", "#first.md#"):
            (posts / name).write_text("junk", encoding="utf-8")
        (site / "output" / "stray.html").write_text("x", encoding="utf-8")
        (site / ".sitegen" / "stray").write_text("x", encoding="utf-8")
        time.sleep(1.0)  # give a wrongly-watched write time to show up as a rebuild
        write(posts / "third.md", post_text("Third, edited", "2024-01-03 10:00:00"))
        stream.wait_for("reload")
        assert len([line for line in preview.lines if line.startswith("Rebuilt")]) == 1
    finally:
        stream.close()


def test_a_burst_of_writes_is_one_rebuild(site: Path, preview: Preview) -> None:
    stream = preview.events()
    try:
        stream.next()
        for i in range(30):  # like a `git checkout` writing many files at once
            write(site / f"content/_posts/burst-{i}.md", post_text(f"Burst {i}", "2023-05-05"))
        event = stream.wait_for("reload")
        assert sum(1 for p in event["paths"] if "/burst-" in p) == 30
        assert len([line for line in preview.lines if line.startswith("Rebuilt")]) == 1
    finally:
        stream.close()


def test_epoch_survives_a_restart_when_nothing_changed(site: Path) -> None:
    with Preview(site) as first:
        stream = first.events()
        before = stream.next()["epoch"]
        stream.close()
    with Preview(site) as again:
        stream = again.events()
        assert stream.next()["epoch"] == before  # an open page reconnects without reloading
        stream.close()
    write(site / "content/_posts/first.md", post_text("Changed while stopped", "2024-01-01"))
    with Preview(site) as third:
        stream = third.events()
        assert stream.next()["epoch"] != before  # ...but reloads once if it is stale
        stream.close()


# ---- lifecycle ------------------------------------------------------------------------------

def test_busy_port_moves_to_the_next_free_one(site: Path) -> None:
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        with Preview(site, port=port) as preview:
            assert preview.port != port and port < preview.port <= port + 20
            assert any(f"Port {port} is in use" in line for line in preview.lines)
    finally:
        busy.close()


def test_open_hands_the_url_to_the_browser(site: Path, monkeypatch) -> None:
    import threading
    import webbrowser

    opened: list[str] = []
    called = threading.Event()

    def fake_open(url: str) -> bool:  # stands in for the user's browser only
        opened.append(url)
        called.set()
        return True

    monkeypatch.setattr(webbrowser, "open", fake_open)
    with Preview(site, open_browser=True) as preview:
        assert called.wait(WAIT)
        assert opened == [preview.info.url]
        assert preview.get("/")[0] == 200


def test_ipv6_loopback(site: Path) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 here")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("::1 is not available")
    with Preview(site, host="::1") as preview:
        assert preview.info.url.startswith("http://[::1]:")
        conn = socket.create_connection(("::1", preview.port), timeout=WAIT)
        conn.sendall(f"GET /__sitegen/events HTTP/1.1\r\nHost: [::1]:{preview.port}\r\n\r\n".encode())
        assert conn.recv(64).startswith(b"HTTP/1.1 200")
        conn.close()


def test_config_error_at_start_exits_1_without_absolute_paths(tmp_path: Path) -> None:
    from sitegen.server import serve

    site = make_preview_site(tmp_path / "site")
    (site / "sitegen.toml").write_text("per_page = [\n", encoding="utf-8")
    lines: list[str] = []
    assert serve(site, port=0, images=False, log=lines.append) == 1
    assert lines and lines[0].startswith("error: sitegen.toml") and str(site) not in lines[0]


def test_ctrl_c_stops_cleanly_with_status_0(site: Path) -> None:
    code = ("import sys; from pathlib import Path; from sitegen.server import serve; "
            "sys.exit(serve(Path(sys.argv[1]), port=0, images=False, jobs=1, "
            "log=lambda m: print(m, flush=True)))")
    # A shell starts background commands with SIGINT ignored, and children inherit that.
    proc = subprocess.Popen([sys.executable, "-c", code, str(site)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)},
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if line.startswith("Serving"):
                break
        else:
            pytest.fail("the preview did not start")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=WAIT)
    finally:
        proc.kill()
    assert proc.returncode == 0
    assert "Traceback" not in err and "Traceback" not in out
    assert "Stopping." in out

"""`sitegen serve` end to end in a real browser: Playwright driving Debian's chromium."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from test_serve_support import Preview, make_preview_site, post_text, write

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
POST = "/2024/01/01/first/"
TIMEOUT_MS = 30_000  # how long to wait for the page to change (not a speed target)
TITLE = "document.querySelector('h1.post-title').textContent"


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists() or shutil.which(str(CHROMIUM)) is None:
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context()
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return make_preview_site(tmp_path / "site")


def wait_title(page, title: str) -> None:
    page.wait_for_function(f"{TITLE} === {title!r}")


def test_edit_error_fix_and_css_swap_live(site: Path, context) -> None:
    post = site / "content/_posts/first.md"
    with Preview(site) as preview:
        page = context.new_page()
        page.goto(preview.url(POST))  # 1. open a post
        assert page.text_content("h1.post-title") == "First post"

        write(post, post_text("A new title", "2024-01-01 10:00:00"))  # 2. edit its title
        wait_title(page, "A new title")

        post.write_text("---\ntitle: [broken\n---\nBody\n", encoding="utf-8")  # 3. break it
        overlay = page.wait_for_selector("#__sitegen_overlay")
        assert "_posts/first.md:" in overlay.text_content()
        fresh = context.new_page()  # a page loaded while the error stands shows it too
        fresh.goto(preview.url("/"))
        assert "_posts/first.md:" in fresh.text_content("#__sitegen_overlay")

        write(post, post_text("Fixed title", "2024-01-01 10:00:00"))  # 4. fix it
        page.wait_for_selector("#__sitegen_overlay", state="detached")
        wait_title(page, "Fixed title")
        fresh.wait_for_selector("#__sitegen_overlay", state="detached")

        page.evaluate("window.__marker = 1")  # 5. edit the CSS: restyled, not reloaded
        css = site / "themes/minimal/static/css/site.css"
        css.write_text("body { color: rgb(200, 0, 0); }\n", encoding="utf-8")
        page.wait_for_function("getComputedStyle(document.body).color === 'rgb(200, 0, 0)'")
        assert page.evaluate("window.__marker") == 1
        assert page.evaluate("document.querySelectorAll('link[rel=stylesheet]').length") == 1


def test_only_pages_whose_output_changed_reload(site: Path, context) -> None:
    with Preview(site) as preview:
        edited, unrelated = context.new_page(), context.new_page()
        edited.goto(preview.url(POST))
        unrelated.goto(preview.url("/2024/01/03/third/"))  # not a neighbour of the first post
        for page in (edited, unrelated):
            page.evaluate("window.__marker = 1")
        write(site / "content/_posts/first.md", post_text("Edited", "2024-01-01 10:00:00"))
        wait_title(edited, "Edited")
        assert edited.evaluate("window.__marker") is None  # reloaded
        assert unrelated.evaluate("window.__marker") == 1  # left alone, scroll and all


def test_many_tabs_share_one_stream_and_all_reload(site: Path, context) -> None:
    with Preview(site) as preview:
        pages = [context.new_page() for _ in range(8)]  # more than the 6 connections per host
        for page in pages:
            page.goto(preview.url(POST))
        write(site / "content/_posts/first.md", post_text("Everywhere", "2024-01-01 10:00:00"))
        for page in pages:
            wait_title(page, "Everywhere")


def test_page_reconnects_after_a_restart_and_reloads_if_stale(site: Path, context) -> None:
    preview = Preview(site)
    port = preview.port
    page = context.new_page()
    page.goto(preview.url(POST))
    page.evaluate("window.__marker = 1")
    preview.close()
    write(site / "content/_posts/first.md", post_text("Changed while down", "2024-01-01 10:00:00"))
    with Preview(site, port=port) as again:
        assert again.port == port
        wait_title(page, "Changed while down")
        assert page.evaluate("window.__marker") is None

"""The default theme in a real browser: Debian's chromium driven by Playwright.

The example site is built with the real pipeline and served from 127.0.0.1; any
request elsewhere is refused and counted as a failure. Screenshots land in a temp
folder whose path is printed (run with -s to see it).
"""
from __future__ import annotations

from urllib.parse import quote

import pytest
from browser import Watch, build_site, chromium, require_browser, serve, write_site

pytestmark = pytest.mark.browser

PAGES = {
    "home": "/",
    "post": "/2021/10/11/ai-chips/",
    "category": "/categories/" + quote("科技/芯片") + "/",
    "author": "/authors/" + quote("张三") + "/",
    "archive": "/archives/",
    "tags": "/tags/",
    "search": "/search/?q=" + quote("芯片"),
    "404": "/no/such/deep/page/",
}
LIGHT_BG = "rgb(251, 250, 247)"
DARK_BG = "rgb(22, 24, 29)"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_browser()
    from playwright.sync_api import sync_playwright

    out = build_site(write_site(tmp_path_factory.mktemp("browser") / "site"))
    shots = tmp_path_factory.mktemp("screenshots")
    print(f"\nscreenshots: {shots}")
    with serve(out) as base, sync_playwright() as pw, chromium(pw) as context:
        yield {"base": base, "context": context, "shots": shots}


def open_page(site, path: str, width: int, scheme: str = "light"):
    page = site["context"].new_page()
    page.set_viewport_size({"width": width, "height": 800})
    page.emulate_media(color_scheme=scheme)
    watch = Watch(site["base"])
    if path == PAGES["404"]:
        watch.expected_status.add(site["base"] + path)  # served by 404.html, with status 404
    watch.attach(page)
    response = page.goto(site["base"] + path, wait_until="networkidle")
    return page, watch, response


def load_all_images(page) -> list[str]:
    """Make lazy images load now, then return the ones that did not (naturalWidth 0)."""
    return page.evaluate("""async () => {
        const imgs = [...document.images];
        imgs.forEach(i => { i.loading = "eager"; });
        await Promise.all(imgs.map(i => i.decode().catch(() => null)));
        return imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.currentSrc || i.src);
    }""")


def background(page) -> str:
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


@pytest.mark.parametrize("width", [375, 1280])
@pytest.mark.parametrize("name", list(PAGES))
def test_page_loads_cleanly(site, name, width):
    page, watch, response = open_page(site, PAGES[name], width)
    try:
        assert response.status == (404 if name == "404" else 200)
        assert load_all_images(page) == []
        page.wait_for_load_state("networkidle")
        assert watch.problems() == []
        if width <= 375:
            overflow = page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"{name} overflows by {overflow}px at {width}px"
        assert page.locator("main#main").count() == 1
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        page.screenshot(path=str(site["shots"] / f"{name}-{width}.png"), full_page=True)
    finally:
        page.close()


@pytest.mark.parametrize("name", ["home", "post", "404"])
def test_dark_mode_follows_the_system(site, name):
    page, watch, _ = open_page(site, PAGES[name], 375, scheme="dark")
    try:
        assert background(page) == DARK_BG
        assert watch.problems() == []
        page.screenshot(path=str(site["shots"] / f"{name}-375-dark.png"), full_page=True)
    finally:
        page.close()
    page, _, _ = open_page(site, PAGES[name], 375, scheme="light")
    try:
        assert background(page) == LIGHT_BG
    finally:
        page.close()


def test_theme_toggle_is_remembered_across_pages(site):
    page, watch, _ = open_page(site, PAGES["home"], 1280)
    try:
        toggle = page.locator("button.theme-toggle")
        assert toggle.is_visible() and toggle.get_attribute("aria-pressed") == "false"
        toggle.click()
        assert background(page) == DARK_BG
        assert toggle.get_attribute("aria-pressed") == "true"
        # Another page starts dark: the choice is applied in <head>, before first paint.
        page.goto(site["base"] + PAGES["post"], wait_until="domcontentloaded")
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        assert background(page) == DARK_BG
        # Choosing what the system prefers forgets the choice, so the system rules again.
        page.locator("button.theme-toggle").click()
        assert background(page) == LIGHT_BG
        assert page.evaluate("localStorage.getItem('theme')") is None
        assert watch.problems() == []
    finally:
        page.evaluate("localStorage.clear()")
        page.close()


def test_light_choice_overrides_a_dark_system(site):
    page, _, _ = open_page(site, PAGES["post"], 375, scheme="dark")
    try:
        page.locator("button.theme-toggle").click()
        assert background(page) == LIGHT_BG
        page.reload(wait_until="networkidle")
        assert background(page) == LIGHT_BG
    finally:
        page.evaluate("localStorage.clear()")
        page.close()


def search_titles(page) -> list[str]:
    return page.locator("#search-results h2").all_inner_texts()


def wait_for_titles(page, titles: list[str]) -> None:
    """Wait until the results are exactly `titles` (search runs after a short debounce)."""
    page.wait_for_function(
        "want => JSON.stringify([...document.querySelectorAll('#search-results h2')]"
        ".map(h => h.textContent)) === JSON.stringify(want)", arg=titles)


def test_search_finds_posts_from_chinese_queries(site):
    page, watch, _ = open_page(site, PAGES["search"], 375)
    try:
        page.wait_for_selector("#search-results li")
        assert search_titles(page) == ["资本纷纷涌入，AI芯片落地难", "昆仑芯片正式量产"]
        assert "2" in page.locator("#search-status").inner_text()
        assert page.locator("#search-results mark").first.inner_text() == "芯片"
        box = page.locator("#search-input")
        # A phrase found only in an excerpt, not in any title.
        box.fill("神经拟态")
        wait_for_titles(page, ["资本纷纷涌入，AI芯片落地难"])
        # Every space-separated word must match; full-width spaces count as spaces.
        box.fill("芯片\u3000量产")
        wait_for_titles(page, ["昆仑芯片正式量产"])
        assert "q=" in page.url
        box.fill("不存在的词语")
        wait_for_titles(page, [])
        assert page.locator("#search-status").inner_text() == "没有找到相关文章。"
        assert watch.problems() == []
    finally:
        page.close()


def test_404_search_box_leads_to_results(site):
    page, watch, _ = open_page(site, PAGES["404"], 375)
    try:
        page.fill("#search-input", "一杯茶")
        page.press("#search-input", "Enter")
        page.wait_for_selector("#search-results li")
        assert search_titles(page) == ["一杯茶的时间"]
        assert watch.problems() == []
    finally:
        page.close()


def test_table_of_contents_is_a_sidebar_on_wide_screens_only(site):
    wide, _, _ = open_page(site, PAGES["post"], 1280)
    narrow, _, _ = open_page(site, PAGES["post"], 375)
    try:
        assert wide.evaluate("document.getElementById('toc').open") is True
        toc = wide.locator(".toc-side").bounding_box()
        body = wide.locator(".prose").bounding_box()
        assert toc["x"] >= body["x"] + body["width"]  # beside the text, not over it
        assert narrow.evaluate("document.getElementById('toc').open") is False
    finally:
        wide.close()
        narrow.close()


def test_skip_link_appears_on_keyboard_focus(site):
    page, _, _ = open_page(site, PAGES["post"], 375)
    try:
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        assert page.locator(".skip-link").bounding_box()["y"] >= 0
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
    finally:
        page.close()


"""Helpers for browser tests: a local static server and Debian's chromium via Playwright.

Tests call `require_browser()` first; it skips with a reason when chromium or the
Playwright package is missing (the Playwright browser download is not used).
"""
from __future__ import annotations

import contextlib
import functools
import http.server
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    if Path(CHROMIUM).is_file():
        return CHROMIUM
    return shutil.which("chromium")


def require_browser() -> None:
    """Skip the calling test, with the reason, when no browser can be driven."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("the playwright Python package is not installed")
    if chromium_path() is None:
        pytest.skip(f"chromium is not installed ({CHROMIUM} missing; .ci/run installs it with apt-get)")


# --- a static server like GitHub Pages: files as they are, 404.html for anything missing --
class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep test output quiet
        pass

    def send_error(self, code, message=None, explain=None):
        page = Path(self.directory) / "404.html"
        if code != 404 or not page.is_file():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 in a thread; yields the base URL ("http://127.0.0.1:N")."""
    handler = functools.partial(_Handler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def chromium(playwright) -> Iterator:
    """A headless chromium with a fresh, empty profile; yields its browser context."""
    with tempfile.TemporaryDirectory(prefix="sitegen-chromium-") as profile:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS,
        )
        try:
            yield context
        finally:
            context.close()


@dataclass
class Watch:
    """Everything that went wrong while a page loaded: console errors, failed or
    non-local requests, HTTP errors. `expected_status` lists URLs allowed to fail."""

    base: str
    console: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    expected_status: set[str] = field(default_factory=set)

    def attach(self, page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.console.append(f"page error: {exc}"))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        page.on("response", self._response)
        # Anything not served by the local server is an external request: refuse it.
        page.route("**/*", self._route)

    def _route(self, route) -> None:
        url = route.request.url
        if url.startswith((self.base + "/", "data:", "blob:")) or url == self.base:
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def _console(self, msg) -> None:
        if msg.type != "error":
            return
        # The 404 page itself arrives with status 404, which chromium reports on the console.
        location = (msg.location or {}).get("url", "")
        if "404" in msg.text and location in self.expected_status:
            return
        self.console.append(f"{msg.text} at {location}")

    def _response(self, response) -> None:
        if response.status >= 400 and response.url not in self.expected_status:
            self.failed.append(f"{response.url} (HTTP {response.status})")

    def problems(self) -> list[str]:
        return ([f"console: {c}" for c in self.console] + [f"failed: {f}" for f in self.failed]
                + [f"external request: {e}" for e in self.external])


# --- the example site the theme tests build ------------------------------------------------
SITE_TOML = """\
theme = "default"

[site]
title = "纸上档案"
subtitle = "科技与生活的长文存档"
description = "一个用来检验默认主题的中文示例站点。"
author = "编辑部"
language = "{language}"
timezone = "Asia/Shanghai"

[url]
url = "http://127.0.0.1"
permalink = ":year/:month/:day/:title/"

[pagination]
per_page = 3

[menu]
"{home}" = ""
"{archives}" = "archives/"
"{categories}" = "categories/"
"{about}" = "about/"
"{search}" = "search/"
"""

LONG_BODY = """\
<p style="text-indent: 2em; text-align: left;">最近，英特尔推出了第二代神经拟态芯片，并且采用新的工艺制造。这一段落保留了原文的首行缩进样式，主题不能覆盖它。</p>

![芯片示意图](/images/figure.png)

## 资本的涌入

<p style="text-indent: 2em;">2017 年左右掀起了一轮新的 AI 热潮，学界开始了又一轮研究。超长的网址也不能撑破页面：https://example.invalid/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb</p>

### 融资记录

| 公司 | 金额 | 说明 |
| --- | --- | --- |
| 甲公司 | 47 亿元 | 一笔非常长的说明文字，用来检验窄屏幕上的表格是否会撑破页面宽度 |
| 乙公司 | 53.5 亿元 | 单笔最高 |

## 落地之难

```python
def chip(name: str) -> str:
    # 注释也要有颜色
    return name + " 芯片" * 2
```

> 引用：算力决定上限，生态决定下限。

## 结语

MORE
"""


def _png(path: Path, size: tuple[int, int], colour: tuple[int, int, int]) -> None:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.3, h * 0.2, w * 0.7, h * 0.8), fill=(255, 255, 255))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def write_site(root: Path, language: str = "zh-CN") -> Path:
    """A small Chinese archive: hierarchical categories, three authors, tags, local images,
    a long post with headings, a table and code; per_page = 3 so listings paginate."""
    zh = language.startswith("zh")
    names = dict(zip(("home", "archives", "categories", "about", "search"),
                     ("首页", "归档", "分类", "关于", "搜索") if zh else
                     ("Home", "Archives", "Categories", "About", "Search"), strict=True))
    about = names["about"]
    root.mkdir(parents=True, exist_ok=True)
    (root / "sitegen.toml").write_text(SITE_TOML.format(language=language, **names),
                                       encoding="utf-8")
    content = root / "content"
    _png(content / "images" / "head.png", (1200, 600), (177, 67, 42))
    _png(content / "images" / "thumb.png", (480, 320), (40, 110, 150))
    _png(content / "images" / "figure.png", (900, 500), (90, 130, 60))
    posts = [
        ("ai-chips", "资本纷纷涌入，AI芯片落地难", "2021-10-11 15:53:00", ["科技", "芯片"], "张三",
         ["芯片", "投资"], "/images/head.png", LONG_BODY.replace("MORE", "神经拟态计算仍在路上。")),
        ("kunlun", "昆仑芯片正式量产", "2021-10-02 09:00:00", ["科技", "芯片"], "李四",
         ["芯片"], "/images/thumb.png", "<p>公布即量产，可以看出对于昆仑芯片的自信。</p>\n"),
        ("open-source", "开源软件的十年", "2021-09-20 20:30:00", ["科技", "软件"], "张三",
         ["开源", "软件"], None, "开源软件改变了协作方式。\n\n<!-- more -->\n\n更多内容。\n"),
        ("tea", "一杯茶的时间", "2021-08-08 08:08:00", ["生活"], "王五",
         ["随笔"], "/images/thumb.png", "泡一杯茶，读一篇长文。\n"),
        ("rain", "夏天的雨", "2020-07-15 18:00:00", ["生活"], "王五",
         ["随笔", "天气"], None, "雨下了一整个下午。\n"),
        ("english", "Reading long articles on small screens", "2020-06-01 12:00:00",
         ["Technology"], "Alice", ["reading"], None,
         "A post in English, so mixed-language archives look right too.\n"),
        ("winter", "冬至", "2019-12-22 07:00:00", ["生活"], "李四", ["节气"], None,
         "冬至大如年。\n"),
    ]
    for slug, title, date, cats, author, tags, image, body in posts:
        front = [f"title: '{title}'", f"date: {date}", "categories:"]
        front += [f"  - {c}" for c in cats]
        front += [f"author: {author}", "tags:"] + [f"  - {t}" for t in tags]
        if image:
            front += [f"headimg: '{image}'", f"thumbnail: '{image}'"]
        path = content / "_posts" / f"{slug}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\n" + "\n".join(front) + "\n---\n\n" + body, encoding="utf-8")
    (content / "about").mkdir(parents=True, exist_ok=True)
    (content / "about" / "index.md").write_text(
        f"---\ntitle: {about}\n---\n\n这个站点用来展示 sitegen 的默认主题。\n", encoding="utf-8")
    return root


def build_site(root: Path) -> Path:
    """Build with the real pipeline (no image localisation: every image is local already)."""
    from sitegen.build import BuildOptions, build

    result = build(root, BuildOptions(images=False, jobs=1))
    return result.config.output_dir

"""`sitegen check`: verify a built output folder offline.

Every internal href/src/srcset must name a file in the output (as GitHub
Pages would serve it under the site's base path), every #anchor must exist,
XML files at the root must be well-formed, and no <img> may still point at a
remote host unless the caller says that image could not be localised.
"""
from __future__ import annotations

import json
import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import NamedTuple
from urllib.parse import quote, unquote, urljoin, urlsplit
from xml.parsers import expat

_HTML = (".html", ".htm")
_PARALLEL_FROM = 500  # pages; below this, starting processes costs more than it saves
_PLACEHOLDER_ORIGIN = "http://sitegen.invalid"  # stands in when the base has no host
_IGNORED_SCHEMES = ("mailto", "tel", "javascript", "data", "sms", "irc", "ftp", "about", "blob")
# Which attributes hold URLs on which elements.
_URL_ATTRS = {
    "href": {"a", "link", "area", "use", "image"},
    "src": {"img", "script", "iframe", "source", "video", "audio", "embed", "track", "input"},
    "srcset": {"img", "source"},
    "poster": {"video"},
}


@dataclass(frozen=True)
class CheckProblem:
    page: str  # output-relative path of the file that holds the problem
    message: str
    line: int = 0

    def __str__(self) -> str:
        where = f"{self.page}:{self.line}" if self.line else self.page
        return f"{where}: {self.message}"


# Internal records are NamedTuples: pages cross process boundaries, and
# dataclasses pickle several times slower.
class _Link(NamedTuple):
    tag: str
    attr: str
    url: str
    line: int


class _Page(NamedTuple):
    ids: frozenset[str]
    links: tuple[_Link, ...]
    base_href: str | None


@dataclass(frozen=True)
class _Site:
    root: Path
    files: frozenset[str]  # "/"-separated paths relative to root
    dirs: frozenset[str]
    origin: str  # scheme://host that internal absolute URLs carry
    base: str  # "/" or "/archive/"


def check_output(
    output_dir: Path,
    base_path: str = "/",
    allowed_remote: Iterable[str] = (),
    *,
    jobs: int | None = None,
) -> list[CheckProblem]:
    """Every problem in output_dir, in page order; empty when the output is sound.

    base_path is the site's root path ("/archive/") or its full URL
    ("https://user.github.io/archive/"); with a full URL, absolute links to
    that host are checked too. allowed_remote lists remote image URLs that
    the image stage reported as impossible to download. jobs: processes that
    parse HTML (None: one per CPU for large sites).
    """
    site = _scan(Path(output_dir), base_path)
    names = sorted(p for p in site.files if p.endswith(_HTML))
    pages = dict(zip(names, _parse_all([site.root / p for p in names], jobs), strict=True))
    allowed = frozenset(allowed_remote)
    problems: list[CheckProblem] = []
    cache: dict[tuple[str, str], str | None] = {}
    for path, page in pages.items():
        problems.extend(_check_page(site, pages, path, page, allowed, cache))
    problems.extend(_check_data_files(site))
    return problems


def _scan(root: Path, base_path: str) -> _Site:
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no built output to check; build the site first")
    files, dirs = set(), set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root).as_posix()
        prefix = "" if rel == "." else rel + "/"
        dirs.update(prefix + d for d in dirnames)
        files.update(prefix + f for f in filenames)
    parts = urlsplit(base_path)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    base = "/" + unquote(parts.path).strip("/") + "/"
    return _Site(root, frozenset(files), frozenset(dirs), origin or _PLACEHOLDER_ORIGIN,
                 base.replace("//", "/"))


class _PageParser(HTMLParser):
    """Collects the ids (and <a name>s) and the URL-bearing attributes of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[_Link] = []
        self.base_href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (name == "name" and tag == "a"):
                self.ids.add(value)
            elif name in _URL_ATTRS and tag in _URL_ATTRS[name]:
                self.links.append(_Link(tag, name, value.strip(), line))
            elif name == "xlink:href" and tag in ("use", "image"):
                self.links.append(_Link(tag, "href", value.strip(), line))
        if tag == "base" and self.base_href is None:
            self.base_href = dict(attrs).get("href")


def _parse_all(paths: list[Path], jobs: int | None) -> list[_Page]:
    """Parse every page; html.parser is pure Python, so big sites use all CPUs."""
    if jobs is None:
        jobs = (os.cpu_count() or 1) if len(paths) >= _PARALLEL_FROM else 1
    if jobs <= 1:
        return [_parse_page(p) for p in paths]
    # spawn: the caller may have threads (watchers, servers) that fork would copy.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        return list(pool.map(_parse_page, paths, chunksize=max(1, len(paths) // (jobs * 8))))


def _parse_page(path: Path) -> _Page:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    parser.close()
    return _Page(frozenset(parser.ids), tuple(parser.links), parser.base_href)


def _check_page(
    site: _Site,
    pages: dict[str, _Page],
    path: str,
    page: _Page,
    allowed: frozenset[str],
    cache: dict[tuple[str, str], str | None],
) -> list[CheckProblem]:
    page_url = site.origin + quote(site.base + path)
    if page.base_href:
        page_url = urljoin(page_url, page.base_href)
    found: dict[str, CheckProblem] = {}  # one report per distinct message and page
    for link in page.links:
        kind = _kind(link)
        for url in _srcset_urls(link.url) if link.attr == "srcset" else [link.url]:
            if url.startswith("#") and kind == "href":
                message = _check_fragment(page.ids, url, url[1:])
            elif page.base_href is None and _page_independent(url):
                # Theme links (nav, assets) repeat on every page: resolve them once.
                key = (kind, url)
                if key not in cache:
                    cache[key] = _check_url(site, pages, page_url, kind, url, allowed)
                message = cache[key]
            else:
                message = _check_url(site, pages, page_url, kind, url, allowed)
            if message and message not in found:
                found[message] = CheckProblem(path, message, link.line)
    return list(found.values())


def _kind(link: _Link) -> str:
    """What is checked for a link: "img" may not be remote, "href" may carry an anchor."""
    if (link.tag, link.attr) in (("img", "src"), ("img", "srcset"), ("source", "srcset")):
        return "img"
    return "href" if link.attr == "href" else "other"


def _page_independent(url: str) -> bool:
    return (url.startswith("/") and not url.startswith("//")) or ":" in url.split("/", 1)[0]


def _check_url(
    site: _Site,
    pages: dict[str, _Page],
    page_url: str,
    kind: str,
    url: str,
    allowed: frozenset[str],
) -> str | None:
    if url in ("", "#"):
        return None
    scheme = urlsplit(url).scheme.lower()
    if scheme in _IGNORED_SCHEMES:
        return None
    parts = urlsplit(urljoin(page_url, url))
    if parts.scheme not in ("http", "https"):
        return None  # an unknown scheme (app links and the like)
    if f"{parts.scheme}://{parts.netloc}" != site.origin:
        if kind == "img" and url not in allowed:
            return f"remote image not localised: {url}"
        return None  # another site: not ours to check offline
    target = _resolve(site, unquote(parts.path))
    if target is None:
        return f"broken link {url!r}: no such file in the output"
    if target == "":
        if urlsplit(url).netloc:
            return None  # a full URL to a sibling site on the same host
        return f"link {url!r} leaves the site's base path {site.base}"
    if kind == "href" and parts.fragment and target.endswith(_HTML):
        return _check_fragment(pages[target].ids, url, parts.fragment)
    return None


def _check_fragment(ids: frozenset[str], url: str, raw: str) -> str | None:
    fragment = unquote(raw)
    if not fragment or fragment in ids or raw in ids or _special(fragment):
        return None
    return f"missing anchor {url!r}: no element with id {fragment!r}"


def _resolve(site: _Site, url_path: str) -> str | None:
    """The output file a URL path serves; "" outside the base; None when missing."""
    if url_path + "/" == site.base:
        url_path = site.base
    if not url_path.startswith(site.base):
        return ""
    rel = url_path[len(site.base):]
    candidates = [rel + "index.html"] if rel == "" or rel.endswith("/") else [
        rel,
        rel + "/index.html",  # Pages redirects /a to /a/
        rel + ".html",  # Pages serves /a from a.html
    ]
    for candidate in candidates:
        if candidate in site.files:
            return candidate
    return None


def _special(fragment: str) -> bool:
    # "#top" scrolls to the top without an element; text fragments need none.
    return fragment.lower() == "top" or fragment.startswith(":~:")


def _srcset_urls(srcset: str) -> list[str]:
    """The URLs of a srcset attribute (HTML's candidate-list syntax)."""
    urls, i, n = [], 0, len(srcset)
    while i < n:
        while i < n and (srcset[i].isspace() or srcset[i] == ","):
            i += 1
        start = i
        while i < n and not srcset[i].isspace():
            i += 1
        url = srcset[start:i]
        if url.endswith(","):
            urls.append(url.rstrip(","))
            continue
        if url:
            urls.append(url)
        depth = 0  # skip the descriptor, up to the next comma outside parentheses
        while i < n and (srcset[i] != "," or depth):
            depth += {"(": 1, ")": -1}.get(srcset[i], 0)
            i += 1
    return urls


def _check_data_files(site: _Site) -> list[CheckProblem]:
    """Root XML files (feeds, sitemap) must be well-formed; search.json valid JSON."""
    problems = []
    for name in sorted(f for f in site.files if "/" not in f and f.endswith(".xml")):
        error, locs = _read_xml(site.root / name)
        if error:
            problems.append(error)
            continue
        if name == "sitemap.xml":
            problems.extend(_check_sitemap(site, locs))
    if "search.json" in site.files:
        try:
            json.loads((site.root / "search.json").read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(CheckProblem("search.json", f"not valid JSON: {exc}"))
    return problems


def _read_xml(path: Path) -> tuple[CheckProblem | None, list[tuple[str, int]]]:
    """Parse with expat, refusing DTD entities; return the sitemap <loc>s seen."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    locs: list[tuple[str, int]] = []
    text: list[str] = []

    def refuse_entity(name: str, *_: object) -> None:
        raise ValueError(f"declares the entity {name!r}; entities are not allowed")

    def start(tag: str, _attrs: dict[str, str]) -> None:
        text.clear()

    def end(tag: str) -> None:
        if tag.rsplit(":", 1)[-1] == "loc":
            locs.append(("".join(text).strip(), parser.CurrentLineNumber))

    parser.EntityDeclHandler = refuse_entity
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text.append
    try:
        with path.open("rb") as fh:
            parser.ParseFile(fh)
    except expat.ExpatError as exc:
        return CheckProblem(path.name, f"not well-formed XML: {exc}", exc.lineno), []
    except ValueError as exc:
        return CheckProblem(path.name, str(exc), parser.CurrentLineNumber), []
    return None, locs


def _check_sitemap(site: _Site, locs: list[tuple[str, int]]) -> list[CheckProblem]:
    """Sitemap entries are the site's own URLs: each must carry the base and exist."""
    problems = []
    for loc, line in locs:
        parts = urlsplit(loc)
        known_host = site.origin != _PLACEHOLDER_ORIGIN
        if known_host and f"{parts.scheme}://{parts.netloc}" != site.origin:
            message = f"entry {loc!r} is not on {site.origin}"
            problems.append(CheckProblem("sitemap.xml", message, line))
            continue
        target = _resolve(site, unquote(parts.path))
        if target == "":
            problems.append(
                CheckProblem("sitemap.xml", f"entry {loc!r} leaves the base path {site.base}", line)
            )
        elif target is None:
            problems.append(CheckProblem("sitemap.xml", f"entry {loc!r}: no such page", line))
    return problems

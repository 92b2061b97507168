"""Parse one source file into a Document and its rendered body.

This is the per-file stage: it reads nothing but its own file, so it runs in
parallel and its result is cached by the file's content hash.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sitegen.errors import Problem, SourceError
from sitegen.frontmatter import parse_front_matter, read_source_bytes
from sitegen.hexo.dates import parse_date
from sitegen.hexo.permalink import date_from_filename, parse_post_filename
from sitegen.hexo.refs import has_refs, linked_posts
from sitegen.hexo.taxonomy import normalise_categories, normalise_tags
from sitegen.html_body import render_html_body
from sitegen.model import Document
from sitegen.parse_settings import ParseSettings
from sitegen.sanitize import sanitize_html
from sitegen.sources import SourceFile, post_rel
from sitegen.text import plain_text, summarise, word_count

# Front-matter fields that name images (Hexo themes use all of these).
IMAGE_FIELDS = ("headimg", "thumbnail", "cover", "banner", "photos", "photo", "image", "top_img")


@dataclass(frozen=True)
class Body:
    html: str
    excerpt_html: str | None


@dataclass(frozen=True)
class Parsed:
    doc: Document | None
    body: Body | None
    problems: tuple[Problem, ...]


def source_digest(data: bytes, settings: ParseSettings) -> str:
    """Hash of a file's UTF-8 bytes (without BOM) and the settings."""
    h = hashlib.sha256(data)
    h.update(settings.fingerprint.encode())
    return h.hexdigest()[:32]


def parse_file(src: SourceFile, settings: ParseSettings, last: Document | None = None) -> Parsed:
    """Parse one post or page; every problem is returned, never raised. `last`:
    the file's document from the last build (same settings, no problems, its
    body still stored); if the body text is the same, its rendering is reused
    and the returned body is None."""
    problems: list[Problem] = []

    def warn(line: int, message: str) -> None:
        problems.append(Problem(src.rel, line, message, "warning"))

    try:
        doc, body = _parse(src, settings, warn, last)
    except SourceError as exc:
        return Parsed(None, None, (*problems, exc.problem))
    return Parsed(doc, body, tuple(problems))


def _body_key(body_text: str, is_markdown: bool, settings: ParseSettings) -> str:
    """A body's own key: the front matter around it can change and keep it."""
    blob = f"{int(is_markdown)}|{settings.fingerprint}|{body_text}".encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def _parse(src: SourceFile, settings: ParseSettings, warn,
           last: Document | None) -> tuple[Document, Body | None]:
    raw, text = read_source_bytes(src.file, src.rel, src.size)
    fm = parse_front_matter(text, src.rel)
    data = fm.data
    line_of = _key_lines(text, fm.body_line)
    is_post = src.kind in ("post", "draft")

    info = parse_post_filename(settings.new_post_name, post_rel(src.rel)) if is_post else {}
    date_value = data.get("date")
    mtime = datetime.fromtimestamp(src.mtime_ns / 1e9, tz=UTC).astimezone(settings.tz)
    when = _date(date_value, settings.tz, src.rel, lambda: line_of("date")) if date_value else None
    if when is None and (day := date_from_filename(info)) is not None:
        when = datetime(day.year, day.month, day.day, tzinfo=settings.tz)  # Hexo: midnight
    when = when or mtime
    updated = (_date(data.get("updated"), settings.tz, src.rel, lambda: line_of("updated"))
               if data.get("updated") else None)
    if updated is None:
        updated = when if settings.updated_option == "date" else mtime

    categories = normalise_categories(data.get("categories", data.get("category")))
    tags = normalise_tags(data.get("tags", data.get("tag")))
    if not is_post:
        categories, tags = (), ()
    title = data.get("title")
    title = "" if title is None else str(title)

    digest = source_digest(raw, settings)
    if when is mtime or updated is mtime:  # the file's time shows, so it is part of its identity
        digest = hashlib.sha1(f"{digest}|{src.mtime_ns}".encode()).hexdigest()[:32]
    # Tag plugins can read other files and warn by line: such bodies are always
    # rendered again, and stored under the file's digest.
    plain = "{%" not in fm.body
    body_key = _body_key(fm.body, src.is_markdown, settings) if plain else digest
    if plain and last is not None and last.body_key == body_key:
        body, shown = None, _shown_body(last)
    else:
        body, shown = _render_body(src, fm, settings, warn, body_key)
    published = data.get("published", src.kind != "draft")
    doc = Document(
        kind="post" if is_post else "page",
        source=src.rel,
        title=title,
        date=when,
        updated=updated,
        slug=str(info.get("title", "")),
        categories=categories,
        tags=tags,
        author=_author(data.get("author"), settings.author),
        permalink=_permalink(data.get("permalink")),
        layout=_layout(data.get("layout")),
        published=published is not False,
        draft=src.kind == "draft",
        sticky=_int(data.get("sticky", data.get("top", 0))),
        comments=data.get("comments", True) is not False,
        lang=str(data["lang"]) if data.get("lang") else None,
        front=json_safe(data),
        images={k: json_safe(data[k]) for k in IMAGE_FIELDS if data.get(k)},
        digest=digest,
        body_line=fm.body_line,
        **shown,
    )
    return doc, body


_SHOWN = ("body_key", "summary", "excerpt_html", "toc", "words", "refs", "links")  # made from the body


def _shown_body(last: Document) -> dict[str, Any]:
    return {name: getattr(last, name) for name in _SHOWN}


def _render_body(src: SourceFile, fm, settings: ParseSettings, warn,
                 body_key: str) -> tuple[Body, dict[str, Any]]:
    """The body as HTML, and the document fields made from it."""
    body_text = fm.body
    is_markdown = src.is_markdown
    if "{%" in body_text:
        from sitegen.hexo.tags import TagContext, expand_tags  # loads markdown-it

        body_text = expand_tags(body_text, TagContext(src.rel, fm.body_line, warn),
                                markdown=is_markdown)
    if is_markdown:
        from sitegen.markdown import render_markdown

        rendered = render_markdown(body_text)
    else:
        rendered = render_html_body(body_text)
    html, excerpt = rendered.html, rendered.excerpt_html
    if settings.sanitize:
        html = sanitize_html(html, settings.iframe_hosts)
        excerpt = sanitize_html(excerpt, settings.iframe_hosts) if excerpt else excerpt
    text_of_body = plain_text(html)  # once: it feeds both the summary and the word count
    return Body(html, excerpt), {
        "body_key": body_key,
        "summary": summarise(plain_text(excerpt) if excerpt else text_of_body,
                             settings.excerpt_length),
        "excerpt_html": excerpt, "toc": rendered.toc, "words": word_count(text_of_body),
        "refs": has_refs(html), "links": linked_posts(html),
    }


def _date(value: Any, tz, path: str, line: Callable[[], int]) -> datetime:
    try:
        return parse_date(value, tz)
    except (ValueError, TypeError, OverflowError) as exc:
        # The key's line is looked up only now: scanning the front matter costs on every file.
        raise SourceError(path, line(), f"cannot read the date {value!s:.60}: {exc}") from None


def _author(value: Any, default: str) -> str:
    if isinstance(value, dict):  # some themes use author: {name: ..., link: ...}
        value = value.get("name")
    return str(value).strip() if value else default


def _permalink(value: Any) -> str | None:
    return str(value).strip() if value else None


def _layout(value: Any) -> str | None:
    if value is False:
        return "false"
    return str(value) if value else None


def _int(value: Any) -> int:
    if value is True:
        return 1
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _key_lines(text: str, body_line: int):
    """Find the file line of a top-level front-matter key, for error messages."""

    def line_of(key: str) -> int:
        head = text.split("\n", body_line - 1)[: body_line - 1] if body_line > 1 else []
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*:")
        for i, line in enumerate(head, start=1):
            if pattern.match(line):
                return i
        return 1

    return line_of


def json_safe(value: Any) -> Any:
    """Front matter for templates and search.json: dates become ISO strings."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)

"""parse_file: one source file to a Document, its digest and body."""
from __future__ import annotations

import hashlib
import os
from datetime import UTC

from sitegen.documents import parse_file
from sitegen.frontmatter import read_source, read_source_bytes
from sitegen.parse_settings import ParseSettings
from sitegen.sources import SourceFile

SETTINGS = ParseSettings(tz=UTC, author="A", new_post_name=":title.md", excerpt_length=140,
                         sanitize=False, iframe_hosts=(), updated_option="mtime",
                         fingerprint="f")


def _source(path, rel="_posts/p.md", size=None) -> SourceFile:
    st = os.stat(path)
    return SourceFile("post", rel, path, st.st_mtime_ns, st.st_size if size is None else size)


def test_digest_is_the_hash_of_the_text_without_bom(tmp_path):
    text = "---\ntitle: 标题\ndate: 2021-01-02\nupdated: 2021-01-03\n---\n<div>\n<p>正文</p>\n</div>\n"
    plain, bom = tmp_path / "a.md", tmp_path / "b.md"
    plain.write_bytes(text.encode())
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    want = hashlib.sha256(text.encode())
    want.update(b"f")
    for path in (plain, bom):
        doc = parse_file(_source(path), SETTINGS).doc
        assert doc.digest == want.hexdigest()[:32]
        assert doc.title == "标题"


def _fields(doc) -> dict:
    return {name: getattr(doc, name) for name in (*doc.__dataclass_fields__,)}


def test_a_body_is_keyed_by_its_own_text(tmp_path):
    """Front matter can change around a body and keep its key; with tag plugins
    (which can read other files) the key is the file's digest."""
    def parsed(name: str, front: str, body: str):
        path = tmp_path / name
        path.write_text(f"---\n{front}\n---\n{body}", encoding="utf-8")
        return parse_file(_source(path, rel=f"_posts/{name}"), SETTINGS).doc

    first = parsed("a.md", "title: 一\ndate: 2021-01-02", "<div><p>同一个正文</p></div>\n")
    second = parsed("b.md", "title: 二\ndate: 2022-03-04\ntags: [x]", "<div><p>同一个正文</p></div>\n")
    other = parsed("c.md", "title: 一\ndate: 2021-01-02", "<div><p>另一个正文</p></div>\n")
    assert first.body_key == second.body_key != other.body_key
    assert first.digest != second.digest
    tagged = parsed("d.md", "title: 一\ndate: 2021-01-02", "{% raw %}x{% endraw %}\n")
    assert tagged.body_key == tagged.digest
    html = parsed("e.html", "title: 一", "<p>同一个正文</p>\n")
    md = parsed("e.md", "title: 一", "<p>同一个正文</p>\n")
    assert html.body_key != md.body_key  # rendered by different renderers


def test_a_front_matter_edit_reuses_the_last_rendering(tmp_path):
    """Given the file's last document, an unchanged body is not rendered again,
    and the document is the one a fresh parse gives."""
    path = tmp_path / "p.md"
    body = "# 标题\n\n正文，**粗体**。\n\n<!-- more -->\n\n更多 [链接](/x/)。\n"
    path.write_text(f"---\ntitle: 旧\ntags: [a]\n---\n{body}", encoding="utf-8")
    last = parse_file(_source(path), SETTINGS).doc
    path.write_text(f"---\ntitle: 新\ncategories: [c]\ntags: [a, b]\n---\n{body}", encoding="utf-8")
    reused = parse_file(_source(path), SETTINGS, last)
    fresh = parse_file(_source(path), SETTINGS)
    assert reused.body is None and fresh.body is not None
    assert _fields(reused.doc) == _fields(fresh.doc)
    assert reused.doc.title == "新" and reused.doc.body_line == last.body_line + 1
    path.write_text(f"---\ntitle: 新\n---\n{body}改动。\n", encoding="utf-8")
    assert parse_file(_source(path), SETTINGS, last).body is not None  # a new body is rendered


def test_digest_of_an_undated_document_follows_its_file_time(tmp_path):
    """Its date shows the file's time, so caches keyed by the digest must see it change."""
    path = tmp_path / "a.md"
    path.write_text("---\ntitle: x\n---\nbody\n", encoding="utf-8")
    first = parse_file(_source(path), SETTINGS).doc
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    second = parse_file(_source(path), SETTINGS).doc
    assert second.date != first.date
    assert second.digest != first.digest


def test_a_stale_size_still_reads_the_whole_file(tmp_path):
    path = tmp_path / "a.md"
    text = "---\ntitle: x\n---\n" + "正文" * 50_000
    path.write_text(text, encoding="utf-8")
    size = len(text.encode())
    for hint in (0, 1, size - 1, size, size + 10, -1):
        assert read_source_bytes(path, "a.md", hint) == (text.encode(), text)
    assert read_source(path, "a.md") == text
    assert parse_file(_source(path, size=5), SETTINGS).doc.words == 100_000


def test_a_cached_document_unpacks_every_field_as_it_was(tmp_path):
    """The doc cache keeps most fields packed until first read: every field must
    read back as parsed, fields with defaults included, and evolve must work on
    a packed document for kept and packed fields alike."""
    import pickle

    path = tmp_path / "p.md"
    path.write_text("---\ntitle: 标题\ndate: 2021-01-02 03:04:05\ntags: [a, b]\n"
                    "categories: [[x, y]]\nsticky: 3\nauthor: 某人\nlayout: page\n---\n"
                    "# 一\n\n正文 {% post_link other %}\n\n## 二\n", encoding="utf-8")
    doc = parse_file(_source(path), SETTINGS).doc
    assert doc.toc and doc.links == ("other",) and doc.words and doc.summary
    again = pickle.loads(pickle.dumps(doc, pickle.HIGHEST_PROTOCOL))
    assert "_rest" in again.__dict__ and "title" not in again.__dict__  # packed
    assert again.date == doc.date and again.sticky == 3  # kept outside: no unpack
    assert "_rest" in again.__dict__
    assert _fields(again) == _fields(doc)
    packed = pickle.loads(pickle.dumps(doc, pickle.HIGHEST_PROTOCOL))
    changed = packed.evolve(title="新", digest="d", toc=())
    assert (changed.title, changed.digest, changed.toc) == ("新", "d", ())
    assert changed.tags == doc.tags and changed.front == doc.front
    kept_only = pickle.loads(pickle.dumps(doc, pickle.HIGHEST_PROTOCOL)).evolve(digest="e")
    assert "_rest" in kept_only.__dict__  # still packed
    assert _fields(kept_only) == {**_fields(doc), "digest": "e"}
    twice = pickle.loads(pickle.dumps(again, pickle.HIGHEST_PROTOCOL))  # re-pickled once unpacked
    assert _fields(twice) == _fields(doc)

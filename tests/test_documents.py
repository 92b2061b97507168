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
        assert doc.digest == doc.body_key == want.hexdigest()[:32]
        assert doc.title == "标题"


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

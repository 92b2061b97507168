"""Hexo compatibility, measured against what real Hexo 8.1.2 generated.

Builds ../shared/hexo-unit-test (Hexo's theme test corpus) as an existing Hexo
folder and checks every URL in expected/urls.txt, and each post's date,
categories, tags and path in expected/posts.json. Skips when ../shared is absent.
"""
from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from urllib.parse import unquote

import pytest
from conftest import SHARED

from sitegen.build import BuildOptions, build

CORPUS = SHARED / "hexo-unit-test"
pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="../shared/hexo-unit-test is absent")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("hexo") / "blog"
    shutil.copytree(CORPUS, site, ignore=shutil.ignore_patterns("expected"))
    build(site, BuildOptions(jobs=1, images=False))
    return site


def expected_posts() -> list[dict]:
    path = CORPUS / "expected" / "posts.json"
    if not path.is_file():  # parametrize runs at collection, before the skip mark applies
        return []
    return json.loads(path.read_text())["posts"]


def test_every_hexo_url_is_generated(built: Path):
    public = built / "public"
    expected = (CORPUS / "expected" / "urls.txt").read_text(encoding="utf-8").split()
    missing = [u for u in expected if not (public / u).is_file()]
    assert not missing, f"{len(missing)} of {len(expected)} Hexo URLs missing: {missing}"


@pytest.mark.parametrize("post", expected_posts(), ids=lambda p: p["source"])
def test_post_metadata_matches_hexo(built: Path, post: dict):
    search = json.loads((built / "public" / "search.json").read_text(encoding="utf-8"))
    by_url = {unquote(item["url"]): item for item in search}
    item = by_url.get("/" + post["path"])
    assert item is not None, f"{post['source']} not at /{post['path']}"
    assert datetime.fromisoformat(item["date"]) == datetime.fromisoformat(post["date"])
    assert item["date"] == post["date"]  # same wall time and offset, not only the instant
    assert item["title"] == post["title"]
    page = (built / "public" / post["path"] / "index.html").read_text(encoding="utf-8")
    for cat in post["categories"]:
        assert (built / "public" / cat / "index.html").is_file()
        assert post["title"] in (built / "public" / cat / "index.html").read_text(encoding="utf-8")
    for tag in post["tags"]:
        assert post["title"] in (built / "public" / tag / "index.html").read_text(encoding="utf-8")
    expected_names = [c.rstrip("/").rsplit("/", 1)[-1] for c in post["categories"]]
    assert sorted(item["categories"]) == sorted(expected_names)
    assert sorted(item["tags"]) == sorted(t.rstrip("/").rsplit("/", 1)[-1] for t in post["tags"])
    assert ('id="more"' in page) == post["has_excerpt"]

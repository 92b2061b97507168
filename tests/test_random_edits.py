"""Seeded random series of edits, each rebuilt incrementally and compared with a
build from scratch: output bytes and page keys must be the same after every step.

The hand-written series in test_snapshot.py cover each way a rebuild can go; this
one mixes edits the way people make them (several at once, links between posts,
terms spelled two ways, the theme and settings), on a site with enough pages that
rendering uses worker processes."""
from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest
from test_incremental import tree
from test_snapshot import cold_copy, manifest_inputs

from sitegen.build import BuildOptions, build

REPO = Path(__file__).resolve().parents[1]
CATEGORIES = ["新媒体", "科技", "财经", "生活", "AI", "ai"]
TAGS = ["t1", "T1", "t 1", "go", "Go", "新", "c++"]
AUTHORS = ["甲", "乙", "Bob", "bob", None]


class RandomSite:
    def __init__(self, site, rnd: random.Random):
        self.site, self.rnd, self.names = site, rnd, []

    def front(self, n: int) -> dict[str, str]:
        r = self.rnd
        front = {"title": f"'文章 {n}'"}
        roll = r.random()
        if roll < 0.1:
            front["date"] = f"2999-01-0{r.randint(1, 9)} 00:00:00"
        elif roll > 0.2:  # else no date: the file's time
            front["date"] = f"20{r.randint(19, 23)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d} 08:00:00"
        if r.random() < 0.8:
            front["categories"] = self.categories()
        if r.random() < 0.7:
            front["tags"] = self.tags()
        if author := r.choice(AUTHORS):
            front["author"] = author
        if r.random() < 0.1:
            front["sticky"] = str(r.randint(1, 2))
        return front

    def categories(self) -> str:
        r = self.rnd
        if r.random() < 0.3:
            return f"[[{r.choice(CATEGORIES)}, {r.choice(CATEGORIES)}], [{r.choice(CATEGORIES)}]]"
        return "[" + ", ".join(r.sample(CATEGORIES, r.randint(1, 2))) + "]"

    def tags(self) -> str:
        return "[" + ", ".join(f"'{t}'" for t in self.rnd.sample(TAGS, self.rnd.randint(1, 3))) + "]"

    def body(self, n: int) -> str:
        r = self.rnd
        body = f"<div><p>正文 {n} {r.randint(0, 9)}</p></div>\n"
        if self.names and r.random() < 0.2:
            body += f"{{% post_link {r.choice(self.names)} %}}\n"
        return body + ("<!-- more -->\n<p>更多</p>\n" if r.random() < 0.3 else "")

    def write(self, name: str, front: dict[str, str], body: str) -> None:
        self.site.post(f"{name}.md", "\n".join(f"{k}: {v}" for k, v in front.items()), body)

    def add(self) -> str:
        n = len(self.names)
        name = f"p{n:03d}"
        self.write(name, self.front(n), self.body(n))
        self.names.append(name)
        return f"add {name}"

    def live(self) -> list[str]:
        return [n for n in self.names if (self.site.source / "_posts" / f"{n}.md").exists()]

    def read(self, name: str) -> tuple[dict[str, str], str]:
        text = (self.site.source / "_posts" / f"{name}.md").read_text(encoding="utf-8")
        head, body = text[4:].split("\n---\n", 1)
        return dict(line.split(": ", 1) for line in head.splitlines()), body.lstrip("\n")

    def change(self, name: str, key: str, value: str | None) -> str:
        front, body = self.read(name)
        if value is None:
            front.pop(key, None)
        else:
            front[key] = value
        self.write(name, front, body)
        return f"{key} of {name}"

    def edit(self) -> str:
        r = self.rnd
        name = r.choice(self.live())
        kind = r.choice(["title", "title", "body", "date", "date", "categories", "tags", "author",
                         "sticky", "published", "add", "remove", "theme", "link"])
        n = int(name[1:])
        if kind == "title":
            return self.change(name, "title", r.choice([f"'标题 {r.randint(0, 99)}'", f"'{r.choice(self.names)}'"]))
        if kind == "body":
            self.write(name, self.read(name)[0], self.body(n))
            return f"body of {name}"
        if kind == "date":
            return self.change(name, "date", r.choice([
                None, f"2021-10-{r.randint(10, 28)} 07:{r.randint(10, 59)}:00",
                f"20{r.randint(19, 23)}-{r.randint(1, 12):02d}-01 08:00:00"]))
        if kind == "categories":
            return self.change(name, "categories", r.choice([None, self.categories()]))
        if kind == "tags":
            return self.change(name, "tags", r.choice([None, self.tags()]))
        if kind == "author":
            return self.change(name, "author", r.choice(AUTHORS))
        if kind == "sticky":
            return self.change(name, "sticky", r.choice([None, "1", "3"]))
        if kind == "published":
            return self.change(name, "published", r.choice([None, "false"]))
        if kind == "add":
            return self.add()
        if kind == "remove" and len(self.live()) > 20:
            (self.site.source / "_posts" / f"{name}.md").unlink()
            return f"remove {name}"
        if kind == "theme":
            macros = self.site.root / "themes" / "default" / "templates" / "partials" / "macros.html"
            text = macros.read_text(encoding="utf-8")
            flipped = re.sub(r'<article class="card( x)?', lambda m: '<article class="card' +
                             ("" if m.group(1) else " x"), text, count=1)
            macros.write_text(flipped, encoding="utf-8")
            return "card template"
        self.site.write("about/index.md", f"---\ntitle: About\n---\n{{% post_link {r.choice(self.names)} %}}\n")
        return "page's link"


@pytest.mark.parametrize("seed", [7, 11])
def test_random_edits_rebuild_as_a_cold_build(make_site, tmp_path, seed):
    site = make_site(theme="default", config=(
        'theme = "default"\n[site]\ntitle = "R"\ntimezone = "Asia/Shanghai"\n'
        '[url]\nurl = "https://example.com/blog"\n[pagination]\nper_page = 2\n'))
    shutil.copytree(REPO / "themes" / "default", site.root / "themes" / "default")  # edited below
    rnd = random.Random(seed)
    random_site = RandomSite(site, rnd)
    for _ in range(50):
        random_site.add()
    site.write("about/index.md", "---\ntitle: About\n---\nHello\n")
    site.build(jobs=2)
    seen = set()
    for step in range(14):
        what = [random_site.edit() for _ in range(rnd.choice([1, 1, 2, 3]))]
        seen.add(site.build(jobs=2).model)
        cold = cold_copy(site, tmp_path, step)
        build(cold, BuildOptions(jobs=1, images=False))
        assert tree(site.output) == tree(cold / "output"), (step, what)
        assert manifest_inputs(site.root) == manifest_inputs(cold), (step, what)
        shutil.rmtree(cold)
    assert {"patched", "reordered"} <= seen  # the series went through the incremental paths

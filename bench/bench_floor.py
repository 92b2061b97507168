"""The least work a Python pipeline on sitegen's stack does per post, for scale.

Read the file, split off the front matter, load it with PyYAML's C loader,
render the body with markdown-it, fill one small Jinja template, write one
file. No listings, no caches, no sanitising, one process (one core). sitegen's
cold build does all of this and much more; this shows what no Python build on
these libraries can go below.

    python bench/bench_floor.py --posts 10000 [--corpus shared|own]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import jinja2
import yaml
from markdown_it import MarkdownIt
from markupsafe import Markup

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_build import generate  # noqa: E402

PAGE = ("<!doctype html><html><head><meta charset=utf-8><title>{{ title }}</title></head>"
        "<body><h1>{{ title }}</h1><p>{{ date }}</p>{{ body }}</body></html>")


def run(sources: list[Path], out: Path) -> float:
    md = MarkdownIt("commonmark", {"html": True})
    template = jinja2.Environment(autoescape=True).from_string(PAGE)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    start = time.perf_counter()
    for i, source in enumerate(sources):
        _, front, body = source.read_text(encoding="utf-8").split("---", 2)
        meta = yaml.load(front, Loader=loader) or {}
        page = template.render(title=meta.get("title"), date=str(meta.get("date")),
                               body=Markup(md.render(body)))
        folder = out / str(i)
        folder.mkdir()
        (folder / "index.html").write_text(page, encoding="utf-8")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=10000)
    parser.add_argument("--corpus", choices=["shared", "own"], default="shared")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sitegen-floor-") as tmp:
        site = Path(tmp) / "archive"
        generate(site, args.posts, args.corpus)
        sources = sorted((site / "source" / "_posts").glob("*.md"))
        times = []
        for n in range(args.repeat):
            out = Path(tmp) / f"out{n}"
            out.mkdir()
            os.sync()
            times.append(run(sources, out))
        per_post = sorted(t / len(sources) * 1000 for t in times)
        print(f"{len(sources)} posts, one core: "
              f"{', '.join(f'{ms:.3f}' for ms in per_post)} ms per post (each run, sorted)")


if __name__ == "__main__":
    main()

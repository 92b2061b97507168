"""Build benchmark: cold build, no-change rebuild, one edit, one added post; peak RSS.

    python bench/bench_build.py                 # 1k and 10k posts
    python bench/bench_build.py --sizes 100000  # on demand
    python bench/bench_build.py --corpus shared # use ../shared/corpus/make_archive.py
    python bench/bench_build.py --edit-kinds    # also: one edit of each kind (body, title,
                                                # category, tag, author, date, date+1h)

Each build runs `sitegen build --no-images` in a child process, so wall time and
peak RSS (of the build and all its workers) are what a user sees. Cold builds
and each kind of rebuild run --repeat times (3): the table shows the median,
the lines after it every run and the cold builds' CPU time (user + system),
steadier than wall time on a shared machine. Between cold builds what the last
one made is moved aside, so each starts from nothing. When `hugo` or `hexo` is
on PATH, they build the same archive in the same run and the ratios are
printed: compare ratios within one run, not seconds across machines. For Hexo
the benchmark installs Hexo 8 and what `hexo init` adds (generators,
renderers, the landscape theme) with npm into its temporary folder, then times
`hexo generate` once cold and once with nothing changed; `--hexo-heap MB`
raises Node's heap, which 10,000 posts outgrow. Hugo runs twice: with small
layouts (a post page and plain lists), and with the layouts in
bench/hugo_parity, which build the pages sitegen's default theme builds
(cards, pagination, term and date archives, one feed).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
SHARED_GENERATOR = HERE.parent.parent / "shared" / "corpus" / "make_archive.py"


class Run(NamedTuple):
    wall: float  # seconds
    rss: float  # peak MB of the command and the children it waited for
    cpu: float  # user + system seconds of the same processes


def run_timed(cmd: list[str], cwd: Path | None = None, env: dict | None = None,
              check: bool = True) -> Run | None:
    """Run a command (None if it failed and not `check`). Its CPU time leaves out the
    child `sitegen build` leaves to save the snapshot (it outlives the command; the
    next build waits for it)."""
    # Flush what earlier runs left for the kernel to write (a cold build leaves
    # hundreds of MB), so each run pays for its own disk work only.
    os.sync()
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # a fresh child, so RUSAGE_CHILDREN covers this build only
        if cwd:
            os.chdir(cwd)
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        os.execvpe(cmd[0], cmd, {**os.environ, **(env or {})})
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        if not check:
            return None
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return Run(wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime)


def sitegen(site: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "sitegen", "--site", str(site), "build", "--no-images", *extra]


def generate(out: Path, posts: int, corpus: str) -> None:
    if corpus == "shared" and SHARED_GENERATOR.is_file():
        subprocess.run([sys.executable, str(SHARED_GENERATOR), "--posts", str(posts), "--out", str(out)],
                       check=True, stdout=subprocess.DEVNULL)
    else:
        sys.path.insert(0, str(HERE))
        from corpus import make_archive

        make_archive(out, posts)


def edit_one(site: Path, n: int = 0) -> None:
    """Change the title of a post in the middle of the archive (the n-th try takes
    another post): its page, its neighbours' and the listings showing it change."""
    posts = sorted((site / "source" / "_posts").glob("*.md"))
    target = posts[(len(posts) // 2 + 7 * n) % len(posts)]  # tiny archives wrap round
    text = target.read_text(encoding="utf-8")
    target.write_text(text.replace("title: '", "title: '改 ", 1), encoding="utf-8")


def add_one(site: Path, n: int = 0) -> None:
    """A new newest post (both corpora end before 2025): every page of the home
    listing and the archive shifts."""
    (site / "source" / "_posts" / f"zz-new-post-{n}.md").write_text(
        f"---\ntitle: 新增文章 {n}\ndate: 2025-01-{n % 28 + 1:02d} 12:00:00\ncategories: [新媒体, 新增]\n"
        "tags: [新]\nauthor: 基准\n---\n\n<div><p>新的一篇。</p></div>\n", encoding="utf-8")


# One edit of each kind to one post, as a user makes it. Body and title edits keep
# the post's place in every list; the others change which lists show it, or where.
EDIT_KINDS = {
    "body": (r"</p>", "改动{n}。</p>"),
    "title": (r"^title: '", "title: '改{n} "),
    "category": (r"^ - ", " - 新类{n} "),
    "tag": (r"^comments: ", "tags: [新标签{n}]\ncomments: "),
    "author": (r"^author: .*$", "author: 新作者{n}"),
    "date": (r"^date: .*$", "date: 2021-10-1{n} 07:53:00"),
}


def _hour_later(text: str, n: int) -> str:
    """The post's date n + 1 hours later: a date corrected, which moves it a place or two."""
    when = _post_date(text) + timedelta(hours=n + 1)
    shown = format_datetime(when, usegmt=True) if when.tzinfo else f"{when:%Y-%m-%d %H:%M:%S}"
    return _DATE_LINE.sub(f"date: {shown}", text, count=1)


EDIT_KINDS["date+1h"] = _hour_later  # a function of (text, try) where a pattern will not do


def edit_kinds(site: Path, extra: list[str], repeat: int) -> dict[str, tuple[float, list[float]]]:
    """Per kind, (median, every run) of a build after that edit to a mid-archive post;
    the post is restored and the site rebuilt (untimed) after each run."""
    posts = sorted((site / "source" / "_posts").glob("*.md"))
    post = posts[len(posts) // 3]  # not one edit_one changed
    original = post.read_text(encoding="utf-8")
    found = {}
    try:
        for kind, edit in EDIT_KINDS.items():
            walls = []
            for n in range(repeat):
                text = edit(original, n) if callable(edit) else re.sub(
                    edit[0], edit[1].format(n=n), original, count=1, flags=re.M)
                if text == original:
                    raise SystemExit(f"edit {kind!r} does not apply to {post.name}")
                post.write_text(text, encoding="utf-8")
                walls.append(run_timed(sitegen(site, *extra)).wall)
                post.write_text(original, encoding="utf-8")
                run_timed(sitegen(site, *extra))
            found[kind] = (_median(walls), walls)
    finally:
        post.write_text(original, encoding="utf-8")
    return found


class Summary(NamedTuple):
    wall: float  # median
    rss: float  # highest
    walls: list[float]  # every run, in order
    cpu: float  # median


def median_of(runs: list[Run]) -> Summary:
    """What repeated runs of one command come to."""
    return Summary(_median([r.wall for r in runs]), max(r.rss for r in runs),
                   [r.wall for r in runs], _median([r.cpu for r in runs]))


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def cold_runs(run: Callable[[], Run], made: list[Path], aside: Path, repeat: int,
              settle: Callable[[], None] = lambda: None) -> list[Run]:
    """`run()` `repeat` times, each from nothing: before each next run, once
    `settle()` returns, the folders in `made` are moved into `aside`. Renamed, not
    deleted: a build started right after tens of thousands of files were deleted
    pays for the deletion (see bench_size); `aside` goes with the run's folder."""
    runs = []
    for n in range(repeat):
        if n:
            settle()
            aside.mkdir(exist_ok=True)
            for path in made:
                if path.exists():
                    path.rename(aside / f"{path.parent.name}-{path.name}-{n}")
        runs.append(run())
    return runs


def _snapshot_saved(site: Path) -> None:
    """Wait for the child a cold `sitegen build` leaves saving its snapshot: it holds
    the build lock, and moving its folder away would let the next build run beside it."""
    from sitegen.site_lock import site_lock  # the benchmark runs the installed sitegen

    with site_lock(site / ".sitegen"):
        pass


def bench_size(posts: int, corpus: str, workdir: Path, jobs: str | None, repeat: int,
               kinds: bool = False, hexo: HexoSetup | None = None) -> dict:
    # Each size in a folder of its own, all removed when the run ends: ext4 without a
    # journal skips inodes freed in the last minutes, so a build started right after
    # the last size's 40k files were deleted paid for that deletion (tens of seconds
    # of kernel time at 100k posts; see the README).
    workdir = workdir / str(posts)
    site = workdir / "archive"
    generate(site, posts, corpus)
    extra = ["--jobs", jobs] if jobs else []
    row = {"posts": posts}
    cold = cold_runs(lambda: run_timed(sitegen(site, *extra)), [site / "public", site / ".sitegen"],
                     workdir / "aside", repeat, lambda: _snapshot_saved(site))
    row["cold"], row["rss_cold"], row["cold_all"], row["cpu"] = median_of(cold)
    row["nochange"], _, row["nochange_all"], _ = median_of(
        [run_timed(sitegen(site, *extra)) for _ in range(repeat)])
    edits = []
    for n in range(repeat):
        edit_one(site, n)
        edits.append(run_timed(sitegen(site, *extra)))
    row["edit"], _, row["edit_all"], _ = median_of(edits)
    adds = []
    for n in range(repeat):
        add_one(site, n)
        adds.append(run_timed(sitegen(site, *extra)))
    row["add"], row["rss_add"], row["add_all"], _ = median_of(adds)
    if kinds:
        row["kinds"] = edit_kinds(site, extra, repeat)
    row["pages"] = sum(1 for _ in (site / "public").rglob("*.html"))
    if shutil.which("hugo"):
        for key, runs in (("hugo", bench_hugo(site, workdir, repeat)),
                          ("hugo_same", bench_hugo_same_pages(site, workdir, repeat))):
            row[key], _, row[f"{key}_all"], row[f"{key}_cpu"] = median_of(runs)
    if hexo is not None:
        row.update(bench_hexo(site, workdir, hexo))
    return row


HUGO_LAYOUTS = {
    # Small templates of the same shape as sitegen's pages: a page per post, paginated
    # lists with excerpts, taxonomy pages. Without layouts Hugo renders nothing.
    "_default/baseof.html": '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
                            '<title>{{ .Title }}</title></head><body><main>{{ block "main" . }}'
                            '{{ end }}</main></body></html>',
    "_default/single.html": '{{ define "main" }}<article><h1>{{ .Title }}</h1><time>{{ .Date }}</time>'
                            '{{ range .Params.categories }}<a href="/categories/{{ . | urlize }}/">{{ . }}'
                            '</a>{{ end }}{{ .Content }}{{ with .PrevInSection }}<a href="{{ .RelPermalink }}">'
                            '{{ .Title }}</a>{{ end }}</article>{{ end }}',
    "_default/list.html": '{{ define "main" }}<h1>{{ .Title }}</h1>{{ range .Paginator.Pages }}'
                          '<article><a href="{{ .RelPermalink }}">{{ .Title }}</a><time>{{ .Date }}</time>'
                          '<p>{{ .Summary | plainify | truncate 140 }}</p></article>{{ end }}'
                          '{{ template "_internal/pagination.html" . }}{{ end }}',
}


def bench_hugo(site: Path, workdir: Path, repeat: int) -> list[Run]:
    """Hugo on the same posts, in a minimal Hugo project with small layouts."""
    project = workdir / "hugo"
    for name, text in HUGO_LAYOUTS.items():
        (project / "layouts" / name).parent.mkdir(parents=True, exist_ok=True)
        (project / "layouts" / name).write_text(text)
    (project / "hugo.toml").write_text('baseURL = "http://example.com/"\ntitle = "bench"\n'
                                       'paginate = 10\n[markup.goldmark.renderer]\nunsafe = true\n'
                                       '[taxonomies]\ncategory = "categories"\ntag = "tags"\n')
    return _hugo_on_posts(site, project, lambda text: text, repeat)


def _hugo_on_posts(site: Path, project: Path, adapt, repeat: int) -> list[Run]:
    """Copy the archive's posts into the Hugo project (through `adapt`) and time Hugo
    building it `repeat` times, each into a new output folder."""
    folder = project / "content" / "posts"
    folder.mkdir(parents=True)
    for post in (site / "source" / "_posts").glob("*.md"):
        (folder / post.name).write_text(adapt(post.read_text(encoding="utf-8")), encoding="utf-8")
    return cold_runs(lambda: run_timed(["hugo", "--quiet", "-s", str(project)]),
                     [project / "public"], project.parent / "aside", repeat)


HUGO_SAME_PAGES = HERE / "hugo_parity"
_DATE_LINE = re.compile(r"^date:\s*(.+?)\s*$", re.M)


def bench_hugo_same_pages(site: Path, workdir: Path, repeat: int) -> list[Run]:
    """Hugo with layouts that build what sitegen's default theme builds (bench/hugo_parity):
    the same head, header, cards, pagination, term and date archives, one feed. Hugo
    has no date archives, so each copied post gets an `archives` taxonomy (year, month)."""
    project = workdir / "hugo-same"
    shutil.copytree(HUGO_SAME_PAGES, project)
    shutil.copytree(HERE.parent / "themes" / "default" / "static", project / "static")
    return _hugo_on_posts(site, project, _with_archives, repeat)


def _with_archives(text: str) -> str:
    when = _post_date(text)
    if when is None:
        return text
    start = text.index("---") + 3
    return f"{text[:start]}\narchives: ['{when:%Y}', '{when:%Y-%m}']{text[start:]}"


def _post_date(text: str) -> datetime | None:
    found = _DATE_LINE.search(text)
    if not found:
        return None
    raw = found.group(1).strip("'\"")
    try:
        return parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        try:
            return datetime.fromisoformat(raw)
        except ValueError:
            return None


# What `hexo init` installs (hexo-starter): the generators, the renderers and the
# default theme, landscape, which the archives' _config.yml names.
HEXO_PACKAGES = ("hexo@^8", "hexo-generator-archive", "hexo-generator-category",
                 "hexo-generator-index", "hexo-generator-tag", "hexo-renderer-ejs",
                 "hexo-renderer-marked", "hexo-renderer-stylus", "hexo-theme-landscape")


class HexoSetup(NamedTuple):
    modules: Path  # node_modules holding Hexo and HEXO_PACKAGES
    version: str
    heap_mb: int | None  # Node's --max-old-space-size, if set


def install_hexo(workdir: Path, heap_mb: int | None) -> HexoSetup | None:
    """Hexo's packages, installed with npm once per run into `workdir`: a `hexo`
    command (hexo-cli) alone builds nothing, and prints its help outside a Hexo
    folder. None, with the reason printed, where they cannot be installed."""
    if not shutil.which("npm"):
        print("# hexo: skipped, npm is not on PATH to install Hexo's packages")
        return None
    folder = workdir / "hexo-packages"
    folder.mkdir(parents=True)
    (folder / "package.json").write_text('{"name": "bench", "version": "0.0.0", "private": true}')
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", *HEXO_PACKAGES],
                          cwd=folder, capture_output=True, text=True, check=False)
    manifest = folder / "node_modules" / "hexo" / "package.json"
    if done.returncode != 0 or not manifest.is_file():
        print(f"# hexo: skipped, npm could not install Hexo: {done.stderr.strip()[-300:]}")
        return None
    return HexoSetup(folder / "node_modules", json.loads(manifest.read_text())["version"], heap_mb)


def bench_hexo(site: Path, workdir: Path, hexo: HexoSetup) -> dict:
    """`hexo generate` on a copy of the archive, cold and again with nothing changed
    (Hexo keeps db.json between runs). A build that fails (Node out of memory) is
    reported as failed, not timed."""
    project = workdir / "hexo"
    shutil.copytree(site / "source", project / "source")
    shutil.copy(site / "_config.yml", project / "_config.yml")
    (project / "package.json").write_text(json.dumps(
        {"name": "bench-site", "version": "0.0.0", "private": True,
         "hexo": {"version": hexo.version}, "dependencies": {
             name.split("@")[0]: "*" for name in HEXO_PACKAGES}}))
    (project / "node_modules").symlink_to(hexo.modules, target_is_directory=True)
    env = {"NODE_OPTIONS": f"--max-old-space-size={hexo.heap_mb}"} if hexo.heap_mb else None
    cmd = [str(hexo.modules / ".bin" / "hexo"), "generate", "--silent"]
    cold = run_timed(cmd, cwd=project, env=env, check=False)
    if cold is None:
        return {"hexo_failed": True}
    again = run_timed(cmd, cwd=project, env=env, check=False)
    return {"hexo": cold.wall, "hexo_cpu": cold.cpu, "hexo_rss": cold.rss,
            "hexo_again": again.wall if again else None}


def main() -> None:
    parser = argparse.ArgumentParser(description="sitegen build benchmark")
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated post counts")
    parser.add_argument("--corpus", choices=("own", "shared"), default="shared",
                        help="shared: ../shared/corpus/make_archive.py when present; own: bench/corpus.py")
    parser.add_argument("--jobs", default=None, help="passed to sitegen build --jobs")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each rebuild kind; the table shows the median")
    parser.add_argument("--hexo-heap", type=int, default=None, metavar="MB",
                        help="Node's heap for Hexo (--max-old-space-size); Hexo 8 runs out of "
                             "Node's default heap at 10,000 posts")
    parser.add_argument("--edit-kinds", action="store_true",
                        help="also time one edit of each kind: body, title, category, tag, author, "
                             "date (moved to 2021-10), date+1h (an hour later)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    corpus = args.corpus if SHARED_GENERATOR.is_file() else "own"
    print(f"# sitegen build benchmark, {date.today()}, {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, corpus: {corpus}")
    print("| posts | html pages | cold s | no-change s | one edit s | add one s | peak RSS MB |"
          " hugo s | hugo, same pages s | hexo s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    runs = []
    with tempfile.TemporaryDirectory(prefix="sitegen-bench-") as tmp:
        # hexo-cli on PATH says Hexo is wanted; the packages come from npm.
        hexo = install_hexo(Path(tmp), args.hexo_heap) if shutil.which("hexo") else None
        for posts in sizes:
            r = bench_size(posts, corpus, Path(tmp), args.jobs, max(1, args.repeat), args.edit_kinds,
                           hexo)
            hugo, same, hexo_s = (f"{r[k]:.1f} ({r[k] / r['cold']:.1f}x)" if k in r
                                  else "failed" if r.get(f"{k}_failed") else "-"
                                  for k in ("hugo", "hugo_same", "hexo"))
            print(f"| {posts} | {r['pages']} | {r['cold']:.2f} | {r['nochange']:.2f} | "
                  f"{r['edit']:.2f} | {r['add']:.2f} | {max(r['rss_cold'], r['rss_add']):.0f} | "
                  f"{hugo} | {same} | {hexo_s} |", flush=True)
            runs.append((posts, r))
    for posts, r in runs:
        print(f"# {posts} posts, every run (s): cold {_list(r['cold_all'])}; "
              f"no-change {_list(r['nochange_all'])}; "
              f"one edit {_list(r['edit_all'])}; add one {_list(r['add_all'])}" + "".join(
                  f"; {name} cold {_list(r[k])}" for name, k in (
                      ("hugo", "hugo_all"), ("hugo, same pages", "hugo_same_all")) if k in r))
    for posts, r in runs:  # steadier than wall time on a shared machine
        print(f"# {posts} posts, cold build CPU time (user + system), median s: sitegen {r['cpu']:.1f}" + "".join(
            f"; {name} {r[k]:.1f} ({r[k] / r['cpu']:.1f}x)" for name, k in (
                ("hugo", "hugo_cpu"), ("hugo, same pages", "hugo_same_cpu"), ("hexo", "hexo_cpu"))
            if k in r))
    for posts, r in runs:
        if "hexo" in r:
            again = f"{r['hexo_again']:.1f} s" if r["hexo_again"] is not None else "failed"
            print(f"# {posts} posts, Hexo {hexo.version}: cold {r['hexo']:.1f} s, no-change {again} "
                  f"(sitegen {r['nochange']:.2f} s), peak RSS {r['hexo_rss']:.0f} MB")
        elif r.get("hexo_failed"):
            print(f"# {posts} posts, Hexo {hexo.version}: failed (out of memory? try --hexo-heap)")
    for posts, r in runs:
        if "kinds" in r:
            print(f"# {posts} posts, one edit of each kind, median (every run) s: " + "; ".join(
                f"{kind} {median:.2f} ({_list(walls)})" for kind, (median, walls) in r["kinds"].items()))


def _list(walls: list[float]) -> str:
    return ", ".join(f"{w:.2f}" for w in walls)


if __name__ == "__main__":
    main()

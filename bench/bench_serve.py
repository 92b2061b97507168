"""Benchmark `sitegen serve`: from saving a post to the reload event reaching a connected client.

    python bench/bench_serve.py [--posts 1000 10000] [--edits 7] [--work DIR] [--css] [--profile]

For each archive size: make a Hexo archive (../shared/corpus/make_archive.py
when present, else a small generator here), build it once cold, start the
preview (images off, the real 100 ms debounce), connect an SSE client like a
browser tab, then save a post's title several times and time each save to the
`reload` event. Also times a broken front matter to the `error` event, and with
--css a stylesheet save to the `css` event. Finally one incremental build is
run directly to show which pipeline stage the time goes to.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from test_serve_support import Preview  # noqa: E402

from sitegen.build import BuildOptions, build  # noqa: E402

MAKE_ARCHIVE = REPO.parent / "shared" / "corpus" / "make_archive.py"
SETTLE = 0.3  # pause between saves, so each save is its own burst


def make_archive(n: int, out: Path) -> None:
    """The shared corpus generator if present; otherwise a plain one of our own."""
    if (out / "source" / "_posts").is_dir():
        return
    if MAKE_ARCHIVE.is_file():
        subprocess.run([sys.executable, str(MAKE_ARCHIVE), "--posts", str(n), "--out", str(out)],
                       check=True, stdout=subprocess.DEVNULL)
        return
    rng = random.Random(n)
    posts = out / "source" / "_posts"
    posts.mkdir(parents=True)
    (out / "_config.yml").write_text("title: Bench\nurl: http://example.com\n", encoding="utf-8")
    for i in range(n):
        day = f"20{10 + i % 15}-{1 + i % 12:02d}-{1 + i % 28:02d} 10:00:00"
        words = " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "芯片", "市场"])
                         for _ in range(400))
        (posts / f"post-{i:06d}.md").write_text(
            f"---\ntitle: 'Post {i}'\ndate: {day}\ncategories: [c{i % 8}]\ntags: [t{i % 40}]\n"
            f"---\n\n{words}\n", encoding="utf-8")


def retitle(path: Path, mark: str) -> None:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^title: '(?:\[\w+\] )?", f"title: '[{mark}] ", text, count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")


def timed(stream, kind: str, save) -> float:
    """Seconds from the end of `save()` to the arrival of the next `kind` event."""
    save()
    start = time.perf_counter()
    stream.wait_for(kind, timeout=600)
    return time.perf_counter() - start


def rebuild_ms(lines: list[str]) -> list[float]:
    return [float(m.group(1)) for line in lines if (m := re.match(r"Rebuilt in (\d+) ms", line))]


def run_size(n: int, work: Path, edits: int, css: bool) -> dict:
    site = work / f"archive-{n}"
    t0 = time.perf_counter()
    make_archive(n, site)
    print(f"\n== {n} posts ({site}) generated in {time.perf_counter() - t0:.1f} s", flush=True)
    t0 = time.perf_counter()
    cold = build(site, BuildOptions(images=False, fingerprint=False))
    print(f"cold build: {cold.summary()} ({time.perf_counter() - t0:.1f} s)", flush=True)
    posts = sorted((site / "source" / "_posts").glob("*.md"))
    picks = [posts[(len(posts) // 2 + 37 * k) % len(posts)] for k in range(edits)]
    result: dict = {"posts": n}
    with Preview(site, start_timeout=1800, images=False, jobs=None, quiet=0.1) as preview:
        stream = preview.events()
        stream.next()  # hello
        saves = []
        for k, path in enumerate(picks):
            saves.append(timed(stream, "reload", lambda p=path, k=k: retitle(p, f"e{k}")))
            time.sleep(SETTLE)
        builds = rebuild_ms(preview.lines)
        broken = picks[0]
        good = broken.read_text(encoding="utf-8")
        errors = []
        for k in range(3):
            errors.append(timed(stream, "error", lambda k=k: broken.write_text(
                f"---\ntitle: [broken {k}\n---\n", encoding="utf-8")))
            time.sleep(SETTLE)
            broken.write_text(good, encoding="utf-8")
            stream.wait_for(("ok", "reload"), timeout=600)
            time.sleep(SETTLE)
        styles = []
        if css:
            sheet = next(p for p in _theme_css(cold.config))
            for k in range(3):
                styles.append(timed(stream, "css", lambda k=k: sheet.write_text(
                    sheet.read_text(encoding="utf-8") + f"\n/* bench {k} */\n", encoding="utf-8")))
                time.sleep(SETTLE)
        stream.close()
    result["save_to_reload_ms"] = [round(s * 1000) for s in saves]
    result["median_save_to_reload_ms"] = round(statistics.median(saves) * 1000)
    result["median_rebuild_ms"] = round(statistics.median(builds)) if builds else None
    result["median_save_to_error_ms"] = round(statistics.median(errors) * 1000)
    if styles:
        result["median_css_save_to_swap_ms"] = round(statistics.median(styles) * 1000)
    print(f"save -> reload (ms): {result['save_to_reload_ms']}  "
          f"median {result['median_save_to_reload_ms']} (rebuild alone: median "
          f"{result['median_rebuild_ms']} ms, the rest is the 100 ms debounce and delivery)")
    print(f"broken front matter -> error overlay event: median {result['median_save_to_error_ms']} ms")
    if styles:
        print(f"CSS save -> css swap event: median {result['median_css_save_to_swap_ms']} ms")
    return result


def _theme_css(config):
    from sitegen.templates import load_theme

    theme = load_theme(config.site_dir, config.themes_dir, config.theme, config.theme_config)
    for static in theme.static_dirs:
        yield from sorted(static.rglob("*.css"))


def stage_breakdown(n: int, work: Path, profile: bool) -> dict:
    """One incremental build after a one-post edit, run directly: where the time goes."""
    site = work / f"archive-{n}"
    path = sorted((site / "source" / "_posts").glob("*.md"))[n // 3]
    retitle(path, f"s{time.time_ns() % 10**6}")  # a new title every run
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    result = build(site, BuildOptions(images=False, fingerprint=False))
    if prof:
        prof.disable()
    stages = {k: round(v * 1000) for k, v in result.timings.items()}
    stages["outside the timed stages"] = round(result.seconds * 1000) - sum(stages.values())
    print(f"one-post incremental build at {n}: {round(result.seconds * 1000)} ms, "
          f"{len(result.changed)} files written; stages (ms): {stages}")
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    return {"total_ms": round(result.seconds * 1000), "stages_ms": stages}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--posts", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--edits", type=int, default=7, help="saves to time per size (median reported)")
    ap.add_argument("--work", type=Path, default=None, help="keep archives here between runs")
    ap.add_argument("--css", action="store_true", help="also time stylesheet saves (a full re-render)")
    ap.add_argument("--profile", action="store_true", help="cProfile the incremental build")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    report = []
    try:
        for n in args.posts:
            row = run_size(n, work, args.edits, args.css)
            row["incremental_build"] = stage_breakdown(n, work, args.profile)
            report.append(row)
    finally:
        if args.work is None:  # a temporary folder: hundreds of MB per size
            shutil.rmtree(work, ignore_errors=True)
    print("\n" + json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()

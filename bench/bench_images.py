"""Benchmark image localisation: 1,000 distinct images from a loopback server.

    python bench/bench_images.py [--count 1000] [--executor thread|process] [--jobs N]

The server runs in a child process (it also generates the images, once, into
--data), so the peak RSS measured here is the localiser's own. Prints the cold
build (wall time, CPU time, requests, bytes), peak RSS, and the rebuild, which
must make zero requests.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from sitegen.images import ImageDoc, ImageSettings, format_summary, localise  # noqa: E402


def generate(data_dir: Path, count: int) -> None:
    """Distinct photo-like JPEGs, 800-2400 px wide, made once and kept in data_dir."""
    from imageserver import encode, gradient

    data_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(42)
    for n in range(count):
        path = data_dir / f"{n}.jpg"
        width = rng.randrange(800, 2401, 8)
        height = width * rng.choice((2, 3, 9)) // rng.choice((3, 4, 16))
        if not path.exists():
            path.write_bytes(encode(gradient(width, height, seed=n), "JPEG", quality=88))


def serve(data_dir: Path, count: int) -> None:
    """Child process: generate the images if needed, then serve them and print the port."""
    from imageserver import ImageServer

    generate(data_dir, count)
    server = ImageServer(images={}, gen_dir=data_dir).start()
    print(server.port, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    server.stop()


def requests_so_far(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stats", timeout=10) as response:
        return int(response.read())


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(docs, settings, cache_dir: Path, port: int, executor: str, jobs: int) -> dict:
    def factory(workers: int):
        if executor == "process":  # spawn: never fork a parent that runs threads
            return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        return ThreadPoolExecutor(workers)

    before_requests, before_cpu = requests_so_far(port), cpu_seconds()
    started = time.perf_counter()
    result = localise(docs, settings, cache_dir=cache_dir, jobs=jobs, executor_factory=factory)
    wall = time.perf_counter() - started
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu_seconds() - before_cpu, 2),
            "requests": requests_so_far(port) - before_requests,
            "failed": result.stats.failed, "summary": format_summary(result)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--executor", choices=("thread", "process"), default="thread")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--data", type=Path,
                        default=Path(tempfile.gettempdir()) / "sitegen-bench-images")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.data, args.count)
    child = subprocess.Popen([sys.executable, __file__, "--serve", "--data", str(args.data),
                              "--count", str(args.count)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = int(child.stdout.readline())
        base = f"http://127.0.0.1:{port}/gen"
        # 100 posts of 10 images each; every image is distinct.
        docs = [ImageDoc(f"_posts/{p}.md", "\n".join(
            f'<p>Text {i}</p><img src="{base}/{p * 10 + i}.jpg" alt="">' for i in range(10)))
            for p in range(args.count // 10)]
        settings = ImageSettings(allow_hosts=(f"127.0.0.1:{port}",))
        input_bytes = sum((args.data / f"{n}.jpg").stat().st_size for n in range(args.count))
        with tempfile.TemporaryDirectory() as cache:
            load_before = os.getloadavg()[0]
            cold = run(docs, settings, Path(cache), port, args.executor, args.jobs)
            rss = peak_rss_mb()
            # The server child is still running, so this is the largest worker process.
            worker_rss = peak_rss_mb(resource.RUSAGE_CHILDREN)
            warm = run(docs, settings, Path(cache), port, args.executor, args.jobs)
        figures = {"images": args.count, "input_mb": round(input_bytes / 1e6, 1),
                   "executor": args.executor, "jobs": args.jobs, "cpus": os.cpu_count(),
                   "load_average_before": round(load_before, 2),
                   "load_average_after": round(os.getloadavg()[0], 2),
                   "cold": cold, "peak_rss_mb": round(rss, 1),
                   "peak_worker_rss_mb": round(worker_rss, 1), "rebuild": warm}
        print(json.dumps(figures, indent=2))
        if warm["requests"]:
            sys.exit("rebuild made requests: the cache is not working")
    finally:
        child.stdin.close()
        child.wait(timeout=30)


if __name__ == "__main__":
    main()

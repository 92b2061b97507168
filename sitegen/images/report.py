"""The image report: a JSON file for the record and a few lines for the terminal."""
from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from sitegen.images.model import LocaliseResult

REPORT_VERSION = 1
MAX_LISTED = 20  # failures printed in the summary; the report has them all


def report_data(result: LocaliseResult) -> dict:
    """The report as plain data: figures, every failure, and where each image went."""
    failures = sorted(result.failures, key=lambda f: (f.source, f.url))
    reasons: dict[str, int] = {}
    for failure in failures:
        reasons[failure.reason] = reasons.get(failure.reason, 0) + 1
    return {
        "version": REPORT_VERSION,
        "generated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "stats": asdict(result.stats),
        "failure_reasons": dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "failures": [asdict(f) for f in failures],
        "localised": dict(result.localised),
    }


def write_report(result: LocaliseResult, path: Path) -> None:
    """Write the report to `path` (normally .sitegen/image-report.json), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = json.dumps(report_data(result), indent=2, ensure_ascii=False) + "\n"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def format_summary(result: LocaliseResult, report_path: str | None = None) -> list[str]:
    """Lines for the end of a build: the figures, then each failure (the first few)."""
    s = result.stats
    lines = [
        (f"images: {s.found} found, {s.fetched} fetched, {s.from_cache} from cache, "
         f"{s.local} local, {s.failed} failed"),
        (f"images: {human_bytes(s.bytes_downloaded)} downloaded, "
         f"{human_bytes(s.bytes_written)} written ({s.processed} encoded, {s.requests} requests)"),
    ]
    if s.revalidated:
        lines[0] += f", {s.revalidated} unchanged on the server"
    failures = sorted(result.failures, key=lambda f: (f.source, f.url))
    if failures:
        lines.append(f"warning: {len(failures)} image reference(s) kept their remote URL:")
    for failure in failures[:MAX_LISTED]:
        remembered = " (remembered from an earlier build)" if failure.cached else ""
        lines.append(f"  {failure.source}: {failure.url}: {failure.reason}{remembered}")
    if len(failures) > MAX_LISTED:
        where = f" in {report_path}" if report_path else ""
        lines.append(f"  … and {len(failures) - MAX_LISTED} more{where}")
    return lines


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{count} B"

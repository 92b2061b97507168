"""What the preview adds to served HTML: the live-reload script and the error overlay.

Only responses are changed; the files in the output folder never are.
"""
from __future__ import annotations

import html

CLIENT_PATH = "/__sitegen/client.js"
EVENTS_PATH = "/__sitegen/events"
OVERLAY_ID = "__sitegen_overlay"

# Inline so a page loaded while the error stands shows it even before the script runs.
_OVERLAY_STYLE = (
    "position:fixed;inset:0;z-index:2147483647;overflow:auto;margin:0;padding:2rem;"
    "background:rgba(24,24,27,.94);color:#fafafa;font:14px/1.5 ui-monospace,Menlo,Consolas,monospace;"
    "text-align:left;white-space:normal"
)
_PRE_STYLE = ("white-space:pre-wrap;color:#fca5a5;background:#27272a;border:0;border-radius:6px;"
              "padding:1rem;margin:1rem 0;font:inherit;overflow:auto")


def overlay_html(problems: tuple[str, ...] | list[str]) -> str:
    """The overlay markup; every problem line is HTML-escaped."""
    lines = "\n".join(html.escape(p, quote=True) for p in problems)
    return (
        f'<div id="{OVERLAY_ID}" role="alert" style="{_OVERLAY_STYLE}">'
        '<strong style="font-size:16px">sitegen: the last rebuild failed</strong>'
        f'<pre style="{_PRE_STYLE}">{lines}</pre>'
        "<div>The page shows the last good build. Fix the file and save; "
        "this message goes away by itself.</div></div>"
    )


def snippet(epoch: str, status: int, problems: tuple[str, ...]) -> bytes:
    """The tags added to one HTML response."""
    tag = (f'<script src="{CLIENT_PATH}" data-sitegen-epoch="{html.escape(epoch)}" '
           f'data-sitegen-status="{status}" defer></script>')
    if problems:
        tag += overlay_html(problems)
    return tag.encode("utf-8")


def inject(page: bytes, extra: bytes) -> bytes:
    """Put `extra` just before the last </body>, or at the end when there is none."""
    at = page.lower().rfind(b"</body>")
    if at < 0:
        return page + extra
    return page[:at] + extra + page[at:]

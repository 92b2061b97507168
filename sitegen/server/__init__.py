"""`sitegen serve`: build, serve the output as it will be hosted, rebuild on save, reload browsers.

Threads: the HTTP server (one daemon thread per connection), the watchdog
observer, and one builder that takes debounced batches of changes and runs
the incremental build. The caller's thread waits for Ctrl-C or `stop`.
"""
from __future__ import annotations

import threading
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from sitegen.build import BuildOptions
from sitegen.config import SiteConfig
from sitegen.errors import ConfigError
from sitegen.server.http import bind
from sitegen.server.rebuild import Rebuilder, hidden_prefixes, public_text
from sitegen.server.reload import Clients
from sitegen.server.state import LiveState, Snapshot
from sitegen.server.watcher import Debouncer, Watcher, WatchPlan

__all__ = ["ServeInfo", "serve", "watch_plan"]

_WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]", "")


@dataclass(frozen=True)
class ServeInfo:
    """Where the preview listens, for callers that asked for port 0 or need the URL."""

    url: str
    host: str
    port: int
    root: str


def watch_plan(config: SiteConfig) -> WatchPlan:
    """The folders one site's build reads: sources, site templates, themes, the config."""
    theme_dirs = [config.themes_dir]
    try:
        from sitegen.templates import load_theme

        theme = load_theme(config.site_dir, config.themes_dir, config.theme, config.theme_config)
        theme_dirs += [d for d in theme.dirs if not d.is_relative_to(config.themes_dir)]
    except (ConfigError, OSError):
        pass  # the build reports a missing theme; watching themes/ sees it arrive
    return WatchPlan(
        site_dir=config.site_dir, config_file=config.config_file, source_dir=config.source_dir,
        template_dir=config.site_dir / "templates", theme_dirs=tuple(theme_dirs),
        ignored=(config.output_dir, config.cache_dir),
    )


def serve(site_dir: Path, *, host: str = "127.0.0.1", port: int = 4000, drafts: bool = False,
          open_browser: bool = False, jobs: int | None = None, images: bool = True,
          log: Callable[[str], None] = print, ready: threading.Event | None = None,
          stop: threading.Event | None = None,
          on_ready: Callable[[ServeInfo], None] | None = None, quiet: float = 0.1) -> int:
    """Build, serve and watch until Ctrl-C or `stop` is set; returns the exit status.

    `port=0` picks any free port; `on_ready` receives the URL once requests are
    answered; `quiet` is the debounce period in seconds.
    """
    stop = stop or threading.Event()
    site_dir = Path(site_dir)
    live = LiveState(Snapshot(site_dir, "/", ""))
    clients = Clients()
    # Requests wait only while a build moves its files into place; unfingerprinted
    # CSS/JS names mean a stylesheet edit changes no page and is swapped in place.
    options = BuildOptions(drafts=drafts, jobs=jobs, images=images,
                           commit_lock=live.lock.write, fingerprint=False, save_beside=False,
                           on_wait=log)
    rebuilder = Rebuilder(site_dir, options, live, clients, log)
    try:
        config = rebuilder.first()
    except ConfigError as exc:
        log(f"error: {public_text(str(exc), hidden_prefixes(site_dir))}")
        return 1
    except KeyboardInterrupt:
        return 0
    if (warning := host_warning(host)) is not None:
        log(warning)
    try:
        server, bound = bind(host, port, live, clients, log)
    except OSError as exc:
        log(f"error: {exc.strerror or exc}")
        return 1
    if port and bound != port:
        log(f"Port {port} is in use; serving on port {bound} instead.")
    url = _url(host, bound, config.root)
    debouncer = Debouncer(quiet=quiet)
    watcher = Watcher(watch_plan(config), debouncer)
    builder = threading.Thread(target=_build_loop, args=(debouncer, rebuilder, watcher, stop),
                               name="sitegen-rebuild", daemon=True)
    web = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                           name="sitegen-http", daemon=True)
    try:
        watcher.start()
        web.start()
        builder.start()
        log(f"Serving {url}  (watching for changes; Ctrl-C to stop)")
        if on_ready:
            on_ready(ServeInfo(url, host, bound, config.root))
        if ready:
            ready.set()
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        log("Stopping.")
    finally:
        _shutdown(stop, debouncer, watcher, clients, server, web, builder)
    return 0


def _build_loop(debouncer: Debouncer, rebuilder: Rebuilder, watcher: Watcher,
                stop: threading.Event) -> None:
    while True:
        got = debouncer.next_batch(stop)
        if got is None:
            return
        batch, since = got
        kinds = set(batch.values())
        rebuilder.rebuild(kinds, since)
        if kinds & {"config", "layout", "theme"} and rebuilder.config is not None:
            watcher.replan(watch_plan(rebuilder.config))


def _shutdown(stop, debouncer, watcher, clients, server, web, builder) -> None:
    """Stop everything; a second Ctrl-C only makes it quicker."""
    try:
        stop.set()
        debouncer.wake()
        watcher.stop()
        clients.close()
        if web.is_alive():
            server.shutdown()
        server.server_close()
        if builder.is_alive():
            builder.join(timeout=30)  # let a running build finish its commit
    except KeyboardInterrupt:
        pass


def host_warning(host: str) -> str | None:
    """What to say when the preview listens on every interface, not just this machine."""
    if host not in _WILDCARD_HOSTS:
        return None
    return (f"warning: --host {host or '0.0.0.0'} shows this preview to every device that can "
            "reach this machine; use 127.0.0.1 to keep it private")


def _url(host: str, port: int, root: str) -> str:
    shown = "127.0.0.1" if host in _WILDCARD_HOSTS else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}{quote(root, safe='/')}"

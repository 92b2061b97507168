"""Rendered card HTML kept between builds, in `.sitegen/cache/cards/cards.sqlite`.

Adding one post to a 10,000-post archive moves every post to another listing
page, so every card shows again; making them again from their views was most
of the render. A stored card is keyed by what its HTML can depend on: the
post's content (`content_key`), the macro's other arguments by value, the
macro's template with everything it imports (`TemplateFingerprints`) and the
settings every page sees (`render_key`). A theme's own memo key is never
trusted across builds.

One row per card; a CRC of the HTML is checked on every read, a damaged or
foreign file is deleted, and rows of posts or settings that are gone are
pruned now and then. Render workers are forked: each process opens its own
connection, and only the parent writes, once the pages are rendered.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import sys
import time
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sitegen import __version__, code_key
from sitegen.cache import immediate, opened, remove_sqlite, replaced
from sitegen.views import Card

FORMAT = 1
_TAG = f"cards/{FORMAT}/{__version__}/{sys.version_info[:2]}"
_FETCH = 500  # keys a query; SQLite allows 999 parameters before 3.32
KEEP_SCOPES = 2  # per macro: `sitegen serve` and `sitegen build` see different asset names
_CODE = code_key("views", "render", "card_cache", "urls", "text")


def card_row_key(scope: str, post: str, blob: str) -> str:
    """A stored card's key: the macro's scope, the post's content key, the other arguments."""
    return hashlib.sha1(f"{scope}\x1f{post}\x1f{blob}".encode()).hexdigest()


def render_key(setup) -> str:
    """What every page sees: config, URLs, assets, theme settings and UI strings."""
    view = {k: v for k, v in setup.site_view.items() if k != "counts"}
    blob = json.dumps([setup.config, view, setup.assets, setup.theme.settings,
                       setup.theme.languages, repr(setup.urls), setup.date_format,
                       setup.time_format, _TAG, _CODE], sort_keys=True, default=repr)
    return hashlib.sha1(blob.encode()).hexdigest()


class ContentKeys:
    """Per post, a key of everything its card view is made from.

    The plan's card key (plan.card_key) already names the document (its digest
    covers everything a document shows: content, settings, file times that
    show, localised images) and where the site put it, with category and tag
    names. Added here: the author's display name, and for an excerpt with
    post_link the resolved text, which names other posts. Reading the
    document's own fields again cost as much as making the view.
    """

    def __init__(self, site, card_keys: list[str] | None):
        if card_keys is None or len(card_keys) != len(site.posts):
            from sitegen.plan import card_keys as make

            card_keys = make(site)
        self._plan = card_keys
        self._authors = {slug: t.name for slug, t in site.authors.items()}

    def __call__(self, card: Card) -> str:
        key = card._key
        if key is None:
            post = card._post
            key = f"{self._plan[card._index]}\x1e{self._authors.get(post.author, '')}"
            if post.doc.refs:
                key = hashlib.sha1(f"{key}\x1e{card['excerpt_html']}".encode()).hexdigest()
            card._key = key
        return key


class NotKeyable(Exception):
    """An argument whose value cannot be named across builds."""


_SCALARS = (str, int, float, bool, type(None))


def args_key(args: tuple, kwargs: dict) -> tuple[str, Card] | None:
    """(key of the arguments, the one card among them), or None when they cannot
    be keyed: no card, several cards, or values other than plain data."""
    if not kwargs and isinstance(args[0] if args else None, Card) and \
            all(type(a) in (bool, type(None)) for a in args[1:]):
        return repr(args[1:]), args[0]  # the usual card(post, flags…) call
    cards: list[Card] = []

    def key(value: Any) -> str:
        if isinstance(value, Card):
            cards.append(value)
            return "\x02card"
        if isinstance(value, _SCALARS):
            return f"{type(value).__name__}:{value!r}"  # Markup is a str that stays unescaped
        if type(value) in (list, tuple):
            return f"{type(value).__name__}[{','.join(key(v) for v in value)}]"
        if type(value) is dict:
            return "{" + ",".join(f"{key(k)}:{key(v)}" for k, v in value.items()) + "}"
        raise NotKeyable(type(value).__name__)

    try:
        blob = "\x02" + key(list(args)) + key(sorted(kwargs.items()))
    except NotKeyable:
        return None
    return (blob, cards[0]) if len(cards) == 1 else None


_CONNECTIONS: dict[tuple[int, str], sqlite3.Connection] = {}
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)",
    "CREATE TABLE IF NOT EXISTS cards (key TEXT PRIMARY KEY, post TEXT, scope TEXT,"
    " html BLOB, crc INTEGER)",
    "CREATE TABLE IF NOT EXISTS scopes (scope TEXT PRIMARY KEY, macro TEXT, used REAL)",
)


class CardStore:
    """Card HTML by key. Reads never raise: a damaged store is emptied and its
    cards are made again."""

    def __init__(self, root: Path):
        self.root = root
        self.file = root / "cards.sqlite"
        self._name = str(self.file)
        self._loaded: dict[str, tuple[bytes, int]] = {}  # preloaded rows

    def __repr__(self) -> str:
        return f"CardStore({self.root!r})"

    def _db(self) -> sqlite3.Connection:
        key = (os.getpid(), self._name)
        db = _CONNECTIONS.get(key)
        if db is None:
            self.root.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.file, timeout=60, isolation_level=None,
                                 check_same_thread=False)
            _CONNECTIONS[key] = db
            opened(key)
        return db

    def open(self) -> None:
        """Create or check the store; call before forking workers."""
        if replaced((os.getpid(), self._name)):
            self.close()
        for _attempt in range(2):
            try:
                db = self._db()
                if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    db.execute("PRAGMA journal_mode=WAL")
                # No fsync: a commit's sync waited 1-35 ms behind the writeback of the
                # pages just written. Cards are a cache: after a system crash a lost
                # row is made again, a damaged one fails its CRC or resets the store.
                db.execute("PRAGMA synchronous=OFF")
                for statement in _SCHEMA:
                    db.execute(statement)
                row = db.execute("SELECT value FROM meta WHERE name='tag'").fetchone()
                if row is not None and row[0] == _TAG:
                    return
                if row is None and db.execute("SELECT 1 FROM cards LIMIT 1").fetchone() is None:
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('tag', ?)", (_TAG,))
                    return
            except sqlite3.DatabaseError:
                pass
            self.reset()  # damaged, or written by another version
        self.reset()  # still unusable (e.g. unwritable): work without it

    def get(self, key: str) -> str | None:
        row = self._loaded.get(key)
        if row is None:
            try:
                row = self._db().execute("SELECT html, crc FROM cards WHERE key=?",
                                         (key,)).fetchone()
            except sqlite3.DatabaseError:
                return None
        if row is None or not isinstance(row[0], bytes) or zlib.crc32(row[0]) != row[1]:
            return None  # a damaged row is replaced by the next put
        try:
            return row[0].decode()
        except UnicodeDecodeError:
            return None

    def preload(self, scope: str) -> None:
        """Read all of a scope's cards at once: several times cheaper per card than
        one query each, when a build shows most of them (forked workers inherit them)."""
        try:
            self._loaded.update((k, (html, crc)) for k, html, crc in self._db().execute(
                "SELECT key, html, crc FROM cards WHERE scope=?", (scope,)))
        except sqlite3.DatabaseError:
            pass

    def fetch(self, keys: Iterable[str]) -> None:
        """Read the rows of `keys` that are stored, in a few queries: a listing page
        shows ten cards, and one query each cost 10-12 us a card."""
        keys = [k for k in keys if k not in self._loaded]
        try:
            db = self._db()
            for at in range(0, len(keys), _FETCH):
                part = keys[at:at + _FETCH]
                self._loaded.update((k, (html, crc)) for k, html, crc in db.execute(
                    f"SELECT key, html, crc FROM cards WHERE key IN ({','.join('?' * len(part))})",
                    part))
        except sqlite3.DatabaseError:
            pass

    def save(self, rows: Iterable[tuple[str, str, str, str]], scopes: dict[str, str]) -> int:
        """Store (key, post, scope, html) rows and note which scope each macro used;
        returns how many rows were added since the last prune."""
        rows = [(k, post, scope, html.encode(), zlib.crc32(html.encode()))
                for k, post, scope, html in rows]
        now = time.time()
        try:
            db = self._db()
            with immediate(db):
                db.executemany("INSERT OR REPLACE INTO cards VALUES (?, ?, ?, ?, ?)", rows)
                db.executemany("INSERT OR REPLACE INTO scopes VALUES (?, ?, ?)",
                               [(scope, macro, now) for scope, macro in scopes.items()])
                added = self._meta_int(db, "added") + len(rows)
                db.execute("INSERT OR REPLACE INTO meta VALUES ('added', ?)", (str(added),))
        except sqlite3.DatabaseError:
            self.reset()
            return 0
        return added

    def prune_due(self, added: int) -> bool:
        try:
            kept = self._meta_int(self._db(), "kept")
        except sqlite3.DatabaseError:
            return False
        return added >= max(1000, kept // 4)

    def prune(self, live_posts: set[str]) -> int:
        """Drop cards of posts not in `live_posts` and of all but the newest
        scopes of each macro; returns how many rows went."""
        try:
            db = self._db()
            with immediate(db):
                db.execute("CREATE TEMP TABLE IF NOT EXISTS live (post TEXT PRIMARY KEY)")
                db.execute("DELETE FROM live")
                db.executemany("INSERT OR IGNORE INTO live VALUES (?)", ((p,) for p in live_posts))
                old = [s for (s,) in db.execute(
                    "SELECT scope FROM (SELECT scope, ROW_NUMBER() OVER"
                    " (PARTITION BY macro ORDER BY used DESC) AS n FROM scopes) WHERE n > ?",
                    (KEEP_SCOPES,))]
                db.executemany("DELETE FROM scopes WHERE scope=?", [(s,) for s in old])
                gone = db.execute("DELETE FROM cards WHERE post NOT IN (SELECT post FROM live)"
                                  " OR scope NOT IN (SELECT scope FROM scopes)").rowcount
                kept = db.execute("SELECT COUNT(*) FROM cards").fetchone()[0]
                db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                               [("added", "0"), ("kept", str(kept))])
                db.execute("DELETE FROM live")
        except sqlite3.DatabaseError:
            self.reset()
            return 0
        return gone

    @staticmethod
    def _meta_int(db: sqlite3.Connection, name: str) -> int:
        row = db.execute("SELECT value FROM meta WHERE name=?", (name,)).fetchone()
        try:
            return int(row[0]) if row else 0
        except ValueError:
            return 0

    def close(self) -> None:
        self._loaded = {}
        db = _CONNECTIONS.pop((os.getpid(), self._name), None)
        if db is not None:
            db.close()

    def reset(self) -> None:
        self.close()
        remove_sqlite(self.file)

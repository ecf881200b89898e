"""The invalidation feed: every process's cache learns of every committed write (issue 20).

A write publishes its :class:`~trent.storage.changes.Change` values *inside* its own
transaction (:func:`publish`), so a change is announced exactly when it commits and
never when it rolls back. Each server process runs one listener that applies what it
hears to its cache:

- **PostgreSQL** (several nodes): ``NOTIFY trent_cache, '<changes>'`` in the
  transaction; :class:`PostgresListener` holds one dedicated connection in ``LISTEN``.
  PostgreSQL delivers notifications at commit, in commit order, to every listening
  session: typically within a millisecond or two on a LAN.
- **SQLite** (several worker processes on one host): there is no notification channel
  between processes, so the transaction appends a row to ``cache_changes`` and
  :class:`SqlitePoller` polls. The poll is cheap enough to run every 10 ms:
  ``PRAGMA data_version`` answers from the WAL index in shared memory (no disk I/O)
  and changes only when *another* connection committed; only then is the change log
  read (``seq > last``, by primary key). Alternatives were weighed: a Unix socket
  between workers would need a broker process and still miss writes by ``trent
  admin``; inotify on the WAL fires on every write (usage flushes too); polling the
  log table alone costs a query per tick. ``data_version`` + log costs ~nothing when
  idle and is exact when not.

When the channel is lost (PostgreSQL connection dropped) the listener tells the cache
to forget everything and fall back to a short TTL until it has reconnected (then it
forgets everything once more: notifications sent meanwhile were missed).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, URL, make_url

from trent.storage import changes as change_codec
from trent.storage.changes import Change
from trent.storage.tables import cache_changes

log = logging.getLogger("trent.storage.feed")

CHANNEL = "trent_cache"
APPLICATION_NAME = "trent-feed"  # how an operator (or a test) finds the listening sessions
SQLITE_POLL_SECONDS = 0.01
PRUNE_EVERY = 256  # SQLite: every this many published batches, drop old log rows
KEEP_SECONDS = 600.0  # ... older than this (a poller further behind than this resyncs)

Apply = Callable[[Sequence[Change]], None]
Health = Callable[[bool], None]


def publish(conn: Connection, batch: Sequence[Change], now: float) -> None:
    """Announce ``batch`` as part of ``conn``'s open transaction."""
    if not batch:
        return
    payload = change_codec.encode(batch)
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload})
        return
    inserted = conn.execute(cache_changes.insert().values(at=now, payload=payload)).inserted_primary_key
    assert inserted is not None  # a single-row INSERT always has its primary key
    seq = inserted[0]
    if seq % PRUNE_EVERY == 0:
        conn.execute(cache_changes.delete().where(cache_changes.c.at < now - KEEP_SECONDS))


class _Thread:
    """A daemon thread with a stop flag (both listeners)."""

    name = "trent-feed"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.healthy = threading.Event()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class PostgresListener(_Thread):
    """``LISTEN trent_cache`` on a dedicated autocommit connection; reconnects forever."""

    name = "trent-feed-pg"

    def __init__(self, url: str | URL, apply: Apply, health: Health, *, heartbeat_seconds: float = 1.0) -> None:
        super().__init__()
        parsed = make_url(url)
        self._conninfo = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._apply = apply
        self._health = health
        self._heartbeat = heartbeat_seconds

    def _run(self) -> None:
        import psycopg

        backoff = 0.1
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=5,
                                     application_name=APPLICATION_NAME) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    # Whatever was announced while we were not listening is lost: start clean.
                    self._apply((change_codec.EVERYTHING,))
                    self.healthy.set()
                    self._health(True)
                    backoff = 0.1
                    while not self._stop.is_set():
                        heard = False
                        # Each notification is applied the moment it arrives: the generator
                        # only returns when the heartbeat period passes.
                        for notice in conn.notifies(timeout=self._heartbeat):
                            self._apply(change_codec.decode(notice.payload))
                            heard = True
                            if self._stop.is_set():
                                break
                        if not heard:
                            conn.execute("SELECT 1")  # a dead connection shows here, not in silence
            except Exception as exc:  # noqa: BLE001 - the feed must outlive any failure
                if self._stop.is_set():
                    return
                if self.healthy.is_set():
                    log.warning("cache invalidation channel lost (%s); short TTL until it is back",
                                type(exc).__name__)
                self.healthy.clear()
                self._health(False)
                self._apply((change_codec.EVERYTHING,))
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)


class SqlitePoller(_Thread):
    """Polls ``PRAGMA data_version`` and reads ``cache_changes`` when it moved."""

    name = "trent-feed-sqlite"

    def __init__(self, path: str, apply: Apply, health: Health, *, interval: float = SQLITE_POLL_SECONDS) -> None:
        super().__init__()
        self._path = path
        self._apply = apply
        self._health = health
        self._interval = interval

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        last_seq = 0
        version = None
        while not self._stop.is_set():
            try:
                if conn is None:
                    conn = sqlite3.connect(self._path, timeout=5, isolation_level=None, check_same_thread=False)
                    last_seq = conn.execute("SELECT coalesce(max(seq), 0) FROM cache_changes").fetchone()[0]
                    version = None
                    self._apply((change_codec.EVERYTHING,))
                    self.healthy.set()
                    self._health(True)
                current = conn.execute("PRAGMA data_version").fetchone()[0]
                if current != version:
                    version = current
                    rows = conn.execute(
                        "SELECT seq, payload FROM cache_changes WHERE seq > ? ORDER BY seq", (last_seq,)
                    ).fetchall()
                    if rows:
                        if rows[0][0] > last_seq + 1 and last_seq and self._pruned_past(conn, last_seq):
                            self._apply((change_codec.EVERYTHING,))
                        last_seq = rows[-1][0]
                        self._apply(change_codec.merge(change_codec.decode(p) for _, p in rows))
            except sqlite3.Error as exc:
                log.warning("cache invalidation poll failed (%s); retrying", exc)
                self.healthy.clear()
                self._health(False)
                self._apply((change_codec.EVERYTHING,))
                if conn is not None:
                    conn.close()
                    conn = None
            self._stop.wait(self._interval)
        if conn is not None:
            conn.close()

    @staticmethod
    def _pruned_past(conn: sqlite3.Connection, last_seq: int) -> bool:
        """Gaps in seq are normal (rolled-back inserts); a gap because rows we never read
        were pruned means we fell too far behind: then everything may have changed."""
        oldest = conn.execute("SELECT min(seq) FROM cache_changes").fetchone()[0]
        return oldest is not None and oldest > last_seq + 1


def listener_for(url: str | URL, apply: Apply, health: Health) -> _Thread:
    """The right listener for the database behind ``url``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return PostgresListener(parsed, apply, health)
    if parsed.database in (None, "", ":memory:"):
        raise ValueError("an in-memory SQLite database has no other processes to hear from")
    return SqlitePoller(parsed.database, apply, health)


def wait_healthy(listener: _Thread, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if listener.healthy.wait(0.05):
            return True
    return False

"""One SQLAlchemy engine per database URL, with each store's tables created on first use.

Shared by the conversation records, the hand-off store, tickets, agents, offers
and the sign-in throttle: SQLite under ``var/`` by default (its folder is
created), PostgreSQL or anything else SQLAlchemy speaks by URL. Every store on
the same URL shares one engine (one connection pool) per process: a desk used
to open five pools on one database.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

import sqlalchemy as sa
from sqlalchemy import event

_engines: dict[str, sa.engine.Engine] = {}
_created: set[tuple[str, int]] = set()  # (url, id(metadata)) whose tables exist
_lock = threading.Lock()


def now() -> datetime:
    """The current time in UTC, as every table stores it."""
    return datetime.now(UTC)


@overload
def aware(value: datetime) -> datetime: ...
@overload
def aware(value: None) -> None: ...
def aware(value: datetime | None) -> datetime | None:
    """A stored time with its zone back (SQLite drops it; every stored time is UTC)."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def engine_for(url: str) -> sa.engine.Engine:
    """The process's one engine for ``url``."""
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = sa.create_engine(url, future=True, pool_pre_ping=True, **sqlite_pool(url))
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", sqlite_pragmas)
            _engines[url] = engine
        return engine


def sqlite_pool(url: str) -> dict[str, Any]:
    """Engine arguments for ``url``: SQLAlchemy 1.4 gives a SQLite file no pool (every query opened the file
    and ran the pragmas again); a queue pool keeps the connections, each used
    by one thread at a time. In-memory SQLite and other databases keep
    SQLAlchemy's defaults."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return {}
    return {"poolclass": sa.pool.QueuePool, "connect_args": {"check_same_thread": False}}


class Database:
    """A store's view of the shared engine: its tables (of every ``metadata`` given) are created
    the first time it is used, so a query across stores names the tables it needs."""

    def __init__(self, url: str, *metadata: sa.MetaData) -> None:
        self._url = url
        self._engine = engine_for(url)
        self._metadata = metadata
        self._keys = {(url, id(m)) for m in metadata}

    @property
    def url(self) -> str:
        """The database URL (another store, a lease, opens the same database with it)."""
        return self._url

    @property
    def engine(self) -> sa.engine.Engine:
        """The engine, after making sure this store's tables exist."""
        if not self._keys <= _created:
            with _lock:
                if self._engine.dialect.name == "sqlite":
                    db = self._engine.url.database
                    if db and db != ":memory:":
                        Path(db).parent.mkdir(parents=True, exist_ok=True)
                for metadata in self._metadata:
                    key = (self._url, id(metadata))
                    if key not in _created:
                        metadata.create_all(self._engine)
                        _created.add(key)
        return self._engine


def sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Write-ahead log: readers never wait for the writer, and a commit is an
    append instead of a journal rewrite plus fsyncs. The gate writes one row
    per user message, so this is on every message's path. NORMAL sync in WAL
    mode loses at most the last commits on power loss, never consistency."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()

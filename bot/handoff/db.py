"""One SQLAlchemy engine for a URL, with its tables created on first use.

Shared by the conversation records, the hand-off store, tickets and agents: SQLite under
``var/`` by default (its folder is created), PostgreSQL or anything else
SQLAlchemy speaks by URL.
"""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event


class Database:
    def __init__(self, url: str, metadata: sa.MetaData) -> None:
        self._engine = sa.create_engine(url, future=True, pool_pre_ping=True)
        if self._engine.dialect.name == "sqlite":
            event.listen(self._engine, "connect", _sqlite_pragmas)
        self._metadata = metadata
        self._ready = False
        self._lock = threading.Lock()

    @property
    def engine(self) -> sa.engine.Engine:
        """The engine, after making sure the tables exist."""
        if not self._ready:
            with self._lock:
                if not self._ready:
                    if self._engine.dialect.name == "sqlite":
                        db = self._engine.url.database
                        if db and db != ":memory:":
                            Path(db).parent.mkdir(parents=True, exist_ok=True)
                    self._metadata.create_all(self._engine)
                    self._ready = True
        return self._engine


def _sqlite_pragmas(connection, _record) -> None:  # type: ignore[no-untyped-def]
    """Write-ahead log: readers never wait for the writer, and a commit is an
    append instead of a journal rewrite plus fsyncs. The gate writes one row
    per user message, so this is on every message's path. NORMAL sync in WAL
    mode loses at most the last commits on power loss, never consistency."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()

"""One SQLAlchemy engine for a URL, with its tables created on first use.

Shared by the conversation records and the hand-off store: SQLite under
``var/`` by default (its folder is created), PostgreSQL or anything else
SQLAlchemy speaks by URL.
"""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy as sa


class Database:
    def __init__(self, url: str, metadata: sa.MetaData) -> None:
        self._engine = sa.create_engine(url, future=True, pool_pre_ping=True)
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

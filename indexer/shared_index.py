"""The published index, shared by several servers (issue #17, ``[index] shared = true``).

Each server serves from its local store (``indexer/store.py``: versions on its disk, the
``current`` link); what is shared is which version is current and the version's files,
in the bot's database (``Settings.database_url``, PostgreSQL with several servers):

- a publish (``faqbot index build``, the studio, a rollback) happens on one server, in
  its local store, and is then *pushed*: its files are stored once per version and the
  shared pointer names it;
- every server *follows* the pointer (``LiveSearcher`` checks it every
  ``FOLLOW_SECONDS`` in a background thread): a version it does not have is fetched into
  its store, verified against its manifest's checksums and made current, and the live
  searcher swaps it in as after a local publish; a version it has (a rollback) is only
  made current again;
- a server starting while a version is shared serves that one instead of building its
  own from a local KB folder that may be behind.

Without ``shared`` (the default) nothing here runs: one server, its local store only.
"""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from faqbot.config import Settings
from indexer.manifest import IndexCorrupt, IndexMismatch, verify_version
from indexer.store import IndexStore

log = logging.getLogger(__name__)

FOLLOW_SECONDS = 2.0
POINTER = "current"

metadata = sa.MetaData()

index_files = sa.Table(
    "index_files",
    metadata,
    sa.Column("version", sa.String(128), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

index_pointer = sa.Table(
    "index_pointer",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("version", sa.String(128), nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

# What each server process serves (the console lists it): one row per process, kept fresh.
index_nodes = sa.Table(
    "index_nodes",
    metadata,
    sa.Column("node", sa.String(255), primary_key=True),
    sa.Column("version", sa.String(128), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
)


def this_node(settings: Settings) -> str:
    """This server's name: ``[bot] node``, or host and Rasa port (the same for a node's
    two processes, and after a restart)."""
    return settings.bot.node.strip() or f"{socket.gethostname()}:{settings.bot.rasa_port}"


class SharedIndex:
    def __init__(self, url: str) -> None:
        args = {"timeout": 30} if url.startswith("sqlite") else {}
        self.engine = sa.create_engine(url, pool_pre_ping=True, connect_args=args)
        metadata.create_all(self.engine)

    def current(self) -> str | None:
        """The version every server should serve (None: nothing shared yet)."""
        with self.engine.connect() as conn:
            found = conn.execute(sa.select(index_pointer.c.version).where(index_pointer.c.name == POINTER)).scalar()
        return str(found) if found is not None else None

    def has(self, version: str) -> bool:
        with self.engine.connect() as conn:
            found = sa.select(index_files.c.name).where(index_files.c.version == version).limit(1)
            return conn.execute(found).first() is not None

    def push(self, store: IndexStore, version: str) -> None:
        """Share ``version`` of ``store`` (its files once) and make it the one every server serves."""
        directory = store.version_dir(version)
        verify_version(directory)  # never share a version that is not intact
        if not self.has(version):
            with self.engine.begin() as conn:
                for path in sorted(directory.iterdir()):
                    if path.is_file():
                        row = {"version": version, "name": path.name, "data": path.read_bytes()}
                        conn.execute(index_files.insert().values(**row))
        self._point(version)
        log.info("index version %s shared: every server follows it", version)

    def _point(self, version: str) -> None:
        self._upsert(index_pointer, index_pointer.c.name, POINTER, version=version, at=datetime.now(UTC))

    def _upsert(self, table: sa.Table, key: sa.Column[str], value: str, **values: object) -> None:
        """Set the row whose ``key`` is ``value`` (a race with another server inserting it
        first: the second insert fails, the update on the next call wins)."""
        with self.engine.begin() as conn:
            if not conn.execute(table.update().where(key == value).values(**values)).rowcount:
                conn.execute(table.insert().values({key.name: value, **values}))

    def fetch(self, store: IndexStore, version: str) -> bool:
        """Make ``version`` current in ``store``, fetching its files if the store lacks them;
        False when the database does not hold it."""
        if store.version_dir(version).is_dir():
            store.make_current(version)
            return True
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(index_files.c.name, index_files.c.data).where(index_files.c.version == version)
            ).all()
        if not rows:
            return False

        def write(staging: Path) -> None:
            staging.mkdir(parents=True)
            for name, data in rows:
                (staging / name).write_bytes(data)
            verify_version(staging)  # checksums: a torn or tampered copy is never served

        store.install(version, write)
        return True

    def follow(self, store: IndexStore, seen: str | None) -> str | None:
        """One step of following: when the shared pointer moved away from ``seen`` (the last
        pointer this process acted on), fetch and switch to it. Returns the pointer now."""
        pointer = self.current()
        if pointer is None or pointer == seen or pointer == store.current_version():
            return pointer
        try:
            fetched = self.fetch(store, pointer)
        except (IndexCorrupt, IndexMismatch) as exc:  # not tried again until the pointer moves
            log.error("shared index version %s refused (%s); still serving %s", pointer, exc, store.current_version())
            return pointer
        if fetched:
            log.info("following the shared index: now %s", pointer)
        else:
            log.error("the shared index names %s, which the database does not hold", pointer)
        return pointer

    def report(self, node: str, version: str) -> None:
        """``node`` serves ``version`` (the console's list of servers)."""
        self._upsert(index_nodes, index_nodes.c.node, node, version=version, seen_at=datetime.now(UTC))

    def nodes(self) -> list[dict[str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(index_nodes).order_by(index_nodes.c.node)).all()
        return [{"node": r.node, "version": r.version, "seen_at": r.seen_at.isoformat()} for r in rows]

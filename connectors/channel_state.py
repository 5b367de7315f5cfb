"""Small string → string maps a channel keeps between messages, in the bot's database
(``Settings.database_url``: SQLite under ``var/`` by default, PostgreSQL with several
servers), so every server behind a load balancer reads what another wrote (issue #17).

微信客服 keeps two: the ``sync_msg`` cursor per account (a restart or another server
continues where the last read stopped instead of replaying history) and the customers
handed to WeCom's own servicers. The database work runs in a thread: callers are on the
Sanic event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import sqlalchemy as sa

log = logging.getLogger(__name__)

metadata = sa.MetaData()

channel_state = sa.Table(
    "channel_state",
    metadata,
    sa.Column("map", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)


class ChannelStateStore:
    """The database side; one per channel, shared by its maps."""

    def __init__(self, url: str) -> None:
        args = {"timeout": 30} if url.startswith("sqlite") else {}
        self.engine = sa.create_engine(url, pool_pre_ping=True, connect_args=args)
        metadata.create_all(self.engine)

    def map(self, name: str) -> StateMap:
        return StateMap(self, name)

    def get(self, name: str, key: str) -> str:
        with self.engine.connect() as conn:
            found = conn.execute(
                sa.select(channel_state.c.value).where(channel_state.c.map == name, channel_state.c.key == key)
            ).scalar()
        return str(found) if found is not None else ""

    def put(self, name: str, key: str, value: str) -> None:
        where = (channel_state.c.map == name) & (channel_state.c.key == key)
        with self.engine.begin() as conn:
            if conn.execute(channel_state.update().where(where).values(value=value)).rowcount:
                return
        try:
            with self.engine.begin() as conn:
                conn.execute(channel_state.insert().values(map=name, key=key, value=value))
        except sa.exc.IntegrityError:  # another server inserted it meanwhile: the last write wins
            with self.engine.begin() as conn:
                conn.execute(channel_state.update().where(where).values(value=value))

    def delete(self, name: str, key: str) -> bool:
        where = (channel_state.c.map == name) & (channel_state.c.key == key)
        with self.engine.begin() as conn:
            return bool(conn.execute(channel_state.delete().where(where)).rowcount)

    def import_json(self, name: str, path: Path) -> int:
        """Take over a map an earlier version kept in a JSON file (``data_dir/wecom_kf_*.json``):
        its keys not in the database yet are copied, and the file is renamed ``*.imported``."""
        if not path.exists():
            return 0
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.error("cannot read %s (%s); not imported", path, exc)
            return 0
        copied = 0
        for key, value in data.items() if isinstance(data, dict) else []:
            if not self.get(name, str(key)):
                self.put(name, str(key), str(value))
                copied += 1
        path.rename(path.with_name(path.name + ".imported"))
        log.info("imported %d entries of %s into the database (%s)", copied, path.name, name)
        return copied


class StateMap:
    """One named map; the async methods run the database work in a thread."""

    def __init__(self, store: ChannelStateStore, name: str) -> None:
        self.store, self.name = store, name

    async def get(self, key: str) -> str:
        return await asyncio.to_thread(self.store.get, self.name, key)

    async def put(self, key: str, value: str) -> None:
        await asyncio.to_thread(self.store.put, self.name, key, value)

    async def delete(self, key: str) -> bool:
        return await asyncio.to_thread(self.store.delete, self.name, key)

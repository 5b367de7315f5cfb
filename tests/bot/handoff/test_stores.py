"""Conversation and lock stores for several Rasa servers: the URLs operators
configure become Rasa's endpoint sections, Rasa builds real stores from them
(PostgreSQL and Redis on this machine), and a bot served from PostgreSQL keeps
its conversations there."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from bot.process.runner import StartupFailed, write_endpoints
from faqbot.config import Settings, load_settings
from tests.databases import POSTGRES, postgres_url

pytestmark = pytest.mark.slow

PG = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"


def endpoints_for(tmp_path: Path, **bot: str) -> dict:
    base = load_settings(env={})
    settings = base.replace(data_dir=tmp_path, bot=replace(base.bot, **bot))
    return yaml.safe_load(write_endpoints(settings).read_text(encoding="utf-8"))


def test_urls_become_rasa_store_sections(tmp_path: Path):
    # SQL stores are Rasa's rows through the cached store (bot/server/tracker_store.py).
    assert endpoints_for(tmp_path, tracker_store="postgresql://bot:s%40cret@db.internal:6543/faq")["tracker_store"] == {
        "type": "bot.server.tracker_store.CachedSQLTrackerStore",
        "dialect": "postgresql",
        "url": "db.internal",
        "port": 6543,
        "username": "bot",
        "password": "s@cret",
        "db": "faq",
    }
    ends = endpoints_for(tmp_path, tracker_store="rediss://:pw@cache:6380/2", lock_store=REDIS)
    assert ends["tracker_store"] == {
        "type": "redis",
        "url": "cache",
        "port": 6380,
        "db": 2,
        "password": "pw",
        "use_ssl": True,
        "key_prefix": "faqbot",
    }
    assert ends["lock_store"]["type"] == "redis" and ends["lock_store"]["port"] == 6379
    assert "lock_store" not in endpoints_for(tmp_path)  # default: in process
    default = endpoints_for(tmp_path)["tracker_store"]
    assert default["dialect"] == "sqlite" and default["type"] == "bot.server.tracker_store.CachedSQLTrackerStore"
    assert "tracker_store" not in endpoints_for(tmp_path, tracker_store="memory")


@pytest.mark.parametrize(
    "bot, message",
    [
        (
            {"tracker_store": "mysql://x@y/z"},
            "bot.tracker_store must be 'sqlite', 'memory', 'postgresql://…' or 'redis://…'",
        ),
        ({"tracker_store": "postgresql://x@y"}, "bot.tracker_store: name the database in the URL"),
        ({"tracker_store": "redis://h/zero"}, "bot.tracker_store: the Redis database must be a number"),
        ({"lock_store": "postgresql://x@y/z"}, "bot.lock_store must be '' or 'redis://…'"),
        ({"lock_store": "redis://h:port/0"}, "bot.lock_store: Port could not be cast"),
    ],
)
def test_a_bad_store_url_stops_the_start_with_a_clear_reason(tmp_path: Path, bot: dict, message: str):
    with pytest.raises(StartupFailed, match=re.escape(message)):
        endpoints_for(tmp_path, **bot)


def test_rasa_builds_working_redis_stores_from_them(tmp_path: Path):
    from rasa.core.lock_store import LockStore, RedisLockStore
    from rasa.core.tracker_store import RedisTrackerStore, TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import read_endpoint_config

    path = write_endpoints(
        load_settings(env={}).replace(
            data_dir=tmp_path, bot=replace(load_settings(env={}).bot, tracker_store=REDIS, lock_store=REDIS)
        )
    )
    sender = f"stores-{uuid.uuid4().hex}"

    async def scenario() -> list[str]:
        store = TrackerStore.create(read_endpoint_config(str(path), "tracker_store"), Domain.empty())
        assert isinstance(store, RedisTrackerStore)
        tracker = DialogueStateTracker(sender, slots=[])
        tracker.update(UserUttered("提现手续费是多少"))
        await store.save(tracker)
        again = await store.retrieve(sender)
        locks = LockStore.create(read_endpoint_config(str(path), "lock_store"))
        assert isinstance(locks, RedisLockStore)
        import redis

        raw = redis.Redis.from_url(REDIS)
        async with locks.lock(sender):  # held in Redis, where every server sees it
            assert [k for k in raw.scan_iter(f"*{sender}*") if b"lock" in k]
        raw.close()
        return [e.text for e in again.events if isinstance(e, UserUttered)]

    assert asyncio.run(scenario()) == ["提现手续费是多少"]


HANDOFF = {"presence_timeout": 86400}


@pytest.fixture(scope="module")
def bot_settings(bot_settings: Settings) -> Settings:
    postgres_url()  # a clear failure if PostgreSQL is down
    return bot_settings.replace(bot=replace(bot_settings.bot, tracker_store=PG, lock_store=REDIS))


def test_a_bot_on_postgresql_and_redis_answers_and_keeps_the_conversation_there(running_bot):
    from tests.bot.conftest import Chat

    sender = f"pg-{uuid.uuid4().hex}"
    reply = Chat(running_bot.rest_webhook, sender).say("提现手续费是多少")
    assert reply.status == 200 and "手续费" in reply.text
    engine = sa.create_engine(POSTGRES)
    try:
        with engine.connect() as db:
            rows = (
                db.execute(sa.text("SELECT type_name FROM events WHERE sender_id = :s"), {"s": sender}).scalars().all()
            )
    finally:
        engine.dispose()
    assert "user" in rows and "bot" in rows

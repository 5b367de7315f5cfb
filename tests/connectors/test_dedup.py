"""Platform retries are seen once: in process memory, and in a real Redis
shared by several servers."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from connectors.dedup import MemorySeenIds, RedisSeenIds, seen_ids
from faqbot.config import ChannelsConfig

REDIS_URL = "redis://127.0.0.1:6379/0"


def test_memory_sees_each_id_once_until_it_expires():
    async def scenario() -> list[bool]:
        seen = MemorySeenIds(ttl=0.2)
        results = [
            await seen.first_time("wechat:1"),
            await seen.first_time("wechat:1"),
            await seen.first_time("wechat:2"),
        ]
        await asyncio.sleep(0.25)
        return results + [await seen.first_time("wechat:1")]

    assert asyncio.run(scenario()) == [True, False, True, True]


def test_memory_is_bounded():
    async def scenario() -> int:
        seen = MemorySeenIds(ttl=3600, max_items=100)
        for i in range(1000):
            await seen.first_time(f"id-{i}")
        return len(seen._seen)

    assert asyncio.run(scenario()) <= 100


def test_redis_is_shared_between_instances_and_atomic():
    async def scenario() -> tuple[list[bool], bool]:
        key = f"test:{uuid.uuid4().hex}"
        servers = [RedisSeenIds(REDIS_URL, ttl=60) for _ in range(5)]
        try:  # five servers receive the same retry at the same moment: exactly one handles it
            firsts = await asyncio.gather(*(s.first_time(key) for s in servers))
            later = await servers[0].first_time(key)
        finally:
            for s in servers:
                await s.close()
        return list(firsts), later

    firsts, later = asyncio.run(scenario())
    assert sorted(firsts) == [False, False, False, False, True]
    assert later is False


def test_redis_down_lets_the_message_through_rather_than_dropping_it(caplog: pytest.LogCaptureFixture):
    async def scenario() -> bool:
        seen = RedisSeenIds("redis://127.0.0.1:1/0", ttl=60)
        try:
            return await seen.first_time("telegram:42")
        finally:
            await seen.close()

    assert asyncio.run(scenario()) is True
    assert "Redis unavailable" in caplog.text


def test_the_config_picks_the_implementation():
    assert isinstance(seen_ids(ChannelsConfig()), MemorySeenIds)
    assert isinstance(seen_ids(ChannelsConfig(dedup_url=REDIS_URL)), RedisSeenIds)

"""Numbered choices shared by several servers through a real Redis: two ``Choices`` stand
for two servers behind the load balancer. What one offered, the other resolves; a number
is consumed once even when both are handed it at the same moment; the options expire."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis

from connectors.replies import Choices, choices_for
from faqbot.config import ChannelsConfig
from tests.polling import wait_until

REDIS_URL = "redis://127.0.0.1:6379/0"
BUTTONS = [
    {"title": "提现手续费是多少？", "payload": '/choose_faq{"faq_id": "withdraw-fee"}'},
    {"title": "转人工", "payload": "/request_human"},
]


@pytest.fixture
def channel() -> str:
    """A channel name no other test uses, so their keys never meet."""
    return f"test-{uuid.uuid4().hex}"


def two_servers(channel: str, ttl: float = 60) -> tuple[Choices, Choices]:
    return Choices(ttl, redis_url=REDIS_URL, channel=channel), Choices(ttl, redis_url=REDIS_URL, channel=channel)


async def closed(*servers: Choices) -> None:
    for server in servers:
        await server.close()


def test_a_number_typed_to_another_server_picks_the_option_this_one_offered(channel):
    async def scenario() -> list[str]:
        a, b = two_servers(channel)
        try:
            await a.offer("u1", BUTTONS)
            return [
                await b.resolve("u2", "1"),  # another user's options do not apply
                await b.resolve("u1", "3"),  # out of range: plain text, still offered
                await b.resolve("u1", "第２个"),
                await a.resolve("u1", "1"),  # used up, on every server
            ]
        finally:
            await closed(a, b)

    assert asyncio.run(scenario()) == ["1", "3", "/request_human", "1"]
    assert redis.Redis.from_url(REDIS_URL).exists(f"faqbot:choices:{channel}:u1") == 0


def test_the_options_are_stored_under_the_channel_and_user_with_the_ttl(channel):
    async def scenario() -> None:
        a = Choices(1800, redis_url=REDIS_URL, channel=channel)
        try:
            await a.offer("u1", BUTTONS)
        finally:
            await a.close()

    asyncio.run(scenario())
    client = redis.Redis.from_url(REDIS_URL)
    key = f"faqbot:choices:{channel}:u1"
    assert 1790 <= client.ttl(key) <= 1800
    client.delete(key)


def test_a_number_is_consumed_once_when_two_servers_get_it_at_the_same_moment(channel):
    async def scenario() -> list[str]:
        servers = [Choices(60, redis_url=REDIS_URL, channel=channel) for _ in range(6)]
        try:
            await servers[0].offer("u1", BUTTONS)
            return list(await asyncio.gather(*(s.resolve("u1", "1") for s in servers)))
        finally:
            await closed(*servers)

    picked = asyncio.run(scenario())
    assert sorted(picked) == ['/choose_faq{"faq_id": "withdraw-fee"}'] + ["1"] * 5


def test_a_title_keeps_the_options_offered(channel):
    async def scenario() -> list[str]:
        a, b = two_servers(channel)
        try:
            await a.offer("u1", BUTTONS)
            return [await b.resolve("u1", "转人工", titles=True), await a.resolve("u1", "1", titles=True)]
        finally:
            await closed(a, b)

    assert asyncio.run(scenario()) == ["/request_human", '/choose_faq{"faq_id": "withdraw-fee"}']


def test_the_options_expire(channel):
    async def offer() -> None:
        a = Choices(0.2, redis_url=REDIS_URL, channel=channel)
        try:
            await a.offer("u1", BUTTONS)
        finally:
            await a.close()

    async def resolve() -> str:
        b = Choices(0.2, redis_url=REDIS_URL, channel=channel)
        try:
            return await b.resolve("u1", "1")
        finally:
            await b.close()

    asyncio.run(offer())
    client = redis.Redis.from_url(REDIS_URL)
    wait_until(lambda: not client.exists(f"faqbot:choices:{channel}:u1"), 10, "Redis to expire the options")
    assert asyncio.run(resolve()) == "1"


def test_a_redis_dedup_url_shares_the_choices_and_none_keeps_them_in_memory(channel):
    async def scenario(config: ChannelsConfig) -> str:
        a, b = choices_for(config, channel), choices_for(config, channel)
        try:
            await a.offer("u1", BUTTONS)
            return await b.resolve("u1", "2")
        finally:
            await closed(a, b)

    assert asyncio.run(scenario(ChannelsConfig(dedup_url=REDIS_URL))) == "/request_human"
    assert asyncio.run(scenario(ChannelsConfig())) == "2"  # each server its own memory


def test_redis_away_reads_a_number_as_text(caplog: pytest.LogCaptureFixture):
    async def scenario() -> str:
        a = Choices(60, redis_url="redis://127.0.0.1:1/0", channel="x")
        try:
            await a.offer("u1", BUTTONS)
            return await a.resolve("u1", "1")
        finally:
            await a.close()

    assert asyncio.run(scenario()) == "1"
    assert "Redis unavailable" in caplog.text

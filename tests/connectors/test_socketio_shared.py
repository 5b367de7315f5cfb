"""Who is connected to the widget's socket.io across servers (connectors/socketio_shared.py),
against the real Redis: two servers' presences see each other's sockets, a closed socket is
gone at once, and a dead server's sockets lapse."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from connectors.socketio_shared import RedisPresence, url_problem
from tests.polling import wait_until_async

REDIS = "redis://127.0.0.1:6379/0"


def test_two_servers_see_each_others_sockets_and_a_dead_servers_lapse():
    async def scenario() -> list[bool]:
        a, b = RedisPresence(REDIS), RedisPresence(REDIS, ttl=1.0)
        session = f"presence-{uuid.uuid4().hex[:8]}"
        seen = [await a.connected(session)]
        await b.joined(session, "sid-on-b")
        seen.append(await a.connected(session))  # B's socket, seen from A
        await b.left("sid-on-b")
        seen.append(await a.connected(session))
        await b.joined(session, "sid-again")
        assert b._renewer is not None
        b._renewer.cancel()  # server B dies: nobody renews its entry

        async def lapsed() -> bool:
            return not await a.connected(session)

        await wait_until_async(lapsed, 10, "the dead server's socket to lapse")
        seen.append(await a.connected(session))
        return seen

    assert asyncio.run(scenario()) == [False, True, False, False]


def test_a_socket_that_joins_another_session_leaves_the_first():
    async def scenario() -> tuple[bool, bool]:
        node = RedisPresence(REDIS)
        first, second = (f"presence-{uuid.uuid4().hex[:8]}" for _ in range(2))
        await node.joined(first, "sid-1")
        await node.joined(second, "sid-1")
        found = await node.connected(first), await node.connected(second)
        await node.left("sid-1")
        return found

    assert asyncio.run(scenario()) == (False, True)


@pytest.mark.parametrize("url", ["http://cache:6379", "postgresql://db/x", "cache:6379"])
def test_only_redis_urls_are_accepted(url):
    problem = url_problem(url)
    assert problem is not None and "socketio_url" in problem


def test_redis_urls_and_none_are_fine():
    assert url_problem("") is None and url_problem("rediss://:pw@cache:6380/1") is None

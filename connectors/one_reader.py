"""One reader at a time for a platform's message queue, across every server.

微信客服 does not push messages: its callback only says "there is something", and the
server that got it reads ``kf/sync_msg`` from the shared cursor. Two servers reading at
once would read the same page twice (each message is still answered once, through
``dedup``) and could save the cursor out of order. So reading is done by one server at a
time: ``run(key, work)`` runs ``work`` unless another server is already reading ``key``;
then it only leaves a note (``pending``), and the reader runs ``work`` once more when it
has finished, so a callback that came meanwhile is never lost.

In memory (one server, the default) or in Redis (``[channels] dedup_url``): the lock is
``SET NX PX`` with this server's token, released only by its holder, and lapses after
``LOCK_MS`` if the holder dies (the next callback then reads).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

from faqbot.config import ChannelsConfig

log = logging.getLogger(__name__)

LOCK_MS = 30_000
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"

Work = Callable[[], Awaitable[None]]


class OneReader(Protocol):
    async def run(self, key: str, work: Work) -> None:
        """Run ``work`` now, or have the server reading ``key`` run it again when done."""


class MemoryOneReader:
    """One server: a lock per key; a caller that finds it taken waits for its turn."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    async def run(self, key: str, work: Work) -> None:
        async with self._locks.setdefault(key, asyncio.Lock()):
            await work()


class RedisOneReader:
    def __init__(self, url: str, prefix: str = "faqbot:reader:") -> None:
        import redis.asyncio as redis

        self.prefix = prefix
        self._redis = redis.from_url(url)
        self._me = uuid.uuid4().hex

    async def run(self, key: str, work: Work) -> None:
        lock, pending = f"{self.prefix}lock:{key}", f"{self.prefix}pending:{key}"
        try:
            await self._redis.set(pending, b"1", px=LOCK_MS * 2)
            while await self._redis.set(lock, self._me, nx=True, px=LOCK_MS):
                try:
                    while await self._redis.getdel(pending):
                        await work()
                finally:
                    await self._redis.eval(_RELEASE, 1, lock, self._me)
                if not await self._redis.exists(pending):  # nobody called while we released
                    return
        except Exception as exc:  # Redis away: read anyway (dedup keeps answers single)
            if "redis" not in type(exc).__module__:
                raise
            log.warning("one reader: Redis unavailable (%s); reading %s without the lock", exc, key)
            await work()

    async def close(self) -> None:
        await self._redis.close()


def one_reader(config: ChannelsConfig) -> OneReader:
    return RedisOneReader(config.dedup_url) if config.dedup_url else MemoryOneReader()

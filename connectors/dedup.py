"""Platforms retry a webhook they think failed (WeChat after 5 s, Feishu after
3 s, Slack and Messenger on errors, Telegram until it gets a 200); the user
must still get one answer. Each connector asks ``first_time(key)`` with the
platform's message id before handing a message to the bot.

Two implementations behind one small interface: in-process memory (the
default; one server) and Redis (``[channels] dedup_url``; several servers
behind a load balancer share what they have seen). Both claim the id
atomically, so two concurrent deliveries of one message cannot both pass.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Protocol

from faqbot.config import ChannelsConfig

log = logging.getLogger(__name__)


class SeenIds(Protocol):
    async def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen within the TTL, False for a repeat."""


class MemorySeenIds:
    """A TTL set in this process, bounded so a flood of ids cannot exhaust memory."""

    def __init__(self, ttl: float = 86400, max_items: int = 200_000) -> None:
        self.ttl, self.max_items = ttl, max_items
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def first_time(self, key: str) -> bool:
        now = time.monotonic()
        while self._seen:  # oldest first: drop the expired ones
            oldest, at = next(iter(self._seen.items()))
            if now - at < self.ttl and len(self._seen) < self.max_items:
                break
            del self._seen[oldest]
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


class RedisSeenIds:
    """``SET key 1 NX EX ttl``: atomic across every server that shares the Redis."""

    def __init__(self, url: str, ttl: int = 86400, prefix: str = "faqbot:seen:") -> None:
        import redis.asyncio as redis

        self.ttl, self.prefix = int(ttl), prefix
        self._redis = redis.from_url(url)

    async def first_time(self, key: str) -> bool:
        try:
            return bool(await self._redis.set(self.prefix + key, b"1", nx=True, ex=self.ttl))
        except Exception as exc:  # a duplicate answer beats an unanswered user
            log.warning("dedup: Redis unavailable (%s); handling %s without the check", exc, key)
            return True

    async def close(self) -> None:
        await self._redis.close()


def seen_ids(config: ChannelsConfig) -> SeenIds:
    if config.dedup_url:
        log.info("channel dedup: Redis at %s", config.dedup_url.split("@")[-1])
        return RedisSeenIds(config.dedup_url, config.dedup_ttl)
    return MemorySeenIds(config.dedup_ttl)

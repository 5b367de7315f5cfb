"""The web widget's socket.io connections across several servers (issue #17).

A widget holds one socket to one server; an agent's reply, or the bot's answer to a
message that server B's load balancer sent to server A, must still reach it. Two
parts, both in Redis when ``[channels] socketio_url`` is set:

- the emits: python-socketio's own ``AsyncRedisManager`` (a pub/sub channel every
  server listens on, each delivering to the sockets it holds), swapped in for the
  in-process manager Rasa builds its server with;
- who is connected (``Presence``): a push must say whether it reached someone or was
  only stored for the widget to fetch ("用户当前不在线…"), and a server only knows its own
  sockets. Each server keeps its sessions' sockets in a Redis sorted set per session,
  scored by an expiry it renews while the socket is open; a server that dies stops
  renewing and its entries lapse within ``PRESENCE_TTL_SECONDS``.

Without ``socketio_url`` everything stays in process memory (one server), as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any, Protocol

from socketio import AsyncRedisManager, AsyncServer

log = logging.getLogger(__name__)

# The pub/sub channel the servers share (one per deployment's Redis database).
CHANNEL = "faqbot-socketio"
PRESENCE_PREFIX = "faqbot:socketio:presence:"
# An open socket's entry lives this long unless renewed (every third of it).
PRESENCE_TTL_SECONDS = 60.0


class Presence(Protocol):
    async def joined(self, session: str, sid: str) -> None:
        """Socket ``sid`` (on this server) now receives what is sent to ``session``."""

    async def left(self, sid: str) -> None:
        """Socket ``sid`` disconnected."""

    async def connected(self, session: str) -> bool:
        """Some server holds an open socket for ``session``."""


class LocalPresence:
    """One server: its own manager knows every socket."""

    def __init__(self, sio: AsyncServer, namespace: str) -> None:
        self.sio, self.namespace = sio, namespace

    async def joined(self, session: str, sid: str) -> None:
        return None

    async def left(self, sid: str) -> None:
        return None

    async def connected(self, session: str) -> bool:
        return any(True for _ in self.sio.manager.get_participants(self.namespace, session))


class RedisPresence:
    """Several servers: the sessions' sockets in Redis, renewed while open (module docstring)."""

    def __init__(self, url: str, ttl: float = PRESENCE_TTL_SECONDS) -> None:
        from redis import asyncio as aioredis

        self._redis: Any = aioredis.Redis.from_url(url)
        self.ttl = ttl
        self.node = uuid.uuid4().hex[:12]  # this server process
        self._mine: dict[str, str] = {}  # sid -> session, this server's open sockets (a cache of Redis)
        self._renewer: asyncio.Task[None] | None = None

    def _member(self, sid: str) -> str:
        return f"{self.node}:{sid}"

    async def _mark(self, session: str, sid: str) -> None:
        key = PRESENCE_PREFIX + session
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {self._member(sid): time.time() + self.ttl})
            pipe.expire(key, int(self.ttl) + 1)
            await pipe.execute()

    async def joined(self, session: str, sid: str) -> None:
        previous = self._mine.get(sid)
        if previous is not None and previous != session:  # a socket follows one session at a time
            await self._drop(previous, sid)
        self._mine[sid] = session
        try:
            await self._mark(session, sid)
        except Exception as exc:  # the widget still gets its replies; pushes may read as "stored"
            log.warning("socket.io presence: Redis unavailable (%s)", exc)
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew())

    async def _drop(self, session: str, sid: str) -> None:
        try:
            await self._redis.zrem(PRESENCE_PREFIX + session, self._member(sid))
        except Exception as exc:
            log.warning("socket.io presence: Redis unavailable (%s)", exc)

    async def left(self, sid: str) -> None:
        session = self._mine.pop(sid, None)
        if session is not None:
            await self._drop(session, sid)

    async def connected(self, session: str) -> bool:
        try:
            return bool(await self._redis.zcount(PRESENCE_PREFIX + session, time.time(), "+inf"))
        except Exception as exc:  # unknown: say "stored"; the widget fetches it by seq when back
            log.warning("socket.io presence: Redis unavailable (%s)", exc)
            return False

    async def _renew(self) -> None:
        while self._mine:
            await asyncio.sleep(self.ttl / 3)
            for sid, session in list(self._mine.items()):
                try:
                    await self._mark(session, sid)
                except Exception as exc:
                    log.warning("socket.io presence: could not renew (%s)", exc)
                    break


def url_problem(url: str) -> str | None:
    """What is wrong with a ``[channels] socketio_url`` (None: fine, or unset)."""
    if url and url.split("://", 1)[0] not in ("redis", "rediss"):
        return f"[channels] socketio_url must be 'redis://…' or 'rediss://…', not {url.split('@')[-1]!r}"
    return None


def share(sio: AsyncServer, url: str, namespace: str) -> Presence:
    """Put ``sio`` (built by Rasa, not started yet) on the shared Redis manager when ``url``
    is set, and the presence that goes with it; otherwise the in-process one."""
    if not url:
        return LocalPresence(sio, namespace)
    problem = url_problem(url)
    if problem is not None:
        raise ValueError(problem)
    manager = AsyncRedisManager(url, channel=CHANNEL)
    sio.manager = manager
    manager.set_server(sio)
    sio.manager_initialized = False  # python-socketio starts the listener on the first connection
    log.info("socket.io: shared through Redis at %s", url.split("@")[-1])
    return RedisPresence(url)

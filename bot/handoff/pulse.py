"""Wakes everyone waiting for "something changed" (the console's live feeds).

One server: ``fire`` wakes this process's waiters. Several servers (``[channels]
socketio_url``, a Redis URL): a ``PulseBridge`` also publishes each fire on
``faqbot:pulse`` and fires the local pulse for each message from another server, so a
hand-off event written on one server reaches the agents' streams on all of them at
once. The streams still poll every second: a lost message (Redis away) only delays.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

log = logging.getLogger(__name__)

CHANNEL = "faqbot:pulse"
RETRY_SECONDS = 1.0


class Pulse:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.bridge: PulseBridge | None = None

    def fire(self) -> None:
        """Wake this process's waiters and, when bridged, every other server's."""
        self.wake()
        if self.bridge is not None:
            self.bridge.publish()

    def wake(self) -> None:
        """Wake this process's waiters only."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        """Until the next fire or ``timeout`` s; True when a fire woke it."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except TimeoutError:
            return False
        return True


class PulseBridge:
    """``pulse``'s fires shared through Redis pub/sub: ``publish`` (from ``Pulse.fire``)
    sends one, ``listen`` (a task for the server's lifetime) receives the others'."""

    def __init__(self, pulse: Pulse, url: str, channel: str = CHANNEL) -> None:
        import redis.asyncio as redis

        self.pulse, self.channel = pulse, channel
        self.ready = asyncio.Event()  # subscribed: fires from other servers arrive
        self._redis = redis.from_url(url)
        self._me = uuid.uuid4().hex.encode()  # our own messages: the local waiters are awake already
        self._queued = False
        self._sending: set[asyncio.Task[None]] = set()
        pulse.bridge = self

    def publish(self) -> None:
        if self._queued:  # a send not yet started covers this fire too: a burst is one message
            return
        self._queued = True
        task = asyncio.get_running_loop().create_task(self._publish())
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _publish(self) -> None:
        self._queued = False
        try:
            await self._redis.publish(self.channel, self._me)
        except Exception as exc:  # the other servers see it within their 1 s poll
            log.warning("pulse: Redis unavailable (%s); other servers see this change by polling", exc)

    async def listen(self) -> None:
        """Until cancelled: wake the local pulse on every other server's fire (subscribed
        again after Redis comes back)."""
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    self._received(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("pulse: Redis subscription lost (%s); retrying in %.0f s", exc, RETRY_SECONDS)
            finally:
                self.ready.clear()
                await pubsub.close()
            await asyncio.sleep(RETRY_SECONDS)

    def _received(self, message: dict[str, Any]) -> None:
        if message.get("type") == "subscribe":
            log.info("pulse: subscribed to %s; the consoles' live feeds follow every server", self.channel)
            self.ready.set()
            self.pulse.wake()  # what was fired while unsubscribed: streams look again
        elif message.get("type") == "message" and message.get("data") != self._me:
            self.pulse.wake()

    async def close(self) -> None:
        """Unbridged: later fires (work drained at shutdown) wake this process only."""
        if self.pulse.bridge is self:
            self.pulse.bridge = None
        for task in list(self._sending):
            task.cancel()
        await self._redis.close()

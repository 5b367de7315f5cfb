"""The console's live feeds across servers: two ``Pulse`` objects stand for two servers,
bridged through a real Redis. A fire on one wakes a waiter on the other well before the
1 s poll would have (the waiters here wait 30 s); without a fire nothing wakes them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from bot.handoff.pulse import Pulse, PulseBridge

REDIS_URL = "redis://127.0.0.1:6379/0"
LONG = 30.0  # far longer than the streams' 1 s poll: a wake-up is the bridge's doing


@asynccontextmanager
async def bridged(channel: str) -> AsyncIterator[tuple[Pulse, Pulse]]:
    """Servers A and B on one Redis, each listening as the server does after it starts."""
    pulses = [Pulse(), Pulse()]
    bridges = [PulseBridge(p, REDIS_URL, channel) for p in pulses]
    listening = [asyncio.create_task(b.listen()) for b in bridges]
    try:
        await asyncio.wait_for(asyncio.gather(*(b.ready.wait() for b in bridges)), LONG)
        yield pulses[0], pulses[1]
    finally:
        for task in listening:
            task.cancel()
        await asyncio.gather(*listening, return_exceptions=True)
        for bridge in bridges:
            await bridge.close()


async def waiting(pulse: Pulse) -> asyncio.Task[bool]:
    """A stream waiting on ``pulse``, started (it waits for the next fire, not an earlier one)."""
    task = asyncio.create_task(pulse.wait(LONG))
    await asyncio.sleep(0)  # let it begin waiting
    return task


def run(scenario: Callable[[str], Awaitable[object]]) -> object:
    return asyncio.run(scenario(f"test:pulse:{uuid.uuid4().hex}"))  # no other test's fires


def test_a_fire_on_one_server_wakes_a_stream_on_the_other():
    async def scenario(channel: str) -> tuple[bool, bool]:
        async with bridged(channel) as (a, b):
            on_b, on_a = await waiting(b), await waiting(a)
            a.fire()
            return await on_b, await on_a

    # Woken by the fire, not by the 30 s timeout: the other server's stream and this server's own.
    assert run(scenario) == (True, True)


def test_each_servers_fires_reach_the_other_in_both_directions_and_bursts_arrive():
    async def scenario(channel: str) -> list[bool]:
        async with bridged(channel) as (a, b):
            woke = []
            for source, target in ((a, b), (b, a), (a, b)):
                on_target = await waiting(target)
                for _ in range(50):  # a burst of events: coalesced, still delivered
                    source.fire()
                woke.append(await on_target)
            return woke

    assert run(scenario) == [True, True, True]


def test_without_a_fire_a_waiter_times_out():
    async def scenario(channel: str) -> bool:
        async with bridged(channel) as (_a, b):
            return await b.wait(0.1)

    assert run(scenario) is False


def test_redis_away_keeps_the_local_pulse_working():
    async def scenario() -> bool:
        pulse = Pulse()
        bridge = PulseBridge(pulse, "redis://127.0.0.1:1/0")
        try:
            on_pulse = await waiting(pulse)
            pulse.fire()  # publishing fails (logged); this server's streams still wake
            return await on_pulse
        finally:
            await bridge.close()

    assert asyncio.run(scenario()) is True

"""One reader at a time across servers (``connectors/one_reader.py``), against the real
Redis: two ``RedisOneReader`` objects stand for two servers reading one 微信客服 account."""

from __future__ import annotations

import asyncio
import uuid

from connectors.one_reader import MemoryOneReader, RedisOneReader

REDIS = "redis://127.0.0.1:6379/0"


def test_two_servers_never_read_at_once_and_no_callback_is_lost():
    async def scenario() -> tuple[int, int, int]:
        a, b = RedisOneReader(REDIS), RedisOneReader(REDIS)
        key = f"kf-{uuid.uuid4().hex[:8]}"
        reading, most, runs = 0, 0, 0
        first_started = asyncio.Event()
        release_first = asyncio.Event()

        async def work() -> None:
            nonlocal reading, most, runs
            reading += 1
            most = max(most, reading)
            runs += 1
            if runs == 1:
                first_started.set()
                await release_first.wait()  # a long read, during which the callbacks come
            reading -= 1

        first = asyncio.create_task(a.run(key, work))
        await first_started.wait()
        # Three callbacks land on server B (and A) while A reads: none of them reads now...
        await asyncio.wait_for(asyncio.gather(b.run(key, work), b.run(key, work), a.run(key, work)), 10)
        assert runs == 1
        release_first.set()
        await asyncio.wait_for(first, 10)
        # ...and A, when done, reads once more for all of them.
        await a.close()
        await b.close()
        return most, runs, reading

    most, runs, reading = asyncio.run(scenario())
    assert most == 1 and runs == 2 and reading == 0


def test_a_dead_readers_lock_lapses_and_a_failing_read_frees_it():
    async def scenario() -> list[str]:
        reader = RedisOneReader(REDIS)
        key = f"kf-{uuid.uuid4().hex[:8]}"
        done: list[str] = []

        async def failing() -> None:
            raise RuntimeError("the platform refused")

        try:
            await reader.run(key, failing)
        except RuntimeError:
            done.append("raised")

        async def ok() -> None:
            done.append("read")

        await asyncio.wait_for(reader.run(key, ok), 10)  # the failed read released its lock
        # A server that died holding the lock: its token is not ours, and it lapses on its own.
        await reader._redis.set(f"{reader.prefix}lock:{key}", b"dead-server", px=300)
        await reader.run(key, ok)  # taken: only a note is left for the (dead) holder
        assert done == ["raised", "read"]
        while await reader._redis.exists(f"{reader.prefix}lock:{key}"):
            await asyncio.sleep(0.05)  # the dead holder's lock lapsing (PX 300)
        await asyncio.wait_for(reader.run(key, ok), 10)  # the next callback reads, the note included
        await reader.close()
        return done

    assert asyncio.run(scenario()) == ["raised", "read", "read"]


def test_one_server_queues_callbacks_in_memory():
    async def scenario() -> int:
        reader, runs = MemoryOneReader(), []

        async def work() -> None:
            runs.append(1)
            await asyncio.sleep(0)

        await asyncio.gather(*(reader.run("kf", work) for _ in range(3)))
        return len(runs)

    assert asyncio.run(scenario()) == 3

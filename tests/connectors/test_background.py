"""Work after the acknowledgement: kept until done, failures logged, and
finished (within a limit) when the server stops."""

from __future__ import annotations

import asyncio

import pytest

from connectors.background import drain, in_background


def test_a_stopping_server_waits_for_answers_in_flight():
    done: list[str] = []

    async def answer(name: str, seconds: float) -> None:
        await asyncio.sleep(seconds)
        done.append(name)

    async def scenario() -> tuple[int, int]:
        in_background(answer("quick", 0.05), "quick")
        in_background(answer("slower", 0.2), "slower")
        finished = await drain(timeout=5)
        in_background(answer("too slow", 10), "too slow")
        given_up = await drain(timeout=0.1)
        return finished, given_up

    assert asyncio.run(scenario()) == (0, 1)
    assert done == ["quick", "slower"]


def test_a_failure_is_logged_not_lost(caplog: pytest.LogCaptureFixture):
    async def broken() -> None:
        raise RuntimeError("platform said no")

    async def scenario() -> int:
        in_background(broken(), "sending the answer to u1")
        return await drain(timeout=1)

    assert asyncio.run(scenario()) == 0
    assert "sending the answer to u1 failed" in caplog.text and "platform said no" in caplog.text

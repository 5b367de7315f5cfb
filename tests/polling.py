"""Waiting on conditions, never on time: the one ``wait_until`` every test uses (``wait_until_async``
inside an event loop), and reading what the bot received (a channel answers in the background after
acknowledging a webhook)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any


def wait_until(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``check()`` until it returns something truthy, and return that (fails after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout}s; last value: {check()!r}")


async def wait_until_async(check: Callable[[], Awaitable[Any]], timeout: float = 30.0, what: str = "condition") -> Any:
    """``wait_until`` for a coroutine ``check``: awaits it, and sleeps without blocking the event loop."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout}s; last value: {await check()!r}")


def tracker_texts(data_dir: Path, sender: str) -> list[str]:
    """What the bot received from ``sender``: the ``user`` events in Rasa's SQLite tracker store."""
    db = data_dir / "rasa" / "tracker.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id", (sender,)
        ).fetchall()
    return [json.loads(row[0]).get("text") for row in rows]


def wait_for_texts(data_dir: Path, sender: str, expected: list[str], timeout: float = 30.0) -> None:
    """Wait until the bot's tracker for ``sender`` holds exactly ``expected``: Rasa saves a tracker after the
    turn's replies have gone out, so a test that saw the reply must not read the tracker at once."""
    seen: list[list[str]] = []

    def matches() -> bool:
        seen.append(tracker_texts(data_dir, sender))
        return seen[-1] == expected

    try:
        wait_until(matches, timeout, f"the tracker of {sender} to hold {expected}")
    except AssertionError:
        raise AssertionError(f"the tracker of {sender} holds {seen[-1]!r}, not {expected!r}") from None

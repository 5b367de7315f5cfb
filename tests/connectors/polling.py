"""Waiting for what a channel does after it has acknowledged a webhook (it
answers in the background), and reading what the bot received."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable


def wait_until(check: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``check()`` until it returns something truthy, and return that (fails after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} not met within {timeout}s; last value: {check()!r}")


def tracker_texts(data_dir: Path, sender: str) -> list[str]:
    """What the bot received from ``sender``: the ``user`` events in Rasa's SQLite tracker store."""
    db = data_dir / "rasa" / "tracker.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT data FROM events WHERE sender_id = ? AND type_name = 'user' ORDER BY id",
                            (sender,)).fetchall()
    return [json.loads(row[0]).get("text") for row in rows]

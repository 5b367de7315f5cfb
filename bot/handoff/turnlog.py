"""The turns log for the KPIs: one row per user message, written in batches, since one
row per message written one by one cost more than the rest of the gate."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from typing import Any

from bot.handoff.db import now
from bot.handoff.records import Records

log = logging.getLogger(__name__)

# Turns are written at most this often.
TURN_FLUSH_SECONDS = 1.0


class TurnLog:
    def __init__(self, records: Records, executor: Executor | None = None) -> None:
        self.records = records
        self.executor = executor
        self._turns: list[dict[str, Any]] = []

    def note(self, conversation_id: str, channel: str, handled_by: str, reply_ms: float | None) -> None:
        """Record one user message (flushed within ``TURN_FLUSH_SECONDS``)."""
        self._turns.append(
            {
                "at": now(),
                "conversation_id": conversation_id,
                "channel": channel,
                "handled_by": handled_by,
                "reply_ms": reply_ms,
            }
        )
        if len(self._turns) == 1:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (a script or a test): write now
                self.flush()
                return
            loop.call_later(TURN_FLUSH_SECONDS, self._flush_off_loop, loop)

    def _flush_off_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take the batch here (on the loop, where turns are noted) and write it in a worker thread."""
        rows, self._turns = self._turns, []
        loop.run_in_executor(self.executor, self._write, rows)

    def flush(self) -> None:
        """Write what is noted now (at shutdown, or without an event loop)."""
        rows, self._turns = self._turns, []
        self._write(rows)

    def _write(self, rows: list[dict[str, Any]]) -> None:
        try:
            self.records.log_turns(rows)
        except Exception:
            log.exception("could not record %d turns for the KPIs", len(rows))

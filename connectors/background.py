"""Work done after a webhook has been acknowledged.

Most platforms want their 200 within a few seconds (Feishu 3 s, Slack 3 s,
WeChat 5 s) and retry otherwise, so connectors acknowledge first and let the
bot answer through the platform's send API. The event loop holds only weak
references to tasks: keep them here until they finish, and log a failure
instead of losing it silently; when the server stops, ``drain`` lets what is
running finish first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

log = logging.getLogger(__name__)

_running: set[asyncio.Task] = set()


def in_background(work: Awaitable[Any], what: str) -> None:
    """Run ``work`` after the response is sent; ``what`` names it in the log if it fails."""

    async def run() -> None:
        try:
            await work
        except Exception:
            log.exception("%s failed", what)

    task = asyncio.create_task(run())
    _running.add(task)
    task.add_done_callback(_running.discard)


async def drain(timeout: float) -> int:
    """Wait up to ``timeout`` seconds for the work still running (a server stopping
    for a deploy should finish answering what it has acknowledged); returns how
    many tasks were still unfinished and are given up."""
    pending = [t for t in _running if not t.done()]
    if not pending:
        return 0
    log.info("waiting up to %.0f s for %d answer(s) still being sent", timeout, len(pending))
    _, unfinished = await asyncio.wait(pending, timeout=timeout)
    if unfinished:
        log.error("stopping with %d acknowledged message(s) unanswered", len(unfinished))
    return len(unfinished)

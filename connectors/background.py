"""Work done after a webhook has been acknowledged.

Most platforms want their 200 within a few seconds (Feishu 3 s, Slack 3 s,
WeChat 5 s) and retry otherwise, so connectors acknowledge first and let the
bot answer through the platform's send API. The event loop holds only weak
references to tasks: keep them here until they finish, and log a failure
instead of losing it silently.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable

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

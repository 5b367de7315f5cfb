"""The scheduled purge: every Rasa server checks now and then, and the one that takes the
lease (``bot/handoff/lease.py``) for ``[retention] purge_every_hours`` runs ``retention.purge`` (off the
event loop) and records it in the audit log as ``system:retention``; the others find the
lease taken and wait for the next check. A server that dies mid-purge loses nothing: the
next holder purges what is left."""

from __future__ import annotations

import asyncio
import logging

from bot.handoff.lease import Leases, this_process
from bot.privacy.retention import Purged, purge_and_record
from faqbot.config import Settings

log = logging.getLogger(__name__)

LEASE = "retention_purge"
ACTOR = "system:retention"
# How often a server looks whether a purge is due (at most; sooner when the period is shorter).
CHECK_SECONDS = 600.0


def purge_if_due(settings: Settings, holder: str | None = None) -> list[Purged] | None:
    """Run the purge if this process takes the lease for the next period; ``None`` when
    another server holds it (or has run it within the period), or none is scheduled."""
    hours = settings.retention.purge_every_hours
    if not hours:
        return None
    if not Leases(settings.database_url).take(LEASE, holder or this_process(), hours * 3600.0):
        return None
    return purge_and_record(settings, ACTOR)


async def run_scheduled(settings: Settings, check_seconds: float = CHECK_SECONDS) -> None:
    """``purge_if_due`` every ``check_seconds`` for as long as the server runs."""
    if not settings.retention.purge_every_hours:
        return
    every = min(check_seconds, settings.retention.purge_every_hours * 3600.0)
    holder = this_process()
    loop = asyncio.get_running_loop()
    while True:
        try:
            found = await loop.run_in_executor(None, purge_if_due, settings, holder)
            if found is not None:
                log.info("retention: purged %s", {p.kind: p.total for p in found})
        except Exception:  # logged; the lease ends and the next check tries again
            log.exception("retention: the scheduled purge failed")
        await asyncio.sleep(every)

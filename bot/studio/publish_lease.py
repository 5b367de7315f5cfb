"""One studio publish at a time across every server on the database.

A publish, a rollback and a recalibration's publish each hold the lease ``studio_publish``
(``bot/handoff/lease.py``) while they run: a server that finds it held waits, polling, up to
``[console] studio_publish_wait_seconds`` (60 s by default), then tells the editor that another
server is publishing. The lease lasts ``HOLD_SECONDS`` and is renewed while the publish runs, so
a server that dies mid-publish frees it within that time. Each call is its own holder, so two
editors on one server wait for each other the same way.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from bot.handoff.lease import Leases, LeaseTaken, this_call
from bot.studio.changes import ChangeError, ChangeStore

log = logging.getLogger(__name__)

LEASE = "studio_publish"
HOLD_SECONDS = 120.0  # covers a publish (validate, build, share); renewed every 40 s while it runs
WAIT_SECONDS = 60.0
BUSY = "另一台服务器正在发布，请稍后再试"


class PublishBusy(ChangeError):
    """Another publish held the lease for longer than this one would wait (the console answers 409)."""

    def __init__(self, holder: str | None = None) -> None:
        super().__init__(BUSY)
        self.holder = holder


@contextlib.contextmanager
def publishing(store: ChangeStore, wait: float = WAIT_SECONDS) -> Iterator[str]:
    """The block runs holding the publish lease (its holder name is yielded); ``PublishBusy``
    when another publish still holds it after ``wait`` seconds."""
    holder = this_call()
    leases = Leases(store.db.url)
    try:
        with leases.hold(LEASE, holder, HOLD_SECONDS, wait):
            yield holder
    except LeaseTaken as exc:
        log.info("studio: publish not started, %s holds the lease after %.0f s", exc.holder, wait)
        raise PublishBusy(exc.holder) from None

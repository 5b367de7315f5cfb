"""A lease in the database: of several servers on one database, the one holding a job's
lease runs it, and nobody else until the lease ends. A row per job (``job_leases``):
taking it is one conditional ``UPDATE`` (it has ended, or is already ours) or the first
``INSERT``; the database decides, so it holds across processes and machines, on SQLite
and PostgreSQL alike.

A shared tool: the scheduled purge (``bot/privacy/schedule.py``) takes one for a whole period;
the studio's publishes (``bot/studio/publish_lease.py``) hold one for as long as they run
(``hold``: waited for, renewed while held, released at the end)."""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.handoff.db import Database, aware
from bot.handoff.db import now as _now

log = logging.getLogger(__name__)

metadata = sa.MetaData()

job_leases = sa.Table(
    "job_leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(255), nullable=False),
    sa.Column("until", sa.DateTime(timezone=True), nullable=False),
)


def this_process() -> str:
    """A holder name: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def this_call() -> str:
    """A holder name of its own for one piece of work: host, process id and a random part, so
    two threads of one process (two editors on one server) exclude each other too."""
    return f"{this_process()}:{uuid.uuid4().hex[:8]}"


class LeaseTaken(RuntimeError):
    """Someone else held the lease for longer than we were willing to wait."""

    def __init__(self, name: str, holder: str | None) -> None:
        super().__init__(f"lease {name} is held by {holder or 'someone else'}")
        self.name = name
        self.holder = holder


class Leases:
    def __init__(self, url: str) -> None:
        self._db = Database(url, metadata)

    def take(self, name: str, holder: str, seconds: float, at: datetime | None = None) -> bool:
        """Hold ``name`` for ``seconds`` from now if nobody else holds it; ``True`` when taken."""
        at = at or _now()
        until = at + timedelta(seconds=seconds)
        engine = self._db.engine
        with engine.begin() as conn:
            taken = conn.execute(
                job_leases.update()
                .where(job_leases.c.name == name, sa.or_(job_leases.c.until <= at, job_leases.c.holder == holder))
                .values(holder=holder, until=until)
            ).rowcount
        if taken:
            return True
        try:
            with engine.begin() as conn:
                conn.execute(job_leases.insert().values(name=name, holder=holder, until=until))
        except sa.exc.IntegrityError:  # the row exists and someone else holds it
            return False
        return True

    def holder(self, name: str) -> tuple[str, datetime] | None:
        with self._db.engine.connect() as conn:
            found = sa.select(job_leases.c.holder, job_leases.c.until).where(job_leases.c.name == name)
            row = conn.execute(found).first()
        if row is None:
            return None
        return row.holder, aware(row.until)

    def release(self, name: str, holder: str) -> bool:
        """End ``name`` now if ``holder`` holds it (``False``: it had lapsed and someone else took it)."""
        with self._db.engine.begin() as conn:
            gone = conn.execute(job_leases.delete().where(job_leases.c.name == name, job_leases.c.holder == holder))
        return bool(gone.rowcount)

    @contextlib.contextmanager
    def hold(self, name: str, holder: str, seconds: float, wait: float, poll: float = 0.25) -> Iterator[None]:
        """Hold ``name`` for the block: taken as soon as it is free (polling every ``poll`` s,
        ``LeaseTaken`` after ``wait`` s), renewed every third of ``seconds`` while the block
        runs (a server that dies lets it lapse within ``seconds``), released at the end."""
        deadline = time.monotonic() + wait
        while not self.take(name, holder, seconds):
            if time.monotonic() >= deadline:
                found = self.holder(name)
                raise LeaseTaken(name, found[0] if found else None)
            time.sleep(min(poll, max(deadline - time.monotonic(), 0.0)))
        done = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(name, holder, seconds, done), daemon=True)
        renewer.start()
        try:
            yield
        finally:
            done.set()
            renewer.join()
            if not self.release(name, holder):
                log.warning("lease %s of %s had lapsed before its work ended", name, holder)

    def _renew(self, name: str, holder: str, seconds: float, done: threading.Event) -> None:
        while not done.wait(seconds / 3):
            try:
                if not self.take(name, holder, seconds):
                    log.warning("lease %s of %s lapsed and was taken by another holder", name, holder)
                    return
            except Exception:  # the database away for a moment: the lease still runs until it ends
                log.exception("lease %s of %s: renewing failed", name, holder)

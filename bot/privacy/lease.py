"""A lease in the database: of several servers on one database, the one holding a job's
lease runs it, and nobody else until the lease ends. A row per job (``job_leases``):
taking it is one conditional ``UPDATE`` (it has ended, or is already ours) or the first
``INSERT``; the database decides, so it holds across processes and machines, on SQLite
and PostgreSQL alike."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

import sqlalchemy as sa

from bot.handoff.db import Database, aware
from bot.handoff.db import now as _now

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

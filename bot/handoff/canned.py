"""Canned replies (快捷回复): texts agents send often, the team's and each agent's
own, found in the console by typing ``/`` and a shortcut or a word.

A team reply (``owner`` None) is seen by every agent; a personal one only by its
owner. Only admins add and delete team replies (``bot/handoff/teams.py``; the
console enforces it); only the owner deletes a personal one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.handoff.db import Database, aware
from bot.handoff.db import now as _now

MAX_SHORTCUT, MAX_TEXT, MAX_REPLIES = 32, 2000, 500

metadata = sa.MetaData()

canned = sa.Table(
    "canned_replies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.String(64), nullable=True, index=True),  # None: the team's
    sa.Column("shortcut", sa.String(MAX_SHORTCUT), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


class CannedError(ValueError):
    """A canned reply that cannot be saved or removed (the message says why)."""


@dataclass(frozen=True)
class CannedReply:
    id: int
    owner: str | None
    shortcut: str
    text: str
    created_by: str
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "team": self.owner is None,
            "shortcut": self.shortcut,
            "text": self.text,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
        }


class CannedReplies:
    def __init__(self, url: str) -> None:
        self._db = Database(url, metadata)

    def for_agent(self, agent: str) -> list[CannedReply]:
        """The team's replies and this agent's own, by shortcut."""
        with self._db.engine.connect() as conn:
            rows = conn.execute(
                sa.select(canned)
                .where(sa.or_(canned.c.owner.is_(None), canned.c.owner == agent))
                .order_by(canned.c.shortcut, canned.c.id)
            ).all()
        return [CannedReply(**{**dict(r._mapping), "created_at": aware(r.created_at)}) for r in rows]

    def add(self, agent: str, shortcut: str, text: str, team: bool) -> CannedReply:
        shortcut, text = shortcut.strip().lstrip("/"), text.strip()
        if not shortcut or len(shortcut) > MAX_SHORTCUT or any(ch.isspace() for ch in shortcut):
            raise CannedError(f"a shortcut is 1 to {MAX_SHORTCUT} characters without spaces")
        if not text or len(text) > MAX_TEXT:
            raise CannedError(f"a reply is 1 to {MAX_TEXT} characters")
        owner = None if team else agent
        mine = self.for_agent(agent)
        if len(mine) >= MAX_REPLIES:
            raise CannedError(f"at most {MAX_REPLIES} canned replies")
        if any(r.shortcut == shortcut and r.owner == owner for r in mine):
            raise CannedError(f"the shortcut /{shortcut} is taken")
        with self._db.engine.begin() as conn:
            new_id = conn.execute(
                canned.insert().values(owner=owner, shortcut=shortcut, text=text, created_by=agent, created_at=_now())
            ).inserted_primary_key[0]
        return next(r for r in self.for_agent(agent) if r.id == new_id)

    def remove(self, agent: str, reply_id: int, admin: bool = False) -> None:
        """The agent's own reply, or (``admin``) a team reply."""
        found = next((r for r in self.for_agent(agent) if r.id == reply_id), None)
        if found is None or (found.owner is None and not admin):
            raise CannedError("no such canned reply")
        with self._db.engine.begin() as conn:
            conn.execute(canned.delete().where(canned.c.id == reply_id))

"""Search past conversations and 留言 for the console's history: by a word in
anything an agent may read (the bot part before the hand-off, what the customer
and the agent wrote, internal notes; a 留言's question, answer and contact), by
customer (a conversation id, or the host site's verified user id or name), agent,
channel, local date, FAQ and wrap-up tag. Closed ones included; newest first.

SQL ``ILIKE`` over the stored texts: portable across SQLite and PostgreSQL and
quick enough for the tens of thousands of rows one support team has in a year
(a full-text index is the step after that).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.handoff.customers import customers
from bot.handoff.customers import metadata as customer_metadata
from bot.handoff.db import Database, aware
from bot.handoff.handoffs import handoff_events, handoffs, ticket_of
from bot.handoff.handoffs import metadata as handoff_metadata
from bot.handoff.tickets import DRAFTING, tickets
from bot.handoff.tickets import metadata as ticket_metadata

MAX_RESULTS = 50
SNIPPET_CHARS = 60


@dataclass(frozen=True)
class Query:
    text: str = ""
    customer: str = ""  # part of a conversation id, or of a verified user id or name
    agent: str = ""
    channel: str = ""
    since: date | None = None  # local days, both included
    until: date | None = None
    faq: str = ""  # the FAQ a hand-off was about (its id)
    tag: str = ""  # a wrap-up tag the agent gave on closing
    conversations: tuple[str, ...] = ()  # exactly these conversations (a customer's panel)


def _customer(column: sa.ColumnElement[str], text: str) -> sa.ColumnElement[bool]:
    """The conversation id contains ``text``, or its customer's verified user id or name does."""
    pattern = _pattern(text)
    known = sa.select(customers.c.conversation_id).where(
        sa.or_(customers.c.user_id.ilike(pattern, escape="\\"), customers.c.user_name.ilike(pattern, escape="\\"))
    )
    return sa.or_(column.ilike(pattern, escape="\\"), column.in_(known))


def _pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _snippet(text: str, word: str) -> str:
    """The part of ``text`` around ``word`` (case-insensitive), or its start."""
    at = text.lower().find(word.lower()) if word else -1
    start = max(0, at - SNIPPET_CHARS // 3) if at >= 0 else 0
    piece = text[start : start + SNIPPET_CHARS].replace("\n", " ")
    return ("…" if start else "") + piece + ("…" if start + SNIPPET_CHARS < len(text) else "")


class History:
    def __init__(self, url: str, timezone: str) -> None:
        self._db = Database(url, handoff_metadata, ticket_metadata, customer_metadata)
        self.zone = ZoneInfo(timezone)

    def _bounds(self, query: Query) -> tuple[datetime | None, datetime | None]:
        def midnight(day: date) -> datetime:
            return datetime.combine(day, time(), tzinfo=self.zone).astimezone(UTC)

        since = midnight(query.since) if query.since else None
        until = midnight(query.until + timedelta(days=1)) if query.until else None
        return since, until

    def search(self, query: Query, limit: int = MAX_RESULTS) -> list[dict[str, Any]]:
        found = self._handoffs(query, limit) + self._tickets(query, limit)
        found.sort(key=lambda item: item["created_at"], reverse=True)
        return found[:limit]

    def _handoffs(self, query: Query, limit: int) -> list[dict[str, Any]]:
        since, until = self._bounds(query)
        where: list[Any] = []
        if query.text:
            said = (
                sa.select(handoff_events.c.handoff_id)
                .where(handoff_events.c.text.ilike(_pattern(query.text), escape="\\"))
                .scalar_subquery()
            )
            in_transcript = handoffs.c.transcript.ilike(_pattern(query.text), escape="\\")
            where.append(sa.or_(handoffs.c.id.in_(said), in_transcript))
        if query.customer:
            where.append(_customer(handoffs.c.conversation_id, query.customer))
        if query.conversations:
            where.append(handoffs.c.conversation_id.in_(query.conversations))
        if query.faq:
            where.append(handoffs.c.faq_id == query.faq)
        if query.tag:
            tagged = sa.select(handoff_events.c.handoff_id).where(
                handoff_events.c.kind == "wrapup",
                handoff_events.c.text.ilike(_pattern(json.dumps(query.tag, ensure_ascii=False)), escape="\\"),
            )
            where.append(handoffs.c.id.in_(tagged))
        if query.agent:
            where.append(handoffs.c.agent == query.agent)
        if query.channel:
            where.append(handoffs.c.channel == query.channel)
        if since:
            where.append(handoffs.c.created_at >= since)
        if until:
            where.append(handoffs.c.created_at < until)
        select = sa.select(handoffs).where(*where).order_by(handoffs.c.created_at.desc()).limit(limit)
        with self._db.engine.connect() as conn:
            rows = conn.execute(select).all()
            texts = self._matching_texts(conn, [r.id for r in rows], query.text)
        results = []
        for row in rows:
            snippet = texts.get(row.id) or (row.transcript if query.text.lower() in row.transcript.lower() else "")
            results.append(
                {
                    "type": "handoff",
                    "id": row.id,
                    "ref": ticket_of(row.id),
                    "conversation_id": row.conversation_id,
                    "channel": row.channel,
                    "state": row.state,
                    "agent": row.agent,
                    "created_at": aware(row.created_at).isoformat(),
                    "closed_at": aware(row.closed_at).isoformat() if row.closed_at else None,
                    "snippet": _snippet(snippet, query.text) if snippet else "",
                }
            )
        return results

    @staticmethod
    def _matching_texts(conn: sa.engine.Connection, ids: list[str], text: str) -> dict[str, str]:
        """The first message of each hand-off that contains ``text``."""
        if not ids or not text:
            return {}
        rows = conn.execute(
            sa.select(handoff_events.c.handoff_id, handoff_events.c.text)
            .where(handoff_events.c.handoff_id.in_(ids), handoff_events.c.text.ilike(_pattern(text), escape="\\"))
            .order_by(handoff_events.c.seq)
        ).all()
        first: dict[str, str] = {}
        for row in rows:
            first.setdefault(row.handoff_id, row.text)
        return first

    def _tickets(self, query: Query, limit: int) -> list[dict[str, Any]]:
        if query.faq or query.tag:  # only hand-offs have an FAQ and wrap-up tags
            return []
        since, until = self._bounds(query)
        where: list[Any] = [tickets.c.state != DRAFTING]
        if query.text:
            pattern = _pattern(query.text)
            where.append(
                sa.or_(
                    tickets.c.question.ilike(pattern, escape="\\"),
                    tickets.c.answer.ilike(pattern, escape="\\"),
                    tickets.c.contact.ilike(pattern, escape="\\"),
                )
            )
        if query.customer:
            where.append(_customer(tickets.c.conversation_id, query.customer))
        if query.conversations:
            where.append(tickets.c.conversation_id.in_(query.conversations))
        if query.agent:
            where.append(tickets.c.agent == query.agent)
        if query.channel:
            where.append(tickets.c.channel == query.channel)
        if since:
            where.append(tickets.c.created_at >= since)
        if until:
            where.append(tickets.c.created_at < until)
        select = sa.select(tickets).where(*where).order_by(tickets.c.created_at.desc()).limit(limit)
        with self._db.engine.connect() as conn:
            rows = conn.execute(select).all()
        results = []
        for row in rows:
            texts = (row.question, row.answer, row.contact)
            text = next((t for t in texts if t and query.text.lower() in t.lower()), "")
            results.append(
                {
                    "type": "ticket",
                    "id": row.id,
                    "ref": ticket_of(row.id),
                    "conversation_id": row.conversation_id,
                    "channel": row.channel,
                    "state": row.state,
                    "agent": row.agent,
                    "created_at": aware(row.created_at).isoformat(),
                    "closed_at": aware(row.answered_at).isoformat() if row.answered_at else None,
                    "snippet": _snippet(text or row.question or "", query.text),
                }
            )
        return results

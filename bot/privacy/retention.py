"""Retention: each kind of stored data is deleted once it is older than its ``[retention]``
days (0: kept forever). What each kind is:

- ``transcripts``: Rasa's conversation events, closed hand-off chats (with their messages),
  what the widget reported about a customer (by when they were last seen), the buttons last
  offered to a conversation;
- ``tickets``: 留言 nobody still has to answer (not open or reopened) whose last step
  (created, submitted, answered, any later event) is older, with their deliveries,
  transcripts and events;
- ``logs``: the sensitive-word hits;
- ``kpi_events``: turns, bot outcomes and 有帮助/没帮助 feedback (what the KPIs count: a
  period older than this shows nothing any more);
- ``gaps``: unanswered questions and the editors' gap actions.

Open hand-offs and 留言 waiting for an answer are never purged, however old. The audit
log is not purged: it is append-only and holds no personal data (bot/handoff/audit.py).
One transaction per kind; ``dry_run`` counts the same rows and deletes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.handoff.audit import Action, AuditLog
from bot.handoff.customers import customers
from bot.handoff.db import now as _now
from bot.handoff.handoffs import CLOSED, handoff_answer_uses, handoff_events, handoffs
from bot.handoff.offers import offers
from bot.handoff.records import feedback, outcomes, sensitive_hits, turns, unanswered
from bot.handoff.tickets import TO_ANSWER, deliveries, ticket_events, tickets, transcripts
from bot.privacy.stores import TrackerNotCovered, bot_database, tracker_database, tracker_events
from bot.studio.gap_report import kb_gap_actions
from faqbot.config import RETENTION_KINDS, Settings

log = logging.getLogger(__name__)

# What each kind is called where people read it (the CLI, the console).
KIND_NAMES = {
    "transcripts": "对话记录",
    "tickets": "留言",
    "logs": "敏感词日志",
    "kpi_events": "统计事件",
    "gaps": "未答问题",
}

# A step: a table and which of its rows are expired, given the cutoff. Dependent rows first.
Step = tuple[sa.Table, Callable[[datetime], Any]]


def _closed_handoffs(cutoff: datetime) -> Any:
    closed = sa.func.coalesce(handoffs.c.closed_at, handoffs.c.created_at)
    return sa.select(handoffs.c.id).where(handoffs.c.state == CLOSED, closed < cutoff)


def _done_tickets(cutoff: datetime) -> Any:
    recent_event = sa.exists().where(ticket_events.c.ticket_id == tickets.c.id, ticket_events.c.at >= cutoff)
    return sa.select(tickets.c.id).where(
        tickets.c.state.not_in(TO_ANSWER),
        tickets.c.created_at < cutoff,
        sa.or_(tickets.c.submitted_at.is_(None), tickets.c.submitted_at < cutoff),
        sa.or_(tickets.c.answered_at.is_(None), tickets.c.answered_at < cutoff),
        ~recent_event,
    )


STEPS: dict[str, list[Step]] = {
    "transcripts": [
        (
            handoff_answer_uses,
            lambda c: handoff_answer_uses.c.seq.in_(
                sa.select(handoff_events.c.seq).where(handoff_events.c.handoff_id.in_(_closed_handoffs(c)))
            ),
        ),
        (handoff_events, lambda c: handoff_events.c.handoff_id.in_(_closed_handoffs(c))),
        (handoffs, lambda c: handoffs.c.id.in_(_closed_handoffs(c))),
        (customers, lambda c: customers.c.last_seen < c),
        (offers, lambda c: offers.c.updated_at < c),
    ],
    "tickets": [
        (deliveries, lambda c: deliveries.c.ticket_id.in_(_done_tickets(c))),
        (transcripts, lambda c: transcripts.c.ticket_id.in_(_done_tickets(c))),
        (ticket_events, lambda c: ticket_events.c.ticket_id.in_(_done_tickets(c))),
        (tickets, lambda c: tickets.c.id.in_(_done_tickets(c))),
    ],
    "logs": [(sensitive_hits, lambda c: sensitive_hits.c.at < c)],
    "kpi_events": [
        (turns, lambda c: turns.c.at < c),
        (outcomes, lambda c: outcomes.c.at < c),
        (feedback, lambda c: feedback.c.created_at < c),
    ],
    "gaps": [
        (unanswered, lambda c: unanswered.c.created_at < c),
        (kb_gap_actions, lambda c: kb_gap_actions.c.at < c),
    ],
}

# Rasa's conversation store (another database, maybe): its events carry an epoch timestamp.
TRACKER_STEPS: list[Step] = [(tracker_events, lambda c: tracker_events.c.timestamp < c.timestamp())]


@dataclass(frozen=True)
class Purged:
    """One kind's outcome: how many rows of each table were (or, dry run, would be) deleted."""

    kind: str
    days: int  # 0: kept forever, nothing purged
    cutoff: datetime | None
    tables: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.tables.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": KIND_NAMES[self.kind],
            "days": self.days,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "total": self.total,
            "tables": self.tables,
        }


def _count(conn: sa.Connection, table: sa.Table, where: Any) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar_one())


def _run(conn: sa.Connection, steps: list[Step], cutoff: datetime, dry_run: bool) -> dict[str, int]:
    found: dict[str, int] = {}
    for table, expired in steps:
        where = expired(cutoff)
        if dry_run:
            found[table.name] = _count(conn, table, where)
        else:
            found[table.name] = int(conn.execute(table.delete().where(where)).rowcount or 0)
    return found


def purge(settings: Settings, dry_run: bool = False, at: datetime | None = None) -> list[Purged]:
    """Delete (``dry_run``: count) every row older than its kind's retention, one kind per
    transaction; the kinds in ``RETENTION_KINDS`` order."""
    at = at or _now()
    days = settings.retention.days()
    engine = bot_database(settings)
    try:
        tracker = tracker_database(settings) if days["transcripts"] else None
    except TrackerNotCovered as exc:  # Redis: its keys are not ours to scan; the bot's tables still are
        log.warning("retention: %s", exc)
        tracker = None
    out = []
    for kind in RETENTION_KINDS:
        if not days[kind]:
            out.append(Purged(kind, 0, None))
            continue
        cutoff = at - timedelta(days=days[kind])
        with engine.begin() as conn:
            tables = _run(conn, STEPS[kind], cutoff, dry_run)
        if kind == "transcripts" and tracker is not None:
            with tracker.begin() as conn:
                tables = {**tables, **_run(conn, TRACKER_STEPS, cutoff, dry_run)}
        out.append(Purged(kind, days[kind], cutoff, tables))
    return out


def purge_and_record(
    settings: Settings, actor: str, dry_run: bool = False, role: str | None = None, ip: str | None = None
) -> list[Purged]:
    """``purge``, then one audit line: who, whether it was a dry run, how many rows per kind."""
    found = purge(settings, dry_run)
    detail = {"dry_run": dry_run, "rows": {p.kind: p.total for p in found}}
    AuditLog(settings.database_url).record(
        actor, Action.PRIVACY_PURGE, "retention", "dry_run" if dry_run else "purge", detail, role, ip
    )
    return found

"""Data subject requests (个人信息保护法 第四十五、四十七条): a copy of everything stored
about one person, and its deletion, across every store.

A person is named by their conversation id (the sender id of their channel, e.g.
``wecom:<corp>:<user>``, or the widget's ``web:…``), or by the verified user id their site
passed the widget: then every conversation the customers table links to that id is theirs
too. Their rows are those of these conversations in the records (turns, outcomes,
feedback, unanswered questions, sensitive-word hits), hand-offs with their messages,
留言 with their deliveries, transcripts and events, what the widget reported, the buttons
offered, and Rasa's conversation events.

The audit log names the person by a hash of the id given, never the id itself: after a
deletion nothing in the database says who they were, and the audit log still says that
someone's data was exported or deleted, by whom and when.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.handoff.audit import Action, AuditLog
from bot.handoff.customers import customers
from bot.handoff.db import now as _now
from bot.handoff.handoffs import handoff_answer_uses, handoff_events, handoffs
from bot.handoff.offers import offers
from bot.handoff.records import feedback, outcomes, sensitive_hits, turns, unanswered
from bot.handoff.tickets import deliveries, ticket_events, tickets, transcripts
from bot.privacy.stores import bot_database, tracker_database, tracker_events
from bot.studio.gap_report import kb_gap_actions
from faqbot.config import Settings
from faqbot.errors import UserError

MAX_ID = 255


class SubjectError(UserError, ValueError):
    """The id given cannot name anyone."""


def subject_hash(user: str) -> str:
    """How the audit log names a person: not reversible to their id by reading the log."""
    return "sha256:" + hashlib.sha256(user.encode("utf-8")).hexdigest()[:16]


def _checked(user: str) -> str:
    user = (user or "").strip()
    if not user or len(user) > MAX_ID:
        raise SubjectError(f"用户 ID 不能为空，也不能超过 {MAX_ID} 个字符（用会话 ID，如 wecom:… 或 web:…）")
    return user


def conversations_of(conn: sa.Connection, user: str) -> list[str]:
    """The conversation ids that are this person's: the id itself, and those linked to it as a verified user id."""
    linked = conn.execute(sa.select(customers.c.conversation_id).where(customers.c.user_id == user)).scalars()
    return sorted({user, *linked})


def _steps(ids: list[str]) -> list[tuple[sa.Table, Any]]:
    """Every table's rows of these conversations, dependent rows first (the order of deletion)."""
    own_handoffs = sa.select(handoffs.c.id).where(handoffs.c.conversation_id.in_(ids))
    own_tickets = sa.select(tickets.c.id).where(tickets.c.conversation_id.in_(ids))
    return [
        (
            handoff_answer_uses,
            handoff_answer_uses.c.seq.in_(
                sa.select(handoff_events.c.seq).where(handoff_events.c.handoff_id.in_(own_handoffs))
            ),
        ),
        (handoff_events, handoff_events.c.handoff_id.in_(own_handoffs)),
        (handoffs, handoffs.c.conversation_id.in_(ids)),
        (deliveries, deliveries.c.ticket_id.in_(own_tickets)),
        (transcripts, transcripts.c.ticket_id.in_(own_tickets)),
        (ticket_events, sa.or_(ticket_events.c.ticket_id.in_(own_tickets), ticket_events.c.actor.in_(ids))),
        (tickets, tickets.c.conversation_id.in_(ids)),
        (turns, turns.c.conversation_id.in_(ids)),
        (outcomes, outcomes.c.conversation_id.in_(ids)),
        (feedback, feedback.c.conversation_id.in_(ids)),
        (unanswered, unanswered.c.conversation_id.in_(ids)),
        (sensitive_hits, sensitive_hits.c.conversation_id.in_(ids)),
        (offers, offers.c.conversation_id.in_(ids)),
        (customers, customers.c.conversation_id.in_(ids)),
    ]


REMOVED = "（已按个人信息删除请求移除）"


def _forget_in_gap_actions(conn: sa.Connection, ids: list[str], dry_run: bool) -> int:
    """The editors' record of handled gaps (``kb_gap_actions``) quotes customers' unanswered
    questions, with no conversation id: this person's questions (as the log stored them) are
    taken out of it; the editors' action itself stays. Returns the rows changed."""
    if not ids or not sa.inspect(conn).has_table(kb_gap_actions.name):
        return 0
    theirs = {q for (q,) in conn.execute(sa.select(unanswered.c.question).where(unanswered.c.conversation_id.in_(ids)))}
    changed = 0
    for row in conn.execute(sa.select(kb_gap_actions)).all() if theirs else []:
        questions = json.loads(row.questions)
        kept = [q for q in questions if q not in theirs]
        if kept == questions and row.typical not in theirs:
            continue
        changed += 1
        if not dry_run:
            typical = row.typical if row.typical not in theirs else (kept[0] if kept else REMOVED)
            conn.execute(
                kb_gap_actions.update()
                .where(kb_gap_actions.c.id == row.id)
                .values(questions=json.dumps(kept, ensure_ascii=False), typical=typical)
            )
    return changed


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _rows(conn: sa.Connection, table: sa.Table, where: Any) -> list[dict[str, Any]]:
    order = list(table.primary_key.columns)
    found = conn.execute(sa.select(table).where(where).order_by(*order)).all()
    return [{k: _plain(v) for k, v in row._mapping.items()} for row in found]


def _tracker_rows(conn: sa.Connection, ids: list[str]) -> list[dict[str, Any]]:
    out = []
    for row in _rows(conn, tracker_events, tracker_events.c.sender_id.in_(ids)):
        try:
            row["data"] = json.loads(row["data"]) if row["data"] else None
        except ValueError:
            pass  # kept as stored
        out.append(row)
    return out


def export(settings: Settings, user: str) -> dict[str, Any]:
    """Everything stored about ``user``: ``{"user", "exported_at", "conversations",
    "stores": {table: [rows]}}`` (Rasa's events under ``events``, their data parsed)."""
    user = _checked(user)
    tracker = tracker_database(settings)
    with bot_database(settings).connect() as conn:
        ids = conversations_of(conn, user)
        stores = {table.name: _rows(conn, table, where) for table, where in reversed(_steps(ids))}
    if tracker is not None:
        with tracker.connect() as conn:
            stores["events"] = _tracker_rows(conn, ids)
    return {"user": user, "exported_at": _now().isoformat(), "conversations": ids, "stores": stores}


@dataclass(frozen=True)
class Deleted:
    conversations: list[str]
    tables: dict[str, int]  # rows deleted (or, dry run, to delete) per table

    @property
    def total(self) -> int:
        return sum(self.tables.values())


def delete(settings: Settings, user: str, dry_run: bool = False) -> Deleted:
    """Delete everything stored about ``user`` (``dry_run``: count it): the bot's tables in
    one transaction, then Rasa's events of the same conversations."""
    user = _checked(user)
    tracker = tracker_database(settings)
    found: dict[str, int] = {}
    with bot_database(settings).begin() as conn:
        ids = conversations_of(conn, user)
        found[kb_gap_actions.name] = _forget_in_gap_actions(conn, ids, dry_run)
        for table, where in _steps(ids):
            if dry_run:
                count = sa.select(sa.func.count()).select_from(table).where(where)
                found[table.name] = int(conn.execute(count).scalar_one())
            else:
                found[table.name] = int(conn.execute(table.delete().where(where)).rowcount or 0)
    if tracker is not None:
        mine = tracker_events.c.sender_id.in_(ids)
        with tracker.begin() as conn:
            if dry_run:
                count = sa.select(sa.func.count()).select_from(tracker_events).where(mine)
                found["events"] = int(conn.execute(count).scalar_one())
            else:
                found["events"] = int(conn.execute(tracker_events.delete().where(mine)).rowcount or 0)
    return Deleted(ids, found)


def export_and_record(
    settings: Settings, user: str, actor: str, role: str | None = None, ip: str | None = None
) -> dict[str, Any]:
    """``export``, then one audit line (the person named by ``subject_hash``, and row counts)."""
    data = export(settings, user)
    rows = {name: len(found) for name, found in data["stores"].items()}
    detail = {"conversations": len(data["conversations"]), "rows": rows}
    AuditLog(settings.database_url).record(
        actor, Action.PRIVACY_EXPORT, "data_subject", subject_hash(data["user"]), detail, role, ip
    )
    return data


def delete_and_record(
    settings: Settings, user: str, actor: str, role: str | None = None, ip: str | None = None
) -> Deleted:
    """``delete``, then one audit line (the person named by ``subject_hash``, and row counts)."""
    done = delete(settings, user)
    detail = {"conversations": len(done.conversations), "rows": done.tables}
    AuditLog(settings.database_url).record(
        actor, Action.PRIVACY_DELETE, "data_subject", subject_hash(user.strip()), detail, role, ip
    )
    return done

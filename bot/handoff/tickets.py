"""留言: messages left for the support team when nobody can take a chat live
(outside opening hours, no agent signed in, or the queue is full).

    drafting (asks contact, then question) ──submit──▶ open ──answer──▶ answered ──▶ delivered
        ├──cancel──▶ cancelled   (the customer said 取消)              │            │
        └──escape──▶ escaped     (asked the bot something else)       ▼            ▼
                                   reopened ◀──"还有问题" (the customer)── answered / delivered / closed
                                   └──answer──▶ answered (the new answer goes out like the first)
    open / answered / delivered / reopened ──close (an agent, or the customer's "问题已解决")──▶ closed

The answer in the chat carries two buttons: 问题已解决 closes the ticket, 还有问题
reopens it and takes the customer's next message as a follow-up (step ``followup``),
added to the question for the agent; every change is a ``ticket_events`` row.

An answer is *delivered* once one route reached the customer: pushed to their
chat while they were there, e-mailed to the address they left, or shown when
they came back on any channel (``deliveries``: one row per route tried, with
the outcome and why, for the console). A text message to the number they left
is only *notified*: an SMS template cannot carry the answer, so it tells them
one is waiting, and the ticket stays answered until they read it.

The steps of a draft (``step``): contact → contact_retry (asked again once) →
question; what each message does in each step is the conversation state
machine's (``bot/dialogue/conversation.py``).

A conversation has at most one draft; while it exists the hand-off gate, not
the bot, reads the user's messages (``bot/server/gate.py``). Agents see open
tickets in the console and answer them there; the answer is sent through the
user's channel when it can push, and the contact is for everything else.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.handoff.db import Database, aware
from bot.handoff.db import now as _now

DRAFTING, OPEN, ANSWERED, CANCELLED, ESCAPED = "drafting", "open", "answered", "cancelled", "escaped"
DELIVERED, CLOSED, REOPENED = "delivered", "closed", "reopened"
# Submitted tickets: waiting for an answer, answered, or done with.
SUBMITTED = (OPEN, ANSWERED, DELIVERED, REOPENED, CLOSED)
# Waiting for an agent's answer (the console's 留言 list).
TO_ANSWER = (OPEN, REOPENED)
# Answered, and what the customer may still say 还有问题 to.
HAS_ANSWER = (ANSWERED, DELIVERED)
# Routes an answer goes by, and what became of it on each.
CHAT, EMAIL, SMS, RETURN = "chat", "email", "sms", "return"
SENT, STORED, FAILED, SKIPPED = "sent", "stored", "failed", "skipped"
# Told that an answer is waiting (an SMS), not the answer itself: it does not deliver the ticket.
NOTIFIED = "notified"
REACHED = (SENT,)
CONTACT, CONTACT_RETRY, QUESTION = "contact", "contact_retry", "question"
FOLLOWUP = "followup"  # reopened: the customer's next message is added to the question

metadata = sa.MetaData()

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(64), nullable=False),
    # Why the user wanted a person: the hand-off reasons of bot/handoff/handoffs.py.
    sa.Column("reason", sa.String(32), nullable=False),
    # Why nobody could take it live: closed (outside hours) | no_agent | busy.
    sa.Column("why_offline", sa.String(16), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("step", sa.String(16), nullable=True),
    sa.Column("contact", sa.String(255), nullable=True),
    sa.Column("question", sa.Text, nullable=True),
    # The user's last question to the bot, offered as the default question.
    sa.Column("last_question", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("agent", sa.String(64), nullable=True),
    sa.Column("answer", sa.Text, nullable=True),
)


deliveries = sa.Table(
    "ticket_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.String(36), nullable=False, index=True),
    # chat (pushed to the customer's channel) | email | sms | return (shown when they came back)
    sa.Column("route", sa.String(16), nullable=False),
    # sent (reached) | stored (kept for their client) | notified (told an answer is waiting,
    # an SMS; not reached) | failed | skipped (no such route)
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


# The bot part of the conversation when the 留言 began: JSON list of {role: user|bot, text, time}.
transcripts = sa.Table(
    "ticket_transcripts",
    metadata,
    sa.Column("ticket_id", sa.String(36), primary_key=True),
    sa.Column("transcript", sa.Text, nullable=False),
)
MAX_TRANSCRIPT = 50  # lines kept

# What happened to a submitted ticket after it was answered: closed | reopened | followup
# (text: what the customer added) | no_followup (they added nothing) | answered (text: the
# earlier answer, when answered again).
ticket_events = sa.Table(
    "ticket_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("ticket_id", sa.String(36), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(255), nullable=True),  # an agent, or the conversation id of the customer
    sa.Column("text", sa.Text, nullable=True),
)


@dataclass(frozen=True)
class Delivery:
    route: str
    outcome: str
    detail: str | None
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"route": self.route, "outcome": self.outcome, "detail": self.detail, "at": self.at.isoformat()}


def not_shown_in_chat() -> sa.sql.ColumnElement[bool]:
    """A ticket is answered and its (latest) answer has not appeared in the customer's chat."""
    shown = (
        sa.select(deliveries.c.id)
        .where(
            deliveries.c.ticket_id == tickets.c.id,
            deliveries.c.route.in_((CHAT, RETURN)),
            deliveries.c.outcome == SENT,
            deliveries.c.at >= tickets.c.answered_at,
        )
        .exists()
    )
    return sa.and_(tickets.c.state.in_(HAS_ANSWER), ~shown)


class TicketError(ValueError):
    """A ticket transition that is not allowed (the message says why)."""


@dataclass(frozen=True)
class Ticket:
    id: str
    conversation_id: str
    channel: str
    reason: str
    why_offline: str
    state: str
    step: str | None
    contact: str | None
    question: str | None
    last_question: str | None
    created_at: datetime
    submitted_at: datetime | None
    answered_at: datetime | None
    agent: str | None
    answer: str | None

    @property
    def ticket(self) -> str:
        return self.id.replace("-", "")[:8].upper()

    def to_json(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("created_at", "submitted_at", "answered_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return {**data, "ticket": self.ticket}

    @classmethod
    def from_row(cls, row: Any) -> Ticket:
        data = dict(row._mapping)
        for key in ("created_at", "submitted_at", "answered_at"):
            data[key] = aware(data[key])
        return cls(**data)


class TicketStore:
    def __init__(self, url: str) -> None:
        self._db = Database(url, metadata)

    @property
    def engine(self) -> sa.engine.Engine:
        return self._db.engine

    def get(self, ticket_id: str) -> Ticket:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(tickets).where(tickets.c.id == ticket_id)).first()
        if row is None:
            raise TicketError(f"no ticket {ticket_id!r}")
        return Ticket.from_row(row)

    def draft_for(self, conversation_id: str) -> Ticket | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(tickets).where(tickets.c.conversation_id == conversation_id, tickets.c.state == DRAFTING)
            ).first()
        return Ticket.from_row(row) if row else None

    def in_states(self, states: tuple[str, ...] = (OPEN,), limit: int = 200) -> list[Ticket]:
        """Tickets in ``states``, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(tickets).where(tickets.c.state.in_(states)).order_by(tickets.c.created_at).limit(limit)
            ).all()
        return [Ticket.from_row(r) for r in rows]

    def recent(self, limit: int = 50) -> list[Ticket]:
        """The latest tickets in every state, newest first (``faqbot report tickets``)."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(tickets).order_by(tickets.c.created_at.desc()).limit(limit)).all()
        return [Ticket.from_row(r) for r in rows]

    def marker(self) -> tuple[Any, ...]:
        """Changes whenever a ticket is submitted, answered, closed or reopened (the console
        refreshes its queue)."""
        changed = sa.select(sa.func.max(ticket_events.c.id)).scalar_subquery()
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.max(tickets.c.submitted_at),
                    sa.func.max(tickets.c.answered_at),
                    changed,
                ).where(tickets.c.state.in_(SUBMITTED))
            ).first()
        return tuple(row) if row else ()

    def answered_for(self, conversation_id: str) -> list[Ticket]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(tickets)
                .where(tickets.c.conversation_id == conversation_id, tickets.c.state.in_(HAS_ANSWER))
                .order_by(tickets.c.answered_at)
            ).all()
        return [Ticket.from_row(r) for r in rows]

    def recently_answered(self, limit: int = 30) -> list[Ticket]:
        """Answered, delivered and closed tickets, latest answer first (closed unanswered ones too)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(tickets)
                .where(tickets.c.state.in_((*HAS_ANSWER, CLOSED)))
                .order_by(tickets.c.answered_at.desc())
                .limit(limit)
            ).all()
        return [Ticket.from_row(r) for r in rows]

    def of_conversation(self, conversation_id: str) -> list[Ticket]:
        """Every submitted ticket of this conversation, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(tickets)
                .where(tickets.c.conversation_id == conversation_id, tickets.c.state.in_(SUBMITTED))
                .order_by(tickets.c.created_at)
            ).all()
        return [Ticket.from_row(r) for r in rows]

    def not_shown(self, conversation_id: str) -> list[Ticket]:
        """Answered tickets of this conversation whose answer has not appeared in its chat
        yet (an e-mail does not count: the chat shows it too when the customer is back)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(tickets)
                .where(tickets.c.conversation_id == conversation_id, not_shown_in_chat())
                .order_by(tickets.c.answered_at)
            ).all()
        return [Ticket.from_row(r) for r in rows]

    def record_delivery(self, ticket_id: str, route: str, outcome: str, detail: str | None = None) -> None:
        """What became of the answer on one route; the first route that reached the customer delivers it."""
        with self.engine.begin() as conn:
            conn.execute(
                deliveries.insert().values(ticket_id=ticket_id, route=route, outcome=outcome, detail=detail, at=_now())
            )
            if outcome in REACHED:
                conn.execute(
                    tickets.update()
                    .where(tickets.c.id == ticket_id, tickets.c.state == ANSWERED)
                    .values(state=DELIVERED)
                )

    def deliveries_of(self, ticket_ids: list[str]) -> dict[str, list[Delivery]]:
        found: dict[str, list[Delivery]] = {ticket_id: [] for ticket_id in ticket_ids}
        if not ticket_ids:
            return found
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(deliveries).where(deliveries.c.ticket_id.in_(ticket_ids)).order_by(deliveries.c.id)
            ).all()
        for r in rows:
            found[r.ticket_id].append(Delivery(r.route, r.outcome, r.detail, aware(r.at)))
        return found

    def start(
        self,
        conversation_id: str,
        channel: str,
        reason: str,
        why_offline: str,
        last_question: str | None,
        transcript: list[dict[str, Any]] | None = None,
    ) -> Ticket:
        """Begin taking a message (an earlier unfinished draft is replaced); ``transcript``:
        the conversation with the bot so far, kept for the agent who answers."""
        ticket_id = str(uuid.uuid4())
        with self.engine.begin() as conn:
            if transcript:
                conn.execute(
                    transcripts.insert().values(
                        ticket_id=ticket_id, transcript=json.dumps(transcript[-MAX_TRANSCRIPT:], ensure_ascii=False)
                    )
                )
            conn.execute(
                tickets.update()
                .where(tickets.c.conversation_id == conversation_id, tickets.c.state == DRAFTING)
                .values(state=CANCELLED, step=None)
            )
            conn.execute(
                tickets.insert().values(
                    id=ticket_id,
                    conversation_id=conversation_id,
                    channel=channel,
                    reason=reason,
                    why_offline=why_offline,
                    state=DRAFTING,
                    step=CONTACT,
                    contact=None,
                    question=None,
                    last_question=last_question,
                    created_at=_now(),
                    submitted_at=None,
                    answered_at=None,
                    agent=None,
                    answer=None,
                )
            )
        return self.get(ticket_id)

    def transcript(self, ticket_id: str) -> list[dict[str, Any]]:
        """The conversation with the bot before the 留言 (oldest first; empty if none was kept)."""
        with self.engine.connect() as conn:
            text = conn.execute(
                sa.select(transcripts.c.transcript).where(transcripts.c.ticket_id == ticket_id)
            ).scalar()
        return json.loads(text) if text else []

    def _update(self, ticket_id: str, expected: str, **values: Any) -> Ticket:
        with self.engine.begin() as conn:
            done = conn.execute(
                tickets.update().where(tickets.c.id == ticket_id, tickets.c.state == expected).values(**values)
            )
        if done.rowcount != 1:
            current = self.get(ticket_id)
            raise TicketError(f"ticket {current.ticket} is {current.state}, not {expected}")
        return self.get(ticket_id)

    def set_contact(self, ticket_id: str, contact: str) -> Ticket:
        return self._update(ticket_id, DRAFTING, contact=contact, step=QUESTION)

    def retry_contact(self, ticket_id: str) -> Ticket:
        return self._update(ticket_id, DRAFTING, step=CONTACT_RETRY)

    def skip_contact(self, ticket_id: str) -> Ticket:
        return self._update(ticket_id, DRAFTING, contact=None, step=QUESTION)

    def escape(self, ticket_id: str) -> Ticket:
        """The customer left the unfinished message to ask the bot something else."""
        return self._update(ticket_id, DRAFTING, state=ESCAPED, step=None)

    def submit(self, ticket_id: str, question: str) -> Ticket:
        return self._update(ticket_id, DRAFTING, question=question, step=None, state=OPEN, submitted_at=_now())

    def cancel(self, ticket_id: str) -> Ticket:
        return self._update(ticket_id, DRAFTING, state=CANCELLED, step=None)

    def answer(self, ticket_id: str, agent: str, text: str) -> Ticket:
        """Answer an open ticket, or again a reopened one (the earlier answer is kept as an event)."""
        if not text.strip():
            raise TicketError("an answer cannot be empty")
        current = self.get(ticket_id)
        if current.state not in TO_ANSWER or current.step == FOLLOWUP:
            raise TicketError(f"ticket {current.ticket} is {current.state}, not open")
        with self.engine.begin() as conn:
            done = conn.execute(
                tickets.update()
                .where(tickets.c.id == ticket_id, tickets.c.state == current.state, tickets.c.step.is_(None))
                .values(state=ANSWERED, agent=agent, answer=text, answered_at=_now())
            )
            if done.rowcount != 1:
                raise TicketError(f"ticket {current.ticket} was just changed; reload it")
            if current.state == REOPENED:
                self._event(conn, ticket_id, "answered", current.agent, current.answer)
        return self.get(ticket_id)

    # -- after the answer: closing, reopening, follow-ups ---------------------------------

    @staticmethod
    def _event(conn: sa.engine.Connection, ticket_id: str, kind: str, actor: str | None, text: str | None) -> None:
        conn.execute(ticket_events.insert().values(ticket_id=ticket_id, at=_now(), kind=kind, actor=actor, text=text))

    def events(self, ticket_id: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(ticket_events).where(ticket_events.c.ticket_id == ticket_id).order_by(ticket_events.c.id)
            ).all()
        return [{**dict(r._mapping), "at": aware(r.at).isoformat()} for r in rows]

    def close(self, ticket_id: str, actor: str, why: str | None = None) -> Ticket:
        """Done with: an agent closes it (answered, called the customer, spam), or the customer
        says 问题已解决 (``actor``: their conversation id)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                tickets.update()
                .where(tickets.c.id == ticket_id, tickets.c.state.in_((*TO_ANSWER, *HAS_ANSWER)))
                .values(state=CLOSED, step=None)
            )
            if done.rowcount == 1:
                self._event(conn, ticket_id, "closed", actor, why)
        if done.rowcount != 1:
            current = self.get(ticket_id)
            raise TicketError(f"ticket {current.ticket} is {current.state}; it cannot be closed")
        return self.get(ticket_id)

    def reopen(self, ticket_id: str, conversation_id: str) -> Ticket:
        """The customer has more to say (还有问题): their next message is the follow-up."""
        with self.engine.begin() as conn:
            done = conn.execute(
                tickets.update()
                .where(
                    tickets.c.id == ticket_id,
                    tickets.c.conversation_id == conversation_id,
                    tickets.c.state.in_((*HAS_ANSWER, CLOSED)),
                )
                .values(state=REOPENED, step=FOLLOWUP)
            )
            if done.rowcount == 1:
                self._event(conn, ticket_id, "reopened", conversation_id, None)
        if done.rowcount != 1:
            current = self.get(ticket_id)
            raise TicketError(f"ticket {current.ticket} is {current.state}; it cannot be reopened")
        return self.get(ticket_id)

    def followup_for(self, conversation_id: str) -> Ticket | None:
        """The reopened ticket waiting for this customer's follow-up, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(tickets).where(
                    tickets.c.conversation_id == conversation_id,
                    tickets.c.state == REOPENED,
                    tickets.c.step == FOLLOWUP,
                )
            ).first()
        return Ticket.from_row(row) if row else None

    def add_followup(self, ticket_id: str, text: str, at_text: str) -> Ticket:
        """What the customer added, appended to the question (``at_text``: when, as the agent reads it)."""
        current = self.get(ticket_id)
        if current.state != REOPENED or current.step != FOLLOWUP:
            raise TicketError(f"ticket {current.ticket} is {current.state}, not waiting for a follow-up")
        question = f"{current.question or ''}\n\n【{at_text} 补充】{text}".strip()
        with self.engine.begin() as conn:
            conn.execute(
                tickets.update()
                .where(tickets.c.id == ticket_id, tickets.c.step == FOLLOWUP)
                .values(question=question, step=None, submitted_at=_now())
            )
            self._event(conn, ticket_id, "followup", current.conversation_id, text)
        return self.get(ticket_id)

    def drop_followup(self, ticket_id: str) -> Ticket:
        """The customer did not add anything after all: the ticket is as it was (answered)."""
        with self.engine.begin() as conn:
            conn.execute(
                tickets.update()
                .where(tickets.c.id == ticket_id, tickets.c.state == REOPENED, tickets.c.step == FOLLOWUP)
                .values(state=DELIVERED if self._was_delivered(conn, ticket_id) else ANSWERED, step=None)
            )
            self._event(conn, ticket_id, "no_followup", None, None)
        return self.get(ticket_id)

    @staticmethod
    def _was_delivered(conn: sa.engine.Connection, ticket_id: str) -> bool:
        return (
            conn.execute(
                sa.select(deliveries.c.id).where(deliveries.c.ticket_id == ticket_id, deliveries.c.outcome.in_(REACHED))
            ).first()
            is not None
        )

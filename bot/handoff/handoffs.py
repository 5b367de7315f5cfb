"""The hand-off store: conversations a person has to take over, as a validated
state machine with every transition and message kept in order.

    with bot ──request──▶ waiting ──claim──▶ with agent ──close──▶ closed (back to the bot)
                            │   ▲                 │  ▲
                            │   └──transfer to a──┘  └─transfer to another agent
                            │      group (requeued)
                            └──────────────close (e.g. user left)──────────▶ closed

A conversation has at most one open hand-off (waiting or with agent); asking
again while one is open returns that one. Only the agent who claimed a
conversation replies to it; nothing happens to a closed one. SQLAlchemy Core:
SQLite under ``var/`` by default, PostgreSQL by URL (``Settings.database_url``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.handoff.db import Database, aware
from bot.handoff.db import now as _now

WAITING, WITH_AGENT, CLOSED = "waiting", "with_agent", "closed"
OPEN_STATES = (WAITING, WITH_AGENT)
REASONS = ("user_request", "repeated_fallback", "negative_feedback", "faq_policy", "sensitive", "agent_reopened")
# Not the customer's request: an agent reopened a closed conversation from the history.
AGENT_REOPENED = "agent_reopened"
RATINGS = ("good", "bad")

metadata = sa.MetaData()

handoffs = sa.Table(
    "handoffs",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("faq_id", sa.String(128), nullable=True),
    # The bot part of the conversation: JSON list of {role: user|bot, text, time}.
    sa.Column("transcript", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("agent", sa.String(128), nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("note", sa.Text, nullable=False, default=""),
)

# Everything after the request, in order: transitions and messages both ways.
handoff_events = sa.Table(
    "handoff_events",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("handoff_id", sa.String(36), sa.ForeignKey("handoffs.id"), nullable=False, index=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    # created | claimed | transferred (text: JSON {to_agent, to_group}) | user_message |
    # agent_message | bot_message (notices the system sent the user) | note | wrapup |
    # closed | rating (text: good | bad)
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("actor", sa.String(128), nullable=True),
    sa.Column("text", sa.Text, nullable=True),
)


# Which FAQ's suggested answer an agent put in the reply box before sending a message (the
# console sends its id): the studio's similar-question suggestions read it. A table of its
# own, not a column of handoff_events, so an existing database gets it from create_all.
handoff_answer_uses = sa.Table(
    "handoff_answer_uses",
    metadata,
    sa.Column("seq", sa.Integer, sa.ForeignKey("handoff_events.seq"), primary_key=True, autoincrement=False),
    sa.Column("faq_id", sa.String(128), nullable=False, index=True),
)


# Why an agent closed a conversation (the console asks on close).
WRAPUP_REASONS = ("resolved", "unresolved", "no_reply", "other")
MAX_TAGS, MAX_TAG_CHARS = 5, 20


@dataclass(frozen=True)
class WrapUp:
    reason: str
    tags: tuple[str, ...] = ()

    @classmethod
    def parse(cls, reason: Any, tags: Any) -> WrapUp:
        """From a request body, or ``ValueError`` saying what is wrong (400, not a refused transition)."""
        if reason not in WRAPUP_REASONS:
            raise ValueError(f"wrap-up reason must be one of {', '.join(WRAPUP_REASONS)}")
        if tags is None:
            tags = []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError("wrap-up tags must be a list of strings")
        cleaned = tuple(dict.fromkeys(t.strip() for t in tags if t.strip()))
        if len(cleaned) > MAX_TAGS or any(len(t) > MAX_TAG_CHARS for t in cleaned):
            raise ValueError(f"at most {MAX_TAGS} tags of at most {MAX_TAG_CHARS} characters each")
        return cls(reason, cleaned)

    def to_text(self) -> str:
        return json.dumps({"reason": self.reason, "tags": list(self.tags)}, ensure_ascii=False)


class HandoffError(ValueError):
    """A transition that the state machine does not allow (the message says which and why)."""


@dataclass(frozen=True)
class HandoffRequest:
    """The one shape of "this conversation needs a person", whatever triggered it."""

    conversation_id: str
    channel: str
    reason: str
    transcript: list[dict[str, Any]]
    faq_id: str | None = None
    # The FAQ category the customer needed a person for (routes the hand-off to a group; not stored).
    category: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        if self.reason not in REASONS:
            raise ValueError(f"unknown hand-off reason {self.reason!r}; expected one of {REASONS}")


def ticket_of(handoff_id: str) -> str:
    """A short reference a user can quote in an email."""
    return handoff_id.replace("-", "")[:8].upper()


@dataclass(frozen=True)
class Handoff:
    id: str
    conversation_id: str
    channel: str
    reason: str
    faq_id: str | None
    transcript: list[dict[str, Any]]
    state: str
    agent: str | None
    created_at: datetime
    claimed_at: datetime | None
    closed_at: datetime | None
    note: str

    @property
    def ticket(self) -> str:
        return ticket_of(self.id)

    def to_json(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("created_at", "claimed_at", "closed_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return {**data, "ticket": self.ticket}

    @classmethod
    def from_row(cls, row: Any) -> Handoff:
        data = dict(row._mapping)
        data["transcript"] = json.loads(data["transcript"])
        for key in ("created_at", "claimed_at", "closed_at"):
            data[key] = aware(data[key])
        return cls(**data)


class HandoffStore:
    def __init__(self, url: str) -> None:
        self._db = Database(url, metadata)

    @property
    def engine(self) -> sa.engine.Engine:
        return self._db.engine

    # -- reads ---------------------------------------------------------------

    def get(self, handoff_id: str) -> Handoff:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(handoffs).where(handoffs.c.id == handoff_id)).first()
        if row is None:
            raise HandoffError(f"no hand-off {handoff_id!r}")
        return Handoff.from_row(row)

    def open_for(self, conversation_id: str) -> Handoff | None:
        """The conversation's waiting or with-agent hand-off, if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(handoffs).where(
                    handoffs.c.conversation_id == conversation_id, handoffs.c.state.in_(OPEN_STATES)
                )
            ).first()
        return Handoff.from_row(row) if row else None

    def in_states(self, states: tuple[str, ...] = OPEN_STATES, limit: int = 200) -> list[Handoff]:
        """Hand-offs in ``states``, oldest first (the queue order)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(handoffs).where(handoffs.c.state.in_(states)).order_by(handoffs.c.created_at).limit(limit)
            ).all()
        return [Handoff.from_row(r) for r in rows]

    def recent(self, limit: int = 50) -> list[Handoff]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(handoffs).order_by(handoffs.c.created_at.desc()).limit(limit)).all()
        return [Handoff.from_row(r) for r in rows]

    def events_since(self, after: int, limit: int = 500) -> list[dict[str, Any]]:
        """Every hand-off's events after global sequence ``after`` (the console's live feed)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(handoff_events)
                .where(handoff_events.c.seq > after)
                .order_by(handoff_events.c.seq)
                .limit(limit)
            ).all()
        return [dict(r._mapping) for r in rows]

    def agents_of(self, handoff_ids: list[str]) -> dict[str, str | None]:
        """The agent each of these hand-offs is with (None: nobody), in one query."""
        if not handoff_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(handoffs.c.id, handoffs.c.agent).where(handoffs.c.id.in_(sorted(set(handoff_ids))))
            ).all()
        return {r.id: r.agent for r in rows}

    def messages_to(self, conversation_id: str, after: int = 0) -> list[dict[str, Any]]:
        """What people and the system sent this conversation's user after ``after``, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(handoff_events)
                .join(handoffs, handoffs.c.id == handoff_events.c.handoff_id)
                .where(
                    handoffs.c.conversation_id == conversation_id,
                    handoff_events.c.seq > after,
                    handoff_events.c.kind.in_(("agent_message", "bot_message")),
                )
                .order_by(handoff_events.c.seq)
            ).all()
        return [dict(r._mapping) for r in rows]

    def last_seq(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.max(handoff_events.c.seq))).scalar() or 0

    def last_closed_for(self, conversation_id: str) -> Handoff | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(handoffs)
                .where(handoffs.c.conversation_id == conversation_id, handoffs.c.state == CLOSED)
                .order_by(handoffs.c.closed_at.desc())
            ).first()
        return Handoff.from_row(row) if row else None

    def events(self, handoff_id: str, after: int = 0) -> list[dict[str, Any]]:
        """Transitions and messages after sequence number ``after``, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(handoff_events)
                .where(handoff_events.c.handoff_id == handoff_id, handoff_events.c.seq > after)
                .order_by(handoff_events.c.seq)
            ).all()
        return [dict(r._mapping) for r in rows]

    # -- transitions ---------------------------------------------------------

    def _event(
        self, conn: sa.engine.Connection, handoff_id: str, kind: str, actor: str | None, text: str | None, at: datetime
    ) -> int:
        """Append an event; returns its sequence number, from the insert itself (re-reading
        the log after the commit could return a later event written meanwhile)."""
        result = conn.execute(
            handoff_events.insert().values(handoff_id=handoff_id, at=at, kind=kind, actor=actor, text=text)
        )
        return int(result.inserted_primary_key[0])

    def _locked_row(self, conn: sa.engine.Connection, handoff_id: str) -> Handoff:
        query = sa.select(handoffs).where(handoffs.c.id == handoff_id)
        if self.engine.dialect.name != "sqlite":  # SQLite serialises writers already
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise HandoffError(f"no hand-off {handoff_id!r}")
        return Handoff.from_row(row)

    def create(self, request: HandoffRequest) -> tuple[Handoff, bool]:
        """Open a hand-off; returns (hand-off, created). An already open one is returned as is."""
        existing = self.open_for(request.conversation_id)
        if existing is not None:
            return existing, False
        with self.engine.begin() as conn:
            conn.execute(
                handoffs.insert().values(
                    id=request.id,
                    conversation_id=request.conversation_id,
                    channel=request.channel,
                    reason=request.reason,
                    faq_id=request.faq_id,
                    transcript=json.dumps(request.transcript, ensure_ascii=False),
                    state=WAITING,
                    agent=None,
                    created_at=request.created_at,
                    claimed_at=None,
                    closed_at=None,
                    note="",
                )
            )
            self._event(conn, request.id, "created", None, request.reason, request.created_at)
        return self.get(request.id), True

    def claim(self, handoff_id: str, agent: str) -> Handoff:
        with self.engine.begin() as conn:
            current = self._locked_row(conn, handoff_id)
            if current.state == WITH_AGENT:
                raise HandoffError(f"hand-off {current.ticket} is already with {current.agent}")
            if current.state == CLOSED:
                raise HandoffError(f"hand-off {current.ticket} is closed")
            now = _now()
            # A conversation transferred back to the queue keeps its first claim: queue
            # wait is the customer's first wait, handling time all the human time.
            done = conn.execute(
                handoffs.update()
                .where(handoffs.c.id == handoff_id, handoffs.c.state == WAITING)
                .values(state=WITH_AGENT, agent=agent, claimed_at=sa.func.coalesce(handoffs.c.claimed_at, now))
            )
            if done.rowcount != 1:  # another agent won between our read and our write
                raise HandoffError(f"hand-off {current.ticket} was just claimed by another agent")
            self._event(conn, handoff_id, "claimed", agent, None, now)
        return self.get(handoff_id)

    def transfer(self, handoff_id: str, agent: str, to_agent: str | None, to_group: str | None = None) -> Handoff:
        """``agent`` hands the chat to ``to_agent`` (it stays with an agent), or, with
        ``to_agent`` None, back to the queue (for the group ``to_group``, routed by the caller)."""
        with self.engine.begin() as conn:
            current = self._locked_row(conn, handoff_id)
            if current.state != WITH_AGENT:
                raise HandoffError(f"hand-off {current.ticket} is {current.state}; only a claimed one is transferred")
            if current.agent != agent:
                raise HandoffError(f"hand-off {current.ticket} is with {current.agent}, not {agent}")
            if to_agent == agent:
                raise HandoffError(f"hand-off {current.ticket} is with {agent} already")
            values: dict[str, Any] = {"agent": to_agent} if to_agent else {"state": WAITING, "agent": None}
            conn.execute(handoffs.update().where(handoffs.c.id == handoff_id).values(**values))
            text = json.dumps({"to_agent": to_agent, "to_group": to_group}, ensure_ascii=False)
            self._event(conn, handoff_id, "transferred", agent, text, _now())
        return self.get(handoff_id)

    def user_message(self, handoff_id: str, text: str) -> int:
        """Record a message the user sent while a person owns the conversation; returns its sequence."""
        with self.engine.begin() as conn:
            current = self._locked_row(conn, handoff_id)
            if current.state not in OPEN_STATES:
                raise HandoffError(f"hand-off {current.ticket} is closed; the bot answers this conversation")
            return self._event(conn, handoff_id, "user_message", current.conversation_id, text, _now())

    def agent_message(self, handoff_id: str, agent: str, text: str, faq_id: str | None = None) -> int:
        """``faq_id``: the FAQ whose suggested answer the agent inserted (kept with the message)."""
        if not text.strip():
            raise HandoffError("an agent reply cannot be empty")
        with self.engine.begin() as conn:
            current = self._locked_row(conn, handoff_id)
            if current.state == CLOSED:
                raise HandoffError(f"hand-off {current.ticket} is closed; it cannot be replied to")
            if current.state == WAITING:
                raise HandoffError(f"hand-off {current.ticket} has not been claimed; claim it first")
            if current.agent != agent:
                raise HandoffError(f"hand-off {current.ticket} is with {current.agent}, not {agent}")
            seq = self._event(conn, handoff_id, "agent_message", agent, text, _now())
            if faq_id:
                conn.execute(handoff_answer_uses.insert().values(seq=seq, faq_id=faq_id))
            return seq

    def bot_message(self, handoff_id: str, text: str) -> int:
        """A notice the system sent the user (queue position, "the agent has left"), kept in the transcript."""
        with self.engine.begin() as conn:
            self._locked_row(conn, handoff_id)
            return self._event(conn, handoff_id, "bot_message", None, text, _now())

    def rate(self, handoff_id: str, rating: str) -> None:
        """The user's satisfaction with the human service, once, after it closed."""
        if rating not in RATINGS:
            raise HandoffError(f"unknown rating {rating!r}; expected one of {RATINGS}")
        with self.engine.begin() as conn:
            current = self._locked_row(conn, handoff_id)
            if current.state != CLOSED:
                raise HandoffError(f"hand-off {current.ticket} is still open; rate it after it closes")
            rated = conn.execute(
                sa.select(handoff_events.c.seq).where(
                    handoff_events.c.handoff_id == handoff_id, handoff_events.c.kind == "rating"
                )
            ).first()
            if rated is not None:
                raise HandoffError(f"hand-off {current.ticket} has already been rated")
            self._event(conn, handoff_id, "rating", current.conversation_id, rating, _now())

    def add_note(self, handoff_id: str, agent: str, text: str) -> None:
        """An internal note, never shown to the user."""
        with self.engine.begin() as conn:
            current = self._locked_row(conn, handoff_id)
            note = (current.note + "\n" if current.note else "") + text
            conn.execute(handoffs.update().where(handoffs.c.id == handoff_id).values(note=note))
            self._event(conn, handoff_id, "note", agent, text, _now())

    def close(
        self,
        handoff_id: str,
        agent: str | None,
        why: str | None = None,
        only_if: str | None = None,
        wrapup: WrapUp | None = None,
    ) -> Handoff:
        """Close and give the conversation back to the bot. ``agent=None``: closed by the
        user or the system, ``why`` says which (e.g. "user_cancelled"); ``only_if``: only
        from that state (the system must not close what an agent has just claimed);
        ``wrapup``: the agent's closing reason and tags, stored as a ``wrapup`` event."""
        with self.engine.begin() as conn:
            current = self._locked_row(conn, handoff_id)
            if current.state == CLOSED:
                raise HandoffError(f"hand-off {current.ticket} is already closed")
            if only_if is not None and current.state != only_if:
                raise HandoffError(f"hand-off {current.ticket} is {current.state}, not {only_if}")
            if current.state == WITH_AGENT and agent is not None and current.agent != agent:
                raise HandoffError(f"hand-off {current.ticket} is with {current.agent}, not {agent}")
            now = _now()
            conn.execute(handoffs.update().where(handoffs.c.id == handoff_id).values(state=CLOSED, closed_at=now))
            if wrapup is not None:
                self._event(conn, handoff_id, "wrapup", agent, wrapup.to_text(), now)
            self._event(conn, handoff_id, "closed", agent, why, now)
        return self.get(handoff_id)

"""What the bot writes down for people: unanswered questions (for editors),
answer feedback and hand-off requests (for agents and managers).

SQLAlchemy Core over one URL (``Settings.database_url``): SQLite under
``var/`` by default, PostgreSQL by URL. Tables are created on first use.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

metadata = sa.MetaData()

unanswered = sa.Table(
    "unanswered", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    # JSON list of {id, question, fused, dense, bm25}: the best guesses.
    sa.Column("candidates", sa.Text, nullable=False),
)

feedback = sa.Table(
    "feedback", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("faq_id", sa.String(128), nullable=True),
    sa.Column("helpful", sa.Boolean, nullable=False),
    sa.Column("question", sa.Text, nullable=True),
)

handoff_requests = sa.Table(
    "handoff_requests", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(64), nullable=False),
    # user_request | repeated_fallback | negative_feedback | faq_policy
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("faq_id", sa.String(128), nullable=True),
    # JSON list of {role: user|bot, text, time}
    sa.Column("transcript", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="waiting"),
)

HANDOFF_REASONS = ("user_request", "repeated_fallback", "negative_feedback", "faq_policy")


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class HandoffRequest:
    """The one shape of "this conversation needs a person", whatever triggered it."""

    conversation_id: str
    channel: str
    reason: str
    transcript: list[dict[str, Any]]
    faq_id: str | None = None
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        if self.reason not in HANDOFF_REASONS:
            raise ValueError(f"unknown hand-off reason {self.reason!r}; expected one of {HANDOFF_REASONS}")

    @property
    def ticket(self) -> str:
        """A short reference a user can quote in an email."""
        return self.id.replace("-", "")[:8].upper()


class Records:
    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url, future=True, pool_pre_ping=True)
        self._ready = False
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        if not self._ready:
            with self._lock:
                if not self._ready:
                    if self.engine.dialect.name == "sqlite":
                        from pathlib import Path

                        db = self.engine.url.database
                        if db and db != ":memory:":
                            Path(db).parent.mkdir(parents=True, exist_ok=True)
                    metadata.create_all(self.engine)
                    self._ready = True

    def log_unanswered(self, conversation_id: str, channel: str, question: str, confidence: float,
                       candidates: list[dict[str, Any]]) -> None:
        self._ensure()
        with self.engine.begin() as conn:
            conn.execute(unanswered.insert().values(
                created_at=_now(), conversation_id=conversation_id, channel=channel, question=question,
                confidence=confidence, candidates=json.dumps(candidates, ensure_ascii=False)))

    def log_feedback(self, conversation_id: str, channel: str, faq_id: str | None, helpful: bool,
                     question: str | None) -> None:
        self._ensure()
        with self.engine.begin() as conn:
            conn.execute(feedback.insert().values(
                created_at=_now(), conversation_id=conversation_id, channel=channel, faq_id=faq_id,
                helpful=helpful, question=question))

    def add_handoff(self, request: HandoffRequest) -> None:
        self._ensure()
        row = asdict(request)
        row["transcript"] = json.dumps(request.transcript, ensure_ascii=False)
        with self.engine.begin() as conn:
            conn.execute(handoff_requests.insert().values(status="waiting", **row))

    def _rows(self, table: sa.Table, limit: int) -> list[dict[str, Any]]:
        self._ensure()
        with self.engine.connect() as conn:
            result = conn.execute(sa.select(table).order_by(table.c.created_at.desc()).limit(limit))
            rows = [dict(r._mapping) for r in result]
        for row in rows:
            for key in ("candidates", "transcript"):
                if key in row:
                    row[key] = json.loads(row[key])
            row["created_at"] = row["created_at"].isoformat()
        return rows

    def recent_unanswered(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._rows(unanswered, limit)

    def recent_feedback(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._rows(feedback, limit)

    def recent_handoffs(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._rows(handoff_requests, limit)

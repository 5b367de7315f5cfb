"""What the bot writes down for people: unanswered questions (for editors) and
answer feedback (for editors and the satisfaction KPI). Hand-offs have their
own store (``bot/handoff/handoffs.py``).

Personal data (mobile, ID-card and bank-card numbers, e-mail addresses, the configured
patterns: ``faqbot/masking.py``) is masked here, as each row is written: these tables are for
analysis (the gaps report, the KPIs, exports), and none of them serves a customer. The bot
answers the original text; only what is stored is masked.

SQLAlchemy Core over one URL (``Settings.database_url``): SQLite under
``var/`` by default, PostgreSQL by URL. Tables are created on first use.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.handoff.db import Database, aware
from bot.handoff.db import now as _now
from faqbot.masking import Masker
from indexer.sensitive import Hit

metadata = sa.MetaData()

unanswered = sa.Table(
    "unanswered",
    metadata,
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
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("faq_id", sa.String(128), nullable=True),
    sa.Column("helpful", sa.Boolean, nullable=False),
    sa.Column("question", sa.Text, nullable=True),
)

# One row per user message, whoever handled it: the base of the conversation KPIs.
turns = sa.Table(
    "turns",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(64), nullable=False),
    # bot | agent (a person owns the conversation) | queue (waiting for one) | ticket (留言)
    sa.Column("handled_by", sa.String(16), nullable=False),
    # Bot turns: milliseconds from receiving the message to the last reply.
    sa.Column("reply_ms", sa.Float, nullable=True),
)

# One row per bot turn, what the bot did with it: the base of the resolution and rate KPIs.
outcomes = sa.Table(
    "outcomes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(64), nullable=False),
    # answer | clarify | fallback | handoff | feedback | small_talk | refused | stale_button | other
    # (OUTCOME_KINDS; stale_button: an old 有帮助/没帮助 clicked, counted for no answer)
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("faq_id", sa.String(128), nullable=True),
    sa.Column("category", sa.String(128), nullable=True),
    sa.Column("question", sa.Text, nullable=True),
)
OUTCOME_KINDS = (
    *("answer", "clarify", "fallback", "handoff", "feedback"),
    *("small_talk", "refused", "stale_button", "other"),
)

# One row per sensitive word found (``indexer/sensitive.py``): in a customer's message (with the
# action its category took), in an answer the bot withheld, in an agent's reply (held, or sent
# after the agent confirmed it). The base of the KPIs' ``sensitive`` counts.
sensitive_hits = sa.Table(
    "sensitive_hits",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(255), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),
    # customer | bot | agent (SENSITIVE_SOURCES)
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("category", sa.String(128), nullable=False),
    # customer: refuse | handoff | log; bot: withheld; agent: held | confirmed
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("word", sa.String(255), nullable=False),
)
SENSITIVE_SOURCES = ("customer", "bot", "agent")


class Records:
    def __init__(self, url: str, mask: Masker | None = None) -> None:
        """``mask``: the configured masker (``masker_for(settings.masking)``); default the built-in rules."""
        self._db = Database(url, metadata)
        self._mask = mask if mask is not None else Masker()

    @property
    def engine(self) -> sa.engine.Engine:
        return self._db.engine

    def log_unanswered(
        self, conversation_id: str, channel: str, question: str, confidence: float, candidates: list[dict[str, Any]]
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                unanswered.insert().values(
                    created_at=_now(),
                    conversation_id=conversation_id,
                    channel=channel,
                    question=self._mask(question),
                    confidence=confidence,
                    candidates=json.dumps(candidates, ensure_ascii=False),
                )
            )

    def log_feedback(
        self, conversation_id: str, channel: str, faq_id: str | None, helpful: bool, question: str | None
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                feedback.insert().values(
                    created_at=_now(),
                    conversation_id=conversation_id,
                    channel=channel,
                    faq_id=faq_id,
                    helpful=helpful,
                    question=self._mask.optional(question),
                )
            )

    def log_turn(self, conversation_id: str, channel: str, handled_by: str, reply_ms: float | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                turns.insert().values(
                    at=_now(),
                    conversation_id=conversation_id,
                    channel=channel,
                    handled_by=handled_by,
                    reply_ms=reply_ms,
                )
            )

    def log_outcome(
        self,
        conversation_id: str,
        channel: str,
        kind: str,
        faq_id: str | None = None,
        category: str | None = None,
        question: str | None = None,
    ) -> None:
        if kind not in OUTCOME_KINDS:
            raise ValueError(f"unknown outcome {kind!r}; expected one of {OUTCOME_KINDS}")
        with self.engine.begin() as conn:
            conn.execute(
                outcomes.insert().values(
                    at=_now(),
                    conversation_id=conversation_id,
                    channel=channel,
                    kind=kind,
                    faq_id=faq_id,
                    category=category,
                    question=(question or None) and self._mask(question)[:500],  # masked, then cut
                )
            )

    def log_sensitive(
        self, conversation_id: str, channel: str, source: str, hits: Sequence[Hit], action: str | None = None
    ) -> None:
        """The sensitive words of one message; ``action``: what was done (default: the
        category's action for a customer, ``withheld`` for the bot's answer)."""
        if source not in SENSITIVE_SOURCES:
            raise ValueError(f"unknown source {source!r}; expected one of {SENSITIVE_SOURCES}")
        if not hits:
            return
        done = action or ("withheld" if source == "bot" else None)
        rows = [
            {
                "at": _now(),
                "conversation_id": conversation_id,
                "channel": channel,
                "source": source,
                "category": hit.category[:128],
                "action": done or str(hit.action),
                "word": hit.word[:255],
            }
            for hit in dict.fromkeys(hits)
        ]
        with self.engine.begin() as conn:
            conn.execute(sensitive_hits.insert(), rows)

    def asked_since(self, since: datetime) -> list[tuple[str, str, str]]:
        """What customers asked that the bot did not answer well since ``since``: (question,
        conversation id, source: unanswered | not_helpful | clarify | fallback), each customer's
        wording once (a miss is logged both as unanswered and as a fallback)."""
        found: dict[tuple[str, str], str] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(
                sa.select(unanswered.c.question, unanswered.c.conversation_id).where(unanswered.c.created_at >= since)
            ):
                found.setdefault((row.conversation_id, row.question), "unanswered")
            for row in conn.execute(
                sa.select(feedback.c.question, feedback.c.conversation_id).where(
                    feedback.c.created_at >= since, feedback.c.helpful.is_(False), feedback.c.question.is_not(None)
                )
            ):
                found.setdefault((row.conversation_id, row.question), "not_helpful")
            for row in conn.execute(
                sa.select(outcomes.c.question, outcomes.c.conversation_id, outcomes.c.kind).where(
                    outcomes.c.at >= since,
                    outcomes.c.kind.in_(("clarify", "fallback")),
                    outcomes.c.question.is_not(None),
                )
            ):
                found.setdefault((row.conversation_id, row.question), row.kind)
        return [(question, customer, source) for (customer, question), source in found.items() if question]

    def last_message_at(self, conversation_id: str) -> datetime | None:
        """When the customer last wrote in this conversation (platforms' reply windows)."""
        with self.engine.connect() as conn:
            at = conn.execute(
                sa.select(sa.func.max(turns.c.at)).where(turns.c.conversation_id == conversation_id)
            ).scalar()
        return aware(at)

    def log_turns(self, rows: list[dict[str, Any]]) -> None:
        """Many turns in one transaction: ``at``, ``conversation_id``, ``channel``, ``handled_by``, ``reply_ms``."""
        if rows:
            with self.engine.begin() as conn:
                conn.execute(turns.insert(), rows)

    def _rows(self, table: sa.Table, limit: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            result = conn.execute(sa.select(table).order_by(table.c.created_at.desc()).limit(limit))
            rows = [dict(r._mapping) for r in result]
        for row in rows:
            if "candidates" in row:
                row["candidates"] = json.loads(row["candidates"])
            row["created_at"] = row["created_at"].isoformat()
        return rows

    def recent_unanswered(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._rows(unanswered, limit)

    def recent_feedback(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._rows(feedback, limit)

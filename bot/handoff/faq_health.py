"""How each FAQ entry does with customers, for editors (``faqbot kb health``, the studio):
from the stored events of the last days, per entry —

- ``answers``: times the bot answered with it (typed questions, picks and accepted offers);
- ``picked``: of those, answers right after a 您是想问 (the customer chose it from a clarify);
- ``helpful`` / ``not_helpful``: 有帮助 / 没帮助 clicked under it;
- ``handoffs_after``: conversations that asked for a person within ``HANDOFF_AFTER`` of
  being answered with it (or whose hand-off was for it: ``handoff: always``).

The needs-review queue is the entries with any 没帮助, most 没帮助 first (then the worst
rate, then the most hand-offs after them): the answers customers say did not help.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.handoff.db import Database, aware
from bot.handoff.handoffs import handoffs
from bot.handoff.handoffs import metadata as handoff_metadata
from bot.handoff.records import feedback, outcomes
from bot.handoff.records import metadata as records_metadata

HANDOFF_AFTER = timedelta(minutes=10)


@dataclass
class Health:
    faq_id: str
    answers: int = 0
    picked: int = 0
    helpful: int = 0
    not_helpful: int = 0
    handoffs_after: int = 0

    @property
    def helpful_rate(self) -> float | None:
        rated = self.helpful + self.not_helpful
        return round(self.helpful / rated, 4) if rated else None

    def to_json(self) -> dict[str, Any]:
        return {
            "faq_id": self.faq_id,
            "answers": self.answers,
            "picked": self.picked,
            "helpful": self.helpful,
            "not_helpful": self.not_helpful,
            "helpful_rate": self.helpful_rate,
            "handoffs_after": self.handoffs_after,
        }


def faq_health(url: str, days: int = 30, now: datetime | None = None) -> list[Health]:
    """Every entry that was answered or rated in the last ``days`` days, most answered first."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    db = Database(url, records_metadata, handoff_metadata)
    found: dict[str, Health] = {}

    def of(faq_id: str) -> Health:
        return found.setdefault(faq_id, Health(faq_id))

    answered: dict[str, list[tuple[datetime, str]]] = defaultdict(list)  # conversation → (when, FAQ)
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(outcomes.c.conversation_id, outcomes.c.at, outcomes.c.kind, outcomes.c.faq_id)
            .where(outcomes.c.at >= since)
            .order_by(outcomes.c.conversation_id, outcomes.c.at, outcomes.c.id)
        ).all()
        previous: dict[str, str] = {}
        for row in rows:
            if row.kind == "answer" and row.faq_id:
                health = of(row.faq_id)
                health.answers += 1
                if previous.get(row.conversation_id) == "clarify":
                    health.picked += 1
                answered[row.conversation_id].append((aware(row.at), row.faq_id))
            if row.kind in ("answer", "clarify", "fallback"):
                previous[row.conversation_id] = row.kind
        for row in conn.execute(
            sa.select(feedback.c.faq_id, feedback.c.helpful).where(
                feedback.c.created_at >= since, feedback.c.faq_id.is_not(None)
            )
        ):
            health = of(row.faq_id)
            if row.helpful:
                health.helpful += 1
            else:
                health.not_helpful += 1
        for row in conn.execute(
            sa.select(handoffs.c.conversation_id, handoffs.c.created_at, handoffs.c.faq_id).where(
                handoffs.c.created_at >= since
            )
        ):
            created = aware(row.created_at)
            recent = [
                faq for at, faq in answered.get(row.conversation_id, []) if created - HANDOFF_AFTER <= at <= created
            ]
            faq_id = row.faq_id or (recent[-1] if recent else None)
            if faq_id:
                of(faq_id).handoffs_after += 1
    return sorted(found.values(), key=lambda h: (-h.answers, h.faq_id))


def needs_review(health: list[Health]) -> list[Health]:
    """The entries customers said did not help, most 没帮助 first."""
    flagged = [h for h in health if h.not_helpful]
    return sorted(flagged, key=lambda h: (-h.not_helpful, h.helpful_rate or 0.0, -h.handoffs_after, h.faq_id))

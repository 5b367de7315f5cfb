"""猜你想问 suggestions for editors (``faqbot kb related``, the studio): from the stored
outcomes of the last days, which entry B customers were answered with next, in the same
conversation and within ``NEXT_WITHIN`` of being answered with A.

Pairs already in A's ``related:`` are left out (and A → A, a repeat); each A keeps its
``per_entry`` most frequent next entries, at least ``min_count`` times.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.handoff.db import Database, aware
from bot.handoff.records import metadata as records_metadata
from bot.handoff.records import outcomes

NEXT_WITHIN = timedelta(minutes=5)


@dataclass(frozen=True)
class Suggestion:
    faq_id: str  # A: answered first
    next_id: str  # B: answered next
    count: int  # conversations-turns where B followed A

    def to_json(self) -> dict[str, Any]:
        return {"faq_id": self.faq_id, "next_id": self.next_id, "count": self.count}


def next_answers(url: str, days: int = 30, now: datetime | None = None) -> Counter[tuple[str, str]]:
    """(A, B) → how often an answer with B came right after an answer with A (same
    conversation, within ``NEXT_WITHIN``, no other answer in between)."""
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    since = (now or datetime.now(UTC)) - timedelta(days=days)
    db = Database(url, records_metadata)
    pairs: Counter[tuple[str, str]] = Counter()
    last: dict[str, tuple[datetime, str]] = {}
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.select(outcomes.c.conversation_id, outcomes.c.at, outcomes.c.faq_id)
            .where(outcomes.c.at >= since, outcomes.c.kind == "answer", outcomes.c.faq_id.is_not(None))
            .order_by(outcomes.c.conversation_id, outcomes.c.at, outcomes.c.id)
        ).all()
    for row in rows:
        at = aware(row.at)
        assert at is not None
        before = last.get(row.conversation_id)
        if before is not None and before[1] != row.faq_id and at - before[0] <= NEXT_WITHIN:
            pairs[(before[1], row.faq_id)] += 1
        last[row.conversation_id] = (at, row.faq_id)
    return pairs


def related_suggestions(
    url: str,
    related: Mapping[str, Sequence[str]],
    days: int = 30,
    per_entry: int = 3,
    min_count: int = 1,
    now: datetime | None = None,
) -> list[Suggestion]:
    """The pairs worth adding to ``related:`` (``related`` is each entry's current list),
    most frequent first."""
    found = [
        Suggestion(a, b, n)
        for (a, b), n in next_answers(url, days, now).items()
        if n >= min_count and b not in related.get(a, ())
    ]
    found.sort(key=lambda s: (-s.count, s.faq_id, s.next_id))
    kept: Counter[str] = Counter()
    out = []
    for suggestion in found:
        if kept[suggestion.faq_id] < per_entry:
            kept[suggestion.faq_id] += 1
            out.append(suggestion)
    return out

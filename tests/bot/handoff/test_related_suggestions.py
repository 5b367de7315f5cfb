"""猜你想问 suggestions from a known log of answers in the records store (real SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.handoff.records import Records, outcomes
from bot.handoff.related_suggestions import next_answers, related_suggestions

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def restamp(records: Records, at: datetime) -> None:
    last = sa.select(sa.func.max(outcomes.c.id)).scalar_subquery()
    with records.engine.begin() as conn:
        conn.execute(outcomes.update().where(outcomes.c.id == last).values(at=at))


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'r.sqlite'}"


def test_next_answers_in_the_same_conversation_within_minutes(url):
    records = Records(url)

    def answer(conversation: str, faq: str | None, minutes: float, kind: str = "answer") -> None:
        records.log_outcome(conversation, "rest", kind, faq)
        restamp(records, NOW + timedelta(minutes=minutes))

    for conversation in ("a", "b", "c"):
        answer(conversation, "fee", 0)
        answer(conversation, "arrival", 1)  # fee → arrival three times
    answer("b", "limit", 2)  # arrival → limit
    answer("d", "fee", 0)
    answer("d", "limit", 30)  # too late to count as "next"
    answer("e", "fee", 0)
    answer("e", None, 1, "clarify")  # a clarify in between is not an answer
    answer("e", "fee", 2)  # the same entry again: not a pair
    answer("e", "limit", 3)  # fee → limit
    answer("f", "fee", 0)
    answer("g", "limit", 1)  # another conversation: not a pair
    answer("old", "fee", -60 * 24 * 40)
    answer("old", "arrival", -60 * 24 * 40 + 1)  # outside the 30 days
    later = NOW + timedelta(hours=1)
    assert next_answers(url, 30, now=later) == {("fee", "arrival"): 3, ("arrival", "limit"): 1, ("fee", "limit"): 1}

    found = related_suggestions(url, {"fee": ("limit",), "arrival": ()}, 30, now=later)
    assert [s.to_json() for s in found] == [
        {"faq_id": "fee", "next_id": "arrival", "count": 3},
        {"faq_id": "arrival", "next_id": "limit", "count": 1},
    ]
    assert [(s.faq_id, s.next_id) for s in related_suggestions(url, {}, 30, per_entry=1, now=later)] == [
        ("fee", "arrival"),
        ("arrival", "limit"),
    ]
    assert related_suggestions(url, {}, 30, min_count=2, now=later)[0].count == 3
    with pytest.raises(ValueError):
        related_suggestions(url, {}, 0)

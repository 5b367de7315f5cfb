"""FAQ health from a known event log: answers, picks after a clarify, 有帮助/没帮助 and the
hand-offs right after an answer, on SQLite and the local PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.handoff.faq_health import faq_health, needs_review
from bot.handoff.handoffs import HandoffRequest, HandoffStore
from bot.handoff.records import Records, feedback, outcomes
from tests.databases import scratch_database

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    with scratch_database(request.param, tmp_path) as found:
        yield found


def restamp(records: Records, table: sa.Table, column: sa.Column, at: datetime) -> None:
    last = sa.select(sa.func.max(table.c.id)).scalar_subquery()
    with records.engine.begin() as conn:
        conn.execute(table.update().where(table.c.id == last).values({column: at}))


def test_every_number_of_a_known_log(url):
    records, store = Records(url), HandoffStore(url)

    def outcome(conversation: str, kind: str, minutes: int, faq: str | None = None) -> None:
        records.log_outcome(conversation, "rest", kind, faq)
        restamp(records, outcomes, outcomes.c.at, NOW - timedelta(minutes=minutes))

    def rated(conversation: str, faq: str, helpful: bool) -> None:
        records.log_feedback(conversation, "rest", faq, helpful, "q")
        restamp(records, feedback, feedback.c.created_at, NOW)

    outcome("a", "answer", 60, "fee")  # a typed question answered
    rated("a", "fee", True)
    outcome("b", "clarify", 50)
    outcome("b", "answer", 49, "fee")  # picked from the clarify
    rated("b", "fee", False)
    outcome("c", "answer", 40, "frozen")
    rated("c", "frozen", False)
    rated("c", "frozen", False)
    store.create(HandoffRequest("c", "rest", "user_request", [], created_at=NOW - timedelta(minutes=35)))
    outcome("d", "answer", 30, "frozen")  # asked for a person, but an hour later: not "right after"
    store.create(HandoffRequest("d", "rest", "user_request", [], created_at=NOW + timedelta(minutes=40)))
    store.create(HandoffRequest("e", "rest", "faq_policy", [], faq_id="kyc", created_at=NOW - timedelta(minutes=5)))
    outcome("old", "answer", 60 * 24 * 40, "fee")  # outside the 30 days
    health = {h.faq_id: h.to_json() for h in faq_health(url, 30, now=NOW + timedelta(hours=1))}
    assert health["fee"] == {
        "faq_id": "fee",
        "answers": 2,
        "picked": 1,
        "helpful": 1,
        "not_helpful": 1,
        "helpful_rate": 0.5,
        "handoffs_after": 0,
    }
    assert (health["frozen"]["answers"], health["frozen"]["not_helpful"], health["frozen"]["handoffs_after"]) == (
        2,
        2,
        1,
    )
    assert health["kyc"]["handoffs_after"] == 1 and health["kyc"]["answers"] == 0
    assert [h.faq_id for h in needs_review(faq_health(url, 30, now=NOW + timedelta(hours=1)))] == ["frozen", "fee"]
    with pytest.raises(ValueError, match="at least 1"):
        faq_health(url, 0)
    for engine in (records.engine, store.engine):
        engine.dispose()

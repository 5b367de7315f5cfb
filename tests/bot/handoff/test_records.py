"""Conversation records on SQLite (the default) and on the PostgreSQL that runs
on this machine and in CI. Shared by the hand-off store's tests."""

from __future__ import annotations

import uuid

import pytest

from bot.handoff.records import Records
from tests.databases import postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def records(request, tmp_path):
    if request.param == "sqlite":
        return Records(f"sqlite:///{tmp_path / 'records' / 'bot.sqlite'}")
    return Records(postgres_url())


def test_unanswered_and_feedback_round_trip(records):
    conversation = f"c-{uuid.uuid4()}"
    records.log_unanswered(
        conversation,
        "rest",
        "这是什么",
        0.03,
        [{"id": "a", "question": "问题", "fused": 0.1, "dense": 0.7, "bm25": 0.0}],
    )
    records.log_feedback(conversation, "socketio", "a", False, "提现手续费")

    [row] = [r for r in records.recent_unanswered(500) if r["conversation_id"] == conversation]
    assert row["question"] == "这是什么" and row["candidates"][0]["id"] == "a"
    [fb] = [r for r in records.recent_feedback(500) if r["conversation_id"] == conversation]
    assert fb["helpful"] is False and fb["channel"] == "socketio"


def test_personal_data_is_masked_as_it_is_written(records):
    """The analysis tables never hold the raw numbers; configured patterns included; masked
    before the outcome's question is cut, so a cut cannot leave half a number readable."""
    from bot.handoff.records import Records as _Records
    from faqbot.masking import Masker

    masked = _Records(str(records.engine.url.render_as_string(hide_password=False)), Masker([r"DD[0-9]{12}"]))
    conversation = f"c-{uuid.uuid4()}"
    asked = "手机13812345678，身份证110101199003071233，卡6222021234567890128，a@example.com，订单DD202612031234"
    masked.log_unanswered(conversation, "rest", asked, 0.1, [])
    masked.log_feedback(conversation, "rest", "a", False, asked)
    masked.log_feedback(conversation, "rest", "a", True, None)
    masked.log_outcome(conversation, "rest", "fallback", question="问" * 495 + "13812345678")
    stored = [q for q, c, _ in masked.asked_since(_a_day_ago()) if c == conversation]
    assert stored and all("13812345678" not in q for q in stored)
    for q in stored:
        for raw in ("110101199003071233", "6222021234567890128", "a@example.com", "DD202612031234"):
            assert raw not in q
    assert any("138****5678" in q and "DD2********234" in q for q in stored)
    assert any(q.startswith("问" * 495) and "13812" not in q for q in stored)  # masked, then cut to 500


def _a_day_ago():
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) - timedelta(days=1)

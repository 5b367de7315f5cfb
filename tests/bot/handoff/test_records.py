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

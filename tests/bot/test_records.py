"""Conversation records on SQLite (the default) and on the PostgreSQL that runs
on this machine and in CI. Shared by the hand-off store's tests."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from bot.records import Records

POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"


def postgres_url() -> str:
    engine = sa.create_engine(POSTGRES)
    try:
        with engine.connect():
            return POSTGRES
    except sa.exc.OperationalError as exc:  # CI starts it; locally say why clearly
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is not reachable: {exc}")
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def records(request, tmp_path):
    if request.param == "sqlite":
        return Records(f"sqlite:///{tmp_path / 'records' / 'bot.sqlite'}")
    return Records(postgres_url())


def test_unanswered_and_feedback_round_trip(records):
    conversation = f"c-{uuid.uuid4()}"
    records.log_unanswered(conversation, "rest", "这是什么", 0.03,
                           [{"id": "a", "question": "问题", "fused": 0.1, "dense": 0.7, "bm25": 0.0}])
    records.log_feedback(conversation, "socketio", "a", False, "提现手续费")

    [row] = [r for r in records.recent_unanswered(500) if r["conversation_id"] == conversation]
    assert row["question"] == "这是什么" and row["candidates"][0]["id"] == "a"
    [fb] = [r for r in records.recent_feedback(500) if r["conversation_id"] == conversation]
    assert fb["helpful"] is False and fb["channel"] == "socketio"

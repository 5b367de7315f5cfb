"""The Rasa server entry point's fixes behave like Rasa: the cached action-result
validator, the payload parser that skips the NLU graph, the SQLite pool.

Called as the method it replaces, without ``apply()``: patching Rasa's classes here would change
them for every later test in the process."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError

from bot.server import app as rasa_server


def test_cached_validator_accepts_valid_and_rejects_invalid_action_results():
    from rasa.core.actions.action import RemoteAction

    action = RemoteAction("action_turn", None)
    validate = rasa_server._validate_action_result.__get__(action)  # bound as apply() binds it
    ok = {
        "events": [{"event": "slot", "name": "last_faq_id", "value": "a"}],
        "responses": [{"text": "答案", "buttons": [{"title": "有帮助", "payload": "/feedback_positive"}]}],
    }
    assert validate(ok)
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        validate({"events": "not a list", "responses": []})
    with pytest.raises(ValidationError):
        validate({"events": [{"event": "no-such-event"}], "responses": []})


def test_a_button_payload_is_parsed_without_the_nlu_graph():
    from rasa.core.channels.channel import UserMessage
    from rasa.shared.core.domain import Domain

    from faqbot.config import PROJECT_ROOT

    domain = Domain.load(str(PROJECT_ROOT / "bot" / "domain.yml"))
    payload = '/choose_faq{"faq_id": "ex-withdraw-fee", "turn": 3}'
    parsed = rasa_server.parse_payload(domain, UserMessage(payload, sender_id="u1", metadata={"m": 1}))
    assert parsed is not None
    assert parsed["text"] == payload and parsed["intent"] == {"name": "choose_faq", "confidence": 1.0}
    assert {e["entity"]: e["value"] for e in parsed["entities"]} == {"faq_id": "ex-withdraw-fee", "turn": 3}
    assert parsed["intent_ranking"][0]["name"] == "choose_faq"
    # Plain text, and a payload the domain does not know, take the NLU graph as before.
    assert rasa_server.parse_payload(domain, UserMessage("提现手续费是多少", sender_id="u1")) is None
    assert rasa_server.parse_payload(domain, UserMessage("/no_such_intent", sender_id="u1")) is None


def test_a_sqlite_file_gets_a_pool_other_databases_keep_their_defaults(tmp_path):
    import sqlalchemy as sa

    from bot.handoff.db import sqlite_pool

    assert sqlite_pool(f"sqlite:///{tmp_path / 'tracker.db'}")["poolclass"] is sa.pool.QueuePool
    assert sqlite_pool("sqlite://") == {} and sqlite_pool("sqlite:///:memory:") == {}
    assert sqlite_pool("postgresql://127.0.0.1:5432/test") == {}


def test_the_per_event_check_agrees_with_rasas_full_schema():
    from rasa.shared.utils.schemas.events import EVENT_SCHEMA

    results = [
        {"events": [{"event": "slot", "name": "phase", "value": "bot"}], "responses": [{"text": "答案"}]},
        {"events": [{"event": "bot", "text": "你好", "data": {"buttons": []}}, {"event": "action", "name": "x"}]},
        {"events": [{"event": "user", "text": "hi", "parse_data": {"intent": {"name": "greet"}}}]},
        {"events": [], "responses": []},
        {"events": [{"event": "slot", "name": 3}]},  # a slot's name must be a string
        {"events": [{"event": "no-such-event"}]},
        {"events": [{"name": "phase"}]},  # no event type
        {"events": [{"event": "user", "parse_data": {"entities": [{"value": 1}]}}]},  # entity without a name
        {"events": ["slot"]},
        {"events": {"event": "slot"}},
        {"responses": ["text"]},
        {"events": [{"event": "bot", "timestamp": "yesterday"}]},
    ]
    assert len(rasa_server._event_validators()) == len(EVENT_SCHEMA["oneOf"])
    full = rasa_server._action_result_validator()
    for result in results:
        assert rasa_server._plainly_valid(result) == full.is_valid(result), result


def test_a_message_behind_a_dead_servers_lock_is_served_when_the_lock_lapses(monkeypatch):
    """A server died holding a conversation's lock (Redis, shared); the next message, on
    another server, gets in once that ticket expires, even when its own ticket has
    expired by the next check (Rasa's own rule then waits forever)."""
    import asyncio
    import time
    import uuid

    from rasa.core.lock import TicketLock
    from rasa.core.lock_store import RedisLockStore

    monkeypatch.setattr(TicketLock, "is_locked", rasa_server._ticket_is_locked)  # undone after the test
    store = RedisLockStore(host="127.0.0.1", port=6379, db=0, key_prefix=f"t{uuid.uuid4().hex[:6]}")
    conversation = "customer-on-a-dead-server"
    store.issue_ticket(conversation, lock_lifetime=0.3)  # the dead server's turn, never finished

    async def next_message() -> float:
        started = time.monotonic()
        async with store.lock(conversation, lock_lifetime=0.5, wait_time_in_seconds=1.0):
            return time.monotonic() - started

    waited = asyncio.run(asyncio.wait_for(next_message(), 20))
    assert 0.3 <= waited < 20
    # A live earlier ticket still comes first.
    live = TicketLock("c")
    first, second = live.issue_ticket(30), live.issue_ticket(30)
    assert not rasa_server._ticket_is_locked(live, first) and rasa_server._ticket_is_locked(live, second)
    store.delete_lock(conversation)

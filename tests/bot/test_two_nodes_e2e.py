"""Two bot servers sharing their state (issue #17): two real Rasa + action server pairs
on one data folder, their conversations in PostgreSQL, their locks, retries and
socket.io in Redis. A customer whose messages land on either server keeps the
conversation, and an agent signed in on one server reaches a widget connected to the
other, live."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis

from bot.handoff.agents import AgentStore
from bot.handoff.handoffs import HandoffStore
from bot.process.runner import RunningBot, start_bot
from connectors.socketio_shared import PRESENCE_PREFIX
from faqbot.config import Settings
from indexer.kb import load_kb
from tests.bot.conftest import MODELS_DIR, Chat, free_port
from tests.bot.web.client import call, sign_in
from tests.bot.widget_client import Widget
from tests.databases import scratch_database
from tests.polling import wait_until

pytestmark = pytest.mark.slow

PG = "postgresql://postgres@127.0.0.1:5432/test"
REDIS = "redis://127.0.0.1:6379/0"
HANDOFF = {"hours": "always", "presence_timeout": 86400}
AGENT, PASSWORD, DISPLAY = "node-agent", "pass-word-123", "小周"


@pytest.fixture(scope="module")
def shared(bot_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    with scratch_database("postgresql", tmp_path_factory.mktemp("nodes")) as database:
        bot = replace(bot_settings.bot, database_url=database, tracker_store=PG, lock_store=REDIS)
        channels = replace(bot_settings.channels, dedup_url=REDIS, socketio_url=REDIS)
        yield bot_settings.replace(bot=bot, channels=channels)


@pytest.fixture(scope="module")
def nodes(shared: Settings) -> Iterator[tuple[RunningBot, RunningBot]]:
    started: list[RunningBot] = []
    try:
        for name in ("a", "b"):
            ports = replace(shared.bot, rasa_port=free_port(), action_port=free_port())
            started.append(
                start_bot(
                    shared.replace(bot=ports),
                    models_dir=MODELS_DIR,
                    log_dir=shared.data_dir / f"logs-{name}",
                    say=lambda line: None,
                )
            )
        yield started[0], started[1]
    finally:
        for node in started:
            node.stop()


def answer_of(settings: Settings, faq_id: str) -> str:
    return next(e.answer.strip() for e in load_kb(settings.kb_dir).entries if e.id == faq_id)


def test_a_follow_up_sent_to_the_other_server_keeps_the_context(nodes, shared):
    a, b = nodes
    sender = f"round-robin-{uuid.uuid4().hex[:8]}"
    first = Chat(a.rest_webhook, sender).say("怎么申请退货退款")
    assert first.status == 200 and answer_of(shared, "ec-return-apply")[:20] in first.text
    second = Chat(b.rest_webhook, sender).say("那要多久？")  # the load balancer chose the other server
    assert second.status == 200 and answer_of(shared, "ec-refund-timing")[:20] in second.text


def test_an_agent_on_one_server_replies_live_to_a_widget_on_the_other(nodes, shared):
    a, b = nodes
    agents = AgentStore(shared.database_url)
    agents.add(AGENT, PASSWORD, DISPLAY)
    agents.touch(AGENT)  # present (as an open console stream keeps it) for HANDOFF's presence_timeout
    token = sign_in(a.rasa_url, AGENT, PASSWORD)
    bearer = {"Authorization": f"Bearer {token}"}
    assert call(a.rasa_url, "POST", "/console/api/status", bearer, {"status": "online"}).status == 200

    session = f"widget-{uuid.uuid4().hex[:8]}"
    presence = redis.Redis.from_url(REDIS)
    widget = Widget(b.rasa_url, session)  # connected to server B only
    try:
        widget.say("转人工")
        widget.expect("已为您转接人工客服")
        store = HandoffStore(shared.database_url)
        handoff = wait_until(lambda: store.open_for(session), 30, "the hand-off to be recorded")
        claimed = call(a.rasa_url, "POST", f"/console/api/handoffs/{handoff.id}/claim", bearer, {})
        assert claimed.status == 200
        widget.expect(f"客服 {DISPLAY} 已接入")  # pushed by server A, through Redis, to B's socket
        path = f"/console/api/handoffs/{handoff.id}/messages"
        sent = call(a.rasa_url, "POST", path, bearer, {"text": "您好，我在另一台服务器上为您服务"})
        # Server A holds no socket for this widget; it still knows someone is connected.
        assert sent.status == 200 and sent.json["delivered"] == "live"
        widget.expect("我在另一台服务器上为您服务")
    finally:
        widget.close()
    # Once the widget is gone, a reply is stored for it (it fetches it by seq when it is back).
    wait_until(lambda: not presence.zcard(PRESENCE_PREFIX + session), 30, "server B to drop the closed socket")
    later = call(a.rasa_url, "POST", path, bearer, {"text": "您还在吗？"})
    assert later.status == 200 and later.json["delivered"] == "stored"

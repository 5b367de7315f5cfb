"""The bot's one action with sensitive words, run as the action server runs it (a real
tiny index built with the list, the real database; no Rasa server): a refused message gets
the refusal whatever its intent and is recorded as ``refused``, a handoff category asks for a
person with reason ``sensitive``, and every hit is counted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import runtime
from bot.actions.turn import ActionTurn
from bot.handoff.handoffs import HandoffStore
from bot.handoff.kpis import compute_kpis
from bot.handoff.tickets import TicketStore
from faqbot.config import Settings, to_env
from indexer.service import build_and_publish
from indexer.validate import SENSITIVE_FILE
from tests.conftest import write_kb

pytestmark = pytest.mark.slow

LIST = "[辱骂] 拒答\n傻逼\n[赌博] 转人工\n博彩\n[竞品] 只记录\n某某交易所\n"


@pytest.fixture
def bot(tiny_kb: Settings, embedder, monkeypatch) -> Iterator[Settings]:
    write_kb(tiny_kb.kb_dir, SENSITIVE_FILE, LIST)
    build_and_publish(tiny_kb, embedder=embedder)
    for key, value in to_env(tiny_kb).items():
        monkeypatch.setenv(key, value)
    caches = (runtime.settings, runtime.live_index, runtime.records, runtime.desk)
    for cached in caches:
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()
    yield tiny_kb
    for cached in caches:
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()


def run_turn(sender: str, text: str, intent: str = "ask_faq") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    message = {"text": text, "intent": {"name": intent}, "entities": [], "metadata": {}}
    events = [{"event": "user", "text": text, "input_channel": "rest", "parse_data": message}]
    tracker = Tracker(sender, {"phase": "bot"}, message, events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    result = asyncio.run(ActionTurn().run(dispatcher, tracker, {}))
    return dispatcher.messages, result


def test_a_refused_message_gets_the_refusal_even_as_a_greeting(bot):
    messages, _ = run_turn("c-refuse", "你好 傻 逼", intent="greet")
    assert [m.get("response") for m in messages] == ["utter_sensitive_refused"]
    report = compute_kpis(bot.database_url, days=1)
    assert report["sensitive"] == [{"source": "customer", "category": "辱骂", "action": "refuse", "count": 1}]


def test_a_handoff_category_asks_for_a_person(bot):
    messages, _ = run_turn("c-handoff", "能不能用来充值賭球和博*彩")
    assert messages[0].get("response") == "utter_sensitive_handoff"
    # Nobody is signed in: the request becomes a 留言, with its reason.
    ticket = TicketStore(bot.database_url).draft_for("c-handoff")
    assert ticket is not None and ticket.reason == "sensitive"
    assert HandoffStore(bot.database_url).open_for("c-handoff") is None


def test_a_log_category_is_answered_and_counted(bot):
    messages, _ = run_turn("c-log", "某某交易所的提现手续费是多少")
    assert messages[0]["text"].startswith("提现手续费按币种和网络收取")
    report = compute_kpis(bot.database_url, days=1)
    assert report["sensitive"] == [{"source": "customer", "category": "竞品", "action": "log", "count": 1}]

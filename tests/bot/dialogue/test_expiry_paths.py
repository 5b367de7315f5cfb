"""The bot's paths that pick an entry by id skip an expired one, like a disabled one: hot
questions, 猜你想问 (``related:``), and a clarify / 猜你想问 button pressed after the last day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.actions.turn import hot_buttons
from bot.dialogue.turn import related_entries
from indexer.search import Searcher
from indexer.service import build_and_publish, open_current
from tests.conftest import write_kb

pytestmark = pytest.mark.slow

PROMO = """
category: 活动
entries:
  - id: promo-2026
    question: 双十二活动怎么参加？
    similar: [双十二优惠怎么领, 双十二有什么活动, 双12活动规则, 十二月活动怎么参加]
    answer: 在活动页领取优惠券即可。
    hot: true
    valid_until: 2026-12-12
  - id: promo-rules
    question: 活动规则在哪里看？
    similar: [活动说明在哪, 优惠规则去哪看, 活动细则, 活动条款在哪里]
    answer: 活动页底部有完整规则。
    hot: true
    related: [promo-2026]
"""


@pytest.fixture
def served(tiny_kb, embedder):
    write_kb(tiny_kb.kb_dir, "promo.yml", PROMO)
    build_and_publish(tiny_kb, embedder=embedder)
    directory = open_current(tiny_kb, embedder).directory
    return lambda day: Searcher(directory, tiny_kb, embedder, clock=lambda: datetime(2026, 12, day, 4, tzinfo=UTC))


def test_hot_questions_and_related_leave_out_an_expired_entry(served):
    last_day, after = served(12), served(13)
    assert [b["title"] for b in hot_buttons(last_day)] == ["双十二活动怎么参加？", "活动规则在哪里看？"]
    assert [b["title"] for b in hot_buttons(after)] == ["活动规则在哪里看？"]
    rules = after.by_id["promo-rules"]
    assert [e.id for e in related_entries(rules, last_day.serving())] == ["promo-2026"]
    assert related_entries(rules, after.serving()) == []
    # A button pressed after the last day (``/choose_faq``) finds nothing to answer with.
    assert after.serving().get("promo-2026") is None and last_day.serving().get("promo-2026") is not None

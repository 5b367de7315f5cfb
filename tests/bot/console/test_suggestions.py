"""The agent's suggested answers are looked up with what the customer actually asked,
not their latest nudge ("转人工", "请快一点"): real hand-offs in a real database."""

from __future__ import annotations

from bot.console.common import customer_question
from bot.handoff.desk import HandoffDesk
from bot.handoff.handoffs import HandoffRequest


def test_the_question_is_the_latest_real_question_of_the_customer(settings):
    desk = HandoffDesk(settings)
    transcript = [
        {"role": "user", "text": "提现三天了还没到账怎么办", "time": ""},
        {"role": "bot", "text": "您是想问：", "time": ""},
        {"role": "user", "text": "转人工", "time": ""},
    ]
    handoff, _ = desk.handoffs.create(HandoffRequest("q-1", "rest", "user_request", transcript))
    assert customer_question(desk, handoff) == "提现三天了还没到账怎么办"
    desk.handoffs.user_message(handoff.id, "请快一点")
    desk.handoffs.user_message(handoff.id, "在吗？")
    assert customer_question(desk, handoff) == "提现三天了还没到账怎么办"
    desk.handoffs.user_message(handoff.id, "另外提现手续费怎么算")
    assert customer_question(desk, handoff) == "另外提现手续费怎么算"
    nothing, _ = desk.handoffs.create(HandoffRequest("q-2", "rest", "user_request", [{"role": "user", "text": "人工"}]))
    assert customer_question(desk, nothing) is None

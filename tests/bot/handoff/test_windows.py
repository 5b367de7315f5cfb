"""Platforms' reply windows: an answer to a 留言 is not pushed where the platform would
refuse it, and the console is told why (the desk with its real stores on SQLite)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from bot.handoff.desk import HandoffDesk
from bot.handoff.tickets import CHAT, SKIPPED, STORED
from bot.handoff.windows import window_for
from faqbot.config import load_settings


@pytest.fixture
def desk(tmp_path) -> HandoffDesk:
    return HandoffDesk(load_settings(env={}).replace(data_dir=tmp_path))


def wrote(desk: HandoffDesk, conversation: str, channel: str, hours_ago: float) -> None:
    at = datetime.now(UTC) - timedelta(hours=hours_ago)
    desk.records.log_turns(
        [{"at": at, "conversation_id": conversation, "channel": channel, "handled_by": "ticket", "reply_ms": None}]
    )


def answered(desk: HandoffDesk, conversation: str, channel: str) -> list:
    draft = desk.tickets.start(conversation, channel, "user_request", "no_agent", None)
    ticket = desk.tickets.submit(draft.id, "提现多久到账")
    asyncio.run(desk.answer_ticket(ticket.id, "li", "一般 2 小时内到账。", "小李"))
    return [d for d in desk.tickets.deliveries_of([ticket.id])[ticket.id] if d.route == CHAT]


def test_which_platforms_have_a_window():
    assert window_for("wechat", "oX1").hours == 48
    assert window_for("wecom", "kf:wk1:wm2").hours == 48 and window_for("wecom", "zhangsan") is None
    assert window_for("messenger", "123").hours == 24
    assert window_for("socketio", "abc") is None and window_for("telegram", "1") is None


def test_inside_the_48_hours_the_answer_goes_out_and_past_them_the_console_says_why(desk):
    wrote(desk, "oInside", "wechat", hours_ago=47)
    [inside] = answered(desk, "oInside", "wechat")
    assert inside.outcome == STORED  # tried (no WeChat push in this test: kept for their next message)
    state = desk.reply_window("wechat", "oInside")
    assert state["open"] and state["name"] == "微信公众号客服消息"

    wrote(desk, "oOutside", "wechat", hours_ago=49)
    [outside] = answered(desk, "oOutside", "wechat")
    assert outside.outcome == SKIPPED and "已超过微信公众号客服消息 48 小时回复窗口" in outside.detail
    assert "用户下次发消息时会先看到这条回复" in outside.detail
    assert desk.reply_window("wechat", "oOutside")["open"] is False
    # The answer still waits for them: shown with their next message.
    assert [t.ticket for t in desk.tickets.not_shown("oOutside")]


def test_no_message_on_record_counts_as_outside_and_other_channels_have_no_window(desk):
    [never] = answered(desk, "oNever", "wechat")
    assert never.outcome == SKIPPED and "没有用户消息记录" in never.detail
    assert desk.reply_window("rest", "r1") is None

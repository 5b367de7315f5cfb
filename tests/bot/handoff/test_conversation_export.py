"""The conversation export: one row per conversation or 留言 a history search finds, with
the numbers the KPIs count them by, on SQLite and the local PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from bot.handoff.conversation_export import HEADER, ConversationExport
from bot.handoff.handoffs import HandoffRequest, HandoffStore, WrapUp
from bot.handoff.history import Query
from bot.handoff.tables import csv_text, xlsx_bytes
from bot.handoff.tickets import TicketStore
from tests.databases import postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'x.sqlite'}" if request.param == "sqlite" else postgres_url()


def test_each_conversation_and_message_is_one_row_with_what_it_is_counted_by(url):
    tag = uuid.uuid4().hex[:8]
    store, tickets = HandoffStore(url), TicketStore(url)
    transcript = [{"role": "user", "text": f"账户冻结了怎么办 {tag}", "time": 1.0}]
    chat, _ = store.create(HandoffRequest(f"c-{tag}", "socketio", "faq_policy", transcript, faq_id="ex-frozen"))
    store.claim(chat.id, "li")
    store.close(chat.id, "li", wrapup=WrapUp("resolved", ("冻结", "加急")))
    store.rate(chat.id, "good")
    note = tickets.submit(tickets.start(f"c-{tag}", "rest", "user_request", "closed", None).id, f"发票 {tag}")
    tickets.answer(note.id, "wang", "订单详情页申请")
    rows = ConversationExport(url, "Asia/Shanghai").rows(Query(customer=tag))
    assert rows[0] == HEADER and len(rows) == 3
    by_kind = {row[0]: dict(zip(HEADER, row, strict=True)) for row in rows[1:]}
    talk, message = by_kind["会话"], by_kind["留言"]
    assert (talk["编号"], talk["渠道"], talk["状态"], talk["原因"], talk["客服"], talk["FAQ"]) == (
        chat.ticket,
        "socketio",
        "closed",
        "faq_policy",
        "li",
        "ex-frozen",
    )
    assert (talk["结束原因"], talk["标签"], talk["评价"]) == ("问题已解决", "冻结、加急", "满意")
    assert talk["用户问题"] == f"账户冻结了怎么办 {tag}" and len(talk["开始时间"]) == 19
    assert (message["用户问题"], message["回复"], message["客服"]) == (f"发票 {tag}", "订单详情页申请", "wang")
    assert csv_text(rows).startswith("\ufeff类型,编号,") and xlsx_bytes({"会话与留言": rows})[:2] == b"PK"


def test_the_export_masks_personal_data_the_stores_keep_for_the_agent(url):
    from faqbot.masking import Masker

    tag = uuid.uuid4().hex[:8]
    store, tickets = HandoffStore(url), TicketStore(url)
    transcript = [{"role": "user", "text": f"我的手机13812345678收不到验证码 {tag}", "time": 1.0}]
    chat, _ = store.create(HandoffRequest(f"c-{tag}", "socketio", "user_request", transcript))
    started = tickets.start(f"c-{tag}", "rest", "user_request", "closed", None)
    note = tickets.submit(started.id, f"订单DD202612031234 {tag}")
    tickets.answer(note.id, "wang", "已回电 13812345678")
    rows = ConversationExport(url, "Asia/Shanghai", Masker([r"DD[0-9]{12}"])).rows(Query(customer=tag))
    text = csv_text(rows)
    assert "13812345678" not in text and "DD202612031234" not in text
    assert "138****5678" in text and "DD2********234" in text
    assert store.get(chat.id).transcript[0]["text"].startswith("我的手机13812345678")  # the agent's copy: as written
    assert tickets.get(note.id).question == f"订单DD202612031234 {tag}"

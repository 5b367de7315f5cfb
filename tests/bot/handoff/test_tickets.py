"""留言 tickets: drafting → open → answered, on SQLite and on the local PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from bot.handoff.tickets import ANSWERED, CANCELLED, DRAFTING, OPEN, QUESTION, TicketError, TicketStore
from tests.databases import postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> TicketStore:
    return TicketStore(f"sqlite:///{tmp_path / 't.sqlite'}" if request.param == "sqlite" else postgres_url())


def test_a_message_is_drafted_submitted_and_answered(store):
    conversation = f"c-{uuid.uuid4()}"
    draft = store.start(conversation, "rest", "user_request", "closed", "提现没到账")
    assert draft.state == DRAFTING and store.draft_for(conversation).id == draft.id
    assert store.set_contact(draft.id, "13800138000").step == QUESTION
    before = store.marker()
    ticket = store.submit(draft.id, "提现三天没到账")
    assert ticket.state == OPEN and ticket.submitted_at and store.draft_for(conversation) is None
    assert store.marker() != before
    assert ticket.id in [t.id for t in store.in_states()]
    answered = store.answer(ticket.id, "li", "已为您加急处理")
    assert answered.state == ANSWERED and answered.answer == "已为您加急处理" and answered.agent == "li"
    assert [t.id for t in store.answered_for(conversation)] == [ticket.id]
    with pytest.raises(TicketError, match="is answered, not open"):
        store.answer(ticket.id, "li", "again")


def test_a_new_draft_replaces_an_unfinished_one_and_cancel_ends_it(store):
    conversation = f"c-{uuid.uuid4()}"
    first = store.start(conversation, "rest", "user_request", "no_agent", None)
    second = store.start(conversation, "rest", "repeated_fallback", "busy", None)
    assert store.get(first.id).state == CANCELLED and store.draft_for(conversation).id == second.id
    assert store.cancel(second.id).state == CANCELLED and store.draft_for(conversation) is None
    with pytest.raises(TicketError, match="is cancelled, not drafting"):
        store.submit(second.id, "太晚了")
    with pytest.raises(TicketError, match="cannot be empty"):
        store.answer(second.id, "li", "  ")


def test_an_answer_is_delivered_by_the_first_route_that_reaches_the_customer(store):
    from bot.handoff.tickets import CHAT, DELIVERED, EMAIL, FAILED, RETURN, SENT, STORED

    conversation = f"c-{uuid.uuid4()}"
    draft = store.start(conversation, "socketio", "user_request", "no_agent", None)
    store.set_contact(draft.id, "kehu@example.cn")
    ticket = store.answer(store.submit(draft.id, "发票怎么开").id, "li", "在订单页申请即可")
    store.record_delivery(ticket.id, CHAT, STORED, "用户当前不在线")
    store.record_delivery(ticket.id, EMAIL, FAILED, "SMTPAuthenticationError")
    assert store.get(ticket.id).state == ANSWERED  # nothing has reached the customer yet
    assert [t.id for t in store.not_shown(conversation)] == [ticket.id]
    store.record_delivery(ticket.id, EMAIL, SENT, "<id@example.cn>")
    assert store.get(ticket.id).state == DELIVERED
    # An e-mail does not put the answer in the chat: it is still shown when the customer is back.
    assert [t.id for t in store.not_shown(conversation)] == [ticket.id]
    store.record_delivery(ticket.id, RETURN, SENT, "用户回到对话时显示")
    assert store.not_shown(conversation) == [] and [t.id for t in store.answered_for(conversation)] == [ticket.id]
    routes = store.deliveries_of([ticket.id])[ticket.id]
    assert [(d.route, d.outcome) for d in routes] == [(CHAT, STORED), (EMAIL, FAILED), (EMAIL, SENT), (RETURN, SENT)]
    assert ticket.id in [t.id for t in store.recently_answered()]


def test_a_ticket_keeps_the_conversation_before_it(store):
    from bot.handoff.tickets import MAX_TRANSCRIPT

    lines = [{"role": "user" if i % 2 else "bot", "text": f"第 {i} 句", "time": None} for i in range(60)]
    ticket = store.start(f"c-{uuid.uuid4()}", "rest", "user_request", "no_agent", "第 59 句", lines)
    kept = store.transcript(ticket.id)
    assert len(kept) == MAX_TRANSCRIPT and kept[-1]["text"] == "第 59 句" and kept == lines[-MAX_TRANSCRIPT:]
    bare = store.start(f"c-{uuid.uuid4()}", "rest", "user_request", "no_agent", None)
    assert store.transcript(bare.id) == []


def test_after_the_answer_a_ticket_is_closed_reopened_and_answered_again(store):
    from bot.handoff.tickets import CHAT, CLOSED, FOLLOWUP, REOPENED, SENT

    conversation = f"c-{uuid.uuid4()}"
    ticket = store.submit(store.start(conversation, "rest", "user_request", "closed", None).id, "提现没到账")
    store.answer(ticket.id, "li", "请稍等")
    store.record_delivery(ticket.id, CHAT, SENT)
    assert store.not_shown(conversation) == []
    before = store.marker()
    with pytest.raises(TicketError, match="cannot be reopened"):
        store.reopen(ticket.id, "someone-else")  # only the ticket's own customer
    reopened = store.reopen(ticket.id, conversation)
    assert (reopened.state, reopened.step) == (REOPENED, FOLLOWUP) and store.marker() != before
    assert store.followup_for(conversation).id == ticket.id
    with pytest.raises(TicketError, match="not open"):
        store.answer(ticket.id, "li", "还没等到补充")  # the customer is still typing it
    added = store.add_followup(ticket.id, "订单 42", "12-03 10:00")
    assert added.step is None and added.question.endswith("【12-03 10:00 补充】订单 42")
    again = store.answer(ticket.id, "wang", "已加急")
    assert again.state == "answered" and again.agent == "wang"
    assert [t.id for t in store.not_shown(conversation)] == [ticket.id]  # the new answer is not shown yet
    closed = store.close(ticket.id, "wang", "已电话联系")
    assert closed.state == CLOSED
    with pytest.raises(TicketError, match="cannot be closed"):
        store.close(ticket.id, "wang")
    kinds = [(e["kind"], e["text"]) for e in store.events(ticket.id)]
    assert kinds == [("reopened", None), ("followup", "订单 42"), ("answered", "请稍等"), ("closed", "已电话联系")]
    assert ticket.id in [t.id for t in store.recently_answered(500)]

"""The console's history search over real hand-offs and 留言, on SQLite and the local PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from bot.handoff.handoffs import HandoffRequest, HandoffStore
from bot.handoff.history import History, Query
from bot.handoff.tickets import TicketStore
from tests.databases import postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'h.sqlite'}" if request.param == "sqlite" else postgres_url()


def a_closed_chat(store: HandoffStore, customer: str, agent: str, said: str, at: datetime | None = None) -> str:
    transcript = [{"role": "user", "text": "我的提现一直没到账", "time": "2026-12-02T10:00:00+08:00"}]
    request = HandoffRequest(customer, "socketio", "user_request", transcript)
    if at is not None:
        request = HandoffRequest(customer, "socketio", "user_request", transcript, created_at=at)
    handoff, _ = store.create(request)
    store.claim(handoff.id, agent)
    store.user_message(handoff.id, "订单号 20261202-0042")
    store.agent_message(handoff.id, agent, said)
    store.close(handoff.id, agent)
    return handoff.id


def test_yesterdays_conversation_is_found_by_a_word_in_it(url):
    store, tickets = HandoffStore(url), TicketStore(url)
    tag = uuid.uuid4().hex[:6]
    yesterday = datetime.now(UTC) - timedelta(days=1)
    found_id = a_closed_chat(store, f"cust-{tag}", "li", f"已为您补发 {tag}-Token，请查收", yesterday)
    other = a_closed_chat(store, f"other-{tag}", "wang", "好的，再见")
    history = History(url, "Asia/Shanghai")
    [hit] = history.search(Query(text=f"{tag}-token"))  # case does not matter
    assert hit["type"] == "handoff" and hit["id"] == found_id and hit["state"] == "closed"
    assert f"{tag}-Token" in hit["snippet"] and hit["agent"] == "li"
    # The bot part before the hand-off and the customer's words count too.
    assert {h["id"] for h in history.search(Query(text="订单号 20261202-0042", customer=tag))} == {found_id, other}
    assert [h["id"] for h in history.search(Query(text="提现一直没到账", agent="wang", customer=tag))] == [other]
    # By local date: yesterday's is not today's.
    today = datetime.now(UTC).astimezone(history.zone).date()
    day = today - timedelta(days=1)
    on_day = [h["id"] for h in history.search(Query(customer=tag, since=day, until=day))]
    assert on_day == [found_id]
    # A 留言 is found by its question or answer; % and _ are plain characters.
    draft = tickets.start(f"cust-{tag}", "rest", "user_request", "no_agent", None)
    ticket = tickets.submit(draft.id, f"发票 {tag}_100% 怎么开")
    tickets.answer(ticket.id, "li", "在订单详情页申请")
    [as_ticket] = history.search(Query(text=f"{tag}_100%"))
    assert as_ticket["type"] == "ticket" and as_ticket["id"] == ticket.id and as_ticket["state"] == "answered"
    assert history.search(Query(text=f"{tag}_1000")) == []


def test_found_by_faq_wrap_up_tag_and_the_customers_verified_user_id(url):
    from bot.handoff.customers import Customer, CustomerBook, sign
    from bot.handoff.handoffs import WrapUp

    store, book = HandoffStore(url), CustomerBook(url)
    tag = uuid.uuid4().hex[:6]
    transcript = [{"role": "user", "text": "冻结", "time": 1.0}]
    request = HandoffRequest(f"web-{tag}", "socketio", "faq_policy", transcript, faq_id=f"faq-{tag}")
    handoff, _ = store.create(request)
    store.claim(handoff.id, "li")
    store.close(handoff.id, "li", wrapup=WrapUp("resolved", (f"加急{tag}",)))
    other = a_closed_chat(store, f"web2-{tag}", "li", "好的")
    history = History(url, "Asia/Shanghai")
    assert [h["id"] for h in history.search(Query(faq=f"faq-{tag}"))] == [handoff.id]
    assert [h["id"] for h in history.search(Query(tag=f"加急{tag}"))] == [handoff.id]
    assert history.search(Query(tag=f"加急{tag}x")) == []
    reported = {"user": {"id": f"u-{tag}", "name": "张三", "signature": sign(f"u-{tag}", "s3cret")}}
    for conversation in (f"web-{tag}", f"web2-{tag}"):
        book.note(Customer.reported(conversation, "socketio", reported, "s3cret"))
    assert {h["id"] for h in history.search(Query(customer=f"u-{tag}"))} == {handoff.id, other}
    assert {h["id"] for h in history.search(Query(conversations=(f"web2-{tag}",)))} == {other}

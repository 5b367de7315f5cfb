"""What a customer's client reports, and the host site's signed user id, on SQLite and
the local PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from bot.handoff.customers import INVALID, NONE, UNSIGNED, VERIFIED, Customer, CustomerBook, sign
from tests.databases import postgres_url

SECRET = "site-secret"


@pytest.fixture(params=["sqlite", "postgresql"])
def book(request, tmp_path) -> CustomerBook:
    url = f"sqlite:///{tmp_path / 'c.sqlite'}" if request.param == "sqlite" else postgres_url()
    return CustomerBook(url)


def reported(user: dict | None = None, **page: str) -> dict:
    return {"page_url": "https://shop.example.cn/orders?id=42", "page_title": "我的订单", **page, "user": user}


def test_the_user_id_counts_only_with_the_sites_signature():
    good = Customer.reported(
        "c", "socketio", reported({"id": "u1", "name": "张三", "signature": sign("u1", SECRET)}), SECRET
    )
    assert (good.user_id, good.user_name, good.identity) == ("u1", "张三", VERIFIED)
    upper = sign("u1", SECRET).upper()  # hex in capitals is the same signature
    assert Customer.reported("c", "x", reported({"id": "u1", "signature": upper}), SECRET).identity == VERIFIED
    forged = Customer.reported(
        "c", "socketio", reported({"id": "u1", "name": "张三", "signature": sign("u2", SECRET)}), SECRET
    )
    assert (forged.user_id, forged.user_name, forged.identity) == (None, None, INVALID)
    unsigned = Customer.reported("c", "socketio", reported({"id": "u1"}), SECRET)
    assert (unsigned.user_id, unsigned.identity) == (None, UNSIGNED)
    no_secret = Customer.reported("c", "socketio", reported({"id": "u1", "signature": sign("u1", "")}), "")
    assert (no_secret.user_id, no_secret.identity) == (None, UNSIGNED)  # nothing to check it with
    assert Customer.reported("c", "socketio", reported(), SECRET).identity == NONE
    assert Customer.reported("c", "socketio", "not an object", SECRET) is None


def test_what_the_browser_reports_is_cleaned_and_never_a_script_link():
    found = Customer.reported(
        "c",
        "socketio",
        reported(page_url="javascript:alert(1)", referrer="https://www.baidu.com/s?wd=提现", page_title="x" * 500),
        SECRET,
    )
    assert found.page_url is None and found.referrer == "https://www.baidu.com/s?wd=提现"
    assert len(found.page_title) == 200
    weird = Customer.reported("c", "socketio", {"page_url": 42, "user_agent": "Mozilla\x00/5.0", "user": "u1"}, SECRET)
    assert weird.page_url is None and weird.user_agent == "Mozilla/5.0" and weird.identity == NONE


def test_a_customer_is_kept_per_conversation_and_found_by_their_user_id(book):
    tag = uuid.uuid4().hex[:8]
    user = {"id": f"u-{tag}", "signature": sign(f"u-{tag}", SECRET)}
    book.note(Customer.reported(f"a-{tag}", "socketio", reported(user), SECRET))
    book.note(
        Customer.reported(f"b-{tag}", "socketio", reported(user, page_url="https://shop.example.cn/help"), SECRET)
    )
    later = book.get(f"b-{tag}")
    assert later.page_url == "https://shop.example.cn/help" and later.first_seen <= later.last_seen
    assert book.conversations_of(later) == sorted([f"a-{tag}", f"b-{tag}"])
    assert book.matching(f"u-{tag}") and set(book.matching(f"u-{tag}")) == {f"a-{tag}", f"b-{tag}"}
    stranger = book.get(f"nobody-{tag}", "wechat")
    assert stranger.channel == "wechat" and stranger.identity == NONE
    assert book.conversations_of(stranger) == [f"nobody-{tag}"]

"""Facebook Messenger through the real Rasa server: webhook events signed as
Meta signs them (X-Hub-Signature-256, tests/connectors/signing.py), the Send
API answered by the fake platform, which checks the page access token on
every call."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from connectors import platform_api
from connectors.messenger import MessengerApi, MessengerOutbound, render
from indexer.kb import load_kb
from tests.connectors.signing import messenger_signature
from tests.http import send
from tests.polling import wait_until

pytestmark = pytest.mark.slow

PAGE_TOKEN = "EAAtestPageAccessToken0123"
APP_SECRET = "0123456789abcdef0123456789abcdef"
VERIFY_TOKEN = "verify-me-please"
ENV = {
    "MESSENGER_PAGE_ACCESS_TOKEN": PAGE_TOKEN,
    "MESSENGER_APP_SECRET": APP_SECRET,
    "MESSENGER_VERIFY_TOKEN": VERIFY_TOKEN,
}
SEND = "/me/messages"
PAGE_ID = "PAGE1"
_ids = itertools.count(int(time.time()) % 100000 * 1000)


def send_api(call):
    if call.query.get("access_token") != PAGE_TOKEN:
        return 400, {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}
    body = call.json
    assert body["messaging_type"] == "RESPONSE", body
    assert isinstance(body["recipient"]["id"], str), body
    message = body["message"]
    assert 1 <= len(message["text"]) <= 2000, body
    quick = message.get("quick_replies", [])
    assert len(quick) <= 13, body
    for q in quick:
        assert q["content_type"] == "text" and 1 <= len(q["title"]) <= 20 and q["payload"], q
    return 200, {"recipient_id": body["recipient"]["id"], "message_id": f"m_{next(_ids)}"}


@pytest.fixture(scope="module")
def bot_settings(bot_settings, fake_platform):
    fake_platform.route("POST", SEND, send_api)
    return bot_settings.replace(channels=dataclasses.replace(bot_settings.channels, messenger_api=fake_platform.url))


@pytest.fixture(scope="module")
def webhook(running_bot):
    return running_bot.rasa_url + "/webhooks/messenger/webhook"


@pytest.fixture(scope="module")
def kb(bot_settings):
    return {e.id: e.answer.strip() for e in load_kb(bot_settings.kb_dir).entries}


def signature(body: bytes, secret: str = APP_SECRET) -> str:
    return messenger_signature(body, secret)


def deliver(
    url: str, payload: dict | None, raw: bytes | None = None, sig: str | None = None, headers: dict | None = None
) -> tuple[int, float]:
    """POST as Meta does: the raw body signed with the app secret; (status, seconds taken)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    all_headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature(body) if sig is None else sig,
        **(headers or {}),
    }
    if sig == "":
        del all_headers["X-Hub-Signature-256"]
    reply = send(url, body, all_headers)
    return reply.status, reply.seconds


def get(url: str, params: dict) -> tuple[int, str]:
    reply = send(f"{url}?{urllib.parse.urlencode(params)}")
    return reply.status, reply.text


def text_item(user: str, text: str, mid: str | None = None, **message) -> dict:
    return {
        "sender": {"id": user},
        "recipient": {"id": PAGE_ID},
        "timestamp": int(time.time() * 1000),
        "message": {"mid": mid or f"m_{next(_ids)}", "text": text, **message},
    }


def page(*entries: list[dict]) -> dict:
    return {
        "object": "page",
        "entry": [{"id": PAGE_ID, "time": int(time.time() * 1000), "messaging": items} for items in entries],
    }


def sent_to(fake, user: str) -> list[dict]:
    return [c.json["message"] for c in fake.calls_to(SEND) if c.json["recipient"]["id"] == user]


def wait_sent(fake, user: str, predicate, timeout: float = 30.0) -> list[dict]:
    return wait_until(
        lambda: [m for m in sent_to(fake, user) if predicate(m)], timeout, f"a matching Send API call to {user}"
    )


def settle(fake, webhook: str, user: str) -> None:
    """A later message from the user is answered: whatever an earlier one caused has been sent."""
    before = sum("智能客服" in m["text"] for m in sent_to(fake, user))
    assert deliver(webhook, page([text_item(user, "你好")]))[0] == 200
    wait_until(lambda: sum("智能客服" in m["text"] for m in sent_to(fake, user)) > before)


def new_user() -> str:
    return f"PSID{next(_ids)}"


def test_hub_handshake_echoes_the_challenge_only_with_the_verify_token(webhook):
    assert get(webhook, {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}) == (
        200,
        "1158201444",
    )
    assert get(webhook, {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"})[0] == 403
    assert (
        get(webhook, {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})[0]
        == 403
    )
    assert get(webhook, {"hub.challenge": "1158201444"})[0] == 403


def test_a_message_is_acked_at_once_and_answered_once(webhook, fake_platform, kb):
    user = new_user()
    status, took = deliver(webhook, page([text_item(user, "提现手续费是多少")]))
    assert status == 200 and took < 5.0  # Meta waits 20 s
    [answer] = wait_sent(fake_platform, user, lambda m: m["text"] == kb["ex-withdraw-fee"])
    [helpful, unhelpful] = answer["quick_replies"][:2]
    assert (helpful["title"], unhelpful["title"]) == ("有帮助", "没帮助")
    assert helpful["payload"].startswith("/feedback_positive{") and unhelpful["payload"].startswith(
        "/feedback_negative{"
    )
    settle(fake_platform, webhook, user)
    assert [m["text"] for m in sent_to(fake_platform, user)].count(kb["ex-withdraw-fee"]) == 1


def test_forged_missing_or_sha1_signature_is_403_and_nothing_is_sent(webhook, fake_platform, kb):
    user = new_user()
    body = json.dumps(page([text_item(user, "提现手续费是多少")])).encode()
    assert deliver(webhook, None, raw=body, sig=signature(body, secret="wrong-secret"))[0] == 403
    assert deliver(webhook, None, raw=body, sig="")[0] == 403
    sha1 = "sha1=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert deliver(webhook, None, raw=body, sig="", headers={"X-Hub-Signature": sha1})[0] == 403
    tampered = body.replace(PAGE_ID.encode(), b"PAGE2")
    assert deliver(webhook, None, raw=tampered, sig=signature(body))[0] == 403
    settle(fake_platform, webhook, user)
    assert kb["ex-withdraw-fee"] not in [m["text"] for m in sent_to(fake_platform, user)]


def test_malformed_or_non_page_bodies(webhook):
    assert deliver(webhook, None, raw=b"{not json")[0] == 400
    assert deliver(webhook, {"object": "page"})[0] == 400  # no entry list
    assert deliver(webhook, {"object": "instagram", "entry": []})[0] == 404


def test_redelivered_message_is_answered_once_even_when_concurrent(webhook, fake_platform, kb):
    user = new_user()
    body = json.dumps(page([text_item(user, "提现手续费是多少")])).encode()
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(deliver(webhook, None, raw=body)[0])) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 4
    assert deliver(webhook, None, raw=body)[0] == 200
    settle(fake_platform, webhook, user)
    assert [m["text"] for m in sent_to(fake_platform, user)].count(kb["ex-withdraw-fee"]) == 1


def test_every_item_of_a_batch_is_answered(webhook, fake_platform, kb):
    users = [new_user() for _ in range(4)]
    batch = page(
        [text_item(users[0], "提现手续费是多少"), text_item(users[1], "提现手续费是多少")],
        [text_item(users[2], "提现手续费是多少"), text_item(users[3], "提现手续费是多少")],
    )
    assert deliver(webhook, batch)[0] == 200
    for user in users:
        wait_sent(fake_platform, user, lambda m: m["text"] == kb["ex-withdraw-fee"])


def test_echoes_deliveries_and_reads_are_ignored(webhook, fake_platform):
    user = new_user()
    now = int(time.time() * 1000)
    batch = page(
        [
            {
                "sender": {"id": PAGE_ID},
                "recipient": {"id": user},
                "timestamp": now,
                "message": {"mid": f"m_{next(_ids)}", "is_echo": True, "app_id": 1, "text": "提现手续费是多少"},
            },
            {
                "sender": {"id": user},
                "recipient": {"id": PAGE_ID},
                "timestamp": now,
                "delivery": {"mids": ["m_1"], "watermark": now},
            },
            {"sender": {"id": user}, "recipient": {"id": PAGE_ID}, "timestamp": now, "read": {"watermark": now}},
        ]
    )
    assert deliver(webhook, batch)[0] == 200
    settle(fake_platform, webhook, user)
    assert len(sent_to(fake_platform, user)) == 1  # the settle greeting only


def test_quick_reply_and_postback_payloads_reach_the_bot(webhook, fake_platform, kb):
    user = new_user()
    assert deliver(webhook, page([text_item(user, "充值的话呢")]))[0] == 200
    [choices] = wait_sent(fake_platform, user, lambda m: m.get("quick_replies") and m["text"].startswith("您是想问："))
    chosen = choices["quick_replies"][1]
    assert chosen["payload"].startswith("/choose_faq")
    faq_id = json.loads(chosen["payload"][len("/choose_faq") :])["faq_id"]
    tap = text_item(user, chosen["title"], quick_reply={"payload": chosen["payload"]})
    assert deliver(webhook, page([tap]))[0] == 200
    wait_sent(fake_platform, user, lambda m: m["text"] == kb[faq_id])

    starter = new_user()
    get_started = {
        "sender": {"id": starter},
        "recipient": {"id": PAGE_ID},
        "timestamp": int(time.time() * 1000),
        "postback": {"title": "Get Started", "payload": "GET_STARTED", "mid": f"m_{next(_ids)}"},
    }
    assert deliver(webhook, page([get_started]))[0] == 200
    wait_sent(fake_platform, starter, lambda m: "智能客服" in m["text"])
    assert deliver(webhook, page([get_started]))[0] == 200  # redelivered postback
    settle(fake_platform, webhook, starter)
    assert sum("智能客服" in m["text"] for m in sent_to(fake_platform, starter)) == 2  # welcome + settle


def test_agent_reply_goes_out_with_the_agent_prefix(fake_platform):
    async def push() -> bool:
        try:
            return await MessengerOutbound(MessengerApi(fake_platform.url, PAGE_TOKEN)).send(
                "PSID777", "您好，我来帮您查一下。", meta={"from": "agent", "name": "小李", "seq": 3}
            )
        finally:
            await platform_api.client().aclose()

    assert asyncio.run(push()) is True
    assert sent_to(fake_platform, "PSID777")[-1]["text"] == "【人工客服 小李】您好，我来帮您查一下。"


# -- units -------------------------------------------------------------------


def test_long_text_is_split_at_2000_with_quick_replies_on_the_last_piece():
    text = "这是一段很长的说明。" * 500
    messages = render(text, [{"title": "有帮助", "payload": "/feedback_positive"}])
    assert len(messages) == 3 and all(len(m["text"]) <= 2000 for m in messages)
    assert "".join(m["text"] for m in messages) == text
    assert [("quick_replies" in m) for m in messages] == [False, False, True]


def test_long_titles_are_listed_in_full_and_at_most_13_quick_replies():
    long_title = "同一个币种换了个网络之后手续费为什么不一样"  # 21 characters
    buttons = [{"title": long_title, "payload": "/a"}] + [{"title": f"选项{i}", "payload": f"/{i}"} for i in range(20)]
    [message] = render("您是想问：", buttons)
    assert len(message["quick_replies"]) == 13
    assert f"1. {long_title}" in message["text"]
    assert all(len(q["title"]) <= 20 for q in message["quick_replies"])
    assert message["quick_replies"][0]["payload"] == "/a"

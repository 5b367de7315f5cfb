"""Slack through the real Rasa server: Events API and interactivity requests
signed as Slack signs them (v0 HMAC-SHA256, tests/connectors/signing.py),
``chat.postMessage`` answered by the fake platform, which checks the bot
token on every call."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from connectors import platform_api
from connectors.slack import SlackApi, SlackOutbound, render
from indexer.kb import load_kb
from tests.connectors.signing import slack_signature
from tests.http import send
from tests.polling import wait_until

pytestmark = pytest.mark.slow

BOT_TOKEN = "xoxb-test-0000-bot-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
ENV = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
POST_MESSAGE = "/chat.postMessage"
_ids = itertools.count(int(time.time()) % 100000 * 1000)


def post_message(call):
    if call.headers.get("authorization") != f"Bearer {BOT_TOKEN}":
        return 200, {"ok": False, "error": "invalid_auth"}
    body = call.json
    assert call.headers.get("content-type", "").startswith("application/json"), call.headers
    assert isinstance(body.get("channel"), str) and body["channel"], body
    assert isinstance(body.get("text"), str) and 1 <= len(body["text"]) <= 3000, body
    for block in body.get("blocks", []):
        if block["type"] == "actions":
            assert 1 <= len(block["elements"]) <= 25, block
    return 200, {"ok": True, "channel": body["channel"], "ts": f"{time.time():.6f}"}


@pytest.fixture(scope="module")
def bot_settings(bot_settings, fake_platform):
    fake_platform.route("POST", POST_MESSAGE, post_message)
    return bot_settings.replace(channels=dataclasses.replace(bot_settings.channels, slack_api=fake_platform.url))


@pytest.fixture(scope="module")
def webhook(running_bot):
    return running_bot.rasa_url + "/webhooks/slack/webhook"


@pytest.fixture(scope="module")
def kb(bot_settings):
    return {e.id: e.answer.strip() for e in load_kb(bot_settings.kb_dir).entries}


def sign(body: bytes, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    return slack_signature(body, timestamp, secret)


def deliver(
    url: str,
    body: bytes,
    content_type: str = "application/json",
    timestamp: str | None = None,
    signature: str | None = None,
    headers: dict | None = None,
) -> tuple[int, bytes, float]:
    """POST as Slack does: signed raw body; (status, body, seconds taken)."""
    timestamp = timestamp or str(int(time.time()))
    all_headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature if signature is not None else sign(body, timestamp),
        **(headers or {}),
    }
    reply = send(url, body, all_headers)
    return reply.status, reply.body, reply.seconds


def dm_event(user: str, text: str, event_id: str | None = None, **event) -> bytes:
    return json.dumps(
        {
            "token": "legacy",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_ids)}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0001", "user_id": "UBOT", "is_bot": True}],
            "event": {
                "type": "message",
                "channel_type": "im",
                "channel": f"D{user}",
                "user": user,
                "text": text,
                "ts": f"{time.time():.6f}",
                "client_msg_id": f"cm-{next(_ids)}",
                **event,
            },
        }
    ).encode()


def posted_to(fake, channel: str) -> list[dict]:
    return [c.json for c in fake.calls_to(POST_MESSAGE) if c.json["channel"] == channel]


def wait_posted(fake, channel: str, predicate, timeout: float = 30.0) -> list[dict]:
    return wait_until(
        lambda: [m for m in posted_to(fake, channel) if predicate(m)],
        timeout,
        f"a matching chat.postMessage to {channel}",
    )


def settle(fake, webhook: str, user: str) -> None:
    """A later DM from the user is answered: whatever an earlier one caused has been posted."""
    before = sum("智能客服" in m["text"] for m in posted_to(fake, f"D{user}"))
    assert deliver(webhook, dm_event(user, "你好"))[0] == 200
    wait_until(lambda: sum("智能客服" in m["text"] for m in posted_to(fake, f"D{user}")) > before)


def new_user() -> str:
    return f"U{next(_ids)}"


def test_url_verification_returns_the_challenge_only_when_signed(webhook):
    body = json.dumps(
        {
            "token": "legacy",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    ).encode()
    status, reply, _ = deliver(webhook, body)
    assert status == 200 and json.loads(reply) == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
    assert deliver(webhook, body, signature="v0=" + "0" * 64)[0] == 401


def test_a_direct_message_is_acked_at_once_and_answered_once(webhook, fake_platform, kb):
    user = new_user()
    status, _, took = deliver(webhook, dm_event(user, "提现手续费是多少"))
    assert status == 200 and took < 2.5  # Slack waits 3 s
    [answer] = wait_posted(fake_platform, f"D{user}", lambda m: m["text"] == kb["ex-withdraw-fee"])
    assert "thread_ts" not in answer
    section, actions = answer["blocks"]
    assert section["text"] == {"type": "plain_text", "text": kb["ex-withdraw-fee"], "emoji": True}
    values = [e["value"] for e in actions["elements"]][:2]
    assert values[0].startswith("/feedback_positive{") and values[1].startswith("/feedback_negative{")
    settle(fake_platform, webhook, user)
    assert [m["text"] for m in posted_to(fake_platform, f"D{user}")].count(kb["ex-withdraw-fee"]) == 1


def test_forged_stale_or_unsigned_requests_are_401_and_nothing_is_posted(webhook, fake_platform, kb):
    user = new_user()
    body = dm_event(user, "提现手续费是多少")
    now = str(int(time.time()))
    assert deliver(webhook, body, signature=sign(body, now, secret="not-the-secret"), timestamp=now)[0] == 401
    stale = str(int(time.time()) - 6 * 60)  # correctly signed, but outside the 5-minute window
    assert deliver(webhook, body, timestamp=stale, signature=sign(body, stale))[0] == 401
    assert deliver(webhook, body, signature="")[0] == 401
    tampered = body.replace(b"T0001", b"T0002")
    assert tampered != body
    assert deliver(webhook, tampered, timestamp=now, signature=sign(body, now))[0] == 401
    settle(fake_platform, webhook, user)
    assert kb["ex-withdraw-fee"] not in [m["text"] for m in posted_to(fake_platform, f"D{user}")]


def test_malformed_signed_body_is_a_400(webhook):
    assert deliver(webhook, b"{oops")[0] == 400
    assert deliver(webhook, b"payload=%7Bbroken", content_type="application/x-www-form-urlencoded")[0] == 400


@pytest.mark.parametrize("reason", ["http_timeout", "http_error"])
def test_retries_of_a_taken_event_are_acked_and_dropped_even_when_concurrent(webhook, fake_platform, kb, reason):
    user = new_user()
    body = dm_event(user, "提现手续费是多少")
    statuses: list[int] = []

    def attempt(n: int) -> None:
        retry = {"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": reason} if n else {}
        statuses.append(deliver(webhook, body, headers=retry)[0])

    threads = [threading.Thread(target=attempt, args=(n,)) for n in (0, 1, 1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 4
    assert deliver(webhook, body, headers={"X-Slack-Retry-Num": "3", "X-Slack-Retry-Reason": reason})[0] == 200
    settle(fake_platform, webhook, user)
    assert [m["text"] for m in posted_to(fake_platform, f"D{user}")].count(kb["ex-withdraw-fee"]) == 1


def test_a_retry_of_an_event_never_seen_is_handled(webhook, fake_platform, kb):
    user = new_user()
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert deliver(webhook, dm_event(user, "提现手续费是多少"), headers=retry)[0] == 200
    wait_posted(fake_platform, f"D{user}", lambda m: m["text"] == kb["ex-withdraw-fee"])


def test_an_app_mention_is_answered_in_its_thread_without_the_mention(webhook, fake_platform, kb):
    user, channel, ts = new_user(), f"C{next(_ids)}", f"{time.time():.6f}"
    body = json.dumps(
        {
            "team_id": "T0001",
            "type": "event_callback",
            "event_id": f"Ev{next(_ids)}",
            "event": {
                "type": "app_mention",
                "user": user,
                "channel": channel,
                "ts": ts,
                "text": "<@UBOT> 提现手续费是多少",
                "client_msg_id": f"cm-{next(_ids)}",
            },
        }
    ).encode()
    assert deliver(webhook, body)[0] == 200
    [answer] = wait_posted(fake_platform, channel, lambda m: m["text"] == kb["ex-withdraw-fee"])
    assert answer["thread_ts"] == ts


def test_bot_messages_and_subtypes_are_ignored(webhook, fake_platform):
    user = new_user()
    assert deliver(webhook, dm_event(user, "提现手续费是多少", bot_id="B0001"))[0] == 200
    assert deliver(webhook, dm_event(user, "提现手续费是多少", subtype="message_changed"))[0] == 200
    assert deliver(webhook, dm_event(user, "提现手续费是多少", channel_type="channel"))[0] == 200
    settle(fake_platform, webhook, user)
    assert len(posted_to(fake_platform, f"D{user}")) == 1  # the settle greeting only


def test_a_button_click_sends_its_value_to_the_bot(webhook, fake_platform, bot_settings):
    answers = {e.question: e.answer.strip() for e in load_kb(bot_settings.kb_dir).entries}
    user = new_user()
    assert deliver(webhook, dm_event(user, "充值的话呢"))[0] == 200
    [choices] = wait_posted(fake_platform, f"D{user}", lambda m: m["text"] == "您是想问：")
    button = choices["blocks"][1]["elements"][1]
    payload = {
        "type": "block_actions",
        "user": {"id": user, "name": "tester"},
        "api_app_id": "A0001",
        "trigger_id": f"tr-{next(_ids)}",
        "team": {"id": "T0001"},
        "container": {"type": "message", "channel_id": f"D{user}", "message_ts": "1.2"},
        "channel": {"id": f"D{user}"},
        "message": {"ts": "1.2", "text": "您是想问："},
        "actions": [
            {
                "type": "button",
                "action_id": button["action_id"],
                "block_id": "faqbot_choices_0",
                "value": button["value"],
                "text": button["text"],
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    form = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    status, _, took = deliver(webhook, form, content_type="application/x-www-form-urlencoded")
    assert status == 200 and took < 2.5
    wait_posted(fake_platform, f"D{user}", lambda m: m["text"] == answers[button["text"]["text"]])
    forged = deliver(webhook, form, content_type="application/x-www-form-urlencoded", signature="v0=" + "1" * 64)
    assert forged[0] == 401


def test_agent_reply_goes_to_the_users_dm_with_the_agent_prefix(fake_platform):
    async def push() -> bool:
        try:
            return await SlackOutbound(SlackApi(fake_platform.url, BOT_TOKEN)).send(
                "U777", "您好，我来帮您查一下。", meta={"from": "agent", "name": "小李", "seq": 3}
            )
        finally:
            await platform_api.client().aclose()

    assert asyncio.run(push()) is True
    assert posted_to(fake_platform, "U777")[-1]["text"] == "【人工客服 小李】您好，我来帮您查一下。"


# -- units -------------------------------------------------------------------


def test_long_text_and_many_buttons_are_split_within_slack_limits():
    text = "这是一段很长的说明，包含 <链接> & 符号。" * 400
    buttons = [{"title": f"选项{i}", "payload": f"/choose_{i}"} for i in range(30)]
    messages = render(text, buttons)
    assert len(messages) >= 3 and all(len(m["text"]) <= 3000 for m in messages)
    assert "<" not in messages[0]["text"] and "&lt;链接&gt; &amp; 符号" in messages[0]["text"]
    assert [("blocks" in m) for m in messages] == [False] * (len(messages) - 1) + [True]
    section, *actions = messages[-1]["blocks"]
    assert [len(a["elements"]) for a in actions] == [25, 5]
    assert [e["value"] for a in actions for e in a["elements"]] == [b["payload"] for b in buttons]

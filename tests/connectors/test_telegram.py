"""Telegram through the real Rasa server: updates sent as Telegram sends them
(JSON + the secret-token header), Bot API calls answered by the fake platform."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import threading
import time

import pytest

from connectors import platform_api
from connectors.telegram import CallbackKeys, TelegramApi, TelegramInput, TelegramOutbound, render, utf16_len
from indexer.kb import load_kb
from tests.http import send
from tests.polling import wait_until

pytestmark = pytest.mark.slow

TOKEN = "123456789:TEST-bot_token"
SECRET = "test_Secret-token_0123"
ENV = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_SECRET_TOKEN": SECRET}
PUBLIC_URL = "https://bot.example.com"
_ids = itertools.count(int(time.time()) % 100000 * 1000)


def ok(result):
    return 200, {"ok": True, "result": result}


def send_message(call):
    body = call.json
    assert isinstance(body.get("chat_id"), str) and body["chat_id"], body
    assert isinstance(body.get("text"), str) and 1 <= utf16_len(body["text"]) <= 4096, body
    for row in (body.get("reply_markup") or {}).get("inline_keyboard", []):
        for button in row:
            assert len(button["callback_data"].encode()) <= 64, button
    return ok({"message_id": 1, "chat": {"id": body["chat_id"]}, "text": body["text"]})


def answer_callback(call):
    assert call.json.get("callback_query_id"), call.json
    return ok(True)


def set_webhook(call):
    assert call.json.get("url", "").startswith("https://"), call.json
    return ok(True)


@pytest.fixture(scope="module")
def bot_settings(bot_settings, fake_platform):
    fake_platform.route("POST", f"/bot{TOKEN}/sendMessage", send_message)
    fake_platform.route("POST", f"/bot{TOKEN}/answerCallbackQuery", answer_callback)
    fake_platform.route("POST", f"/bot{TOKEN}/setWebhook", set_webhook)
    channels = dataclasses.replace(bot_settings.channels, telegram_api=fake_platform.url, public_url=PUBLIC_URL)
    return bot_settings.replace(channels=channels)


@pytest.fixture(scope="module")
def webhook(running_bot):
    return running_bot.rasa_url + "/webhooks/telegram/webhook"


@pytest.fixture(scope="module")
def kb(bot_settings):
    return {e.id: e.answer.strip() for e in load_kb(bot_settings.kb_dir).entries}


def deliver(url: str, update: dict | None, secret: str | None = SECRET, raw: bytes | None = None) -> tuple[int, float]:
    """POST one update as Telegram does; (status, seconds taken)."""
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    reply = send(url, raw if raw is not None else json.dumps(update).encode(), headers)
    return reply.status, reply.seconds


def text_update(chat_id: int, text: str, update_id: int | None = None) -> dict:
    return {
        "update_id": update_id or next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": int(time.time()),
            "text": text,
            "from": {"id": chat_id, "is_bot": False, "first_name": "测试"},
            "chat": {"id": chat_id, "type": "private"},
        },
    }


def sent_to(fake, chat_id: int) -> list[dict]:
    return [c.json for c in fake.calls_to(f"/bot{TOKEN}/sendMessage") if c.json["chat_id"] == str(chat_id)]


def wait_sent(fake, chat_id: int, predicate, timeout: float = 30.0) -> list[dict]:
    return wait_until(
        lambda: [m for m in sent_to(fake, chat_id) if predicate(m)], timeout, f"a matching sendMessage to {chat_id}"
    )


def settle(fake, webhook: str, chat_id: int) -> None:
    """A later message to the same chat is answered: whatever an earlier one caused has been sent."""
    before = sum("智能客服" in m["text"] for m in sent_to(fake, chat_id))
    assert deliver(webhook, text_update(chat_id, "你好"))[0] == 200
    wait_until(lambda: sum("智能客服" in m["text"] for m in sent_to(fake, chat_id)) > before)


def test_set_webhook_with_the_secret_token_at_startup(running_bot, fake_platform):
    [call] = fake_platform.wait_for(f"/bot{TOKEN}/setWebhook")
    assert call.json == {
        "url": PUBLIC_URL + "/webhooks/telegram/webhook",
        "secret_token": SECRET,
        "allowed_updates": ["message", "callback_query"],
    }


def test_a_question_is_answered_once_and_the_webhook_returns_at_once(webhook, fake_platform, kb):
    chat = next(_ids)
    status, took = deliver(webhook, text_update(chat, "提现手续费是多少"))
    assert status == 200 and took < 3.0
    [answer] = wait_sent(fake_platform, chat, lambda m: m["text"] == kb["ex-withdraw-fee"])
    titles = [row[0]["text"] for row in answer["reply_markup"]["inline_keyboard"]]
    assert titles[:2] == ["有帮助", "没帮助"]
    settle(fake_platform, webhook, chat)
    assert [m["text"] for m in sent_to(fake_platform, chat)].count(kb["ex-withdraw-fee"]) == 1


def test_forged_or_missing_secret_is_refused_and_nothing_is_sent(webhook, fake_platform, kb):
    chat = next(_ids)
    assert deliver(webhook, text_update(chat, "提现手续费是多少"), secret="wrong-secret")[0] == 403
    assert deliver(webhook, text_update(chat, "提现手续费是多少"), secret=None)[0] == 403
    assert deliver(webhook, text_update(chat, "提现手续费是多少"), secret=SECRET + "x")[0] == 403
    settle(fake_platform, webhook, chat)
    assert kb["ex-withdraw-fee"] not in [m["text"] for m in sent_to(fake_platform, chat)]


def test_malformed_update_is_a_400(webhook):
    assert deliver(webhook, None, raw=b"{not json")[0] == 400
    assert deliver(webhook, {"message": {"text": "hi"}})[0] == 400  # no update_id
    assert deliver(webhook, None, raw=b"[1, 2]")[0] == 400


def test_redelivered_update_is_answered_once_even_when_concurrent(webhook, fake_platform, kb):
    chat = next(_ids)
    update = text_update(chat, "提现手续费是多少")
    statuses: list[int] = []
    threads = [threading.Thread(target=lambda: statuses.append(deliver(webhook, update)[0])) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 4
    assert deliver(webhook, update)[0] == 200  # a later redelivery as well
    settle(fake_platform, webhook, chat)
    assert [m["text"] for m in sent_to(fake_platform, chat)].count(kb["ex-withdraw-fee"]) == 1


def test_start_command_is_the_welcome(webhook, fake_platform):
    chat = next(_ids)
    assert deliver(webhook, text_update(chat, "/start"))[0] == 200
    wait_sent(fake_platform, chat, lambda m: "智能客服" in m["text"])


def test_button_press_answers_the_callback_and_its_payload(webhook, fake_platform, bot_settings):
    kb = {e.question: e.answer.strip() for e in load_kb(bot_settings.kb_dir).entries}
    chat = next(_ids)
    assert deliver(webhook, text_update(chat, "充值的话呢"))[0] == 200
    [choices] = wait_sent(fake_platform, chat, lambda m: m["text"] == "您是想问：")
    button = choices["reply_markup"]["inline_keyboard"][1][0]
    query_id = f"cq-{next(_ids)}"
    press = {
        "update_id": next(_ids),
        "callback_query": {
            "id": query_id,
            "from": {"id": chat, "is_bot": False, "first_name": "测试"},
            "message": {"message_id": 5, "chat": {"id": chat, "type": "private"}},
            "chat_instance": "1",
            "data": button["callback_data"],
        },
    }
    assert deliver(webhook, press)[0] == 200
    wait_sent(fake_platform, chat, lambda m: m["text"] == kb[button["text"]])
    answered = [c.json for c in fake_platform.calls_to(f"/bot{TOKEN}/answerCallbackQuery")]
    assert {"callback_query_id": query_id} in answered


def test_unknown_button_data_is_answered_as_expired_and_not_sent_to_the_bot(webhook, fake_platform):
    chat = next(_ids)
    query_id = f"cq-{next(_ids)}"
    press = {
        "update_id": next(_ids),
        "callback_query": {
            "id": query_id,
            "from": {"id": chat, "is_bot": False, "first_name": "测试"},
            "message": {"message_id": 5, "chat": {"id": chat, "type": "private"}},
            "chat_instance": "1",
            "data": "k:0123456789abcdef",
        },
    }
    assert deliver(webhook, press)[0] == 200
    [call] = wait_until(
        lambda: [
            c.json
            for c in fake_platform.calls_to(f"/bot{TOKEN}/answerCallbackQuery")
            if c.json["callback_query_id"] == query_id
        ],
        what="answerCallbackQuery",
    )
    assert call["text"] == "该选项已失效，请重新发送您的问题。"
    settle(fake_platform, webhook, chat)
    assert len(sent_to(fake_platform, chat)) == 1  # only the settle greeting


def test_agent_reply_goes_out_with_the_agent_prefix(fake_platform):
    async def push() -> bool:
        try:
            outbound = TelegramOutbound(TelegramApi(fake_platform.url, TOKEN), CallbackKeys())
            return await outbound.send(
                "777", "您好，我来帮您查一下。", meta={"from": "agent", "name": "小李", "seq": 3}
            )
        finally:
            await platform_api.client().aclose()

    assert asyncio.run(push()) is True
    assert sent_to(fake_platform, 777)[-1]["text"] == "【人工客服 小李】您好，我来帮您查一下。"


def test_the_bot_token_never_reaches_the_server_log(running_bot, webhook, fake_platform):
    log = running_bot.logs["rasa"].read_text(encoding="utf-8", errors="replace")
    assert "Rasa server is up" in log or "Starting Rasa server" in log or len(log) > 1000
    assert TOKEN not in log and TOKEN.split(":")[1] not in log


# -- units -------------------------------------------------------------------


def test_long_text_is_split_under_4096_utf16_units_with_buttons_on_the_last_piece():
    text = ("这是一段很长的说明。" * 300 + "\n\n") * 2 + "😀" * 3000
    buttons = [{"title": "有帮助", "payload": "/feedback_positive"}]
    bodies = render(text, buttons, CallbackKeys())
    assert len(bodies) >= 3
    assert all(utf16_len(b["text"]) <= 4096 for b in bodies)
    assert "".join(b["text"] for b in bodies).replace("\n", "") == text.replace("\n", "")
    assert [("reply_markup" in b) for b in bodies] == [False] * (len(bodies) - 1) + [True]


def test_long_payloads_go_through_a_short_key():
    keys = CallbackKeys()
    long_payload = '/choose_faq{"faq_id": "' + "x" * 80 + '"}'
    data = keys.data_for(long_payload)
    assert len(data.encode()) <= 64 and keys.payload_for(data) == long_payload
    assert keys.payload_for(keys.data_for("/feedback_positive")) == "/feedback_positive"
    assert CallbackKeys().payload_for(data) is None  # another process (or a restart) does not know it


@pytest.mark.parametrize("secret", ["", "has space", "x" * 257, "中文"])
def test_an_invalid_secret_token_stops_startup_with_a_clear_error(secret):
    with pytest.raises(ValueError, match="TELEGRAM_SECRET_TOKEN must be 1–256 characters"):
        TelegramInput(TOKEN, secret)

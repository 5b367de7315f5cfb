"""The WeChat Official Account channel in plaintext mode, end to end: callbacks
signed as WeChat signs them, sent over HTTP to the real Rasa server; the
customer-service API is the fake platform."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from connectors import background, platform_api
from connectors.replies import Choices
from connectors.wechat import WeChatApi, WeChatOutbound
from connectors.wechat_xml import TEXT_ONLY, Turn, passive_or_push
from indexer.kb import load_kb
from tests.connectors.wechat_client import fields_of, http, sha1_sign, stamp, with_query, xml_of
from tests.polling import tracker_texts, wait_for_texts, wait_until

pytestmark = pytest.mark.slow

TOKEN, APP_ID, SECRET = "plain-token-123", "wx0123456789abcdef", "app-secret-xyz"
ACCOUNT = "gh_0123456789ab"
ENV = {"WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": SECRET}
ISSUED = "ACCESS-TOKEN-1"
WELCOME = "您好！我是智能客服"


@pytest.fixture(scope="module")
def bot_settings(bot_settings, fake_platform):
    return bot_settings.replace(channels=dataclasses.replace(bot_settings.channels, wechat_api=fake_platform.url))


@pytest.fixture(scope="module")
def api(fake_platform):
    def token(call):  # the stable token: the same for every server that asks
        expected = {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET, "force_refresh": False}
        assert call.json == expected, call.json
        return 200, {"access_token": ISSUED, "expires_in": 7200}

    def send(call):
        assert call.query.get("access_token") == ISSUED, call.query
        return 200, {"errcode": 0, "errmsg": "ok"}

    fake_platform.route("POST", "/cgi-bin/stable_token", token)
    fake_platform.route("POST", "/cgi-bin/message/custom/send", send)
    return fake_platform


@pytest.fixture(scope="module")
def webhook(running_bot, api):
    return running_bot.rasa_url + "/webhooks/wechat/webhook"


@pytest.fixture(scope="module")
def kb(bot_settings):
    return {e.id: e for e in load_kb(bot_settings.kb_dir).entries}


def signed(webhook: str, timestamp: str | None = None, token: str = TOKEN) -> str:
    ts, nonce = stamp()
    ts = timestamp or ts
    return with_query(webhook, signature=sha1_sign(token, ts, nonce), timestamp=ts, nonce=nonce, openid="o")


def text_message(user: str, content: str, msg_id: int) -> str:
    return xml_of(
        ToUserName=ACCOUNT,
        FromUserName=user,
        CreateTime=int(time.time()),
        MsgType="text",
        Content=content,
        MsgId=msg_id,
    )


def say(webhook: str, user: str, content: str, msg_id: int):
    return http("POST", signed(webhook), text_message(user, content, msg_id))


def test_url_verification_echoes_echostr_and_refuses_a_forged_one(webhook):
    ts, nonce = stamp()
    good = http(
        "GET",
        with_query(webhook, signature=sha1_sign(TOKEN, ts, nonce), timestamp=ts, nonce=nonce, echostr="7281946571"),
    )
    assert (good.status, good.body) == (200, "7281946571")
    forged = http(
        "GET",
        with_query(webhook, signature=sha1_sign("wrong", ts, nonce), timestamp=ts, nonce=nonce, echostr="7281946571"),
    )
    assert forged.status == 403 and "7281946571" not in forged.body


def test_a_question_is_answered_in_the_passive_reply(webhook, kb, api, bot_settings):
    answer = say(webhook, "o-user-question", "提现手续费是多少", 10001)
    assert answer.status == 200 and answer.seconds < 3.0
    reply = fields_of(answer.body)
    assert reply["ToUserName"] == "o-user-question" and reply["FromUserName"] == ACCOUNT
    assert reply["MsgType"] == "text"
    content = reply["Content"]
    assert content.startswith(kb["ex-withdraw-fee"].answer.strip())
    assert "1. 有帮助\n2. 没帮助" in content  # the feedback buttons, as numbered options
    wait_for_texts(bot_settings.data_dir, "o-user-question", ["提现手续费是多少"])
    assert api.calls_to("/cgi-bin/message/custom/send") == []


def test_forged_stale_or_malformed_callbacks_never_reach_the_bot(webhook, bot_settings, api):
    body = text_message("o-attacker", "提现手续费是多少", 10002)
    assert http("POST", signed(webhook, token="guessed"), body).status == 403
    assert http("POST", with_query(webhook, timestamp="1", nonce="1"), body).status == 403
    old = str(int(time.time()) - 7200)
    assert http("POST", signed(webhook, timestamp=old), body).status == 403
    assert http("POST", signed(webhook), "<xml><ToUserName>oops").status == 400
    assert http("POST", signed(webhook), "<xml><MsgType>text</MsgType></xml>").status == 400
    assert http("POST", signed(webhook) + "&encrypt_type=aes", body).status == 400  # no AES key configured
    # A later genuine message from the same user is the only one the bot saw.
    assert say(webhook, "o-attacker", "你好", 10003).status == 200
    wait_for_texts(bot_settings.data_dir, "o-attacker", ["你好"])
    assert api.calls_to("/cgi-bin/message/custom/send") == []


def test_a_retried_message_is_answered_once(webhook, bot_settings, kb):
    first = say(webhook, "o-retry", "提现手续费是多少", 10004)
    again = say(webhook, "o-retry", "提现手续费是多少", 10004)
    assert first.status == again.status == 200
    assert kb["ex-withdraw-fee"].answer.strip() in fields_of(first.body)["Content"]
    assert again.body in (first.body, "success")
    with ThreadPoolExecutor(4) as pool:  # a retry that overlaps the first delivery
        answers = list(pool.map(lambda _: say(webhook, "o-retry-2", "提现手续费是多少", 10005), range(4)))
    assert all(a.status == 200 and a.seconds < 4.5 for a in answers)
    assert any(kb["ex-withdraw-fee"].answer.strip() in a.body for a in answers)
    wait_for_texts(bot_settings.data_dir, "o-retry", ["提现手续费是多少"])
    wait_for_texts(bot_settings.data_dir, "o-retry-2", ["提现手续费是多少"])


def test_subscribe_is_welcomed_and_a_menu_click_asks_its_key(webhook, bot_settings, kb):
    event = xml_of(
        ToUserName=ACCOUNT,
        FromUserName="o-new",
        CreateTime=int(time.time()),
        MsgType="event",
        Event="subscribe",
        EventKey="",
    )
    welcome = http("POST", signed(webhook), event)
    assert welcome.status == 200 and fields_of(welcome.body)["Content"].startswith(WELCOME)
    assert http("POST", signed(webhook), event).body == welcome.body  # a retried event: the same reply
    click = xml_of(
        ToUserName=ACCOUNT,
        FromUserName="o-new",
        CreateTime=int(time.time()) + 1,
        MsgType="event",
        Event="CLICK",
        EventKey="提现手续费是多少",
    )
    clicked = http("POST", signed(webhook), click)
    assert fields_of(clicked.body)["Content"].startswith(kb["ex-withdraw-fee"].answer.strip())
    wait_for_texts(bot_settings.data_dir, "o-new", ["/greet", "提现手续费是多少"])
    unsubscribe = xml_of(
        ToUserName=ACCOUNT, FromUserName="o-new", CreateTime=int(time.time()) + 2, MsgType="event", Event="unsubscribe"
    )
    assert (http("POST", signed(webhook), unsubscribe).body) == "success"


def test_an_image_gets_the_text_only_notice_without_the_bot(webhook, bot_settings):
    image = xml_of(
        ToUserName=ACCOUNT,
        FromUserName="o-image",
        CreateTime=int(time.time()),
        MsgType="image",
        PicUrl="http://example.com/a.jpg",
        MediaId="m1",
        MsgId=10006,
    )
    answer = http("POST", signed(webhook), image)
    assert fields_of(answer.body)["Content"] == TEXT_ONLY
    assert tracker_texts(bot_settings.data_dir, "o-image") == []


def test_numbered_options_and_replying_a_number(webhook, kb):
    shown = fields_of(say(webhook, "o-choose", "充值的话呢", 10007).body)["Content"]
    lines = shown.splitlines()
    assert lines[0] == "您是想问："
    options = [line.split(". ", 1)[1] for line in lines if line[:1].isdigit()]
    assert 2 <= len(options) <= 3 and lines[-1] == "（回复数字即可选择）"
    chosen = next(e for e in kb.values() if e.question == options[0])
    picked = fields_of(say(webhook, "o-choose", "1", 10008).body)["Content"]
    assert picked.startswith(chosen.answer.strip())


def test_agent_replies_go_through_the_api_with_the_agent_named(api):
    outbound = WeChatOutbound(WeChatApi(api.url, APP_ID, SECRET), Choices())

    async def scenario():
        try:
            return (
                await outbound.send("o-handoff", "您好，我来帮您查一下", meta={"from": "agent", "name": "小李"}),
                await outbound.send("o-handoff", "人工服务已结束", meta={"from": "system", "event": "closed"}),
            )
        finally:
            await platform_api.client().aclose()

    assert asyncio.run(scenario()) == (True, True)
    sent = [c.json for c in wait_until(lambda: api.calls_to("/cgi-bin/message/custom/send"), what="custom/send")]
    assert sent[-2:] == [
        {"touser": "o-handoff", "msgtype": "text", "text": {"content": "【人工客服 小李】您好，我来帮您查一下"}},
        {"touser": "o-handoff", "msgtype": "text", "text": {"content": "人工服务已结束"}},
    ]


def test_an_answer_too_long_for_one_message_goes_out_in_order_through_the_api():
    long_answer = "。".join(f"第{i}句：提现手续费按币种和网络收取，以提现页面显示为准" for i in range(120))
    pushed: list[list[str]] = []

    async def bot(message):
        await message.output_channel.send_response(message.sender_id, {"text": long_answer})

    async def push(texts):
        pushed.append(texts)

    async def scenario():
        turn = Turn("提现手续费", "o-long", "wechat", "wechat:1", {})
        passive = await passive_or_push(bot, turn, 2.0, Choices(), push)
        await asyncio.gather(*background._running)  # the push runs after the response
        return passive

    assert asyncio.run(scenario()) is None  # no passive reply: every piece through the API, in order
    [texts] = pushed
    assert len(texts) >= 3 and all(len(t.encode()) <= 2048 for t in texts)
    assert "".join(texts).replace("。", "") == long_answer.replace("。", "")

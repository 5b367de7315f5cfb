"""The WeChat Official Account channel when the bot misses the passive-reply
window (``passive_reply_seconds`` set tiny here): ``success`` at once, then
the answer through the customer-service API — with an expired token renewed."""

from __future__ import annotations

import dataclasses
import itertools
import time

import pytest

from indexer.kb import load_kb
from tests.connectors.wechat_client import FEE_MENU, http, sha1_sign, stamp, with_query, xml_of
from tests.polling import wait_for_texts

pytestmark = pytest.mark.slow

TOKEN, APP_ID, SECRET = "async-token-789", "wx00000000async01", "app-secret-async"
ACCOUNT = "gh_async000001"
ENV = {"WECHAT_TOKEN": TOKEN, "WECHAT_APP_ID": APP_ID, "WECHAT_APP_SECRET": SECRET}
SEND = "/cgi-bin/message/custom/send"


@pytest.fixture(scope="module")
def bot_settings(bot_settings, fake_platform):
    channels = dataclasses.replace(bot_settings.channels, wechat_api=fake_platform.url, passive_reply_seconds=0.01)
    return bot_settings.replace(channels=channels)


@pytest.fixture(scope="module")
def issued(fake_platform):
    """The fake issues token-1, token-2, …; the first send with token-1 says it expired."""
    tokens = (f"token-{n}" for n in itertools.count(1))
    current: list[str] = []

    def token(call):  # the stable token; forced anew only after WeChat rejected the last one
        expected = {"grant_type": "client_credential", "appid": APP_ID, "secret": SECRET}
        assert {k: v for k, v in call.json.items() if k != "force_refresh"} == expected, call.json
        assert call.json["force_refresh"] is bool(current), call.json
        current.append(next(tokens))
        return 200, {"access_token": current[-1], "expires_in": 7200}

    def send(call):
        if call.query.get("access_token") == "token-1":
            return 200, {"errcode": 42001, "errmsg": "access_token expired"}
        assert current and call.query.get("access_token") == current[-1], (call.query, current)
        return 200, {"errcode": 0, "errmsg": "ok"}

    fake_platform.route("POST", "/cgi-bin/stable_token", token)
    fake_platform.route("POST", SEND, send)
    return current


@pytest.fixture(scope="module")
def webhook(running_bot, issued):
    return running_bot.rasa_url + "/webhooks/wechat/webhook"


def test_a_slow_answer_is_success_now_and_the_api_later(webhook, bot_settings, fake_platform, issued):
    kb = {e.id: e for e in load_kb(bot_settings.kb_dir).entries}
    ts, nonce = stamp()
    url = with_query(webhook, signature=sha1_sign(TOKEN, ts, nonce), timestamp=ts, nonce=nonce)
    message = xml_of(
        ToUserName=ACCOUNT,
        FromUserName="o-slow",
        CreateTime=int(time.time()),
        MsgType="text",
        Content="提现手续费是多少",
        MsgId=30001,
    )
    answer = http("POST", url, message)
    assert (answer.status, answer.body) == (200, "success") and answer.seconds < 1.0
    sends = fake_platform.wait_for(SEND, 2)  # the expired token's try, then the renewed one
    assert [c.query["access_token"] for c in sends] == ["token-1", "token-2"]
    assert len(fake_platform.calls_to("/cgi-bin/stable_token")) == 2
    body = sends[-1].json
    assert body["touser"] == "o-slow" and body["msgtype"] == "text"
    assert body["text"]["content"].startswith(kb["ex-withdraw-fee"].answer.strip())
    assert body["text"]["content"].endswith(FEE_MENU)
    # WeChat retries after 5 s without a passive reply: the retry is not answered again.
    assert http("POST", url, message).body == "success"
    wait_for_texts(bot_settings.data_dir, "o-slow", ["提现手续费是多少"])
    assert len(fake_platform.calls_to(SEND)) == 2

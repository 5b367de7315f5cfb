"""DingTalk (钉钉) HTTP-mode robot against the real Rasa and action servers.

Requests are built here as DingTalk builds them (the sign computed by
tests/connectors/signing.py); the sessionWebhook and the OpenAPI are the fake
platform on loopback, which checks the access token on every API call."""

from __future__ import annotations

import dataclasses
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import pytest

from indexer.kb import load_kb
from tests.bot.conftest import post
from tests.connectors.fake_platform import FakePlatform
from tests.connectors.signing import dingtalk_sign
from tests.http import send
from tests.polling import tracker_texts, wait_for_texts, wait_until

pytestmark = pytest.mark.slow

APP_KEY, APP_SECRET = "dingtestappkey", "dingtalk-app-secret-for-tests-0123456789"
ENV = {"DINGTALK_APP_KEY": APP_KEY, "DINGTALK_APP_SECRET": APP_SECRET}
HANDOFF = {"hours": "always", "presence_timeout": 86400, "max_waiting_per_agent": 100}
ACCESS_TOKEN = "dt-access-token-1"
AGENT, PASSWORD, DISPLAY = "ding-agent", "ding-agent-password", "小王"


@pytest.fixture(scope="module")
def bot_settings(bot_settings, fake_platform):
    return bot_settings.replace(
        channels=dataclasses.replace(
            bot_settings.channels, dingtalk_api=fake_platform.url, dingtalk_webhook_origins=fake_platform.url
        )
    )


@pytest.fixture(scope="module")
def dingtalk(running_bot, fake_platform):
    def session_webhook(call) -> tuple:
        assert call.json["msgtype"] in ("text", "markdown", "actionCard"), call.json
        return 200, {"errcode": 0, "errmsg": "ok"}

    def access_token(call) -> tuple:
        assert call.json == {"appKey": APP_KEY, "appSecret": APP_SECRET}, call.json
        return 200, {"accessToken": ACCESS_TOKEN, "expireIn": 7200}

    def batch_send(call) -> tuple:
        if call.headers.get("x-acs-dingtalk-access-token") != ACCESS_TOKEN:
            return 401, {"code": "InvalidAuthentication", "message": "token invalid"}
        body = call.json
        assert body["robotCode"] == APP_KEY and body["msgKey"] == "sampleText", body
        assert isinstance(body["userIds"], list) and len(body["userIds"]) == 1, body
        assert set(json.loads(body["msgParam"])) == {"content"}, body
        return 200, {"processQueryKey": "q-1", "invalidStaffIdList": [], "flowControlledStaffIdList": []}

    fake_platform.route("POST", "/robot/sendBySession", session_webhook)
    fake_platform.route("POST", "/v1.0/oauth2/accessToken", access_token)
    fake_platform.route("POST", "/v1.0/robot/oToMessages/batchSend", batch_send)
    return Ding(running_bot.rasa_url + "/webhooks/dingtalk/webhook", fake_platform)


@pytest.fixture(scope="module")
def kb(bot_settings):
    return {e.id: e for e in load_kb(bot_settings.kb_dir).entries}


def sign(timestamp: str, secret: str = APP_SECRET) -> str:
    return dingtalk_sign(timestamp, secret)


class Ding:
    """Sends robot messages as DingTalk does and reads what the bot posted back."""

    def __init__(self, webhook: str, platform) -> None:
        self.webhook, self.platform = webhook, platform
        self.count = 0

    def message(
        self,
        text: str,
        session: str,
        staff: str = "staff-1",
        msgtype: str = "text",
        group: bool = False,
        webhook_valid_ms: int = 3_600_000,
    ) -> dict[str, Any]:
        self.count += 1
        body: dict[str, Any] = {
            "msgId": f"msg{session}{self.count}",
            "msgtype": msgtype,
            "conversationId": f"cid-{session}",
            "conversationType": "2" if group else "1",
            "senderStaffId": staff,
            "senderId": f"$:LWCP_v1:${staff}",
            "senderNick": "测试用户",
            "robotCode": APP_KEY,
            "chatbotUserId": "$:LWCP_v1:$bot",
            "createAt": int(time.time() * 1000),
            "isInAtList": True,
            "sessionWebhook": f"{self.platform.url}/robot/sendBySession?session={session}",
            "sessionWebhookExpiredTime": int(time.time() * 1000) + webhook_valid_ms,
        }
        if msgtype == "text":
            body["text"] = {"content": text}
        else:
            body["content"] = {"downloadCode": "x", "pictureDownloadCode": "y"}
        return body

    def send(
        self,
        body: Any,
        timestamp: str | None = None,
        signature: str | None = None,
        raw: bytes | None = None,
        headers: bool = True,
    ) -> tuple[int, Any, float]:
        timestamp = timestamp or str(int(time.time() * 1000))
        data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
        head = {"Content-Type": "application/json"}
        if headers:
            head.update({"timestamp": timestamp, "sign": signature or sign(timestamp)})
        reply = send(self.webhook, data, head)
        return reply.status, reply.json(), reply.seconds

    def replies(self, session: str) -> list[dict[str, Any]]:
        return [c.json for c in self.platform.calls_to("/robot/sendBySession") if c.query.get("session") == session]

    def wait_replies(self, session: str, count: int = 1, timeout: float = 30) -> list[dict[str, Any]]:
        return wait_until(
            lambda: found if len(found := self.replies(session)) >= count else None,
            timeout,
            f"{count} repl(ies) on session {session}",
        )


def user_texts(bot_settings, sender: str, count: int, timeout: float = 15) -> list[str]:
    """What the bot received from ``sender`` once it has ``count`` messages (Rasa's tracker store)."""
    return wait_until(
        lambda: texts if len(texts := tracker_texts(bot_settings.data_dir, sender)) >= count else None,
        timeout,
        f"{count} user message(s) from {sender} in the tracker",
    )


def test_a_signed_question_is_acknowledged_at_once_and_answered_through_the_session_webhook(dingtalk, kb):
    status, body, elapsed = dingtalk.send(dingtalk.message("提现手续费是多少", "ask"))
    assert status == 200 and body == {}
    assert elapsed < 1.5
    [reply] = dingtalk.wait_replies("ask")
    assert reply["msgtype"] == "actionCard"
    answer = kb["ex-withdraw-fee"].answer.strip()
    card = reply["actionCard"]
    assert card["text"] == answer
    assert card["title"] and answer.startswith(card["title"])
    # The feedback pair, then the entry's 猜你想问 (related questions).
    assert [b["title"] for b in card["btns"]] == ["有帮助", "没帮助", "提现多久能到账？", "提现有额度限制吗？"]
    assert card["btns"][0]["actionURL"] == "dtmd://dingtalkclient/sendMessage?content=" + quote("有帮助")


def test_a_card_button_title_sent_back_reaches_the_bot_as_its_payload(dingtalk, kb, bot_settings):
    dingtalk.send(dingtalk.message("充值的话呢", "clarify", staff="staff-clarify"))
    [clarify] = dingtalk.wait_replies("clarify")
    assert clarify["msgtype"] == "actionCard" and clarify["actionCard"]["text"] == "您是想问："
    chosen = clarify["actionCard"]["btns"][1]["title"]
    faq = next(e for e in kb.values() if e.question == chosen)
    dingtalk.send(dingtalk.message(chosen, "clarify", staff="staff-clarify"))
    answered = dingtalk.wait_replies("clarify", 2)[1]
    assert answered["actionCard"]["text"] == faq.answer.strip()
    clicked = user_texts(bot_settings, "staff-clarify", 2)[1]
    assert clicked.startswith("/choose_faq") and json.loads(clicked.removeprefix("/choose_faq"))["faq_id"] == faq.id


def test_group_messages_lose_the_mention_and_plain_replies_are_text(dingtalk):
    dingtalk.send(dingtalk.message("@客服机器人 谢谢", "group", staff="staff-group", group=True))
    [reply] = dingtalk.wait_replies("group")
    assert reply["msgtype"] == "text"  # no buttons, no Markdown: plain text
    assert reply["text"]["content"] == "不客气！还有其他问题可以继续问我。"


def test_a_forged_sign_is_refused_and_never_reaches_the_bot(dingtalk):
    status, body, _ = dingtalk.send(dingtalk.message("提现手续费是多少", "forged"), signature=sign("1", "wrong"))
    assert status == 403 and "sign" in body["error"]
    status, _, _ = dingtalk.send(
        dingtalk.message("提现手续费是多少", "forged"), signature=sign(str(int(time.time() * 1000)), "another-secret")
    )
    assert status == 403
    status, body, _ = dingtalk.send(dingtalk.message("提现手续费是多少", "forged"), headers=False)
    assert status == 401 and "missing" in body["error"]
    # A genuine message afterwards on the same session is the only thing answered.
    dingtalk.send(dingtalk.message("谢谢", "forged"))
    [reply] = dingtalk.wait_replies("forged")
    assert reply["text"]["content"] == "不客气！还有其他问题可以继续问我。"


def test_a_session_webhook_outside_dingtalk_is_refused_and_never_posted_to(dingtalk, fake_platform, bot_settings):
    """The sessionWebhook is not covered by the sign: a signed header pair must not
    make the bot POST anywhere else (SSRF)."""
    attacker = FakePlatform()
    try:
        attacker.route("POST", "/ATTACKER-CHOSEN/internal", lambda call: (200, {"errcode": 0}))
        hosts = [
            f"{attacker.url}/ATTACKER-CHOSEN/internal?x=1",  # another port on the same host
            fake_platform.url.replace("127.0.0.1", "localhost") + "/robot/sendBySession?session=ssrf",
            fake_platform.url.replace("http://", "http://user@") + "/robot/sendBySession?session=ssrf",
            fake_platform.url.replace("http://", "ftp://") + "/robot/sendBySession",
            "file:///etc/passwd",
            42,
        ]
        for i, url in enumerate(hosts):
            body = dingtalk.message("提现手续费是多少", f"ssrf{i}", staff="staff-ssrf")
            body["sessionWebhook"] = url
            status, reply, _ = dingtalk.send(body)
            assert status == 400 and "sessionWebhook" in reply["error"], (url, status, reply)
        # A genuine one afterwards is answered, and nothing ever reached the attacker.
        dingtalk.send(dingtalk.message("谢谢", "ssrf-ok", staff="staff-ssrf"))
        dingtalk.wait_replies("ssrf-ok")
        assert attacker.calls_to("/ATTACKER-CHOSEN/internal") == []
        wait_for_texts(bot_settings.data_dir, "staff-ssrf", ["谢谢"])
    finally:
        attacker.close()


def test_ids_no_store_can_hold_are_refused_and_the_bot_keeps_running(dingtalk, bot_settings):
    """The body is not signed: its ids are checked before any store sees them."""
    for field, value in [("senderId", "x\u0000y"), ("msgId", "m\u200by"), ("senderStaffId", "s" * 129)]:
        body = dingtalk.message("提现手续费是多少", "badid", staff="staff-badid")
        body[field] = value
        status, reply, _ = dingtalk.send(body)
        assert status == 400 and field in reply["error"], (field, status, reply)
    body = dingtalk.message("提现手续费是多少", "badid", staff="staff-badid")
    body["senderStaffId"] = "a\ud800"  # a lone surrogate: json.dumps writes it as the escape \ud800
    status, reply, _ = dingtalk.send(None, raw=json.dumps(body).encode())
    assert status == 400 and "surrogate" in reply["error"]
    dingtalk.send(dingtalk.message("谢谢", "badid-ok", staff="staff-badid"))
    [reply] = dingtalk.wait_replies("badid-ok")
    assert reply["text"]["content"] == "不客气！还有其他问题可以继续问我。"
    wait_for_texts(bot_settings.data_dir, "staff-badid", ["谢谢"])


def test_a_stale_timestamp_is_refused_even_with_a_valid_sign(dingtalk):
    old = str(int((time.time() - 2 * 3600) * 1000))
    status, body, _ = dingtalk.send(dingtalk.message("提现手续费是多少", "stale"), timestamp=old)
    assert status == 403 and "timestamp" in body["error"]
    status, _, _ = dingtalk.send(dingtalk.message("提现手续费是多少", "stale"), timestamp="yesterday")
    assert status == 403
    assert dingtalk.replies("stale") == []


def test_malformed_bodies_get_400(dingtalk):
    assert dingtalk.send(None, raw=b"{not json")[0] == 400
    assert dingtalk.send(["a list"])[0] == 400
    no_id = dingtalk.message("你好", "malformed")
    del no_id["msgId"]
    assert dingtalk.send(no_id)[0] == 400
    assert dingtalk.replies("malformed") == []


def test_the_same_msg_id_twice_and_concurrently_is_answered_once(dingtalk, kb):
    twice = dingtalk.message("提现手续费是多少", "dup", staff="staff-dup")
    assert dingtalk.send(twice)[0] == 200
    assert dingtalk.send(twice)[0] == 200
    racing = dingtalk.message("你好", "race", staff="staff-dup")
    with ThreadPoolExecutor(8) as pool:
        statuses = [r[0] for r in pool.map(lambda _: dingtalk.send(racing), range(8))]
    assert statuses == [200] * 8
    # Messages of one user are handled in order: once a later message is answered, earlier ones are done.
    dingtalk.send(dingtalk.message("谢谢", "dup-marker", staff="staff-dup"))
    dingtalk.wait_replies("dup-marker")
    assert len(dingtalk.replies("dup")) == 1
    assert len(dingtalk.replies("race")) == 1


def test_a_picture_gets_a_polite_text_only_notice(dingtalk):
    dingtalk.send(dingtalk.message("", "picture", staff="staff-picture", msgtype="picture"))
    [reply] = dingtalk.wait_replies("picture")
    assert reply == {"msgtype": "text", "text": {"content": "目前只能处理文字消息，请用文字描述您的问题。"}}


def test_an_expired_session_webhook_falls_back_to_batch_send(dingtalk, fake_platform):
    dingtalk.send(dingtalk.message("你好", "expired", staff="staff-expired", webhook_valid_ms=-1000))
    sent = wait_until(
        lambda: [
            c
            for c in fake_platform.calls_to("/v1.0/robot/oToMessages/batchSend")
            if c.json["userIds"] == ["staff-expired"]
        ],
        what="a batchSend for staff-expired",
    )
    assert sent[0].headers["x-acs-dingtalk-access-token"] == ACCESS_TOKEN
    assert "智能客服" in json.loads(sent[0].json["msgParam"])["content"]
    assert dingtalk.replies("expired") == []


def test_an_agent_reply_during_a_hand_off_goes_out_through_batch_send(
    dingtalk, running_bot, bot_settings, fake_platform
):
    from bot.handoff.agents import AgentStore

    agents = AgentStore(bot_settings.database_url)
    agents.add(AGENT, PASSWORD, DISPLAY)
    agents.touch(AGENT)  # on duty
    console = running_bot.rasa_url + "/console/api"
    status, body = post(console + "/login", {"name": AGENT, "password": PASSWORD})
    assert status == 200, body
    auth = {"Authorization": f"Bearer {body['token']}"}

    dingtalk.send(dingtalk.message("转人工", "handoff", staff="staff-handoff"))
    dingtalk.wait_replies("handoff")
    queue = _get(console + "/queue", auth)
    [handoff] = [h for h in queue["handoffs"] if h["conversation_id"] == "staff-handoff"]
    assert _post(console + f"/handoffs/{handoff['id']}/claim", {}, auth)[0] == 200
    status, sent = _post(console + f"/handoffs/{handoff['id']}/messages", {"text": "您好，我来帮您看看"}, auth)
    assert status == 200 and sent["delivered"] == "live"
    contents = [
        json.loads(c.json["msgParam"])["content"]
        for c in fake_platform.calls_to("/v1.0/robot/oToMessages/batchSend")
        if c.json["userIds"] == ["staff-handoff"]
    ]
    assert f"【人工客服 {DISPLAY}】您好，我来帮您看看" in contents


def _get(url: str, headers: dict[str, str]) -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as reply:
        return json.loads(reply.read())


def _post(url: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    reply = send(url, json.dumps(body).encode(), {"Content-Type": "application/json", **headers})
    return reply.status, reply.json()

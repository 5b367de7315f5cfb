"""Feishu (飞书) event subscription against the real Rasa and action servers.

Requests are built here as Feishu builds them: bodies encrypted (AES-256-CBC,
key = SHA-256(Encrypt Key), random IV in front) and signed (sha256 of
timestamp + nonce + key + body) by tests/connectors/signing.py, the tests'
own few lines of hashlib/cryptography. The OpenAPI is the fake platform on
loopback, which checks the tenant_access_token on every call. The last tests
start a second bot without an Encrypt Key (plain bodies)."""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from faqbot.config import PROJECT_ROOT
from indexer.kb import load_kb
from tests.bot.conftest import MODELS_DIR, free_port, post
from tests.connectors.signing import feishu_encrypt, feishu_signature
from tests.http import send
from tests.polling import tracker_texts, wait_until

pytestmark = pytest.mark.slow

APP_ID, APP_SECRET = "cli_test_app", "feishu-app-secret-for-tests"
VERIFICATION_TOKEN, ENCRYPT_KEY = "verification-token-for-tests", "encrypt-key-for-tests"
ENV = {
    "FEISHU_APP_ID": APP_ID,
    "FEISHU_APP_SECRET": APP_SECRET,
    "FEISHU_VERIFICATION_TOKEN": VERIFICATION_TOKEN,
    "FEISHU_ENCRYPT_KEY": ENCRYPT_KEY,
}
HANDOFF = {"hours": "always", "presence_timeout": 86400, "max_waiting_per_agent": 100}
AGENT, PASSWORD, DISPLAY = "lark-agent", "lark-agent-password", "小李"
MESSAGES = "/open-apis/im/v1/messages"


@pytest.fixture(scope="module")
def bot_settings(bot_settings, fake_platform):
    return bot_settings.replace(channels=dataclasses.replace(bot_settings.channels, feishu_api=fake_platform.url))


class Tokens:
    """The fake's token service: each fetch issues a new token; only ``valid`` is accepted."""

    def __init__(self) -> None:
        self.issued = 0
        self.valid = ""
        self.accepted: list = []  # the message calls answered with code 0

    def fetch(self, call) -> tuple:
        assert call.json == {"app_id": APP_ID, "app_secret": APP_SECRET}, call.json
        self.issued += 1
        self.valid = f"t-{self.issued}"
        return 200, {"code": 0, "msg": "ok", "tenant_access_token": self.valid, "expire": 7200}

    def send(self, call) -> tuple:
        if call.headers.get("authorization") != f"Bearer {self.valid}":
            return 400, {"code": 99991663, "msg": "Invalid access token for authorization"}
        assert call.query.get("receive_id_type") in ("chat_id", "open_id"), call.query
        body = call.json
        assert set(body) == {"receive_id", "msg_type", "content", "uuid"}, body
        assert body["msg_type"] in ("text", "interactive") and 0 < len(body["uuid"]) <= 50, body
        assert isinstance(json.loads(body["content"]), dict), body
        self.accepted.append(call)
        return 200, {"code": 0, "msg": "success", "data": {"message_id": "om_" + uuid.uuid4().hex}}


@pytest.fixture(scope="module")
def tokens(fake_platform) -> Tokens:
    tokens = Tokens()
    fake_platform.route("POST", "/open-apis/auth/v3/tenant_access_token/internal", tokens.fetch)
    fake_platform.route("POST", MESSAGES, tokens.send)
    return tokens


@pytest.fixture(scope="module")
def lark(running_bot, fake_platform, tokens):
    return Lark(running_bot.rasa_url + "/webhooks/feishu/webhook", tokens)


@pytest.fixture(scope="module")
def kb(bot_settings):
    return {e.id: e for e in load_kb(bot_settings.kb_dir).entries}


def encrypt(event: dict[str, Any], key: str = ENCRYPT_KEY) -> str:
    return feishu_encrypt(json.dumps(event, ensure_ascii=False).encode(), key)


def message_event(
    text: str,
    chat: str,
    open_id: str = "ou_user1",
    event_id: str | None = None,
    message_id: str | None = None,
    chat_type: str = "p2p",
    message_type: str = "text",
    token: str = VERIFICATION_TOKEN,
) -> dict[str, Any]:
    now = str(int(time.time() * 1000))
    content = {"text": text} if message_type == "text" else {"image_key": "img_v2_x"}
    return {
        "schema": "2.0",
        "header": {
            "event_id": event_id or uuid.uuid4().hex,
            "event_type": "im.message.receive_v1",
            "create_time": now,
            "token": token,
            "app_id": APP_ID,
            "tenant_key": "tenant",
        },
        "event": {
            "sender": {
                "sender_id": {"open_id": open_id, "union_id": "on_x", "user_id": "u1"},
                "sender_type": "user",
                "tenant_key": "tenant",
            },
            "message": {
                "message_id": message_id or "om_" + uuid.uuid4().hex,
                "chat_id": chat,
                "chat_type": chat_type,
                "message_type": message_type,
                "create_time": now,
                "content": json.dumps(content, ensure_ascii=False),
            },
        },
    }


def other_event(event_type: str, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "header": {
            "event_id": uuid.uuid4().hex,
            "event_type": event_type,
            "create_time": str(int(time.time() * 1000)),
            "token": VERIFICATION_TOKEN,
            "app_id": APP_ID,
            "tenant_key": "tenant",
        },
        "event": event,
    }


class Lark:
    """Posts to the webhook as Feishu does and reads what the bot sent through the API."""

    def __init__(self, webhook: str, tokens: Tokens) -> None:
        self.webhook, self.tokens = webhook, tokens

    def send(
        self,
        event: Any,
        encrypted: bool = True,
        signed: bool = True,
        raw: bytes | None = None,
        signature: str | None = None,
    ) -> tuple[int, Any, float, float]:
        """(status, body, seconds taken, monotonic time of the answer)."""
        data = (
            raw
            if raw is not None
            else json.dumps({"encrypt": encrypt(event)} if encrypted else event, ensure_ascii=False).encode()
        )
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if signed:
            timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:16]
            digest = feishu_signature(timestamp, nonce, ENCRYPT_KEY, data)
            headers.update(
                {
                    "X-Lark-Request-Timestamp": timestamp,
                    "X-Lark-Request-Nonce": nonce,
                    "X-Lark-Signature": signature or digest,
                }
            )
        reply = send(self.webhook, data, headers)
        return reply.status, reply.json(), reply.seconds, time.monotonic()

    def sent_to(self, chat: str) -> list:
        """Accepted API calls (HTTP 200) that sent a message to ``chat``."""
        return [c for c in list(self.tokens.accepted) if c.json.get("receive_id") == chat]

    def wait_sent(self, chat: str, count: int = 1, timeout: float = 30) -> list:
        return wait_until(
            lambda: found if len(found := self.sent_to(chat)) >= count else None,
            timeout,
            f"{count} message(s) to {chat}",
        )


def content(call) -> dict[str, Any]:
    return json.loads(call.json["content"])


def _buttons(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every button of an interactive card, in order."""
    found: list[dict[str, Any]] = []
    for element in card.get("elements", []):
        found += [a for a in element.get("actions", []) if a.get("tag") == "button"]
    return found


def user_texts(bot_settings, sender: str, count: int, timeout: float = 15) -> list[str]:
    """What the bot received from ``sender`` once it has ``count`` messages (Rasa's tracker store)."""
    return wait_until(
        lambda: texts if len(texts := tracker_texts(bot_settings.data_dir, sender)) >= count else None,
        timeout,
        f"{count} user message(s) from {sender} in the tracker",
    )


def test_encrypted_url_verification_is_answered_within_a_second(lark):
    challenge = "challenge-" + uuid.uuid4().hex
    check = {"challenge": challenge, "token": VERIFICATION_TOKEN, "type": "url_verification"}
    status, body, took, _ = lark.send(check, signed=False)  # Feishu does not sign the URL check
    assert (status, body) == (200, {"challenge": challenge})
    assert took < 1.0
    status, body, _, _ = lark.send({**check, "token": "wrong-token"}, signed=False)
    assert status == 401 and "verification token" in body["error"]
    status, _, _, _ = lark.send(check, encrypted=False, signed=False)
    assert status == 401  # a plain body while an Encrypt Key is set


RELATED_TO_FEE = ["提现多久能到账？", "提现有额度限制吗？"]


def test_a_signed_encrypted_question_is_acknowledged_first_then_answered_in_its_chat(lark, kb):
    chat = "oc_ask"
    status, body, took, acked_at = lark.send(message_event("提现手续费是多少", chat, open_id="ou_ask"))
    assert (status, body) == (200, {})
    assert took < 1.0
    [call] = lark.wait_sent(chat)
    assert call.at > acked_at  # the webhook answered before the bot's reply went out
    assert call.query["receive_id_type"] == "chat_id" and call.json["msg_type"] == "interactive"
    card = content(call)
    assert card["elements"][0] == {"tag": "markdown", "content": kb["ex-withdraw-fee"].answer.strip()}
    buttons = card["elements"][1]["actions"]
    # The feedback pair, then the entry's 猜你想问 (related questions) as buttons.
    assert [b["text"]["content"] for b in buttons] == ["有帮助", "没帮助", *RELATED_TO_FEE]
    payloads = [b["value"]["payload"] for b in buttons]
    assert payloads[0].startswith("/feedback_positive{") and payloads[1].startswith("/feedback_negative{")


def test_group_mentions_are_removed_and_plain_replies_are_text(lark, bot_settings):
    lark.send(message_event("@_user_1 谢谢", "oc_group", open_id="ou_group", chat_type="group"))
    [call] = lark.wait_sent("oc_group")
    assert call.json["msg_type"] == "text" and content(call)["text"] == "不客气！还有其他问题可以继续问我。"
    assert user_texts(bot_settings, "ou_group", 1) == ["谢谢"]


def test_forged_unsigned_or_wrongly_tokened_events_are_refused_and_never_answered(lark):
    chat = "oc_forged"
    event = message_event("提现手续费是多少", chat, open_id="ou_forged")
    status, body, _, _ = lark.send(event, signature="0" * 64)
    assert status == 401 and "X-Lark-Signature" in body["error"]
    assert lark.send(event, signed=False)[0] == 401
    assert lark.send(event, encrypted=False)[0] == 401
    status, body, _, _ = lark.send(message_event("提现手续费是多少", chat, open_id="ou_forged", token="stolen?"))
    assert status == 401 and "verification token" in body["error"]
    assert lark.send(None, raw=json.dumps({"encrypt": "bm90IGVuY3J5cHRlZA=="}).encode())[0] == 400
    assert lark.send(None, raw=b"{oops")[0] == 400
    # A genuine message afterwards in the same chat is the only one answered.
    lark.send(message_event("谢谢", chat, open_id="ou_forged"))
    [call] = lark.wait_sent(chat)
    assert content(call)["text"] == "不客气！还有其他问题可以继续问我。"


def test_a_re_pushed_event_or_message_is_answered_once(lark):
    event = message_event("你好", "oc_dup", open_id="ou_dup")
    assert lark.send(event)[0] == 200
    assert lark.send(event)[0] == 200
    with ThreadPoolExecutor(8) as pool:
        assert [r[0] for r in pool.map(lambda _: lark.send(event), range(8))] == [200] * 8
    same_message = message_event("你好", "oc_dup", open_id="ou_dup", message_id=event["event"]["message"]["message_id"])
    assert lark.send(same_message)[0] == 200
    # One user's messages are handled in order: once a later one is answered, the earlier ones are done.
    lark.send(message_event("谢谢", "oc_dup_marker", open_id="ou_dup"))
    lark.wait_sent("oc_dup_marker")
    assert len(lark.sent_to("oc_dup")) == 1


def test_a_card_button_click_sends_its_payload_to_the_bot(lark, kb, bot_settings):
    # The welcome card offers the hot questions; a click on one is honoured (an unoffered payload would not be).
    entered = other_event(
        "im.chat.access_event.bot_p2p_chat_entered_v1",
        {
            "chat_id": "oc_card",
            "operator_id": {"open_id": "ou_card", "union_id": "on_2", "user_id": "u2"},
            "last_message_id": "",
            "last_message_create_time": "",
        },
    )
    assert lark.send(entered)[:2] == (200, {})
    [welcome] = lark.wait_sent("oc_card")
    offered = [b["value"]["payload"] for b in _buttons(content(welcome))]
    payload = offered[0]
    faq_id = json.loads(payload[len("/choose_faq") :])["faq_id"]
    click = other_event(
        "card.action.trigger",
        {
            "operator": {"open_id": "ou_card", "user_id": "u2", "union_id": "on_2", "tenant_key": "tenant"},
            "token": "c-update-token",
            "host": "im_message",
            "action": {"tag": "button", "value": {"payload": payload}},
            "context": {"open_message_id": "om_card", "open_chat_id": "oc_card"},
        },
    )
    status, body, took, _ = lark.send(click)
    assert (status, body) == (200, {}) and took < 1.0
    call = lark.wait_sent("oc_card", 2)[1]
    assert content(call)["elements"][0]["content"] == kb[faq_id].answer.strip()
    assert user_texts(bot_settings, "ou_card", 2) == ["/greet", payload]


def test_opening_a_p2p_chat_gets_the_welcome(lark):
    entered = other_event(
        "im.chat.access_event.bot_p2p_chat_entered_v1",
        {
            "chat_id": "oc_welcome",
            "operator_id": {"open_id": "ou_welcome", "union_id": "on_3", "user_id": "u3"},
            "last_message_id": "",
            "last_message_create_time": "",
        },
    )
    assert lark.send(entered)[:2] == (200, {})
    [call] = lark.wait_sent("oc_welcome")
    # The greeting with the KB's hot questions as card buttons.
    card = json.dumps(content(call), ensure_ascii=False)
    assert call.json["msg_type"] == "interactive" and "您好！我是智能客服" in card
    assert card.count("/choose_faq") == 5


def test_a_picture_gets_a_polite_text_only_notice(lark):
    lark.send(message_event("", "oc_picture", open_id="ou_picture", message_type="image"))
    [call] = lark.wait_sent("oc_picture")
    assert content(call) == {"text": "目前只能处理文字消息，请用文字描述您的问题。"}


def test_a_revoked_token_is_fetched_again_and_the_reply_still_goes_out(lark, tokens, fake_platform):
    tokens.valid = "t-revoked"  # what Feishu does when the app secret is reset
    issued = tokens.issued
    lark.send(message_event("你好", "oc_revoked", open_id="ou_revoked"))
    [call] = lark.wait_sent("oc_revoked")
    assert tokens.issued == issued + 1 and call.headers["authorization"] == f"Bearer t-{issued + 1}"
    refused = [
        c
        for c in fake_platform.calls_to(MESSAGES)
        if c.json.get("receive_id") == "oc_revoked" and c.headers["authorization"] != call.headers["authorization"]
    ]
    assert len(refused) == 1 and refused[0].json["uuid"] == call.json["uuid"]  # the same idempotency key


def test_an_agent_reply_during_a_hand_off_reaches_the_users_chat(lark, running_bot, bot_settings):
    from bot.handoff.agents import AgentStore

    agents = AgentStore(bot_settings.database_url)
    agents.add(AGENT, PASSWORD, DISPLAY)
    agents.touch(AGENT)  # on duty
    console = running_bot.rasa_url + "/console/api"
    status, body = post(console + "/login", {"name": AGENT, "password": PASSWORD})
    assert status == 200, body
    auth = {"Authorization": f"Bearer {body['token']}"}
    lark.send(message_event("转人工", "oc_handoff", open_id="ou_handoff"))
    lark.wait_sent("oc_handoff")
    [handoff] = [
        h for h in _call(console + "/queue", None, auth)[1]["handoffs"] if h["conversation_id"] == "ou_handoff"
    ]
    assert _call(console + f"/handoffs/{handoff['id']}/claim", {}, auth)[0] == 200
    status, sent = _call(console + f"/handoffs/{handoff['id']}/messages", {"text": "您好，我来帮您看看"}, auth)
    assert status == 200 and sent["delivered"] == "live"
    texts = [content(c).get("text") for c in lark.sent_to("oc_handoff")]
    assert f"【人工客服 {DISPLAY}】您好，我来帮您看看" in texts


def _call(url: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
    reply = send(
        url, json.dumps(body).encode() if body is not None else None, {"Content-Type": "application/json", **headers}
    )
    return reply.status, reply.json()


# -- without an Encrypt Key: plain bodies -------------------------------------------


@pytest.fixture(scope="module")
def plain_lark(bot_settings, tmp_path_factory, fake_platform, tokens, running_bot):
    """A second bot whose Feishu app has no Encrypt Key (its own data folder and ports)."""
    from bot.process.runner import start_bot

    root = tmp_path_factory.mktemp("plain")
    shutil.copytree(bot_settings.kb_dir, root / "kb")
    settings = bot_settings.replace(
        kb_dir=root / "kb",
        data_dir=root / "var",
        bot=dataclasses.replace(bot_settings.bot, rasa_port=free_port(), action_port=free_port()),
    )
    env = {k: v for k, v in ENV.items() if k != "FEISHU_ENCRYPT_KEY"}
    bot = start_bot(settings, models_dir=MODELS_DIR, log_dir=settings.data_dir / "logs", say=lambda line: None, env=env)
    try:
        yield Lark(bot.rasa_url + "/webhooks/feishu/webhook", tokens)
    finally:
        bot.stop()
        for name, path in bot.logs.items():  # kept for CI artifacts, as the main bot's are
            out = PROJECT_ROOT / "test-artifacts" / f"test_feishu-plain-{name}.log"
            out.parent.mkdir(exist_ok=True)
            shutil.copy(path, out)


def test_plain_url_verification_and_plain_events_without_an_encrypt_key(plain_lark):
    challenge = "challenge-" + uuid.uuid4().hex
    check = {"challenge": challenge, "token": VERIFICATION_TOKEN, "type": "url_verification"}
    status, body, took, _ = plain_lark.send(check, encrypted=False, signed=False)
    assert (status, body, took < 1.0) == (200, {"challenge": challenge}, True)
    assert plain_lark.send({**check, "token": "guess"}, encrypted=False, signed=False)[0] == 401
    assert plain_lark.send(check, signed=False)[0] == 400  # encrypted, but no key to decrypt it
    assert plain_lark.send(message_event("谢谢", "oc_plain", open_id="ou_plain"), encrypted=False, signed=False)[
        :2
    ] == (200, {})
    [call] = plain_lark.wait_sent("oc_plain")
    assert content(call)["text"] == "不客气！还有其他问题可以继续问我。"

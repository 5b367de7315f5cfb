"""Each platform webhook as the fuzz suite drives it: a strategy for what the
platform might put in a request's body (realistic events with fields swapped
for junk, and bodies that are not what the platform sends at all), and how the
platform wraps that body — signed, and encrypted where it encrypts — with the
test helpers in ``tests/connectors/signing.py`` and ``wechat_client.py``.

Message texts are mostly short and cheap for the bot ("你好"); the channel
parsing around them is what these cases are for (texts themselves are fuzzed
hardest through REST)."""

from __future__ import annotations

import itertools
import json
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from tests.connectors import signing
from tests.connectors.wechat_client import encrypt_bytes, sha1_sign, stamp, xml_of
from tests.fuzz import strategies as fz
from tests.fuzz.conftest import Secrets
from tests.fuzz.target import Answer, Target, query

WECHAT_ACCOUNT = "gh_safe0000001"
AGENT_ID = "1000002"
PAGE_ID = "PAGE1"
FEISHU_TYPES = ("im.message.receive_v1", "card.action.trigger", "im.chat.access_event.bot_p2p_chat_entered_v1")

# A case is (kind, bytes): the kind says how the platform wraps the bytes.
Case = tuple[str, bytes]

said = fz.sometimes(st.sampled_from(["你好", "谢谢", "1"]), fz.text, 3)
"""What a user writes: usually a cheap greeting, sometimes anything."""
unique = st.builds(lambda: uuid.uuid4().hex)
"""A message/event id no earlier case used (platform retries are answered once). Drawn outside
Hypothesis on purpose: its own uuids repeat (simple examples are all-zero data)."""
ids = fz.sometimes(unique.map(lambda u: "fz" + u[:12]), fz.identifiers, 3)
"""A platform user id: mostly a new plausible one, else anything (lone surrogates included, and the
short ids Hypothesis likes, which many cases share). Mostly new, because a conversation handles
one message at a time: hundreds of background messages for one id would queue for a minute and
slow down the next test that happens to use it."""
_update_ids = itertools.count(int(time.time()) * 1000)
update_ids = st.builds(lambda: next(_update_ids))
"""Telegram update ids: new for every case, like Telegram's."""


def now_ms() -> int:
    return int(time.time() * 1000)


def _xml(fields: dict[str, Any], cdata: bool) -> bytes:
    """A callback's XML; values as CDATA or as plain text (neither escaped: junk may break the XML)."""
    parts = []
    for key, value in fields.items():
        value = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        parts.append(f"<{key}><![CDATA[{value}]]></{key}>" if cdata else f"<{key}>{value}</{key}>")
    return ("<xml>" + "".join(parts) + "</xml>").encode("utf-8", "surrogatepass")


def xml_bodies(template: dict[str, Any]) -> st.SearchStrategy[bytes]:
    return fz.sometimes(
        st.builds(_xml, fz.variants(template).filter(lambda v: isinstance(v, dict)), st.booleans()), fz.raw_bodies, 8
    )


def json_cases(template: Any, kind: str = "json") -> st.SearchStrategy[Case]:
    """A mutated ``template`` as JSON (escaped or raw UTF-8), or now and then a body that is not JSON."""
    return fz.sometimes(
        st.tuples(st.just(kind), fz.json_bodies(fz.variants(template))), st.tuples(st.just(kind), fz.raw_bodies), 8
    )


@dataclass
class Platform:
    """A webhook: its path, what its platform sends, and how it sends it."""

    name: str
    path: str
    cases: Callable[[Secrets, str], st.SearchStrategy[Case]]
    send: Callable[[Target, Secrets, Case], Answer]
    examples: list[Case] = field(default_factory=list)


# ---------------------------------------------------------------- WeChat (safe mode) and WeCom


_outer_or_verify = st.one_of(
    st.tuples(st.just("outer"), fz.raw_bodies),
    st.tuples(st.just("verify"), fz.text.map(lambda t: t.encode("utf-8", "surrogatepass"))),
)
"""A signed request whose outer XML is junk, or a URL verification with any echostr."""


def wechat_cases(secrets: Secrets, platform_url: str) -> st.SearchStrategy[Case]:
    message = {
        "ToUserName": WECHAT_ACCOUNT,
        "FromUserName": ids,
        "CreateTime": st.just(str(int(time.time()))),
        "MsgType": st.sampled_from(["text", "event", "image", "voice", "TEXT", ""]),
        "Content": said,
        "MsgId": unique,
        "Event": st.sampled_from(["subscribe", "CLICK", "unsubscribe", "SCAN"]),
        "EventKey": said,
    }
    return fz.sometimes(st.tuples(st.just("message"), xml_bodies(message)), _outer_or_verify, 4)


def send_wechat(target: Target, secrets: Secrets, case: Case) -> Answer:
    kind, data = case
    ts, nonce = stamp()
    path = "/webhooks/wechat/webhook"
    if kind == "verify":  # URL verification: echostr comes back as is
        echostr = data.decode("utf-8", "surrogatepass")
        return target.request(
            "GET",
            f"{path}?"
            + query(signature=sha1_sign(secrets.wechat_token, ts, nonce), timestamp=ts, nonce=nonce, echostr=echostr),
        )
    encrypted = encrypt_bytes(secrets.wechat_aes_key, data, secrets.wechat_app_id)
    params = query(
        signature=sha1_sign(secrets.wechat_token, ts, nonce),
        timestamp=ts,
        nonce=nonce,
        openid="o",
        encrypt_type="aes",
        msg_signature=sha1_sign(secrets.wechat_token, ts, nonce, encrypted),
    )
    body = data if kind == "outer" else xml_of(ToUserName=WECHAT_ACCOUNT, Encrypt=encrypted).encode()
    return target.request("POST", f"{path}?{params}", body, {"Content-Type": "text/xml"})


def wecom_cases(secrets: Secrets, platform_url: str) -> st.SearchStrategy[Case]:
    app = {
        "ToUserName": secrets.wecom_corp_id,
        "FromUserName": ids,
        "CreateTime": st.just(str(int(time.time()))),
        "MsgType": st.sampled_from(["text", "event", "image"]),
        "Content": said,
        "MsgId": unique,
        "AgentID": AGENT_ID,
        "Event": st.sampled_from(["enter_agent", "click"]),
        "EventKey": said,
    }
    kf = {
        "ToUserName": secrets.wecom_corp_id,
        "CreateTime": st.just(str(int(time.time()))),
        "MsgType": "event",
        "Event": "kf_msg_or_event",
        "Token": fz.sometimes(st.just("KF-CALLBACK-TOKEN"), fz.text, 3),
        "OpenKfId": ids,
    }
    return fz.sometimes(st.tuples(st.just("message"), st.one_of(xml_bodies(app), xml_bodies(kf))), _outer_or_verify, 4)


def send_wecom(target: Target, secrets: Secrets, case: Case) -> Answer:
    kind, data = case
    ts, nonce = stamp()
    path = "/webhooks/wecom/webhook"
    encrypted = encrypt_bytes(secrets.wecom_aes_key, data, secrets.wecom_corp_id)
    params = query(msg_signature=sha1_sign(secrets.wecom_token, ts, nonce, encrypted), timestamp=ts, nonce=nonce)
    if kind == "verify":  # URL verification: the decrypted echostr comes back
        return target.request("GET", f"{path}?{params}&echostr={urllib.parse.quote(encrypted, safe='')}")
    body = (
        data
        if kind == "outer"
        else xml_of(ToUserName=secrets.wecom_corp_id, AgentID=int(AGENT_ID), Encrypt=encrypted).encode()
    )
    return target.request("POST", f"{path}?{params}", body, {"Content-Type": "text/xml"})


# ---------------------------------------------------------------- JSON platforms


def dingtalk_cases(secrets: Secrets, platform_url: str) -> st.SearchStrategy[Case]:
    staff = ids
    return json_cases(
        {
            "msgId": unique,
            "msgtype": fz.sometimes(st.just("text"), st.sampled_from(["picture", "richText", ""]), 4),
            "text": {"content": said},
            "conversationId": st.builds(lambda s: "cid-" + s, fz.plain_ids),
            "conversationType": st.sampled_from(["1", "2"]),
            "senderStaffId": staff,
            "senderId": st.builds(lambda s: "$:LWCP_v1:$" + s, fz.plain_ids),
            "senderNick": said,
            "robotCode": secrets.dingtalk_app_key,
            "chatbotUserId": "$:LWCP_v1:$bot",
            "createAt": st.just(now_ms()),
            "isInAtList": True,
            "sessionWebhook": f"{platform_url}/robot/sendBySession?session=fuzz",
            "sessionWebhookExpiredTime": st.just(now_ms() + 3_600_000),
        }
    )


def send_dingtalk(target: Target, secrets: Secrets, case: Case) -> Answer:
    return target.request(
        "POST", "/webhooks/dingtalk/webhook", case[1], signing.dingtalk_headers(secrets.dingtalk_app_secret)
    )


def feishu_cases(secrets: Secrets, platform_url: str) -> st.SearchStrategy[Case]:
    event = {
        "schema": "2.0",
        "header": {
            "event_id": unique,
            "event_type": fz.sometimes(st.sampled_from(FEISHU_TYPES), fz.text, 6),
            "create_time": st.just(str(now_ms())),
            "token": secrets.feishu_verification_token,
            "app_id": secrets.feishu_app_id,
            "tenant_key": "tenant",
        },
        "event": {
            "sender": {
                "sender_id": {"open_id": ids, "union_id": "on_x", "user_id": "u1"},
                "sender_type": "user",
                "tenant_key": "tenant",
            },
            "message": {
                "message_id": unique.map(lambda u: "om_" + u),
                "chat_id": ids,
                "chat_type": st.sampled_from(["p2p", "group"]),
                "message_type": "text",
                "content": fz.sometimes(st.builds(lambda t: json.dumps({"text": t}), said), fz.text, 4),
            },
            "operator": {"open_id": ids},
            "operator_id": {"open_id": ids},
            "chat_id": ids,
            "context": {"open_chat_id": ids},
            "action": {"value": {"payload": said}},
        },
    }
    check = {"challenge": fz.text, "token": secrets.feishu_verification_token, "type": "url_verification"}
    return fz.sometimes(
        json_cases(event, "encrypted"),
        st.one_of(json_cases(check, "encrypted"), st.tuples(st.just("outer"), fz.raw_bodies)),
        4,
    )


def send_feishu(target: Target, secrets: Secrets, case: Case) -> Answer:
    kind, data = case
    if kind == "encrypted":
        data = json.dumps({"encrypt": signing.feishu_encrypt(data, secrets.feishu_encrypt_key)}).encode()
    return target.request(
        "POST", "/webhooks/feishu/webhook", data, signing.feishu_headers(data, secrets.feishu_encrypt_key)
    )


def telegram_cases(secrets: Secrets, platform_url: str) -> st.SearchStrategy[Case]:
    user = {"id": fz.sometimes(st.integers(1, 2**40), ids, 3), "is_bot": False, "first_name": said}
    chat = {"id": fz.sometimes(st.integers(-(2**40), 2**40), ids, 3), "type": "private"}
    message = {
        "update_id": update_ids,
        "message": {
            "message_id": st.integers(1, 2**31),
            "date": st.just(int(time.time())),
            "text": said,
            "from": user,
            "chat": chat,
        },
    }
    button = {
        "update_id": update_ids,
        "callback_query": {"id": unique, "from": user, "message": {"message_id": 1, "chat": chat}, "data": fz.text},
    }
    return st.one_of(json_cases(message), json_cases(button))


def send_telegram(target: Target, secrets: Secrets, case: Case) -> Answer:
    return target.request(
        "POST", "/webhooks/telegram/webhook", case[1], signing.telegram_headers(secrets.telegram_secret_token)
    )


def slack_cases(secrets: Secrets, platform_url: str) -> st.SearchStrategy[Case]:
    user = ids
    event = {
        "token": "legacy",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "type": fz.sometimes(st.just("event_callback"), st.just("url_verification"), 6),
        "challenge": fz.text,
        "event_id": unique.map(lambda u: "Ev" + u),
        "event_time": st.just(int(time.time())),
        "event": {
            "type": st.sampled_from(["message", "app_mention"]),
            "channel_type": "im",
            "channel": st.builds(lambda u: "D" + u, fz.plain_ids),
            "user": user,
            "text": said,
            "ts": f"{time.time():.6f}",
            "client_msg_id": unique,
        },
    }
    click = {
        "type": "block_actions",
        "user": {"id": user},
        "trigger_id": unique,
        "actions": [{"type": "button", "value": said, "action_ts": "1.1"}],
        "channel": {"id": ids},
        "container": {"thread_ts": "1.1"},
        "message": {"thread_ts": "1.1"},
    }
    form = st.builds(
        lambda body: b"payload=" + urllib.parse.quote_from_bytes(body).encode(), fz.json_bodies(fz.variants(click))
    )
    return fz.sometimes(
        st.one_of(json_cases(event), st.tuples(st.just("form"), form)),
        st.tuples(st.just("form"), st.binary(max_size=40)),
        8,
    )


def send_slack(target: Target, secrets: Secrets, case: Case) -> Answer:
    kind, data = case
    content_type = "application/x-www-form-urlencoded" if kind == "form" else "application/json"
    return target.request(
        "POST", "/webhooks/slack/webhook", data, signing.slack_headers(data, secrets.slack_signing_secret, content_type)
    )


def messenger_cases(secrets: Secrets, platform_url: str) -> st.SearchStrategy[Case]:
    item = {
        "sender": {"id": ids},
        "recipient": {"id": PAGE_ID},
        "timestamp": st.just(now_ms()),
        "message": {"mid": unique.map(lambda u: "m_" + u), "text": said, "quick_reply": {"payload": said}},
        "postback": {"payload": said, "mid": unique},
    }
    return json_cases(
        {"object": "page", "entry": [{"id": PAGE_ID, "time": st.just(now_ms()), "messaging": [item, item]}]}
    )


def send_messenger(target: Target, secrets: Secrets, case: Case) -> Answer:
    return target.request(
        "POST", "/webhooks/messenger/webhook", case[1], signing.messenger_headers(case[1], secrets.messenger_app_secret)
    )


def _dingtalk_from(staff: str) -> Case:
    body = {
        "msgId": uuid.uuid4().hex,
        "msgtype": "text",
        "text": {"content": "你好"},
        "conversationType": "1",
        "senderStaffId": staff,
        "senderId": "$:LWCP_v1:$x",
        "robotCode": Secrets.dingtalk_app_key,
    }
    return ("json", fz.encode_json(body, escaped=True))


def _slack_click_by(user: Any) -> Case:
    payload = {
        "type": "block_actions",
        "user": user,
        "trigger_id": uuid.uuid4().hex,
        "actions": [{"type": "button", "value": "你好", "action_ts": "1.1"}],
    }
    return ("form", b"payload=" + urllib.parse.quote_from_bytes(fz.encode_json(payload, escaped=True)).encode())


def _messenger_from(sender: Any) -> Case:
    item = {
        "sender": sender,
        "recipient": {"id": PAGE_ID},
        "timestamp": now_ms(),
        "message": {"mid": "m_" + uuid.uuid4().hex, "text": "你好"},
    }
    return ("json", fz.encode_json({"object": "page", "entry": [{"id": PAGE_ID, "messaging": [item]}]}, escaped=True))


PLATFORMS = [
    Platform("wechat", "/webhooks/wechat/webhook", wechat_cases, send_wechat),
    Platform("wecom", "/webhooks/wecom/webhook", wecom_cases, send_wecom),
    Platform(
        "dingtalk", "/webhooks/dingtalk/webhook", dingtalk_cases, send_dingtalk, examples=[_dingtalk_from("a\ud800")]
    ),
    Platform("feishu", "/webhooks/feishu/webhook", feishu_cases, send_feishu),
    Platform("telegram", "/webhooks/telegram/webhook", telegram_cases, send_telegram),
    Platform(
        "slack",
        "/webhooks/slack/webhook",
        slack_cases,
        send_slack,
        examples=[_slack_click_by([[True]]), _slack_click_by("U1")],
    ),
    Platform(
        "messenger",
        "/webhooks/messenger/webhook",
        messenger_cases,
        send_messenger,
        examples=[_messenger_from([None]), _messenger_from("PSID1")],
    ),
]

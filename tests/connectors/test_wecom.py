"""The WeCom channel end to end: app callbacks and 微信客服 (KF) callbacks
encrypted and signed as WeCom does it, sent to the real Rasa server; the
WeCom API (token, message/send, kf/sync_msg, kf/send_msg…) is the fake platform."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from connectors import platform_api
from connectors.channel_state import ChannelStateStore
from connectors.replies import Choices
from connectors.wechat_xml import TEXT_ONLY
from connectors.wecom import WeComApi, WeComOutbound, WeComSender
from indexer.kb import load_kb
from tests.connectors.wechat_client import (
    FEE_MENU,
    decrypt,
    encrypt,
    fields_of,
    http,
    new_aes_key,
    sha1_sign,
    stamp,
    with_query,
    xml_of,
)
from tests.polling import tracker_texts, wait_for_texts, wait_until

pytestmark = pytest.mark.slow

TOKEN, CORP_ID, SECRET, AGENT_ID = "wecom-token-1", "ww0123456789abcdef", "corp-secret-1", 1000002
AES_KEY = new_aes_key()
# 微信客服 hand-offs go to WeCom's own servicer "servicer-1" (an agent is on duty, so requests queue).
ENV = {
    "WECOM_TOKEN": TOKEN,
    "WECOM_CORP_ID": CORP_ID,
    "WECOM_SECRET": SECRET,
    "WECOM_AES_KEY": AES_KEY,
    "WECOM_KF_HANDOFF_TO": "servicer-1",
}
HANDOFF = {"presence_timeout": 86400}
ISSUED = "WECOM-ACCESS-TOKEN"
WELCOME = "您好！我是智能客服"
SYNC, KF_SEND = "/cgi-bin/kf/sync_msg", "/cgi-bin/kf/send_msg"

# kf/sync_msg pages by (open_kfid, cursor); tests fill it before the callback.
PAGES: dict[tuple[str, str], dict] = {}


@pytest.fixture(scope="module")
def bot_settings(bot_settings, fake_platform):
    return bot_settings.replace(channels=dataclasses.replace(bot_settings.channels, wecom_api=fake_platform.url))


@pytest.fixture(scope="module")
def api(fake_platform):
    def token(call):
        assert call.query == {"corpid": CORP_ID, "corpsecret": SECRET}, call.query
        return 200, {"errcode": 0, "errmsg": "ok", "access_token": ISSUED, "expires_in": 7200}

    def ok(call):
        assert call.query.get("access_token") == ISSUED, call.query
        assert call.headers["content-type"].startswith("application/json")
        return 200, {"errcode": 0, "errmsg": "ok", "msgid": f"sent-{len(fake_platform.calls)}"}

    def sync(call):
        assert call.query.get("access_token") == ISSUED, call.query
        body = call.json
        assert set(body) == {"cursor", "token", "limit", "open_kfid"} and body["limit"] == 1000, body
        assert body["token"].startswith("KF-CALLBACK-TOKEN"), body
        return 200, {"errcode": 0, "errmsg": "ok", **PAGES[(body["open_kfid"], body["cursor"])]}

    fake_platform.route("GET", "/cgi-bin/gettoken", token)
    for path in ("/cgi-bin/message/send", KF_SEND, "/cgi-bin/kf/send_msg_on_event", "/cgi-bin/kf/service_state/trans"):
        fake_platform.route("POST", path, ok)
    fake_platform.route("POST", SYNC, sync)
    return fake_platform


@pytest.fixture(scope="module")
def webhook(running_bot, api, bot_settings):
    from bot.handoff.agents import AgentStore

    agents = AgentStore(bot_settings.database_url)
    agents.add("duty", "long-enough-password")
    agents.touch("duty")
    return running_bot.rasa_url + "/webhooks/wecom/webhook"


@pytest.fixture(scope="module")
def kb(bot_settings):
    return {e.id: e for e in load_kb(bot_settings.kb_dir).entries}


def post(webhook: str, inner: str, token: str = TOKEN, corp_id: str = CORP_ID, encrypted: str | None = None):
    ts, nonce = stamp()
    encrypted = encrypt(AES_KEY, inner, corp_id) if encrypted is None else encrypted
    url = with_query(webhook, msg_signature=sha1_sign(token, ts, nonce, encrypted), timestamp=ts, nonce=nonce)
    return http("POST", url, xml_of(ToUserName=CORP_ID, AgentID=AGENT_ID, Encrypt=encrypted))


def app_text(user: str, content: str, msg_id: int) -> str:
    return xml_of(
        ToUserName=CORP_ID,
        FromUserName=user,
        CreateTime=int(time.time()),
        MsgType="text",
        Content=content,
        MsgId=msg_id,
        AgentID=AGENT_ID,
    )


def open_reply(body: str) -> dict[str, str]:
    outer = fields_of(body)
    assert outer["MsgSignature"] == sha1_sign(TOKEN, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"])
    xml, corp_id = decrypt(AES_KEY, outer["Encrypt"])
    assert corp_id == CORP_ID
    return fields_of(xml)


def kf_callback(webhook: str, open_kfid: str, token: str):
    return post(
        webhook,
        xml_of(
            ToUserName=CORP_ID,
            CreateTime=int(time.time()),
            MsgType="event",
            Event="kf_msg_or_event",
            Token=token,
            OpenKfId=open_kfid,
        ),
    )


def kf_text(msgid: str, open_kfid: str, user: str, content: str, menu_id: str = "") -> dict:
    text = {"content": content, **({"menu_id": menu_id} if menu_id else {})}
    return {
        "msgid": msgid,
        "open_kfid": open_kfid,
        "external_userid": user,
        "send_time": int(time.time()),
        "origin": 3,
        "msgtype": "text",
        "text": text,
    }


def sent_to(fake, path: str, user: str) -> list[dict]:
    return [c.json for c in fake.calls_to(path) if c.json.get("touser") == user]


def test_url_verification_returns_the_decrypted_echostr_exactly(webhook):
    ts, nonce = stamp()
    echostr = encrypt(AES_KEY, "5927403318826610497", CORP_ID)
    good = http(
        "GET",
        with_query(
            webhook, msg_signature=sha1_sign(TOKEN, ts, nonce, echostr), timestamp=ts, nonce=nonce, echostr=echostr
        ),
    )
    assert (good.status, good.body) == (200, "5927403318826610497")
    forged = http(
        "GET",
        with_query(
            webhook, msg_signature=sha1_sign("guess", ts, nonce, echostr), timestamp=ts, nonce=nonce, echostr=echostr
        ),
    )
    assert forged.status == 403
    other = encrypt(AES_KEY, "5927403318826610497", "wwsomeoneelse")
    misaddressed = http(
        "GET",
        with_query(webhook, msg_signature=sha1_sign(TOKEN, ts, nonce, other), timestamp=ts, nonce=nonce, echostr=other),
    )
    assert misaddressed.status == 403 and "5927403318826610497" not in misaddressed.body


def test_an_app_question_gets_an_encrypted_passive_reply(webhook, kb, bot_settings, api):
    answer = post(webhook, app_text("zhangsan", "提现手续费是多少", 40001))
    assert answer.status == 200 and answer.seconds < 3.0
    reply = open_reply(answer.body)
    assert reply["ToUserName"] == "zhangsan" and reply["FromUserName"] == CORP_ID
    assert reply["Content"].startswith(kb["ex-withdraw-fee"].answer.strip())
    assert reply["Content"].endswith(FEE_MENU)
    wait_for_texts(bot_settings.data_dir, "zhangsan", ["提现手续费是多少"])
    assert api.calls_to("/cgi-bin/message/send") == []


def test_forged_misaddressed_or_malformed_callbacks_never_reach_the_bot(webhook, bot_settings, api):
    inner = app_text("mallory", "提现手续费是多少", 40002)
    assert post(webhook, inner, token="guess").status == 403
    assert post(webhook, inner, corp_id="wwsomeoneelse").status == 403
    assert post(webhook, inner, encrypted="bm90LWFlcw==").status == 400
    ts, nonce = stamp()
    url = with_query(webhook, msg_signature="0" * 40, timestamp=ts, nonce=nonce)
    assert http("POST", url, "not xml at all").status == 400
    stale = str(int(time.time()) - 7200)
    encrypted = encrypt(AES_KEY, inner, CORP_ID)
    url = with_query(webhook, msg_signature=sha1_sign(TOKEN, stale, nonce, encrypted), timestamp=stale, nonce=nonce)
    assert http("POST", url, xml_of(ToUserName=CORP_ID, Encrypt=encrypted)).status == 403
    assert tracker_texts(bot_settings.data_dir, "mallory") == []
    assert api.calls_to("/cgi-bin/message/send") == []


def test_a_retried_app_message_is_answered_once(webhook, bot_settings, kb):
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: post(webhook, app_text("lisi", "提现手续费是多少", 40003)), range(3)))
    assert all(a.status == 200 for a in answers)
    contents = [open_reply(a.body)["Content"] for a in answers if a.body]
    assert contents and all(c.startswith(kb["ex-withdraw-fee"].answer.strip()) for c in contents)
    wait_for_texts(bot_settings.data_dir, "lisi", ["提现手续费是多少"])


def test_entering_the_app_is_welcomed_and_an_image_gets_the_text_only_notice(webhook, bot_settings):
    enter = xml_of(
        ToUserName=CORP_ID,
        FromUserName="wangwu",
        CreateTime=int(time.time()),
        MsgType="event",
        Event="enter_agent",
        EventKey="",
        AgentID=AGENT_ID,
    )
    assert open_reply(post(webhook, enter).body)["Content"].startswith(WELCOME)
    image = xml_of(
        ToUserName=CORP_ID,
        FromUserName="wangwu",
        CreateTime=int(time.time()),
        MsgType="image",
        PicUrl="http://example.com/p.jpg",
        MediaId="m",
        MsgId=40004,
        AgentID=AGENT_ID,
    )
    assert open_reply(post(webhook, image).body)["Content"] == TEXT_ONLY
    wait_for_texts(bot_settings.data_dir, "wangwu", ["/greet"])


def test_kf_messages_are_synced_from_the_persisted_cursor_and_answered_once(webhook, api, bot_settings, kb):
    answer = kb["ex-withdraw-fee"].answer.strip()
    PAGES[("wkA", "")] = {
        "next_cursor": "c1",
        "has_more": 0,
        "msg_list": [kf_text("m1", "wkA", "wmU1", "提现手续费是多少")],
    }
    ack = kf_callback(webhook, "wkA", "KF-CALLBACK-TOKEN-1")
    assert (ack.status, ack.body) == (200, "") and ack.seconds < 1.0
    [menu] = wait_until(lambda: sent_to(api, KF_SEND, "wmU1"), what="the KF answer")
    assert menu["open_kfid"] == "wkA" and menu["msgtype"] == "msgmenu"
    assert menu["msgmenu"]["head_content"] == answer
    items = menu["msgmenu"]["list"]
    assert [i["type"] for i in items] == ["click"] * 4
    assert [i["click"]["content"] for i in items] == ["有帮助", "没帮助", "提现多久能到账？", "提现有额度限制吗？"]
    assert api.calls_to(SYNC)[0].json == {
        "cursor": "",
        "token": "KF-CALLBACK-TOKEN-1",
        "limit": 1000,
        "open_kfid": "wkA",
    }
    # The cursor is in the database every server shares (connectors/channel_state.py).
    state = ChannelStateStore(bot_settings.database_url)
    assert state.get("wecom_kf_cursor", "wkA") == "c1"

    # The next callback reads on from c1: m1 again (already answered) and a click on "有帮助".
    helpful = items[0]["click"]["id"]
    PAGES[("wkA", "c1")] = {
        "next_cursor": "c2",
        "has_more": 1,
        "msg_list": [
            kf_text("m1", "wkA", "wmU1", "提现手续费是多少"),
            kf_text("m2", "wkA", "wmU1", "有帮助", menu_id=helpful),
        ],
    }
    PAGES[("wkA", "c2")] = {"next_cursor": "c3", "has_more": 0, "msg_list": []}
    kf_callback(webhook, "wkA", "KF-CALLBACK-TOKEN-2")
    wait_until(lambda: len(sent_to(api, KF_SEND, "wmU1")) >= 2, what="the reply to the click")
    # Rasa stores the turn after its reply went out: wait for it rather than read at once.
    texts = wait_until(
        lambda: found if len(found := tracker_texts(bot_settings.data_dir, "kf:wkA:wmU1")) >= 2 else None,
        what="the click in the tracker",
    )
    assert texts == ["提现手续费是多少", helpful]
    assert [(c.json["cursor"], c.json["token"]) for c in api.calls_to(SYNC) if c.json["open_kfid"] == "wkA"] == [
        ("", "KF-CALLBACK-TOKEN-1"),
        ("c1", "KF-CALLBACK-TOKEN-2"),
        ("c2", "KF-CALLBACK-TOKEN-2"),
    ]
    assert state.get("wecom_kf_cursor", "wkA") == "c3"
    assert not any(
        c["msgtype"] == "msgmenu" and c["msgmenu"]["head_content"] == answer for c in sent_to(api, KF_SEND, "wmU1")[1:]
    )


def test_kf_welcome_uses_the_welcome_code_and_non_text_gets_the_notice(webhook, api, bot_settings):
    enter = {
        "msgid": "e1",
        "open_kfid": "wkB",
        "external_userid": "",
        "send_time": int(time.time()),
        "origin": 4,
        "msgtype": "event",
        "event": {
            "event_type": "enter_session",
            "open_kfid": "wkB",
            "external_userid": "wmU2",
            "scene": "",
            "welcome_code": "WELCOME-1",
        },
    }
    image = {
        "msgid": "i1",
        "open_kfid": "wkB",
        "external_userid": "wmU3",
        "send_time": int(time.time()),
        "origin": 3,
        "msgtype": "image",
        "image": {"media_id": "MEDIA"},
    }
    history = {**kf_text("h1", "wkB", "wmU4", "提现手续费是多少"), "send_time": int(time.time()) - 2 * 86400}
    PAGES[("wkB", "")] = {"next_cursor": "b1", "has_more": 0, "msg_list": [history, enter, image]}
    kf_callback(webhook, "wkB", "KF-CALLBACK-TOKEN-3")
    [welcome] = [c.json for c in api.wait_for("/cgi-bin/kf/send_msg_on_event")]
    # The greeting with the KB's hot questions as menu items.
    assert welcome["code"] == "WELCOME-1" and welcome["msgtype"] == "msgmenu"
    assert welcome["msgmenu"]["head_content"].startswith(WELCOME)
    assert [item["click"]["id"][:11] for item in welcome["msgmenu"]["list"]] == ["/choose_faq"] * 5
    [notice] = wait_until(lambda: sent_to(api, KF_SEND, "wmU3"), what="the text-only notice")
    assert notice == {"touser": "wmU3", "open_kfid": "wkB", "msgtype": "text", "text": {"content": TEXT_ONLY}}
    wait_for_texts(bot_settings.data_dir, "kf:wkB:wmU2", ["/greet"])
    assert tracker_texts(bot_settings.data_dir, "kf:wkB:wmU3") == []
    assert tracker_texts(bot_settings.data_dir, "kf:wkB:wmU4") == []  # two-day-old history is not answered
    assert sent_to(api, KF_SEND, "wmU4") == []


def test_a_kf_hand_off_goes_to_the_wecom_servicer_and_the_bot_waits_until_the_session_ends(webhook, api, bot_settings):
    from bot.handoff.handoffs import HandoffStore

    customer = "kf:wkH:wmU7"
    PAGES[("wkH", "")] = {"next_cursor": "h1", "has_more": 0, "msg_list": [kf_text("hm1", "wkH", "wmU7", "转人工")]}
    kf_callback(webhook, "wkH", "KF-CALLBACK-TOKEN-H1")
    wait_until(lambda: api.calls_to("/cgi-bin/kf/service_state/trans"), what="the session transfer")
    trans = [c.json for c in api.calls_to("/cgi-bin/kf/service_state/trans") if c.json["external_userid"] == "wmU7"]
    assert trans == [
        {"open_kfid": "wkH", "external_userid": "wmU7", "service_state": 3, "servicer_userid": "servicer-1"}
    ]
    [told] = sent_to(api, KF_SEND, "wmU7")
    assert "人工" in json.dumps(told, ensure_ascii=False)  # the user was told a person is coming
    store = HandoffStore(bot_settings.database_url)
    # Not left waiting in our console's queue: the bot closes it right after the transfer call.
    wait_until(lambda: store.open_for(customer) is None, what="the hand-off closed as 'platform'")
    handed = store.last_closed_for(customer)
    assert handed is not None and handed.reason == "user_request"
    assert [e["text"] for e in store.events(handed.id) if e["kind"] == "closed"] == ["platform"]

    # While WeCom's servicer has the session the bot stays out of it…
    PAGES[("wkH", "h1")] = {
        "next_cursor": "h2",
        "has_more": 0,
        "msg_list": [kf_text("hm2", "wkH", "wmU7", "提现手续费是多少")],
    }
    kf_callback(webhook, "wkH", "KF-CALLBACK-TOKEN-H2")
    wait_until(lambda: [c for c in api.calls_to(SYNC) if c.json["cursor"] == "h1"], what="the second sync")
    # …until WeCom says the session ended; then it answers again.
    ended = {
        "msgid": "hm3",
        "open_kfid": "wkH",
        "send_time": int(time.time()),
        "origin": 4,
        "msgtype": "event",
        "event": {
            "event_type": "session_status_change",
            "open_kfid": "wkH",
            "external_userid": "wmU7",
            "change_type": 3,
            "old_servicer_userid": "servicer-1",
        },
    }
    PAGES[("wkH", "h2")] = {
        "next_cursor": "h3",
        "has_more": 0,
        "msg_list": [ended, kf_text("hm4", "wkH", "wmU7", "谢谢")],
    }
    kf_callback(webhook, "wkH", "KF-CALLBACK-TOKEN-H3")
    wait_until(
        lambda: [m for m in sent_to(api, KF_SEND, "wmU7") if "不客气" in json.dumps(m, ensure_ascii=False)],
        what="the bot's answer after the session ended",
    )
    wait_for_texts(bot_settings.data_dir, customer, ["转人工", "谢谢"])  # hm2 was the servicer's
    assert len(sent_to(api, KF_SEND, "wmU7")) == 2


def test_agent_replies_route_by_user_kind_and_the_kf_session_can_be_transferred(api, tmp_path):
    sender = WeComSender(WeComApi(api.url, CORP_ID, SECRET), Choices(), str(AGENT_ID))
    humans = ChannelStateStore(f"sqlite:///{tmp_path / 'state.sqlite'}").map("wecom_kf_humans")
    outbound = WeComOutbound(sender, sender.api, humans)

    async def scenario():
        try:
            return (
                await outbound.send("kf:wkA:wmU9", "您好", meta={"from": "agent", "name": "小王"}),
                await outbound.send(
                    "zhaoliu",
                    "稍等",
                    [{"title": "好的", "payload": "/affirm"}],
                    meta={"from": "system", "event": "claimed"},
                ),
                await sender.api.trans_service_state("wkA", "wmU9", 3, "servicer-1"),
            )
        finally:
            await platform_api.client().aclose()

    kf_ok, app_ok, trans = asyncio.run(scenario())
    assert kf_ok and app_ok and trans["errcode"] == 0
    assert sent_to(api, KF_SEND, "wmU9") == [
        {"touser": "wmU9", "open_kfid": "wkA", "msgtype": "text", "text": {"content": "【人工客服 小王】您好"}}
    ]
    assert sent_to(api, "/cgi-bin/message/send", "zhaoliu") == [
        {
            "touser": "zhaoliu",
            "msgtype": "text",
            "agentid": AGENT_ID,
            "text": {"content": "稍等\n1. 好的\n（回复数字即可选择）"},
        }
    ]
    assert api.calls_to("/cgi-bin/kf/service_state/trans")[-1].json == {
        "open_kfid": "wkA",
        "external_userid": "wmU9",
        "service_state": 3,
        "servicer_userid": "servicer-1",
    }

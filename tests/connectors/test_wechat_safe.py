"""The WeChat Official Account channel in safe mode (EncodingAESKey set):
callbacks encrypted and signed as WeChat does it, passive replies decrypted
and their signatures checked here; plaintext callbacks are refused."""

from __future__ import annotations

import dataclasses
import time

import pytest

from indexer.kb import load_kb
from tests.connectors.wechat_client import (
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
from tests.polling import tracker_texts, wait_for_texts

pytestmark = pytest.mark.slow

TOKEN, APP_ID, SECRET = "safe-token-456", "wxfedcba9876543210", "app-secret-safe"
ACCOUNT = "gh_safe0000001"
AES_KEY, OLD_KEY = new_aes_key(), new_aes_key()
ENV = {
    "WECHAT_TOKEN": TOKEN,
    "WECHAT_APP_ID": APP_ID,
    "WECHAT_APP_SECRET": SECRET,
    "WECHAT_AES_KEY": AES_KEY,
    "WECHAT_AES_KEY_OLD": OLD_KEY,
}


@pytest.fixture(scope="module")
def bot_settings(bot_settings, fake_platform):
    return bot_settings.replace(channels=dataclasses.replace(bot_settings.channels, wechat_api=fake_platform.url))


@pytest.fixture(scope="module")
def webhook(running_bot):
    return running_bot.rasa_url + "/webhooks/wechat/webhook"


@pytest.fixture(scope="module")
def kb(bot_settings):
    return {e.id: e for e in load_kb(bot_settings.kb_dir).entries}


def text_message(user: str, content: str, msg_id: int) -> str:
    return xml_of(
        ToUserName=ACCOUNT,
        FromUserName=user,
        CreateTime=int(time.time()),
        MsgType="text",
        Content=content,
        MsgId=msg_id,
    )


def post_encrypted(
    webhook: str,
    plaintext: str,
    key: str = AES_KEY,
    app_id: str = APP_ID,
    token: str = TOKEN,
    encrypted: str | None = None,
):
    ts, nonce = stamp()
    encrypted = encrypted if encrypted is not None else encrypt(key, plaintext, app_id)
    url = with_query(
        webhook,
        signature=sha1_sign(TOKEN, ts, nonce),
        timestamp=ts,
        nonce=nonce,
        openid="o",
        encrypt_type="aes",
        msg_signature=sha1_sign(token, ts, nonce, encrypted),
    )
    return http("POST", url, xml_of(ToUserName=ACCOUNT, Encrypt=encrypted))


def open_reply(body: str, key: str = AES_KEY) -> dict[str, str]:
    """Check the reply's signature and AppID as WeChat does, and return the inner message."""
    outer = fields_of(body)
    assert outer["MsgSignature"] == sha1_sign(TOKEN, outer["TimeStamp"], outer["Nonce"], outer["Encrypt"])
    xml, app_id = decrypt(key, outer["Encrypt"])
    assert app_id == APP_ID
    return fields_of(xml)


def test_url_verification_echoes_echostr(webhook):
    ts, nonce = stamp()
    answer = http(
        "GET",
        with_query(webhook, signature=sha1_sign(TOKEN, ts, nonce), timestamp=ts, nonce=nonce, echostr="echo-6061"),
    )
    assert (answer.status, answer.body) == (200, "echo-6061")


def test_a_question_gets_an_encrypted_signed_passive_reply(webhook, kb, bot_settings, fake_platform):
    answer = post_encrypted(webhook, text_message("o-safe", "提现手续费是多少", 20001))
    assert answer.status == 200 and answer.seconds < 3.0
    reply = open_reply(answer.body)
    assert reply["ToUserName"] == "o-safe" and reply["FromUserName"] == ACCOUNT
    assert reply["Content"].startswith(kb["ex-withdraw-fee"].answer.strip())
    wait_for_texts(bot_settings.data_dir, "o-safe", ["提现手续费是多少"])
    assert fake_platform.calls == []


def test_the_previous_key_still_works_and_the_reply_uses_it(webhook, kb):
    answer = post_encrypted(webhook, text_message("o-old-key", "提现手续费是多少", 20002), key=OLD_KEY)
    assert open_reply(answer.body, key=OLD_KEY)["Content"].startswith(kb["ex-withdraw-fee"].answer.strip())


def test_plaintext_forged_or_misaddressed_callbacks_never_reach_the_bot(webhook, bot_settings, fake_platform):
    plain = text_message("o-intruder", "提现手续费是多少", 20003)
    ts, nonce = stamp()
    signed_plain = with_query(webhook, signature=sha1_sign(TOKEN, ts, nonce), timestamp=ts, nonce=nonce)
    assert http("POST", signed_plain, plain).status == 403  # valid signature, but not encrypted
    assert post_encrypted(webhook, plain, token="guessed").status == 403  # forged msg_signature
    assert post_encrypted(webhook, plain, app_id="wxsomeoneelse0000").status == 403  # not for our AppID
    assert post_encrypted(webhook, plain, key=new_aes_key()).status == 400  # not our key: undecryptable
    assert post_encrypted(webhook, plain, encrypted="bm90LWFlcw==").status == 400
    assert post_encrypted(webhook, plain, encrypted="").status == 400
    assert tracker_texts(bot_settings.data_dir, "o-intruder") == []
    assert fake_platform.calls == []

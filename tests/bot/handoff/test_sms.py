"""Text messages by Tencent Cloud SMS against a fake of its API on loopback (``tests/sms.py``)
that checks each request's TC3 signature with its own implementation, and against the
worked example Tencent publishes for "签名方法 v3"."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

import httpx
import pytest

from bot.handoff.desk import HandoffDesk
from bot.handoff.sms import (
    SmsFailed,
    TencentSms,
    authorization,
    canonical_request,
    mobile_e164,
    serial_no,
    string_to_sign,
    tc3_signature,
)
from bot.handoff.tickets import ANSWERED, CHAT, FAILED, NOTIFIED, SKIPPED, SMS, STORED, Ticket
from faqbot.config import ConfigError, SmsConfig, load_settings
from tests.sms import SDK_APP_ID, SECRET_KEY, SIGN_NAME, TEMPLATE_ID, TencentSmsServer, free_port, tencent_signature

# Tencent Cloud's worked example for TC3-HMAC-SHA256 ("Signature v3" / "签名方法 v3", API 3.0
# docs, e.g. https://www.tencentcloud.com/document/product/267/37447): CVM DescribeInstances,
# with the example key pair the page gives in full.
EXAMPLE_ID, EXAMPLE_KEY = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE", "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE"
EXAMPLE_TIMESTAMP = 1551113065
EXAMPLE_PAYLOAD = b'{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
EXAMPLE_CANONICAL = (
    "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\n"
    "content-type;host\n35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
)
EXAMPLE_TO_SIGN = (
    "TC3-HMAC-SHA256\n1551113065\n2019-02-25/cvm/tc3_request\n"
    "5ffe6a04c0664d6b969fab9a13bdab201d63ee709638e2749d62a09ca18d7031"
)
EXAMPLE_SIGNATURE = "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"


def client(config: SmsConfig) -> TencentSms:
    sms = TencentSms.from_config(config)
    assert sms is not None
    return sms


def test_the_signature_reproduces_tencents_published_example():
    canonical = canonical_request("cvm.tencentcloudapi.com", EXAMPLE_PAYLOAD)
    assert canonical == EXAMPLE_CANONICAL
    assert string_to_sign(EXAMPLE_TIMESTAMP, "cvm", canonical) == EXAMPLE_TO_SIGN
    assert tc3_signature(EXAMPLE_KEY, "2019-02-25", "cvm", EXAMPLE_TO_SIGN) == EXAMPLE_SIGNATURE
    assert authorization(
        EXAMPLE_ID, EXAMPLE_KEY, "cvm", "cvm.tencentcloudapi.com", EXAMPLE_TIMESTAMP, EXAMPLE_PAYLOAD
    ) == (
        f"TC3-HMAC-SHA256 Credential={EXAMPLE_ID}/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, "
        f"Signature={EXAMPLE_SIGNATURE}"
    )
    # The fake's own implementation agrees, so it can judge the client's requests.
    headers = {"content-type": "application/json; charset=utf-8", "host": "cvm.tencentcloudapi.com"}
    found = tencent_signature(EXAMPLE_KEY, "1551113065", "cvm", "POST", headers, "content-type;host", EXAMPLE_PAYLOAD)
    assert found == EXAMPLE_SIGNATURE


def test_the_scope_date_is_the_utc_day_not_chinas():
    # 2019-02-26 00:44:25 in Beijing is still 2019-02-25 in UTC: the scope must say so.
    assert string_to_sign(EXAMPLE_TIMESTAMP, "sms", "x").split("\n")[2] == "2019-02-25/sms/tc3_request"


@pytest.mark.parametrize(
    ("contact", "e164"),
    [
        ("13800138000", "+8613800138000"),
        ("138-0013-8000", "+8613800138000"),
        ("+8613800138000", "+8613800138000"),
        ("8613800138000", "+8613800138000"),
        ("008613800138000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),
        ("+85291234567", "+85291234567"),
        ("0085291234567", "+85291234567"),
        ("075512345678", None),  # a landline cannot take a text
        ("010-12345678", None),
        ("+861012345678", None),
        ("12345", None),
    ],
)
def test_numbers_are_written_in_e164_and_landlines_are_not_texted(contact, e164):
    assert mobile_e164(contact) == e164


def test_a_notice_is_accepted_with_the_number_template_and_ticket_number():
    with TencentSmsServer() as server:
        serial = client(server.config()).send("138-0013-8000", ["AB12CD34"])
        [body] = server.accepted()
        [received] = server.received
    assert body == {
        "PhoneNumberSet": ["+8613800138000"],
        "SmsSdkAppId": SDK_APP_ID,
        "SignName": SIGN_NAME,
        "TemplateId": TEMPLATE_ID,
        "TemplateParamSet": ["AB12CD34"],
    }
    assert serial.startswith("2640:") and len(serial) == 33
    headers = received.headers
    assert headers["content-type"] == "application/json; charset=utf-8"
    assert headers["host"] == server.url.removeprefix("http://")
    assert (headers["x-tc-action"], headers["x-tc-version"], headers["x-tc-region"]) == (
        "SendSms",
        "2021-01-11",
        "ap-guangzhou",
    )
    assert abs(int(headers["x-tc-timestamp"]) - time.time()) < 60


def test_a_wrong_secret_key_is_refused_for_its_signature():
    with TencentSmsServer() as server:
        with pytest.raises(SmsFailed, match=r"AuthFailure\.SignatureFailure.*secret_key"):
            client(server.config(secret_key="not-the-key")).send("13800138000", ["AB12CD34"])
        with pytest.raises(SmsFailed, match=r"AuthFailure\.SecretIdNotFound"):
            client(server.config(secret_id="AKIDsomebodyElse")).send("13800138000", ["AB12CD34"])
        assert server.accepted() == []


def test_the_fake_checks_the_timestamp_and_what_was_signed():
    with TencentSmsServer() as server:
        sms = client(server.config())
        now = int(time.time())

        def post(headers: dict[str, str], body: bytes) -> httpx.Response:
            return httpx.post(server.url, content=body, headers=headers)

        headers, body = sms.request("13800138000", ["AB12CD34"], now - 600)  # signed ten minutes ago
        with pytest.raises(SmsFailed, match=r"AuthFailure\.SignatureExpire"):
            serial_no(post(headers, body))
        headers, body = sms.request("13800138000", ["AB12CD34"], now)
        with pytest.raises(SmsFailed, match=r"AuthFailure\.SignatureFailure"):  # the body was changed
            serial_no(post(headers, body.replace(b"+8613800138000", b"+8613900139000")))
        with pytest.raises(SmsFailed, match=r"AuthFailure\.SignatureFailure"):  # so was the timestamp
            serial_no(post({**headers, "X-TC-Timestamp": str(now - 1)}, body))
        with pytest.raises(SmsFailed, match="InvalidAction"):  # the action is checked, though not signed
            serial_no(post({**headers, "X-TC-Action": "SendSmsMarketing"}, body))
        assert serial_no(post(headers, body))  # the untouched request goes through
        assert server.errors() == [
            "AuthFailure.SignatureExpire",
            "AuthFailure.SignatureFailure",
            "AuthFailure.SignatureFailure",
            "InvalidAction",
            "",
        ]


def test_the_providers_refusals_name_their_code():
    with TencentSmsServer() as server:
        with pytest.raises(SmsFailed, match=r"FailedOperation\.TemplateIncorrectOrUnapproved"):
            client(server.config(template_id="7654321")).send("13800138000", ["AB12CD34"])
        server.phone_errors["+8613800138000"] = "LimitExceeded.PhoneNumberDailyLimit"
        with pytest.raises(SmsFailed, match=r"短信未发出：LimitExceeded\.PhoneNumberDailyLimit"):
            client(server.config()).send("13800138000", ["AB12CD34"])
        assert server.accepted() == []


def test_no_server_a_broken_answer_or_no_answer_fail_clearly():
    nobody = SmsConfig(
        provider="tencent",
        endpoint=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        secret_id="id",
        secret_key="key",
        sdk_app_id=SDK_APP_ID,
        sign_name=SIGN_NAME,
        template_id=TEMPLATE_ID,
    )
    with pytest.raises(SmsFailed, match="无法连接腾讯云短信.*ConnectError"):
        client(nobody).send("13800138000", ["AB12CD34"])
    with TencentSmsServer() as server:
        server.raw = (502, b"<html>502 Bad Gateway</html>")
        with pytest.raises(SmsFailed, match="HTTP 502"):
            client(server.config()).send("13800138000", ["AB12CD34"])
        server.raw = (200, b"<html>welcome</html>")
        with pytest.raises(SmsFailed, match="不是 API 3.0 的 JSON"):
            client(server.config()).send("13800138000", ["AB12CD34"])
        server.raw, server.stall = None, threading.Event()
        with pytest.raises(SmsFailed, match="没有应答"):
            client(server.config(timeout=0.2)).send("13800138000", ["AB12CD34"])


def test_the_sms_configuration_is_checked():
    assert TencentSms.from_config(SmsConfig()) is None  # no provider: no SMS
    with TencentSmsServer() as server:
        with pytest.raises(ConfigError, match="\"tencent\", not 'aliyun'"):
            TencentSms.from_config(server.config(provider="aliyun"))
        with pytest.raises(ConfigError, match="sms.secret_key, sms.template_id: required"):
            TencentSms.from_config(server.config(secret_key="", template_id=" "))
        with pytest.raises(ConfigError, match="must be https://host"):
            TencentSms.from_config(server.config(endpoint="http://sms.tencentcloudapi.com"))
        with pytest.raises(ConfigError, match="without a path"):
            TencentSms.from_config(server.config(endpoint="https://sms.tencentcloudapi.com/v3"))
        with pytest.raises(ConfigError, match="timeout must be above 0"):
            TencentSms.from_config(server.config(timeout=0.0))
        sms = client(server.config(provider=" Tencent ", endpoint="https://SMS.tencentcloudapi.com/"))
    assert sms.host == "sms.tencentcloudapi.com" and sms.endpoint == "https://sms.tencentcloudapi.com"
    assert SECRET_KEY not in repr(sms)  # the key stays out of logs
    with pytest.raises(SmsFailed, match="不是手机号码"):
        sms.request("075512345678", ["AB12CD34"], int(time.time()))


# -- through the desk -------------------------------------------------------------------------


def answered(desk: HandoffDesk, contact: str) -> Ticket:
    """A 留言 left with ``contact`` and answered in the console (the REST channel cannot push)."""
    draft = desk.tickets.start(f"c-{uuid.uuid4()}", "rest", "user_request", "no_agent", None)
    desk.tickets.set_contact(draft.id, contact)
    ticket = desk.tickets.submit(draft.id, "提现三天没到账")
    done, _ = asyncio.run(desk.answer_ticket(ticket.id, "li", "已为您加急处理，请留意到账。", "小李"))
    return done


def routes(desk: HandoffDesk, ticket: Ticket) -> list[tuple[str, str, str]]:
    return [(d.route, d.outcome, d.detail or "") for d in desk.tickets.deliveries_of([ticket.id])[ticket.id]]


def test_an_answer_to_a_mobile_is_notified_by_sms_and_the_ticket_stays_answered(tmp_path):
    with TencentSmsServer() as server:
        desk = HandoffDesk(load_settings(env={}).replace(data_dir=tmp_path, sms=server.config()))
        ticket = answered(desk, "13800138000")
        [body] = server.accepted()
    assert body["PhoneNumberSet"] == ["+8613800138000"] and body["TemplateParamSet"] == [ticket.ticket]
    (chat, chat_outcome, _), (route, outcome, detail) = routes(desk, ticket)
    assert (chat, chat_outcome, route, outcome) == (CHAT, STORED, SMS, NOTIFIED)
    assert "已发短信通知" in detail and "2640:" in detail and "不含回复内容" in detail
    # The customer has been told an answer waits, not shown it: the chat still has to show it.
    assert ticket.state == ANSWERED
    assert [t.id for t in desk.tickets.not_shown(ticket.conversation_id)] == [ticket.id]


def test_the_console_says_why_no_sms_went_out(tmp_path):
    base = load_settings(env={})
    desk = HandoffDesk(base.replace(data_dir=tmp_path / "none"))  # no [sms] provider
    assert routes(desk, answered(desk, "13800138000"))[-1] == (
        SMS,
        SKIPPED,
        "未配置短信服务（[sms]），请按电话号码联系用户",
    )
    with TencentSmsServer() as server:
        desk = HandoffDesk(base.replace(data_dir=tmp_path / "fake", sms=server.config()))
        assert routes(desk, answered(desk, "075512345678"))[-1][:2] == (SMS, SKIPPED)  # a landline
        server.phone_errors["+8613900139000"] = "LimitExceeded.PhoneNumberDailyLimit"
        ticket = answered(desk, "13900139000")
        assert server.accepted() == []
    route, outcome, detail = routes(desk, ticket)[-1]
    assert (route, outcome) == (SMS, FAILED) and "LimitExceeded.PhoneNumberDailyLimit" in detail
    assert ticket.state == ANSWERED

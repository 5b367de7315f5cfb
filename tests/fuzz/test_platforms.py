"""Fuzz every platform webhook with requests its platform would accept as
genuine: validly signed (and encrypted where the platform encrypts) around
junk bodies (``tests/fuzz/platforms.py``). Never a 5xx, every request answered
in time, and afterwards the bot still answers a normal question with both
servers alive (most platforms are answered in the background: a message that
took a server down is noticed there at the latest). A second test sends forged authentication headers and
query parameters holding any bytes: refused with a 4xx, never a 5xx."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import strategies as fz
from tests.fuzz.budget import fuzz_settings, run_fuzz
from tests.fuzz.conftest import FuzzBot, assert_still_serving
from tests.fuzz.platforms import PLATFORMS, Case, Platform
from tests.fuzz.target import Target, query

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("platform", PLATFORMS, ids=[p.name for p in PLATFORMS])
def test_signed_junk_never_gets_a_5xx(platform: Platform, fuzz_bot: FuzzBot, target: Target) -> None:
    statuses: Counter[int] = Counter()

    @fuzz_settings()
    @given(case=platform.cases(fuzz_bot.secrets, fuzz_bot.platform.url))
    def one(case: Case) -> None:
        answer = platform.send(target, fuzz_bot.secrets, case)
        statuses[answer.status] += 1
        assert answer.status < 500, f"HTTP {answer.status}: {answer.body[:300]!r}"

    for case in platform.examples:
        one = example(case=case)(one)
    run_fuzz(target, one, statuses)
    assert_still_serving(fuzz_bot)


header_values = st.one_of(
    fz.text,
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=30),
    st.sampled_from(["\xff", "\xb2", "²", "١٧٠٠٠٠٠٠٠٠", "1e3", "-1", "0", "9" * 40, " 1"]),
).map(fz.as_header)
query_values = st.one_of(fz.text, st.sampled_from(["²", "١٧٠٠٠٠٠٠٠٠", "1e3", "-1", "", "9" * 40]))


def _defaults(name: str) -> dict[str, str]:
    """Authentication that fails only on its signature: fresh timestamps, so every later check runs."""
    seconds, millis = str(int(time.time())), str(int(time.time() * 1000))
    return {
        "wechat": {
            "signature": "x",
            "msg_signature": "x",
            "timestamp": seconds,
            "nonce": "1",
            "encrypt_type": "aes",
            "echostr": "e",
        },
        "wecom": {"msg_signature": "x", "timestamp": seconds, "nonce": "1", "echostr": "e"},
        "dingtalk": {"timestamp": millis, "sign": "x"},
        "feishu": {"X-Lark-Request-Timestamp": seconds, "X-Lark-Request-Nonce": "n", "X-Lark-Signature": "x"},
        "telegram": {"X-Telegram-Bot-Api-Secret-Token": "x"},
        "slack": {"X-Slack-Request-Timestamp": seconds, "X-Slack-Signature": "v0=x"},
        "messenger": {"X-Hub-Signature-256": "sha256=x"},
    }[name]


def send_forged(target: Target, name: str, forged: dict[str, str], method: str) -> int:
    """One request to ``name``'s webhook whose authentication is ``forged`` over the defaults; the status."""
    path = f"/webhooks/{name}/webhook"
    auth = {**_defaults(name), **forged}
    if name in ("wechat", "wecom"):
        if method == "POST":
            auth.pop("echostr")
        body = b"" if method == "GET" else b"<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>"
        return target.request(method, f"{path}?{query(**auth)}", body, {"Content-Type": "text/xml"}).status
    body = b'{"encrypt": "AAAA"}' if name == "feishu" else b'{"update_id": 1, "entry": []}'
    return target.request("POST", path, body, {"Content-Type": "application/json", **auth}).status


# Each platform's signature (or secret) header as bytes that are not UTF-8 (ED A0 80: an encoded lone
# surrogate); for WeChat/WeCom the signature query parameter, where a superscript "digit" is the trap.
NOT_UTF8 = {
    "wechat": {"timestamp": "\u00b9"},
    "wecom": {"timestamp": "\u00b9"},
    "dingtalk": {"sign": "\xed\xa0\x80"},
    "feishu": {"X-Lark-Signature": "\xed\xa0\x80"},
    "telegram": {"X-Telegram-Bot-Api-Secret-Token": "\xed\xa0\x80"},
    "slack": {"X-Slack-Signature": "\xed\xa0\x80"},
    "messenger": {"X-Hub-Signature-256": "\xed\xa0\x80"},
}


@pytest.mark.parametrize("name", ["wechat", "wecom", "dingtalk", "feishu", "telegram", "slack", "messenger"])
def test_forged_authentication_of_any_bytes_is_a_4xx(name: str, fuzz_bot: FuzzBot, target: Target) -> None:
    statuses: Counter[int] = Counter()
    values = query_values if name in ("wechat", "wecom") else header_values
    forged = st.fixed_dictionaries({}, optional={k: values for k in _defaults(name)})

    @fuzz_settings(0.25)
    @given(forged=forged, method=st.sampled_from(["POST", "GET"]))
    @example(forged=NOT_UTF8[name], method="POST")
    @example(forged={"timestamp": "²" if name in ("wechat", "wecom") else fz.as_header("²")}, method="POST")
    def one(forged: dict[str, str], method: str) -> None:
        status = send_forged(target, name, forged, method)
        statuses[status] += 1
        assert 400 <= status < 500, f"HTTP {status} for {method} with forged {forged!r}"

    run_fuzz(target, one, statuses)
    assert_still_serving(fuzz_bot)

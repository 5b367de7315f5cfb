"""Fuzz ``POST /webhooks/rest/webhook``: whatever the body, the answer is not
a 5xx and comes in time, a 200 is Rasa's reply list, and afterwards the bot
still answers a normal question with both servers alive."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import strategies as fz
from tests.fuzz.budget import fuzz_settings, run_fuzz
from tests.fuzz.conftest import FuzzBot, assert_still_serving
from tests.fuzz.target import Target

pytestmark = pytest.mark.slow

REST = "/webhooks/rest/webhook"

messages = st.fixed_dictionaries({"sender": fz.identifiers, "message": fz.text}, optional={"metadata": fz.json_values})
bodies = fz.sometimes(
    fz.json_bodies(fz.sometimes(messages, fz.mutated({"sender": fz.plain_ids, "message": "你好"}), 3)),
    st.one_of(fz.raw_bodies, fz.json_bodies(fz.json_values)),
    5,
)


def _length(n: int) -> bytes:
    return fz.encode_json({"sender": f"fuzz-length-{n}", "message": "提" * n}, escaped=False)


def test_rest_webhook_answers_any_body_without_a_5xx(fuzz_bot: FuzzBot, target: Target) -> None:
    statuses: Counter[int] = Counter()

    @fuzz_settings()
    @given(body=bodies, content_type=fz.content_types)
    @example(body=b'{"sender": "a\\ud800", "message": "hi"}', content_type="application/json")
    @example(body=b'{"sender": "fuzz-surrogate-text", "message": "hi \\udfff"}', content_type="application/json")
    @example(body=b'{"sender": "fuzz-raw", "message": "\xed\xa0\x80"}', content_type="application/json")
    @example(body=_length(1), content_type="application/json")
    @example(body=_length(1999), content_type="application/json")
    @example(body=_length(2000), content_type="application/json")
    @example(body=_length(2001), content_type="application/json")
    def one(body: bytes, content_type: str) -> None:
        answer = target.request("POST", REST, body, {"Content-Type": content_type})
        statuses[answer.status] += 1
        assert answer.status < 500, f"HTTP {answer.status}: {answer.body[:300]!r}"
        if answer.status == 200:
            assert isinstance(answer.json(), list), answer.body[:300]

    run_fuzz(target, one, statuses)
    assert_still_serving(fuzz_bot)

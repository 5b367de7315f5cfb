"""Fuzz the agent console's sign-in, ``POST /console/api/login``: any name,
password, body, content type and browser/proxy headers. Never a 5xx and
always answered in time; a refusal is a 4xx — 429 included, the sign-in is
throttled, so a flood like this one is mostly turned away quickly — and
afterwards the bot still answers customers, with both servers alive."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.handoff.agents import AgentStore
from tests.fuzz import strategies as fz
from tests.fuzz.budget import fuzz_settings, run_fuzz
from tests.fuzz.conftest import FuzzBot, assert_still_serving
from tests.fuzz.target import Target

pytestmark = pytest.mark.slow

LOGIN = "/console/api/login"
AGENT, PASSWORD = "fuzz-agent", "fuzz-agent-password"

names = st.one_of(
    st.sampled_from([AGENT, AGENT + " ", AGENT.upper(), AGENT + "\u200b", "ｆｕｚｚ-agent", ""]),
    fz.identifiers,
    fz.json_values,
)
passwords = st.one_of(st.sampled_from([PASSWORD, PASSWORD + "\x00", "x" * 5000]), fz.text, fz.json_values)
bodies = fz.sometimes(
    fz.json_bodies(fz.variants({"name": names, "password": passwords})),
    st.one_of(fz.raw_bodies, fz.json_bodies(fz.json_values)),
    5,
)


def test_console_sign_in_answers_anything_without_a_5xx(fuzz_bot: FuzzBot, target: Target) -> None:
    AgentStore(fuzz_bot.settings.database_url).add(AGENT, PASSWORD)
    own = f"http://{target.host}:{target.port}"
    extra = st.fixed_dictionaries(
        {},
        optional={
            "Origin": st.one_of(st.just(own), fz.header_texts),
            "Referer": st.one_of(st.just(own + "/console/"), fz.header_texts),
            "X-Faqbot-Console": st.one_of(st.just("1"), fz.header_texts),
            "Cookie": st.one_of(
                st.builds(lambda v: f"faqbot_device={v}; faqbot_console={v}", fz.header_texts), fz.header_texts
            ),
            **{name: fz.header_texts for name in ("X-Forwarded-For", "Forwarded", "Authorization", "Sec-Fetch-Site")},
        },
    )
    statuses: Counter[int] = Counter()

    @fuzz_settings()
    @given(body=bodies, content_type=fz.sometimes(st.just("application/json"), fz.content_types, 3), headers=extra)
    @example(body=b'{"name": "a\\ud800", "password": "x"}', content_type="application/json", headers={})
    @example(body=b'{"name": "fuzz-agent", "password": "\\udfff"}', content_type="application/json", headers={})
    def one(body: bytes, content_type: str, headers: dict[str, str]) -> None:
        answer = target.request("POST", LOGIN, body, {"Content-Type": content_type, **headers})
        statuses[answer.status] += 1
        assert answer.status < 500, f"HTTP {answer.status}: {answer.body[:300]!r}"

    run_fuzz(target, one, statuses)
    assert_still_serving(fuzz_bot)

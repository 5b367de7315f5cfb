"""Long answers split under a platform's limit; numbered options map back to payloads."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.replies import Choices, numbered, split_text, utf8_len


def test_short_text_is_one_piece():
    assert split_text("  提现手续费以页面为准。 ", 100) == ["提现手续费以页面为准。"]


def test_cuts_at_paragraphs_then_sentences():
    text = "第一段说明。" * 20 + "\n\n" + "第二段。" * 10
    pieces = split_text(text, 150)
    assert pieces[0] == ("第一段说明。" * 20)
    assert all(len(p) <= 150 for p in pieces)
    assert "".join(pieces) == text.replace("\n\n", "")


def test_bytes_limit_never_cuts_a_character():
    text = "提现" * 3000
    pieces = split_text(text, 2048, utf8_len)
    assert all(utf8_len(p) <= 2048 for p in pieces)
    assert "".join(pieces) == text


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("提现手续费。，！\n abc😀")), min_size=0, max_size=600),
    st.integers(min_value=8, max_value=120),
)
def test_split_keeps_every_visible_character_and_the_limit(text: str, limit: int):
    pieces = split_text(text, limit, utf8_len)
    assert all(0 < utf8_len(p) <= limit for p in pieces)
    squeeze = lambda s: "".join(s.split())  # noqa: E731  whitespace at cuts may go
    assert squeeze("".join(pieces)) == squeeze(text)


def test_numbered_options_and_choices():
    buttons = [
        {"title": "提现手续费是多少？", "payload": '/choose_faq{"faq_id": "withdraw-fee"}'},
        {"title": "转人工", "payload": "/request_human"},
    ]
    text = numbered("您是想问：", buttons)
    assert text.splitlines() == ["您是想问：", "1. 提现手续费是多少？", "2. 转人工", "（回复数字即可选择）"]

    async def scenario() -> list[str]:
        choices = Choices()
        await choices.offer("u1", buttons)
        return [
            await choices.resolve("u2", "1"),  # another user's options do not apply
            await choices.resolve("u1", "3"),  # out of range: plain text
            await choices.resolve("u1", "第２个"),  # full-width digit, 第…个
            await choices.resolve("u1", "1"),  # used up once chosen
        ]

    assert asyncio.run(scenario()) == ["1", "3", "/request_human", "1"]


def test_choices_expire():
    async def scenario() -> str:
        choices = Choices(ttl=0)
        await choices.offer("u1", [{"title": "a", "payload": "/a"}])
        return await choices.resolve("u1", "1")

    assert asyncio.run(scenario()) == "1"

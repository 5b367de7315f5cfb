"""A long message is searched by its head and tail (indexer/longtext.py): every
ordinary question is searched whole, and the longest accepted message still
finds a question it opens or closes with, and falls back on noise."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from connectors.guard import MAX_MESSAGE_CHARS
from faqbot.normalize import normalize
from indexer.decide import ANSWER, CLARIFY, FALLBACK
from indexer.longtext import QUERY_MAX_CHARS, search_text
from indexer.service import ask

PARAPHRASES = sorted((Path(__file__).parent.parent / "data" / "paraphrases").glob("*.jsonl"))
# A customer's narrative around the question; no FAQ topic of its own.
FILLER = (
    "我是你们平台的老用户了，用了好几年一直没出过问题。昨天晚上我试了好几次，一直弄到凌晨两点。"
    "说实话我现在非常着急，家里还有事等着我处理。我已经截图保存了，需要的话可以发给你们。"
    "今天早上又看了一遍，情况还是一样。真的希望你们能认真对待用户的问题。"
)


def complaint(question: str, at_end: bool, length: int = MAX_MESSAGE_CHARS) -> str:
    """``question`` opening or closing a complaint of exactly ``length`` characters."""
    filler = (FILLER * (length // len(FILLER) + 1))[: length - len(question)]
    return filler + question if at_end else question + filler


def test_ordinary_questions_are_searched_whole():
    rows = [
        json.loads(line)
        for path in PARAPHRASES
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    for text in [row["query"] for row in rows] + [
        "你好，我想问一下，我昨天提现了五百块钱到银行卡，为什么到现在还没有到账？"
    ]:
        assert search_text(normalize(text)) == normalize(text)


def test_a_long_text_keeps_its_head_and_tail_apart():
    text = "".join(chr(0x4E00 + i) for i in range(1000))
    searched = search_text(text)
    head, tail = searched.split(" ")
    assert text.startswith(head) and text.endswith(tail)
    assert len(head) + len(tail) == QUERY_MAX_CHARS
    assert search_text("啊" * (QUERY_MAX_CHARS + 1)).replace(" ", "") == "啊" * QUERY_MAX_CHARS


@pytest.mark.parametrize("at_end", [False, True], ids=["question first", "question last"])
def test_the_longest_message_still_finds_its_question(sample_searcher, at_end):
    message = complaint("提币要收多少手续费", at_end)
    assert len(message) == MAX_MESSAGE_CHARS
    result, decision = ask(sample_searcher, message)
    assert result.normalised == normalize(message)  # what is logged is the whole message
    assert len(result.searched) <= QUERY_MAX_CHARS + 1
    assert decision.action in (ANSWER, CLARIFY)
    assert "ex-withdraw-fee" in [c.entry.id for c in decision.candidates]


@pytest.mark.parametrize("kind", ["random CJK", "one character", "digits", "latin"])
def test_the_longest_noise_falls_back(sample_searcher, kind):
    rng = random.Random(kind)
    message = {
        "random CJK": lambda: "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(MAX_MESSAGE_CHARS)),
        "one character": lambda: "测" * MAX_MESSAGE_CHARS,
        "digits": lambda: "".join(rng.choice("0123456789") for _ in range(MAX_MESSAGE_CHARS)),
        "latin": lambda: "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(MAX_MESSAGE_CHARS)),
    }[kind]()
    _, decision = ask(sample_searcher, message)
    assert decision.action == FALLBACK


def test_a_long_message_after_an_answer_is_not_taken_as_a_follow_up(sample_searcher):
    from bot.dialogue.followup import resolve

    message = complaint("提币要收多少手续费", at_end=True)
    _, decision, used_context = resolve(sample_searcher, message, "ex-withdraw-arrival-time", 12)
    assert not used_context
    assert "ex-withdraw-fee" in [c.entry.id for c in decision.candidates]


def test_a_long_text_is_normalised_like_a_short_one_without_filling_the_cache():
    from faqbot.normalize import CACHE_MAX_CHARS, _normalize_cached

    piece = "帳戶被凍結了！ "
    long_text = piece * (CACHE_MAX_CHARS // len(piece) + 1)
    expected = " ".join([normalize(piece)] * long_text.count("！"))
    cached = _normalize_cached.cache_info().currsize
    assert normalize(long_text) == expected
    assert _normalize_cached.cache_info().currsize == cached

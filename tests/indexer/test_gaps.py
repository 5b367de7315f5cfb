"""Grouping the questions the bot did not answer well: one meaning, one group, on a fixed
set of questions with known groups (purity asserted, not the exact output), with the real
embedder and the sample KB as the background."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from indexer.gaps import Asked, background_of, find_gaps, read_questions
from indexer.kb import load_kb

pytestmark = pytest.mark.slow

GROUPS = json.loads((Path(__file__).parents[1] / "data" / "gap_questions.json").read_text(encoding="utf-8"))["groups"]
SAMPLE_KB = Path(__file__).parents[2] / "kb_content"


@pytest.fixture(scope="module")
def background(embedder):
    return background_of(embedder, [q for e in load_kb(SAMPLE_KB).entries for q in e.questions])


def test_each_group_is_one_meaning_and_most_of_each_meaning_is_one_group(embedder, background):
    label = {q: name for name, questions in GROUPS.items() for q in questions}
    asked = [Asked(q, f"{name}-{i}") for name, qs in GROUPS.items() for i, q in enumerate(qs)]
    gaps = find_gaps(asked, embedder, background=background)
    for gap in gaps:  # purity: no group mixes two meanings
        assert len({label[q] for q in gap.questions}) == 1, gap.questions
    for name in GROUPS:  # completeness: the biggest group of a meaning holds most of it
        biggest = max(sum(label[q] == name for q in gap.questions) for gap in gaps)
        assert biggest >= 3, (name, [g.questions for g in gaps])
    assert len(gaps) <= 2 * len(GROUPS)


def test_customers_are_counted_once_wordings_merge_and_numbers_are_masked(embedder, background):
    asked = [
        Asked("我的手机13812345678收不到验证码", "a"),
        Asked("我的手机13812345678收不到验证码！", "a"),  # the same customer again, with punctuation
        Asked("我的手機13900001111收不到驗證碼", "b"),  # 繁體, another number: one wording once masked
        Asked("NFT能交易吗", "c"),
        Asked("NFT能交易吗", None),  # someone unknown
    ]
    found = {g.typical: g for g in find_gaps(asked, embedder, background=background)}
    sms = next(g for t, g in found.items() if "验证码" in t or "驗證碼" in t)
    assert sms.count == 2 and sms.asks == 3
    assert all("13812345678" not in q and "13900001111" not in q for q in sms.questions)
    assert "138****5678" in " ".join(sms.questions)
    nft = found["NFT能交易吗"]
    assert (nft.count, nft.asks) == (2, 2)
    assert [g.count for g in found.values()] == sorted((g.count for g in found.values()), reverse=True)


def test_the_nearest_faq_comes_from_what_the_caller_searches(embedder, background):
    gaps = find_gaps([Asked("能开发票吗", "x")], embedder, lambda q: ("ec-invoice", 0.612345), background=background)
    assert gaps[0].to_json()["nearest_faq"] == "ec-invoice" and gaps[0].nearest_score == 0.6123


def test_questions_from_a_file():
    lines = ["能开发票吗", "", '{"text": "发票怎么开", "customer": 7}', "  NFT能交易吗  "]
    assert read_questions(lines) == [Asked("能开发票吗"), Asked("发票怎么开", "7"), Asked("NFT能交易吗")]
    with pytest.raises(ValueError, match="line 2: not valid JSON"):
        read_questions(["好的", "{oops"])
    with pytest.raises(ValueError, match="line 1: a JSON line needs a string 'text'"):
        read_questions(['{"question": "x"}'])

"""The shared-content rule (indexer/overlap.py) on its own and through a real tiny index:
an unrelated question gets no buttons of unrelated entries, a related one keeps them."""

import dataclasses

import pytest

from indexer.decide import ANSWER, CLARIFY, FALLBACK, decide
from indexer.overlap import BM25_FLOOR, content_units, shares_content
from indexer.service import ask, build_and_publish, open_current
from indexer.tokenize import Tokenizer


@pytest.fixture(scope="module")
def tokenizer():
    return Tokenizer(["提现", "手续费", "pos机"])


def units(tokenizer, text):
    return content_units(text, tokenizer.words(text))


def test_question_and_time_words_are_not_content(tokenizer):
    assert units(tokenizer, "今天多少怎么办") == frozenset()
    assert "价格" in units(tokenizer, "今天比特币的价格是多少")
    assert units(tokenizer, "今天比特币的价格是多少").isdisjoint(units(tokenizer, "今天刷卡的钱到账了吗"))


def test_bigrams_survive_segmentation(tokenizer):
    # 注销账户 / 注销账号 are different jieba words; the bigram 注销 is shared.
    assert not units(tokenizer, "我想注销账户").isdisjoint(units(tokenizer, "怎么注销账号"))
    assert "pos机" in units(tokenizer, "pos机怎么激活")


def test_enough_lexical_coverage_counts_as_shared():
    assert shares_content(frozenset({"价格"}), frozenset({"提现"}), BM25_FLOOR)
    assert not shares_content(frozenset({"价格"}), frozenset({"提现"}), BM25_FLOOR - 0.01)


@pytest.fixture
def tiny_searcher(tiny_kb, embedder):
    build_and_publish(tiny_kb, embedder=embedder)
    return open_current(tiny_kb, embedder)


def lenient(searcher):
    """Thresholds that clarify almost anything: what is left out is left out by the rule."""
    return dataclasses.replace(searcher.decision, answer_threshold=0.999, clarify_threshold=0.0, clarify_window=1.0)


def test_unrelated_question_falls_back_instead_of_clarifying(tiny_searcher):
    result = tiny_searcher.search("今天比特币的价格是多少", k=5)
    assert result.candidates and not any(c.shares_content for c in result.candidates)
    config = lenient(tiny_searcher)
    assert decide(result.candidates, dataclasses.replace(config, require_shared_content=False)).action == CLARIFY
    decision = decide(result.candidates, config)
    assert decision.action == FALLBACK
    assert decision.candidates  # still logged as the best guesses


def test_related_question_still_clarifies_with_the_right_entries(tiny_searcher):
    result = tiny_searcher.search("提现冻结", k=5)
    decision = decide(result.candidates, lenient(tiny_searcher))
    assert decision.action == CLARIFY
    assert {c.entry.id for c in decision.candidates} == {"withdraw-fee", "account-frozen"}
    _, decision = ask(tiny_searcher, "提币要收多少手续费？")
    assert decision.action == ANSWER and decision.candidates[0].entry.id == "withdraw-fee"


def test_answer_text_counts_as_content(tiny_searcher):
    # "身份证" is in pos-apply's answer only, not in its questions.
    result = tiny_searcher.search("办这个要带身份证吗", k=5)
    pos = next(c for c in result.candidates if c.entry.id == "pos-apply")
    assert pos.shares_content

"""The console's view of the published index: suggested answers and the editors' hit test,
on a tiny real index."""

from __future__ import annotations

import pytest

from bot.console.kb_lookup import KbLookup
from indexer.manifest import IndexMissing
from indexer.service import build_and_publish

pytestmark = pytest.mark.slow


def test_the_hit_test_shows_every_score_the_decision_and_why(tiny_kb, embedder):
    lookup = KbLookup(tiny_kb)
    with pytest.raises(IndexMissing):
        lookup.hit_test("提现手续费是多少")
    version = build_and_publish(tiny_kb, embedder=embedder).version
    found = lookup.hit_test("提现手续费是多少")
    assert found["index_version"] == version and found["normalised"]
    top = found["candidates"][0]
    assert top["rank"] == 1 and top["faq_id"] == "withdraw-fee" and top["chosen"]
    assert top["fused"] >= found["candidates"][-1]["fused"] and 0 <= top["dense"] <= 1 and top["bm25"] > 0
    assert "手续费" in "".join(top["shared_terms"]) and top["matched_question"]
    decision = found["decision"]
    assert decision["action"] == "answer" and decision["chosen"] == ["withdraw-fee"]
    assert decision["confidence"] >= decision["answer_threshold"]
    assert top["no_shared_content"] is False
    assert top["coverage"] == pytest.approx(1.0) and decision["novelty"] == 0.0
    assert decision["model"] == "configured"  # three entries: too few questions to fit a model on
    off_topic = lookup.hit_test("今天天气怎么样")
    assert off_topic["decision"]["action"] in ("clarify", "fallback")
    # Editors see why an entry is never offered for a question it shares nothing with.
    unrelated = lookup.hit_test("今天比特币的价格是多少")
    assert unrelated["decision"]["action"] == "fallback"
    assert unrelated["candidates"] and all(c["no_shared_content"] for c in unrelated["candidates"])
    assert unrelated["decision"]["novelty"] > 0.5 and unrelated["candidates"][0]["coverage"] < 0.5
    assert [s["faq_id"] for s in lookup.suggest("提现手续费是多少")][0] == "withdraw-fee"


def test_the_hit_test_and_the_reply_check_use_the_served_sensitive_words(tiny_kb, embedder):
    from indexer.validate import SENSITIVE_FILE
    from tests.conftest import write_kb

    write_kb(tiny_kb.kb_dir, SENSITIVE_FILE, "[赌博] 转人工\n博彩\n[竞品] 只记录\n某某交易所\n")
    lookup = KbLookup(tiny_kb)
    assert lookup.sensitive("博彩") == []  # no index yet: nothing to check with
    build_and_publish(tiny_kb, embedder=embedder)
    found = lookup.hit_test("博*彩提现手续费")
    assert found["sensitive_action"] == "handoff"
    assert [(h["word"], h["category"], h["found"]) for h in found["sensitive"]] == [("博彩", "赌博", "博*彩")]
    plain = lookup.hit_test("提现手续费")
    assert plain["sensitive"] == [] and plain["sensitive_action"] is None
    assert [h.word for h in lookup.sensitive("某某 交易所")] == ["某某交易所"]

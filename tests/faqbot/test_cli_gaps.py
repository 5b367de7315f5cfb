"""`faqbot kb gaps`: the questions the bot did not answer well, grouped, from the bot's own
records and from a file, in a subprocess (no index published: no nearest FAQ)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.handoff.records import Records
from tests.faqbot.test_cli import assert_clean_error, run

pytestmark = pytest.mark.slow

GROUPS = json.loads((Path(__file__).parents[1] / "data" / "gap_questions.json").read_text(encoding="utf-8"))["groups"]


def test_from_the_bots_records_grouped_counted_and_masked(tiny_kb):
    settings = tiny_kb
    records = Records(settings.database_url)
    for name, questions in GROUPS.items():
        for i, question in enumerate(questions):
            records.log_unanswered(f"{name}-{i}", "rest", question, 0.1, [])
    records.log_unanswered("p1", "rest", "我的手机13812345678收不到验证码", 0.1, [])
    records.log_outcome("p1", "rest", "fallback", question="我的手机13812345678收不到验证码")  # the same miss
    records.log_feedback("p2", "rest", "faq-x", False, "NFT能交易吗")
    records.engine.dispose()
    proc = run(settings, "kb", "gaps", "--json")
    assert proc.returncode == 0, proc.stderr
    gaps = json.loads(proc.stdout)["gaps"]
    assert sum(g["asks"] for g in gaps) == 32 and all(g["nearest_faq"] is None for g in gaps)
    nft = next(g for g in gaps if "NFT能交易吗" in g["questions"])
    assert nft["count"] >= 4 and "not_helpful" in nft["sources"]
    assert "13812345678" not in proc.stdout and "138****5678" in proc.stdout
    text = run(settings, "kb", "gaps")
    assert text.returncode == 0 and "组问题" in text.stdout and "没有已发布的索引" in text.stdout


def test_from_a_file_and_its_errors(settings, tmp_path):
    questions = tmp_path / "q.txt"
    questions.write_text("能开发票吗\n发票怎么申请\n", encoding="utf-8")
    proc = run(settings, "kb", "gaps", "--from", str(questions), "--json")
    assert proc.returncode == 0, proc.stderr
    assert sum(g["asks"] for g in json.loads(proc.stdout)["gaps"]) == 2
    questions.write_text('好的\n{"text": 1}\n', encoding="utf-8")
    assert_clean_error(run(settings, "kb", "gaps", "--from", str(questions)), "line 2")
    assert_clean_error(run(settings, "kb", "gaps", "--from", str(tmp_path / "none.txt")), "none.txt")
    empty = run(settings, "kb", "gaps")
    assert empty.returncode == 0 and "没有需要补充的问题" in empty.stdout


def test_kb_health_lists_every_entry_and_the_ones_to_review(tiny_kb):
    records = Records(tiny_kb.database_url)
    records.log_outcome("a", "rest", "answer", "withdraw-fee")
    records.log_feedback("a", "rest", "withdraw-fee", False, "手续费")
    records.engine.dispose()
    every = json.loads(run(tiny_kb, "kb", "health", "--json").stdout)["entries"]
    assert every[0]["faq_id"] == "withdraw-fee" and every[0]["answers"] == 1 and every[0]["question"]
    assert {e["faq_id"] for e in every} >= {"withdraw-fee", "account-frozen", "pos-apply"}  # never answered too
    review = run(tiny_kb, "kb", "health", "--review")
    assert review.returncode == 0 and "withdraw-fee" in review.stdout and "account-frozen" not in review.stdout
    assert_clean_error(run(tiny_kb, "kb", "health", "--days", "0"), "at least 1")


def test_kb_related_suggests_what_customers_asked_next(tiny_kb):
    records = Records(tiny_kb.database_url)
    assert "没有可以建议的相关问题" in run(tiny_kb, "kb", "related").stdout
    for conversation in ("a", "b"):
        records.log_outcome(conversation, "rest", "answer", "withdraw-fee")
        records.log_outcome(conversation, "rest", "answer", "account-frozen")
    records.log_outcome("c", "rest", "answer", "withdraw-fee")
    records.log_outcome("c", "rest", "answer", "pos-apply")
    records.engine.dispose()
    found = json.loads(run(tiny_kb, "kb", "related", "--json").stdout)["suggestions"]
    assert found == [
        {
            "faq_id": "withdraw-fee",
            "next_id": "account-frozen",
            "count": 2,
            "question": "提现手续费是多少？",
            "next_question": "账户被冻结了怎么办？",
        },
        {
            "faq_id": "withdraw-fee",
            "next_id": "pos-apply",
            "count": 1,
            "question": "提现手续费是多少？",
            "next_question": "个人可以申请POS机吗？",
        },
    ]
    # Once the editors relate them, the pair is no longer suggested.
    path = tiny_kb.kb_dir / "tiny.yml"
    tags = "    tags: [提现, 手续费]\n"
    text = path.read_text(encoding="utf-8").replace(tags, tags + "    related: [account-frozen]\n")
    path.write_text(text, encoding="utf-8")
    human = run(tiny_kb, "kb", "related", "--days", "7")
    assert human.returncode == 0 and "withdraw-fee → pos-apply" in human.stdout and "account-frozen" not in human.stdout
    assert_clean_error(run(tiny_kb, "kb", "related", "--days", "0"), "at least 1")

"""`faqbot kb regress` and `faqbot kb recalibrate`: the real command on a tiny real index."""

from __future__ import annotations

import json

import pytest

from bot.studio.regression_set import RegressionSet
from indexer.kb import load_kb
from tests.faqbot.test_cli import assert_clean_error, run

pytestmark = pytest.mark.slow

SET = (
    '{"question": "提现手续费是多少", "faq_id": "withdraw-fee"}\n'
    '{"question": "提现要交钱吗", "faq_id": "withdraw-fee"}\n'
    '{"question": "账户被冻结了怎么办", "faq_id": "account-frozen"}\n'
)


def test_regress_the_published_index_then_a_candidate_that_loses_answers(tiny_kb, tmp_path):
    cases = tmp_path / "set.jsonl"
    cases.write_text(SET, encoding="utf-8")
    assert run(tiny_kb, "index", "build").returncode == 0
    plain = run(tiny_kb, "kb", "regress", "--set", str(cases))
    assert plain.returncode == 0, plain.stderr
    assert "答对 3/3" in plain.stdout and "阈值   准确率  覆盖率" in plain.stdout and "0.95" in plain.stdout
    data = json.loads(run(tiny_kb, "kb", "regress", "--set", str(cases), "--json").stdout)
    assert data["right_after"] == 3 and len(data["curve"]) == 14 and data["curve"][0]["coverage"] == 1.0
    # The fee entry turned off: the candidate loses two cases, and nothing is published.
    kb_file = tiny_kb.kb_dir / "tiny.yml"
    text = kb_file.read_text(encoding="utf-8")
    kb_file.write_text(text.replace("    handoff: never\n    enabled: true", "    enabled: false", 1), encoding="utf-8")
    version = json.loads(run(tiny_kb, "index", "status").stdout)["current"]
    candidate = run(tiny_kb, "kb", "regress", "--set", str(cases), "--candidate")
    assert candidate.returncode == 1
    assert "当前知识库（未发布）答对 1/3" in candidate.stdout and "不再答对 2 条" in candidate.stdout
    assert "提现要交钱吗 → 应答 withdraw-fee" in candidate.stdout and "发布前请确认" in candidate.stderr
    assert json.loads(run(tiny_kb, "index", "status").stdout)["current"] == version


def test_regress_reads_the_set_from_the_database_and_recalibrates(tiny_kb, tmp_path):
    empty = run(tiny_kb, "kb", "regress")
    assert empty.returncode == 0 and "回归测试集是空的" in empty.stdout
    assert run(tiny_kb, "index", "build").returncode == 0
    store = RegressionSet(tiny_kb.database_url)
    assert store.import_jsonl(SET) == (3, 0)
    assert "答对 3/3" in run(tiny_kb, "kb", "regress").stdout
    looked = run(tiny_kb, "kb", "recalibrate", "--json")
    assert looked.returncode == 0, looked.stderr
    chosen = json.loads(looked.stdout)
    assert chosen["reached"] and chosen["answer_threshold"]["after"] == 0.3  # every case is right
    assert chosen["clarify_threshold"]["after"] == chosen["clarify_threshold"]["before"]
    assert not (tiny_kb.kb_dir / "decision.yml").exists()
    wrote = run(tiny_kb, "kb", "recalibrate", "--target", "0.9", "--write")
    assert wrote.returncode == 0 and "校准后：直接回答阈值 0.3" in wrote.stdout and "已写入" in wrote.stderr
    assert load_kb(tiny_kb.kb_dir).decision["answer_threshold"] == 0.3
    assert run(tiny_kb, "index", "build").returncode == 0
    manifest = json.loads(run(tiny_kb, "index", "status").stdout)["manifest"]
    assert manifest["decision"]["answer_threshold"] == 0.3
    assert_clean_error(run(tiny_kb, "kb", "regress", "--set", str(tmp_path / "nope.jsonl")), "file not found")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "x"}\n', encoding="utf-8")
    assert_clean_error(run(tiny_kb, "kb", "regress", "--set", str(bad)), "第 1 行：需要条目 id")
    assert run(tiny_kb, "kb", "recalibrate", "--target", "2").returncode == 2

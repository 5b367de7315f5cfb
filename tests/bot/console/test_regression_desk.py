"""What the studio's regression routes do (``RegressionDesk``), on a tiny real index and SQLite:
adding only cases whose FAQ is served, a run with the curve, recalibrating and publishing."""

from __future__ import annotations

import pytest

from bot.console.kb_lookup import KbLookup
from bot.console.regression import RegressionDesk
from bot.studio.publishing import rollback
from bot.studio.regression_set import RegressionSetError
from indexer.kb import load_kb
from indexer.manifest import IndexMissing
from indexer.service import build_and_publish, store_for
from tests.polling import wait_until

pytestmark = pytest.mark.slow


def test_cases_run_and_recalibration_publish_new_thresholds(tiny_kb, embedder):
    work = RegressionDesk(tiny_kb, KbLookup(tiny_kb))
    with pytest.raises(IndexMissing):
        work.add({"question": "提现手续费是多少", "faq_id": "withdraw-fee"}, "zhou")
    first = build_and_publish(tiny_kb, embedder=embedder).version
    case, new = work.add({"question": "提现手续费是多少", "faq_id": "withdraw-fee", "source": "hit_test"}, "zhou")
    assert new and case["source"] == "hit_test" and case["added_by"] == "zhou"
    assert work.add({"question": "提现手续费是多少？", "faq_id": "withdraw-fee"}, "li") == (case, False)
    work.add({"question": "提现要交钱吗", "faq_id": "withdraw-fee"}, "zhou")
    with pytest.raises(RegressionSetError, match="已发布的知识库里没有条目 no-such"):
        work.add({"question": "提现手续费是多少", "faq_id": "no-such"}, "zhou")
    with pytest.raises(RegressionSetError, match="来源（source）只能是"):
        work.add({"question": "x", "faq_id": "pos-apply", "source": "web"}, "zhou")
    assert len(work.cases()["cases"]) == 2
    ran = work.run()
    assert ran["index_version"] == first and ran["right_after"] == 2 and ran["total"] == 2
    assert len(ran["curve"]) == 14 and ran["answer_threshold"] == tiny_kb.decision.answer_threshold
    looked = work.recalibrate(0.9, write=False)
    assert looked["published"] is None and looked["answer_threshold"]["after"] == 0.3
    assert not (tiny_kb.kb_dir / "decision.yml").exists()
    wrote = work.recalibrate(0.9, write=True, by="zhou")
    assert wrote["published"] and wrote["published"] != first
    # Recorded as a KB version like any publish: in 发布历史 with who and the numbers, and undoable.
    assert wrote["version"]["by"] == "zhou" and wrote["version"]["index_version"] == wrote["published"]
    assert "重新校准阈值" in wrote["version"]["note"] and "直接回答" in wrote["version"]["note"]
    [recorded, baseline] = work.changes.versions()
    assert recorded.id == wrote["version"]["id"] and "decision.yml" not in work.changes.version_files(baseline.id)
    assert store_for(tiny_kb).current_version() == wrote["published"]
    assert load_kb(tiny_kb.kb_dir).decision["answer_threshold"] == 0.3
    # The console follows the publish (the live searcher polls the current version).
    wait_until(lambda: work.kb.searcher().decision.answer_threshold == 0.3, 10, "the new thresholds served")
    assert work.recalibrate(0.9, write=True)["published"] is None  # nothing changed: nothing published
    undone = rollback(tiny_kb, work.changes, baseline.id, "zhou")
    assert not (tiny_kb.kb_dir / "decision.yml").exists() and undone.index_version != wrote["published"]
    assert work.delete(case["id"]) and not work.delete(case["id"])

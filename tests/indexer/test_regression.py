"""The regression set against tiny real indexes: what a KB change gains and loses, the
precision/coverage curve of the answer threshold, recalibration, and thresholds that
travel with the index version (decision.yml in the manifest, back on rollback)."""

from __future__ import annotations

import pytest

from faqbot.config import DecisionConfig
from indexer.regression import (
    THRESHOLDS,
    Case,
    CaseResult,
    compare,
    curve,
    gate,
    point,
    recalibrate,
    run_cases,
)
from indexer.service import ask, build_and_publish, candidate_index, open_serving, store_for
from indexer.validate import write_thresholds

CASES = [
    Case("提现手续费是多少", "withdraw-fee"),
    Case("取款要收多少费用", "withdraw-fee"),
    Case("账户被冻结了怎么办", "account-frozen"),
    Case("个人可以申请POS机吗", "pos-apply"),
]


def result(question, expected, answered, confidence, top=None):
    return CaseResult(
        question,
        expected,
        "answer" if answered else "fallback",
        answered,
        False,
        confidence,
        top or answered or "other",
    )


def test_compare_lists_gained_lost_and_changed():
    before = [
        result("a", "x", "x", 0.9),
        result("b", "y", None, 0.4, top="y"),
        result("c", "z", "z", 0.9),
        result("d", "w", "v", 0.9),
    ]
    after = [
        result("a", "x", "x", 0.9),
        result("b", "y", "y", 0.8),
        result("c", "z", "q", 0.8),
        result("d", "w", "u", 0.9),
        result("e", "n", "n", 0.9),  # new in the set and right: gained
    ]
    report = compare(before, after)
    assert (report.total, report.right_before, report.right_after) == (5, 2, 3)
    assert [c.question for c in report.gained] == ["b", "e"]
    assert [c.question for c in report.lost] == ["c"] and report.needs_confirmation
    assert [c.question for c in report.changed] == ["c", "d"]
    assert report.to_json()["lost"][0]["before"]["answered"] == "z"
    first = compare(None, after)
    assert first.right_before is None and not first.gained and not first.needs_confirmation


def test_curve_and_recalibration_from_scores_alone():
    scores = [(0.95, True), (0.85, True), (0.7, False), (0.6, True), (0.4, False)]
    points = curve(scores)
    assert [p.threshold for p in points] == list(THRESHOLDS) and THRESHOLDS[0] == 0.3 and THRESHOLDS[-1] == 0.95
    at = {p.threshold: p for p in points}
    assert (at[0.3].answered, at[0.3].right, at[0.3].coverage) == (5, 3, 1.0)
    assert at[0.65].precision == pytest.approx(2 / 3) and at[0.75].precision == 1.0 and at[0.75].coverage == 0.4
    assert all(a.coverage >= b.coverage for a, b in zip(points, points[1:], strict=False))
    current = DecisionConfig(answer_threshold=0.5, clarify_threshold=0.169)
    chosen = recalibrate(scores, current, target=0.9)
    assert chosen.reached and chosen.changed
    assert (chosen.answer_after, chosen.clarify_after) == (0.75, 0.169)
    assert chosen.before.precision == 0.75 and chosen.after.precision == 1.0
    # A lower target answers more; the clarify threshold stays below the answer threshold.
    lower = recalibrate(scores, DecisionConfig(answer_threshold=0.8, clarify_threshold=0.5), target=0.6)
    assert (lower.answer_after, lower.clarify_after) == (0.3, 0.25)
    # Unreachable: nothing changes.
    never = recalibrate([(0.9, False)], current, target=0.9)
    assert not never.reached and not never.changed
    with pytest.raises(ValueError):
        recalibrate(scores, current, target=0)
    assert point([], 0.5).precision is None and point([], 0.5).coverage == 0.0


@pytest.mark.slow
def test_a_kb_change_that_loses_an_answer_is_reported_before_publishing(tiny_kb, embedder):
    published = build_and_publish(tiny_kb, embedder=embedder).version
    searcher, _ = open_serving(tiny_kb, embedder)
    before = run_cases(searcher, CASES)
    assert all(r.correct for r in before), [r.to_json() for r in before]
    assert all(r.top_right and r.confidence >= searcher.decision.answer_threshold for r in before)
    # The same curve from the results as from their scores: nothing is searched again.
    assert [p.to_json() for p in curve(before)] == [
        p.to_json() for p in curve([(r.confidence, r.top_right) for r in before])
    ]
    # An editor turns off the fee entry: the candidate loses both of its cases.
    kb_file = tiny_kb.kb_dir / "tiny.yml"
    text = kb_file.read_text(encoding="utf-8")
    kb_file.write_text(text.replace("    handoff: never\n    enabled: true", "    enabled: false", 1), encoding="utf-8")
    with candidate_index(tiny_kb, embedder) as candidate:
        assert "withdraw-fee" not in candidate.by_id
        report = gate(tiny_kb, candidate, searcher, CASES)
    assert report.needs_confirmation and report.right_before == 4 and report.right_after == 2
    assert sorted(c.question for c in report.lost) == ["取款要收多少费用", "提现手续费是多少"]
    assert not report.gained
    assert store_for(tiny_kb).current_version() == published  # nothing was published
    first = gate(tiny_kb, searcher, None, CASES)
    assert first.right_before is None and first.right_after == 4


@pytest.mark.slow
def test_thresholds_follow_the_index_version_and_come_back_on_rollback(tiny_kb, embedder):
    first = build_and_publish(tiny_kb, embedder=embedder)
    assert "decision" not in first.manifest.to_json()
    old, _ = open_serving(tiny_kb, embedder)
    assert old.decision == tiny_kb.decision
    # A paraphrase answered with the configured thresholds, below the ones written next.
    question = "提现要交钱吗"
    (paraphrase,) = run_cases(old, [Case(question, "withdraw-fee")])
    assert paraphrase.correct and paraphrase.confidence < 0.98
    write_thresholds(tiny_kb.kb_dir, 0.99, 0.5)
    second = build_and_publish(tiny_kb, embedder=embedder)
    assert not second.skipped and second.manifest.decision == {"answer_threshold": 0.99, "clarify_threshold": 0.5}
    new, _ = open_serving(tiny_kb, embedder)
    assert (new.decision.answer_threshold, new.decision.clarify_threshold) == (0.99, 0.5)
    assert new.decision.calib_score == tiny_kb.decision.calib_score  # the rest is the config's
    assert ask(new, question)[1].action == "clarify"
    assert ask(old, question)[1].action == "answer"
    assert build_and_publish(tiny_kb, embedder=embedder).skipped  # the thresholds are part of the content
    store_for(tiny_kb).rollback()
    back, _ = open_serving(tiny_kb, embedder)
    assert back.directory.name == first.version and back.decision == tiny_kb.decision

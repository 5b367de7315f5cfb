import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from faqbot.config import DecisionConfig
from indexer.decide import ANSWER, CLARIFY, FALLBACK, confidence, decide
from indexer.kb import FaqEntry
from indexer.search import Candidate


def cand(i: int, fused: float, shares_content: bool = True) -> Candidate:
    entry = FaqEntry(id=f"e{i}", question=f"q{i}", answer="a", category="c")
    return Candidate(entry, fused, dense=0.9, bm25=0.5, matched_question=f"q{i}", shares_content=shares_content)


CONFIG = DecisionConfig()


def test_empty_is_fallback():
    d = decide([], CONFIG)
    assert d.action == FALLBACK and d.confidence == 0.0 and d.candidates == []


def test_strong_clear_match_is_answered():
    d = decide([cand(1, 1.0), cand(2, 0.3)], CONFIG)
    assert d.action == ANSWER and [c.entry.id for c in d.candidates] == ["e1"]


def test_close_runners_up_are_clarified_at_most_max_clarify():
    config = dataclasses.replace(
        CONFIG, answer_threshold=0.99, clarify_threshold=0.0, clarify_window=0.2, max_clarify=3
    )
    d = decide([cand(1, 0.6), cand(2, 0.58), cand(3, 0.55), cand(4, 0.54), cand(5, 0.1)], config)
    assert d.action == CLARIFY and [c.entry.id for c in d.candidates] == ["e1", "e2", "e3"]
    d = decide([cand(1, 0.6), cand(2, 0.2)], config)
    assert [c.entry.id for c in d.candidates] == ["e1"]  # "您是想问…？" about the one plausible FAQ


def test_candidates_sharing_no_content_are_never_offered():
    config = dataclasses.replace(CONFIG, answer_threshold=0.99, clarify_threshold=0.0, clarify_window=0.2)
    d = decide([cand(1, 0.6, False), cand(2, 0.58), cand(3, 0.55, False)], config)
    assert d.action == CLARIFY and [c.entry.id for c in d.candidates] == ["e2"]
    # No button left: a fallback, the guesses kept for the unanswered-questions log.
    d = decide([cand(1, 0.6, False), cand(2, 0.58, False)], config)
    assert d.action == FALLBACK and [c.entry.id for c in d.candidates] == ["e1", "e2"]
    # Nor answered, however high the confidence.
    d = decide([cand(1, 1.0, False), cand(2, 0.3)], CONFIG)
    assert d.action == FALLBACK and d.confidence > CONFIG.answer_threshold


def test_shared_content_rule_can_be_switched_off():
    config = dataclasses.replace(CONFIG, require_shared_content=False)
    d = decide([cand(1, 1.0, False), cand(2, 0.3)], config)
    assert d.action == ANSWER and [c.entry.id for c in d.candidates] == ["e1"]


def test_weak_match_falls_back_keeping_guesses():
    d = decide([cand(1, 0.05), cand(2, 0.04)], CONFIG)
    assert d.action == FALLBACK and len(d.candidates) == 2


@given(st.floats(-1, 2), st.floats(0, 1), st.floats(0, 1))
def test_confidence_is_monotone_in_score_and_margin(top, second, bump):
    second = min(second, top)
    base = confidence(top, second, CONFIG)
    assert 0.0 <= base <= 1.0
    assert confidence(top + bump, second, CONFIG) >= base  # better top score, wider margin
    assert confidence(top, second - bump, CONFIG) >= base

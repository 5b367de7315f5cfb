"""The one place that decides answer / clarify / fall back / hand off."""

from __future__ import annotations

from bot.dialogue.turn import State, plan_choice, plan_feedback, plan_question, plan_request_human
from indexer.decide import ANSWER, CLARIFY, FALLBACK, Decision
from indexer.kb import FaqEntry
from indexer.search import Candidate


def entry(faq_id: str, handoff: str = "never") -> FaqEntry:
    return FaqEntry(
        id=faq_id,
        question=f"{faq_id}?",
        answer="答案",
        category="测试",
        handoff=handoff,
        handoff_notice="需要人工处理。" if handoff == "always" else "",
    )


def decision(action: str, *entries: FaqEntry) -> Decision:
    return Decision(action, 0.5, [Candidate(e, 0.5, 0.8, 0.3, e.question) for e in entries])


def test_confident_answer_resets_the_fallback_streak():
    plan = plan_question(decision(ANSWER, entry("a")), State(fallback_streak=1))
    assert plan.kind == "answer" and plan.entry.id == "a" and plan.state.fallback_streak == 0
    assert not plan.offer_human


def test_offer_policy_answers_and_offers_a_human():
    plan = plan_question(decision(ANSWER, entry("a", "offer")), State())
    assert plan.kind == "answer" and plan.offer_human


def test_always_policy_hands_off_even_when_chosen_from_a_clarify():
    assert plan_question(decision(ANSWER, entry("a", "always")), State()).reason == "faq_policy"
    plan = plan_choice(entry("a", "always"), State(fallback_streak=1, negative_streak=1))
    assert plan.kind == "handoff" and plan.entry.id == "a" and plan.state == State()


def test_clarify_keeps_the_streaks_and_lists_the_choices():
    plan = plan_question(decision(CLARIFY, entry("a"), entry("b")), State(fallback_streak=1))
    assert plan.kind == "clarify" and [c.entry.id for c in plan.choices] == ["a", "b"]
    assert plan.state.fallback_streak == 1


def test_second_fallback_in_a_row_hands_off():
    first = plan_question(decision(FALLBACK), State())
    assert first.kind == "fallback" and first.offer_human and first.state.fallback_streak == 1
    second = plan_question(decision(FALLBACK), first.state)
    assert second.kind == "handoff" and second.reason == "repeated_fallback" and second.state == State()


def test_fallbacks_separated_by_an_answer_do_not_hand_off():
    state = plan_question(decision(FALLBACK), State()).state
    state = plan_question(decision(ANSWER, entry("a")), state).state
    assert plan_question(decision(FALLBACK), state).kind == "fallback"


def test_negative_feedback_twice_in_a_row_hands_off_and_positive_resets():
    first = plan_feedback(False, State())
    assert first.kind == "sorry" and first.state.negative_streak == 1
    assert plan_feedback(True, first.state).state.negative_streak == 0
    second = plan_feedback(False, first.state)
    assert second.kind == "handoff" and second.reason == "negative_feedback"


def test_explicit_request_hands_off():
    plan = plan_request_human(State(fallback_streak=1))
    assert plan.kind == "handoff" and plan.reason == "user_request" and plan.state == State()

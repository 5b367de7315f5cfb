"""``plan_free_text`` composes the three steps of a question in one call: retrieval
confidence, follow-up resolution and the conversation policy. Against the real
sample index and embedder, as the FAQ action calls it."""

from __future__ import annotations

import pytest

from bot.dialogue.turn import HandoffReason, PlanKind, State, plan_free_text
from indexer.decide import Action

pytestmark = pytest.mark.slow
FOLLOWUP_MAX_CHARS = 12


def test_a_confident_question_is_answered_and_resets_the_fallback_streak(sample_searcher):
    turn = plan_free_text(sample_searcher, "提现手续费是多少", None, State(fallback_streak=1), FOLLOWUP_MAX_CHARS)
    assert turn.decision.action == Action.ANSWER and not turn.used_context and not turn.unanswered
    assert turn.plan.kind == PlanKind.ANSWER and turn.plan.entry is not None
    assert turn.plan.entry.id == "ex-withdraw-fee" and turn.plan.state.fallback_streak == 0


def test_a_follow_up_is_answered_with_the_previous_topic_only_after_an_answer(sample_searcher):
    turn = plan_free_text(sample_searcher, "那要多久？", "ex-withdraw-fee", State(), FOLLOWUP_MAX_CHARS)
    assert turn.used_context and turn.plan.kind == PlanKind.ANSWER
    assert turn.plan.entry is not None and turn.plan.entry.id == "ex-withdraw-arrival-time"
    fresh = plan_free_text(sample_searcher, "那要多久？", None, State(), FOLLOWUP_MAX_CHARS)
    assert not fresh.used_context and fresh.plan.kind != PlanKind.ANSWER


def test_nonsense_twice_falls_back_then_hands_off(sample_searcher):
    first = plan_free_text(sample_searcher, "asdkjh qwe zzz", "ex-withdraw-fee", State(), FOLLOWUP_MAX_CHARS)
    assert first.unanswered and not first.used_context and first.plan.kind == PlanKind.FALLBACK
    second = plan_free_text(sample_searcher, "今天晚上吃什么比较好", None, first.plan.state, FOLLOWUP_MAX_CHARS)
    assert second.plan.kind == PlanKind.HANDOFF and second.plan.reason == HandoffReason.REPEATED_FALLBACK
    assert second.plan.state == State()


def test_a_follow_up_is_resolved_within_the_previous_topic_first(sample_searcher):
    # Alone, "那要多久？" is closest to 售后期/保修期; after 退货退款 it is about the refund.
    turn = plan_free_text(sample_searcher, "那要多久？", "ec-return-apply", State(), FOLLOWUP_MAX_CHARS)
    assert turn.used_context and turn.plan.entry is not None and turn.plan.entry.id == "ec-refund-timing"
    # A short question with its own topic is not pulled into the previous one.
    other = plan_free_text(sample_searcher, "POS机怎么申请", "ec-return-apply", State(), FOLLOWUP_MAX_CHARS)
    assert other.plan.entry is not None and other.plan.entry.id.startswith("pos-")


def test_a_bare_keyword_of_several_entries_clarifies_among_them(sample_searcher):
    turn = plan_free_text(sample_searcher, "提现", None, State(), FOLLOWUP_MAX_CHARS)
    assert turn.plan.kind == PlanKind.CLARIFY
    ids = [c.entry.id for c in turn.plan.choices]
    assert "ex-withdraw-fee" in ids and all("提现" in c.entry.question for c in turn.plan.choices)
    # A keyword only one entry is about is simply answered.
    single = plan_free_text(sample_searcher, "年审", None, State(), FOLLOWUP_MAX_CHARS)
    assert single.plan.kind == PlanKind.ANSWER and single.plan.entry is not None
    assert single.plan.entry.id == "cp-verify-annual-review"


def test_clarify_choices_share_a_word_with_the_message(sample_searcher):
    turn = plan_free_text(sample_searcher, "充值的话呢", None, State(), FOLLOWUP_MAX_CHARS)
    assert turn.plan.kind == PlanKind.CLARIFY and len(turn.plan.choices) >= 2
    # Not "有人冒充客服…"; "充币…" counts (synonyms.txt: 充值 = 充币).
    assert all("充值" in sample_searcher.match_text(c.matched_question) for c in turn.plan.choices)
    complaint = plan_free_text(sample_searcher, "我要投诉，流程是怎样的", None, State(), FOLLOWUP_MAX_CHARS)
    assert "ec-complain-seller" in [c.entry.id for c in complaint.plan.choices]

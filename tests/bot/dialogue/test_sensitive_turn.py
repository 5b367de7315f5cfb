"""Sensitive words in a customer's question (``plan_free_text``): a ``refuse`` category gets
the refusal and nothing is searched, a ``handoff`` category hands off, a ``log`` category is
answered as usual with the hits carried for the KPIs; and an answer with a listed word is
never said (``screen_answer``). Against a real tiny index built with the list."""

from __future__ import annotations

import pytest

from bot.dialogue.turn import HandoffReason, PlanKind, State, plan_choice, plan_free_text
from indexer.kb import FaqEntry
from indexer.search import Searcher
from indexer.sensitive import SensitiveAction, SensitiveList
from indexer.service import build_and_publish, open_current
from indexer.validate import SENSITIVE_FILE, parse_sensitive
from tests.conftest import write_kb

FOLLOWUP_MAX_CHARS = 12
LIST = """
[辱骂] 拒答
傻逼
[赌博] 转人工
博彩
[竞品] 只记录
某某交易所
"""


@pytest.fixture
def searcher(tiny_kb, embedder) -> Searcher:
    write_kb(tiny_kb.kb_dir, SENSITIVE_FILE, LIST)
    build_and_publish(tiny_kb, embedder=embedder)
    return open_current(tiny_kb, embedder)


def turn(searcher: Searcher, text: str, state: State | None = None):
    return plan_free_text(searcher, text, None, state or State(), FOLLOWUP_MAX_CHARS)


def test_a_refused_category_gets_the_refusal_and_is_not_searched(searcher):
    for text in ("傻逼，提现手续费是多少", "傻 逼", "傻·逼！"):
        question = turn(searcher, text, State(fallback_streak=1))
        assert question.plan.kind == PlanKind.REFUSE, text
        assert question.blocked and not question.unanswered  # not an FAQ gap for the editors
        assert question.result.candidates == []
        assert [h.action for h in question.plan.customer_hits] == [SensitiveAction.REFUSE]
        assert question.plan.state == State(fallback_streak=1)


def test_a_handoff_category_hands_off_with_its_reason(searcher):
    question = turn(searcher, "我想充值到博*彩网站", State(fallback_streak=1, negative_streak=1))
    assert question.plan.kind == PlanKind.HANDOFF and question.plan.reason == HandoffReason.SENSITIVE
    assert question.blocked and question.plan.state == State()
    assert [h.word for h in question.plan.customer_hits] == ["博彩"]


def test_a_log_category_is_answered_as_usual_and_carries_its_hits(searcher):
    question = turn(searcher, "某某交易所的提现手续费是多少")
    assert question.plan.kind == PlanKind.ANSWER and not question.blocked
    assert question.plan.entry is not None and question.plan.entry.id == "withdraw-fee"
    assert [(h.word, h.action) for h in question.plan.customer_hits] == [("某某交易所", SensitiveAction.LOG)]
    plain = turn(searcher, "提现手续费是多少")
    assert plain.plan.kind == PlanKind.ANSWER and plain.plan.customer_hits == ()


def test_the_strongest_action_wins(searcher):
    question = turn(searcher, "博彩网站的客服都是傻逼")
    assert question.plan.kind == PlanKind.REFUSE


def test_an_answer_with_a_listed_word_is_withheld(searcher):
    listed, _ = parse_sensitive("[竞品] 只记录\n按币种\n")
    entry = searcher.by_id["withdraw-fee"]
    withheld = plan_choice(entry, State(), listed)
    assert withheld.kind == PlanKind.FALLBACK and withheld.offer_human and withheld.entry is None
    assert [h.word for h in withheld.withheld_hits] == ["按币种"]
    assert plan_choice(entry, State(), SensitiveList()).kind == PlanKind.ANSWER
    # An FAQ that hands off still hands off; only its texts are not shown.
    frozen = searcher.by_id["account-frozen"]
    listed, _ = parse_sensitive("[x] log\n人工核实\n")
    handoff = plan_choice(frozen, State(), listed)
    assert handoff.kind == PlanKind.HANDOFF and handoff.reason == HandoffReason.FAQ_POLICY
    assert [h.word for h in handoff.withheld_hits] == ["人工核实"]
    assert isinstance(handoff.entry, FaqEntry)

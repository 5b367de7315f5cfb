"""The one place that decides what the bot does with a turn: answer, clarify,
fall back or hand off to a human.

A question goes through three steps, composed here (``plan_free_text``):

1. retrieval confidence (``indexer.decide``: answer / clarify / fallback from
   the scores alone; the indexer imports nothing of the bot, so it stays there);
2. follow-up resolution (``bot.dialogue.followup``: a short message right after
   an answer is read with that answer's topic); otherwise a bare keyword that
   several entries are about is a clarify among them;
3. the conversation policy (below): the FAQ's hand-off policy, consecutive
   fallbacks, consecutive negative feedback and explicit requests.

Before all three, the message is checked against the sensitive-word list of the served
index version (``indexer/sensitive.py``): a word of a ``refuse`` category gets a polite
refusal and no retrieval, of a ``handoff`` category a person, of a ``log`` category the
usual answer (the hits are carried in the plan to be counted). After them, an answer that
would say a listed word is withheld: the customer gets the fallback instead.

The result is a ``Plan`` whose ``kind`` is a ``PlanKind``; ``bot/actions/replies.py``
carries it out with an exhaustive ``match`` (mypy proves every kind is handled).
Pure functions over plain data, no Rasa or Sanic. Which of these a message
reaches is the conversation state machine's (``bot/dialogue/conversation.py``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import assert_never

from bot.dialogue.followup import resolve
from indexer.decide import Action, Decision
from indexer.kb import FaqEntry
from indexer.search import Candidate, Searcher, SearchResult
from indexer.sensitive import Hit, SensitiveAction, SensitiveList, strongest

# Two misses or two "没帮助" in a row and a person takes over.
FALLBACKS_BEFORE_HANDOFF = 2
NEGATIVES_BEFORE_HANDOFF = 2
# A message this short and of one word is a keyword, not a question (``clarify_bare_keyword``).
BARE_KEYWORD_MAX_CHARS = 4


class PlanKind(enum.StrEnum):
    """What the bot does with the turn; a ``str``, so ``plan.kind == "answer"`` still reads naturally."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    FALLBACK = "fallback"
    HANDOFF = "handoff"
    THANKS = "thanks"  # positive feedback on the last answer
    SORRY = "sorry"  # negative feedback, not yet enough to hand off
    REFUSE = "refuse"  # the message has a word of a sensitive "refuse" category


class HandoffReason(enum.StrEnum):
    """Why a person takes over; stored with the hand-off (``bot.handoff.handoffs.REASONS``)."""

    USER_REQUEST = "user_request"
    REPEATED_FALLBACK = "repeated_fallback"
    NEGATIVE_FEEDBACK = "negative_feedback"
    FAQ_POLICY = "faq_policy"
    SENSITIVE = "sensitive"  # the message has a word of a sensitive "handoff" category


@dataclass(frozen=True)
class State:
    """What the policy carries between turns (Rasa slots)."""

    fallback_streak: int = 0
    negative_streak: int = 0

    def after_handoff(self) -> State:
        """A person takes over: the streaks start again (anything else carried stays)."""
        return replace(self, fallback_streak=0, negative_streak=0)


@dataclass(frozen=True)
class Plan:
    kind: PlanKind
    state: State
    entry: FaqEntry | None = None  # answer, or the FAQ whose policy hands off
    offer_human: bool = False  # answer with policy "offer", fallback and sorry
    choices: list[Candidate] = field(default_factory=list)  # clarify
    reason: HandoffReason | None = None  # handoff
    # Sensitive words in the customer's message (any action: counted in the KPIs).
    customer_hits: tuple[Hit, ...] = ()
    # Sensitive words in the answer the bot would have given: withheld, the fallback instead.
    withheld_hits: tuple[Hit, ...] = ()


@dataclass(frozen=True)
class QuestionTurn:
    """A free-text question, decided: what retrieval found, how it was resolved, and the plan."""

    result: SearchResult
    decision: Decision  # retrieval's, or the follow-up's answer when ``used_context``
    used_context: bool  # resolved as a follow-up of the previous answer
    plan: Plan

    @property
    def blocked(self) -> bool:
        """A sensitive word decided the turn (refused or handed off): nothing was searched."""
        return self.plan.kind == PlanKind.REFUSE or self.plan.reason == HandoffReason.SENSITIVE

    @property
    def unanswered(self) -> bool:
        """Retrieval found nothing good enough: the question goes to the editors' log."""
        return self.decision.action == Action.FALLBACK and not self.blocked


MAX_RELATED = 3  # 猜你想问 buttons after an answer (indexer/validate.py warns beyond it)


def related_entries(entry: FaqEntry, by_id: Mapping[str, FaqEntry]) -> list[FaqEntry]:
    """The entries an answer suggests next (its ``related:``): only those the served index
    has (enabled, still in the KB; ``by_id`` is ``Searcher.serving()``: not expired), never the
    entry itself, at most ``MAX_RELATED``."""
    found = [by_id[i] for i in dict.fromkeys(entry.related) if i != entry.id and i in by_id]
    return [e for e in found if e.enabled][:MAX_RELATED]


def _hand_off(state: State, reason: HandoffReason, entry: FaqEntry | None = None) -> Plan:
    return Plan(PlanKind.HANDOFF, state.after_handoff(), entry=entry, reason=reason)


def _answer(entry: FaqEntry, state: State) -> Plan:
    if entry.handoff == "always":  # the answer is shown first, then the hand-off (bot/actions/replies.py)
        return _hand_off(state, HandoffReason.FAQ_POLICY, entry)
    return Plan(PlanKind.ANSWER, replace(state, fallback_streak=0), entry=entry, offer_human=entry.handoff == "offer")


def plan_free_text(
    searcher: Searcher,
    text: str,
    last_faq_id: str | None,
    state: State,
    followup_max_chars: int,
    exclude: frozenset[str] = frozenset(),
) -> QuestionTurn:
    """A typed question, all three steps: retrieval, follow-up resolution, policy.
    ``exclude``: entries the customer just said did not help; the answer is another.

    Embeds ``text`` (CPU work, blocking): run it in an executor on an event loop.
    """
    hits = tuple(searcher.sensitive.find(text))
    blocked = plan_sensitive(hits, state)
    if blocked is not None:
        nothing = SearchResult(query=text, normalised=searcher.match_text(text))
        return QuestionTurn(nothing, Decision(Action.FALLBACK, 0.0, []), False, blocked)
    result, decision, used_context = resolve(searcher, text, last_faq_id, followup_max_chars)
    if not used_context:
        decision = clarify_bare_keyword(decision, result, searcher.decision.max_clarify)
        decision = on_topic_choices(decision, result, searcher)
    decision = without_rejected(decision, result, exclude)
    plan = screen_answer(plan_question(decision, state), searcher.sensitive)
    return QuestionTurn(result, decision, used_context, replace(plan, customer_hits=hits))


def plan_sensitive(hits: tuple[Hit, ...], state: State) -> Plan | None:
    """A message with sensitive words: refused or handed off by its strongest category's
    action; None when retrieval goes on (no hit, or ``log`` words only)."""
    match strongest(hits):
        case SensitiveAction.REFUSE:
            return Plan(PlanKind.REFUSE, state, customer_hits=hits)
        case SensitiveAction.HANDOFF:
            return replace(_hand_off(state, HandoffReason.SENSITIVE), customer_hits=hits)
        case SensitiveAction.LOG | None:
            return None
        case other:
            assert_never(other)


def screen_answer(plan: Plan, sensitive: SensitiveList) -> Plan:
    """An answer (or an FAQ's answer shown before its hand-off) that has a listed word is
    not sent: the fallback instead, with the hits to log. KB validation refuses such
    answers, so this only catches a list and an index that disagree."""
    if plan.entry is None or plan.kind not in (PlanKind.ANSWER, PlanKind.HANDOFF):
        return plan
    hits = tuple(sensitive.find(plan.entry.answer)) + tuple(sensitive.find(plan.entry.handoff_notice))
    if not hits:
        return plan
    if plan.kind == PlanKind.HANDOFF:  # the person still takes over; only the FAQ's texts are not shown
        return replace(plan, withheld_hits=hits)
    return Plan(PlanKind.FALLBACK, plan.state, offer_human=True, withheld_hits=hits)


def clarify_bare_keyword(decision: Decision, result: SearchResult, max_choices: int) -> Decision:
    """A bare keyword ("提现", "手续费") that several entries are about is not a
    question yet: offer those entries instead of guessing one. "About" means the
    keyword is in the entry's standard question or one of its tags; one such
    entry ("年审"), when retrieval ranks it first and would clarify, is simply
    answered (the keyword names it; the runners-up are merely near)."""
    word = result.normalised
    if " " in word or not 2 <= len(word) <= BARE_KEYWORD_MAX_CHARS:
        return decision
    about = [
        c
        for c in result.candidates
        if word in c.entry.question.lower() or any(word in tag.lower() for tag in c.entry.tags)
    ]
    if len(about) == 1:
        only = about[0]
        if decision.action == Action.CLARIFY and result.candidates[0] is only and only.shares_content:
            return decision.answered_with(only)
        return decision
    if not about:
        return decision
    return Decision(Action.CLARIFY, decision.confidence, about[:max_choices])


def on_topic_choices(decision: Decision, result: SearchResult, searcher: Searcher) -> Decision:
    """A clarify offers the best match and the runners-up that share a word with
    the message: "充值的话呢" is not about "有人冒充客服…" although the embedding
    and one character say so. Words of one character do not count."""
    if decision.action != Action.CLARIFY or len(decision.candidates) < 2:
        return decision
    words = {w for w in searcher.tokenizer.words(result.searched or result.normalised) if len(w) > 1}
    top, *others = decision.candidates
    kept = [c for c in others if words & set(searcher.tokenizer.words(searcher.match_text(c.matched_question)))]
    return replace(decision, candidates=[top, *kept])


def without_rejected(decision: Decision, result: SearchResult, exclude: frozenset[str]) -> Decision:
    """Never answer again with an entry the customer just said did not help: the
    next candidates are offered instead (the rejected one may still be picked)."""
    if decision.action != Action.ANSWER or decision.candidates[0].entry.id not in exclude:
        return decision
    others = [c for c in result.candidates if c.entry.id not in exclude and c.shares_content][:2]
    choices = others + [decision.candidates[0]] if others else []
    if not choices:
        return Decision(Action.FALLBACK, decision.confidence, list(decision.candidates))
    return Decision(Action.CLARIFY, decision.confidence, choices)


def plan_question(decision: Decision, state: State) -> Plan:
    """A free-text question after retrieval and the confidence decision."""
    match decision.action:
        case Action.ANSWER:
            return _answer(decision.candidates[0].entry, state)
        case Action.CLARIFY:
            return Plan(PlanKind.CLARIFY, state, choices=list(decision.candidates))
        case Action.FALLBACK:
            streak = state.fallback_streak + 1
            if streak >= FALLBACKS_BEFORE_HANDOFF:
                return _hand_off(state, HandoffReason.REPEATED_FALLBACK)
            return Plan(PlanKind.FALLBACK, replace(state, fallback_streak=streak), offer_human=True)
        case _:
            assert_never(decision.action)


def plan_choice(entry: FaqEntry, state: State, sensitive: SensitiveList | None = None) -> Plan:
    """The user picked one FAQ (a clarify button, or 是的 to "您是想问…？"); its answer is
    screened against ``sensitive`` (the served version's list)."""
    plan = _answer(entry, state)
    return screen_answer(plan, sensitive) if sensitive is not None else plan


def plan_feedback(helpful: bool, state: State) -> Plan:
    """Feedback on the last answer: "thanks" resets the streak, "sorry" offers a human."""
    if helpful:
        return Plan(PlanKind.THANKS, replace(state, negative_streak=0))
    streak = state.negative_streak + 1
    if streak >= NEGATIVES_BEFORE_HANDOFF:
        return _hand_off(state, HandoffReason.NEGATIVE_FEEDBACK)
    return Plan(PlanKind.SORRY, replace(state, negative_streak=streak), offer_human=True)


def plan_request_human(state: State) -> Plan:
    """转人工, typed or accepted: hand off, keeping what the state carries besides the streaks."""
    return _hand_off(state, HandoffReason.USER_REQUEST)

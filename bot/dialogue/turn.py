"""The one place that decides what the bot does with a turn: answer, clarify,
fall back or hand off to a human.

Retrieval confidence comes from ``indexer.decide``; this module adds what only
the conversation knows: the FAQ's hand-off policy, consecutive fallbacks,
consecutive negative feedback and explicit requests. Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from indexer.decide import ANSWER, CLARIFY, Decision
from indexer.kb import FaqEntry
from indexer.search import Candidate

# Two misses or two "没帮助" in a row and a person takes over.
FALLBACKS_BEFORE_HANDOFF = 2
NEGATIVES_BEFORE_HANDOFF = 2


@dataclass(frozen=True)
class State:
    """Counters carried between turns (Rasa slots)."""

    fallback_streak: int = 0
    negative_streak: int = 0


@dataclass(frozen=True)
class Plan:
    kind: str  # "answer" | "clarify" | "fallback" | "handoff" | "thanks" | "sorry"
    state: State
    entry: FaqEntry | None = None  # answer, or the FAQ whose policy hands off
    offer_human: bool = False  # answer with policy "offer", and fallback
    choices: list[Candidate] = field(default_factory=list)  # clarify
    reason: str | None = None  # handoff: user_request | repeated_fallback | negative_feedback | faq_policy


def _answer(entry: FaqEntry, state: State) -> Plan:
    if entry.handoff == "always":
        return Plan("handoff", State(), entry=entry, reason="faq_policy")
    return Plan("answer", replace(state, fallback_streak=0), entry=entry, offer_human=entry.handoff == "offer")


def plan_question(decision: Decision, state: State) -> Plan:
    """A free-text question after retrieval and the confidence decision."""
    if decision.action == ANSWER:
        return _answer(decision.candidates[0].entry, state)
    if decision.action == CLARIFY:
        return Plan("clarify", state, choices=list(decision.candidates))
    streak = state.fallback_streak + 1
    if streak >= FALLBACKS_BEFORE_HANDOFF:
        return Plan("handoff", State(), reason="repeated_fallback")
    return Plan("fallback", replace(state, fallback_streak=streak), offer_human=True)


def plan_choice(entry: FaqEntry, state: State) -> Plan:
    """The user picked one FAQ from a clarify question."""
    return _answer(entry, state)


def plan_feedback(helpful: bool, state: State) -> Plan:
    """Feedback on the last answer: "thanks" resets the streak, "sorry" offers a human."""
    if helpful:
        return Plan("thanks", replace(state, negative_streak=0))
    streak = state.negative_streak + 1
    if streak >= NEGATIVES_BEFORE_HANDOFF:
        return Plan("handoff", State(), reason="negative_feedback")
    return Plan("sorry", replace(state, negative_streak=streak), offer_human=True)


def plan_request_human(state: State) -> Plan:
    return Plan("handoff", State(), reason="user_request")

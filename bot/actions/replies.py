"""Carry out a ``bot.dialogue.turn.Plan``: the messages the user sees, the records
people read, and the slots the next turn needs. Texts live in ``domain.yml``."""

from __future__ import annotations

import json
import logging
from typing import Any, assert_never

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import runtime
from bot.dialogue.turn import HandoffReason, Plan, PlanKind, State
from bot.handoff.handoffs import HandoffRequest

log = logging.getLogger(__name__)

FEEDBACK_BUTTONS = [
    {"title": "有帮助", "payload": "/feedback_positive"},
    {"title": "没帮助", "payload": "/feedback_negative"},
]
HUMAN_BUTTON = {"title": "转人工", "payload": "/request_human"}


def choose_payload(faq_id: str) -> str:
    return "/choose_faq" + json.dumps({"faq_id": faq_id})


def state_of(tracker: Tracker) -> State:
    return State(int(tracker.get_slot("fallback_streak") or 0), int(tracker.get_slot("negative_streak") or 0))


def channel_of(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "unknown"


def transcript_of(tracker: Tracker) -> list[dict[str, Any]]:
    """User and bot messages in order, as an agent would read them."""
    lines = []
    for event in tracker.events:
        kind = event.get("event")
        if kind in ("user", "bot") and event.get("text"):
            lines.append({"role": kind, "text": event["text"], "time": event.get("timestamp")})
    return lines


def end_turn(events: list[EventType]) -> list[EventType]:
    """One message, at most one bot turn: every custom action ends the turn
    itself. Without it, an intent no rule covers (a typed ``/out_of_scope``)
    made the core fallback re-predict this action until Rasa's circuit breaker:
    ten replies and five ticket drafts for one message."""
    return events + [FollowupAction("action_listen")]


def carry_out(plan: Plan, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """The plan's messages and slots; one ``case`` per ``PlanKind`` (mypy checks none is missing)."""
    events: list[EventType] = [
        SlotSet("fallback_streak", float(plan.state.fallback_streak)),
        SlotSet("negative_streak", float(plan.state.negative_streak)),
        SlotSet("feedback_open", plan.kind == PlanKind.ANSWER),
    ]
    pending: str | None = None
    match plan.kind:
        case PlanKind.ANSWER:
            assert plan.entry is not None
            buttons = FEEDBACK_BUTTONS + ([HUMAN_BUTTON] if plan.offer_human else [])
            dispatcher.utter_message(text=plan.entry.answer.strip(), buttons=buttons)
            events.append(SlotSet("last_faq_id", plan.entry.id))
        case PlanKind.CLARIFY:
            buttons = [{"title": c.entry.question, "payload": choose_payload(c.entry.id)} for c in plan.choices]
            dispatcher.utter_message(response="utter_clarify", buttons=buttons)
            if len(plan.choices) == 1:  # "您是想问：X？" — a plain 是的 answers X
                pending = f"faq:{plan.choices[0].entry.id}"
        case PlanKind.FALLBACK:
            dispatcher.utter_message(response="utter_fallback", buttons=[HUMAN_BUTTON])
            pending = "human"
        case PlanKind.SORRY:
            dispatcher.utter_message(response="utter_feedback_sorry", buttons=[HUMAN_BUTTON])
            pending = "human"
        case PlanKind.THANKS:
            dispatcher.utter_message(response="utter_feedback_thanks")
        case PlanKind.HANDOFF:
            events += hand_off(plan, dispatcher, tracker)
        case _:
            assert_never(plan.kind)
    events.append(SlotSet("pending_offer", pending))
    return events


def hand_off(plan: Plan, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Ask for a person and tell the user truthfully what happens next: queued
    for an agent, already queued, or (nobody can answer now) a message is taken."""
    request = HandoffRequest(
        conversation_id=tracker.sender_id,
        channel=channel_of(tracker),
        reason=str(plan.reason or HandoffReason.USER_REQUEST),
        transcript=transcript_of(tracker),
        faq_id=plan.entry.id if plan.entry else None,
    )
    if plan.entry is not None and plan.entry.handoff_notice:
        dispatcher.utter_message(text=plan.entry.handoff_notice)
    try:
        outcome = runtime.desk().request(request, last_question=tracker.get_slot("last_question"))
    except Exception:
        log.exception("could not store hand-off request for %s", tracker.sender_id)
        dispatcher.utter_message(response="utter_handoff_unavailable", email=runtime.settings().bot.support_email)
        return [SlotSet("last_faq_id", None)]
    dispatcher.utter_message(text=outcome.text)
    return [SlotSet("last_faq_id", None), SlotSet("handoff_ticket", outcome.reference)]

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
from bot.dialogue.conversation import Phase
from bot.dialogue.turn import HandoffReason, Plan, PlanKind, State, related_entries
from bot.handoff.handoffs import HandoffRequest
from bot.handoff.intake import OutcomeKind
from bot.handoff.wording import MESSAGE_EXIT, QUEUE_EXIT
from indexer.kb import FaqEntry
from indexer.sensitive import describe

log = logging.getLogger(__name__)

HUMAN_BUTTON = {"title": "转人工", "payload": "/request_human"}


def _payload(intent: str, faq_id: str, turn: int | None) -> str:
    entities: dict[str, Any] = {"faq_id": faq_id}
    if turn is not None:
        entities["turn"] = turn
    return f"/{intent}" + json.dumps(entities, ensure_ascii=False)


def choose_payload(faq_id: str, turn: int | None = None) -> str:
    """A question button; ``turn`` binds it to the turn it was offered in."""
    return _payload("choose_faq", faq_id, turn)


def feedback_buttons(faq_id: str, turn: int) -> list[dict[str, str]]:
    """有帮助 / 没帮助 under one answer: the payload names the answer and its turn, so
    a click is recorded against that answer and an old one is seen to be old."""
    return [
        {"title": "有帮助", "payload": _payload("feedback_positive", faq_id, turn)},
        {"title": "没帮助", "payload": _payload("feedback_negative", faq_id, turn)},
    ]


def related_buttons(entry: FaqEntry, turn: int) -> list[dict[str, str]]:
    """猜你想问: the answer's related entries as question buttons (``/choose_faq``, answered
    through the same path as a clarify choice), only those the served index has."""
    if not entry.related:
        return []
    try:
        by_id = runtime.live_index().get().serving()  # expired entries are not suggested
    except Exception:  # no index to check them against: the answer goes without them
        log.exception("could not read the index for the related entries of %s", entry.id)
        return []
    return [{"title": e.question, "payload": choose_payload(e.id, turn)} for e in related_entries(entry, by_id)]


def turn_of(tracker: Tracker) -> int:
    """The number of the customer's message this turn answers (1 for the first)."""
    return sum(1 for e in tracker.events if e.get("event") == "user")


def state_of(tracker: Tracker) -> State:
    return State(int(tracker.get_slot("fallback_streak") or 0), int(tracker.get_slot("negative_streak") or 0))


def channel_of(tracker: Tracker) -> str:
    return tracker.get_latest_input_channel() or "unknown"


def transcript_of(tracker: Tracker) -> list[dict[str, Any]]:
    """User and bot messages in order, as an agent would read them: a bot message with
    the titles of the buttons it offered ("您是想问：" and its choices), a clicked
    button as its title rather than its payload."""
    lines: list[dict[str, Any]] = []
    titles: dict[str, str] = {}
    for event in tracker.events:
        kind = event.get("event")
        if kind == "bot":
            buttons = [b for b in (event.get("data") or {}).get("buttons") or [] if isinstance(b, dict)]
            titles.update({str(b.get("payload")): str(b.get("title")) for b in buttons if b.get("title")})
            if event.get("text"):
                line: dict[str, Any] = {"role": "bot", "text": event["text"], "time": event.get("timestamp")}
                if buttons:
                    line["buttons"] = [str(b.get("title", "")) for b in buttons]
                lines.append(line)
        elif kind == "user" and event.get("text"):
            text = event["text"]
            lines.append({"role": "user", "text": titles.get(text, text), "time": event.get("timestamp")})
    return lines


def end_turn(events: list[EventType]) -> list[EventType]:
    """One message, at most one bot turn: every custom action ends the turn
    itself. Without it, an intent no rule covers (a typed ``/out_of_scope``)
    made the core fallback re-predict this action until Rasa's circuit breaker:
    ten replies and five ticket drafts for one message."""
    return events + [FollowupAction("action_listen")]


def carry_out(
    plan: Plan, dispatcher: CollectingDispatcher, tracker: Tracker, question: str | None = None
) -> list[EventType]:
    """The plan's messages and slots; one ``case`` per ``PlanKind`` (mypy checks none is missing).
    ``question``: the customer's message this plan answers, when it is one (a hand-off it
    starts carries it, not the question before it)."""
    events: list[EventType] = [
        SlotSet("fallback_streak", float(plan.state.fallback_streak)),
        SlotSet("negative_streak", float(plan.state.negative_streak)),
        SlotSet("feedback_open", plan.kind == PlanKind.ANSWER),
    ]
    pending: str | None = None
    phase = Phase.BOT
    turn = turn_of(tracker)
    match plan.kind:
        case PlanKind.ANSWER:
            assert plan.entry is not None
            buttons = feedback_buttons(plan.entry.id, turn) + ([HUMAN_BUTTON] if plan.offer_human else [])
            # One message: the answer, 有帮助/没帮助 (转人工), then up to three related questions.
            buttons += related_buttons(plan.entry, turn)
            dispatcher.utter_message(text=plan.entry.answer.strip(), buttons=buttons)
            events.append(SlotSet("last_faq_id", plan.entry.id))
        case PlanKind.CLARIFY:
            buttons = [{"title": c.entry.question, "payload": choose_payload(c.entry.id, turn)} for c in plan.choices]
            dispatcher.utter_message(response="utter_clarify", buttons=buttons)
            if len(plan.choices) == 1:  # "您是想问：X？" — a plain 是的 answers X
                pending = f"faq:{plan.choices[0].entry.id}"
            else:
                phase = Phase.CLARIFYING
        case PlanKind.FALLBACK:
            dispatcher.utter_message(response="utter_fallback", buttons=[HUMAN_BUTTON])
            pending = "human"
        case PlanKind.SORRY:
            dispatcher.utter_message(response="utter_feedback_sorry", buttons=[HUMAN_BUTTON])
            pending = "human"
        case PlanKind.THANKS:
            dispatcher.utter_message(response="utter_feedback_thanks")
        case PlanKind.HANDOFF:
            events += hand_off(plan, dispatcher, tracker, question)
        case PlanKind.REFUSE:
            dispatcher.utter_message(response="utter_sensitive_refused")
        case _:
            assert_never(plan.kind)
    record_sensitive(plan, tracker)
    if pending is not None:
        phase = Phase.OFFERING
    events += [SlotSet("pending_offer", pending), SlotSet("phase", str(phase))]
    return events


def record_sensitive(plan: Plan, tracker: Tracker) -> None:
    """Sensitive words of this turn, for the KPIs: the customer's (with what was done) and
    those of an answer that was withheld (a failure only logs: the reply is already decided)."""
    if plan.withheld_hits:
        log.warning(
            "answer %s withheld from %s: sensitive words %s",
            plan.entry.id if plan.entry else "?",
            tracker.sender_id,
            describe(plan.withheld_hits),
        )
    if not plan.customer_hits and not plan.withheld_hits:
        return
    try:
        records = runtime.records()
        channel = channel_of(tracker)
        if plan.customer_hits:
            records.log_sensitive(tracker.sender_id, channel, "customer", plan.customer_hits)
        if plan.withheld_hits:
            records.log_sensitive(tracker.sender_id, channel, "bot", plan.withheld_hits)
    except Exception:
        log.exception("could not record the sensitive words of a turn of %s", tracker.sender_id)


def _category_of(plan: Plan, tracker: Tracker) -> str | None:
    """The FAQ category the customer needs a person for: the entry that led here, else
    the latest answer they got (routes the hand-off to a group)."""
    if plan.entry is not None:
        return plan.entry.category
    latest = tracker.get_slot("last_faq_id")
    if not latest:
        return None
    try:
        entry = runtime.live_index().get().by_id.get(latest)
    except Exception:  # no index: the hand-off waits for everyone
        return None
    return entry.category if entry is not None else None


def hand_off(
    plan: Plan, dispatcher: CollectingDispatcher, tracker: Tracker, question: str | None = None
) -> list[EventType]:
    """Ask for a person and tell the user truthfully what happens next: queued
    for an agent, already queued, or (nobody can answer now) a message is taken."""
    request = HandoffRequest(
        conversation_id=tracker.sender_id,
        channel=channel_of(tracker),
        reason=str(plan.reason or HandoffReason.USER_REQUEST),
        transcript=transcript_of(tracker),
        faq_id=plan.entry.id if plan.entry else None,
        category=_category_of(plan, tracker),
    )
    shown = plan.entry is not None and not plan.withheld_hits  # an FAQ text with a sensitive word is not said
    if plan.entry is not None and shown and plan.reason == HandoffReason.FAQ_POLICY:
        # What the editors wrote comes first: the customer may need nothing more.
        dispatcher.utter_message(text=plan.entry.answer.strip())
    if plan.entry is not None and shown and plan.entry.handoff_notice:
        dispatcher.utter_message(text=plan.entry.handoff_notice)
    if plan.reason == HandoffReason.SENSITIVE:
        dispatcher.utter_message(response="utter_sensitive_handoff")
    try:
        asked = question or tracker.get_slot("last_question")  # a 留言 it starts has the question already
        outcome = runtime.desk().request(request, last_question=asked)
    except Exception:
        log.exception("could not store hand-off request for %s", tracker.sender_id)
        dispatcher.utter_message(response="utter_handoff_unavailable", email=runtime.settings().bot.support_email)
        return [SlotSet("last_faq_id", None)]
    exit_button = {OutcomeKind.MESSAGE: MESSAGE_EXIT}.get(outcome.kind, QUEUE_EXIT)
    dispatcher.utter_message(text=outcome.text, buttons=[exit_button])
    return [SlotSet("last_faq_id", None), SlotSet("handoff_ticket", outcome.reference)]

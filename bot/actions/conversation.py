"""Actions for the conversation itself: 转人工, answer feedback, and 是的/不用了
after the bot offered something."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import runtime
from bot.actions.replies import HUMAN_BUTTON, carry_out, channel_of, choose_payload, end_turn, state_of
from bot.dialogue.turn import plan_choice, plan_feedback, plan_request_human
from indexer.search import IndexMissing

log = logging.getLogger(__name__)


MAX_HOT_QUESTIONS = 5


class ActionGreet(Action):
    """The welcome (a greeting, a channel's subscribe/enter event, a new chat) with
    the questions editors marked ``hot: true``, as buttons, in KB file order."""

    def name(self) -> str:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        buttons = []
        try:
            entries = runtime.live_index().get().entries
            buttons = [{"title": e.question, "payload": choose_payload(e.id)} for e in entries if e.hot]
        except IndexMissing:  # the greeting still works without an index
            log.error("no published index; greeting without hot questions")
        dispatcher.utter_message(response="utter_greet", buttons=buttons[:MAX_HOT_QUESTIONS] or None)
        return end_turn([])


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        return end_turn(carry_out(plan_request_human(state_of(tracker)), dispatcher, tracker))


class ActionFeedback(Action):
    """有帮助 / 没帮助 on the bot's last answer: counted once per answer, and only
    for an answer the bot gave in this conversation (``feedback_open``, set by
    the answer itself; a typed payload cannot set slots). Feedback with nothing
    to rate records nothing and opens nothing."""

    def name(self) -> str:
        return "action_feedback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        helpful = (tracker.latest_message.get("intent") or {}).get("name") == "feedback_positive"
        faq_id = tracker.get_slot("last_faq_id")
        if faq_id is None or not tracker.get_slot("feedback_open"):
            if helpful:
                dispatcher.utter_message(response="utter_thanks")
                return end_turn([])
            dispatcher.utter_message(response="utter_feedback_nothing", buttons=[HUMAN_BUTTON])
            return end_turn([SlotSet("pending_offer", "human")])
        try:
            runtime.records().log_feedback(
                tracker.sender_id, channel_of(tracker), faq_id, helpful, tracker.get_slot("last_question")
            )
        except Exception:
            log.exception("could not record feedback for %s", tracker.sender_id)
        return end_turn(carry_out(plan_feedback(helpful, state_of(tracker)), dispatcher, tracker))


class ActionAffirmDeny(Action):
    """是的 / 不用了: accept or decline what the bot just offered (a human, or
    the one FAQ of a "您是想问…？"). With nothing on offer, say so plainly."""

    def name(self) -> str:
        return "action_affirm_deny"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        affirmed = (tracker.latest_message.get("intent") or {}).get("name") == "affirm"
        pending = tracker.get_slot("pending_offer") or ""
        if not affirmed or not pending:
            dispatcher.utter_message(response="utter_anything_else")
            return end_turn([SlotSet("pending_offer", None)])
        if pending == "human":
            return end_turn(carry_out(plan_request_human(state_of(tracker)), dispatcher, tracker))
        faq_id = pending.removeprefix("faq:")
        try:
            entry = runtime.live_index().get().by_id.get(faq_id)
        except IndexMissing:
            entry = None
        if entry is None:
            dispatcher.utter_message(response="utter_choice_gone")
            return end_turn([SlotSet("pending_offer", None)])
        return end_turn(
            carry_out(plan_choice(entry, state_of(tracker)), dispatcher, tracker)
            + [SlotSet("last_question", entry.question)]
        )

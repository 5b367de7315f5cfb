"""Answer a question from the live FAQ index: the turn is decided by
``bot.dialogue.turn.plan_free_text`` and carried out here."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import runtime
from bot.actions.replies import carry_out, channel_of, end_turn, state_of
from bot.dialogue.turn import State, plan_choice, plan_free_text
from indexer.decide import Decision
from indexer.search import IndexMissing, Searcher

log = logging.getLogger(__name__)


def candidates_for_log(decision: Decision) -> list[dict[str, Any]]:
    return [
        {
            "id": c.entry.id,
            "question": c.entry.question,
            "fused": round(c.fused, 4),
            "dense": round(c.dense, 4),
            "bm25": round(c.bm25, 4),
        }
        for c in decision.candidates
    ]


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        try:
            searcher = runtime.live_index().get()
        except IndexMissing:
            log.error("no published index; run `faqbot index build`")
            dispatcher.utter_message(response="utter_index_unavailable")
            return end_turn([])
        message = tracker.latest_message
        state = state_of(tracker)
        if (message.get("intent") or {}).get("name") == "choose_faq":
            return self._chosen(searcher, dispatcher, tracker, state)

        text = message.get("text") or ""
        # Embedding the question is tens of milliseconds of CPU: off the event loop, so
        # other conversations' actions are not held up behind it.
        turn = await asyncio.get_running_loop().run_in_executor(
            None,
            functools.partial(
                plan_free_text,
                searcher,
                text,
                tracker.get_slot("last_faq_id"),
                state,
                runtime.settings().bot.followup_max_chars,
            ),
        )
        if turn.unanswered:
            self._log_unanswered(tracker, text, turn.decision)
        if turn.used_context:
            log.info("follow-up %r resolved with the previous topic to %s", text, turn.decision.candidates[0].entry.id)
        return end_turn(carry_out(turn.plan, dispatcher, tracker) + [SlotSet("last_question", text)])

    def _chosen(
        self, searcher: Searcher, dispatcher: CollectingDispatcher, tracker: Tracker, state: State
    ) -> list[EventType]:
        faq_id = next(
            (e.get("value") for e in tracker.latest_message.get("entities", []) if e.get("entity") == "faq_id"), None
        )
        entry = searcher.by_id.get(str(faq_id)) if faq_id else None
        if entry is None:  # the FAQ was removed or disabled since the buttons were sent
            dispatcher.utter_message(response="utter_choice_gone")
            return end_turn([])
        return end_turn(
            carry_out(plan_choice(entry, state), dispatcher, tracker) + [SlotSet("last_question", entry.question)]
        )

    def _log_unanswered(self, tracker: Tracker, text: str, decision: Decision) -> None:
        try:
            runtime.records().log_unanswered(
                tracker.sender_id, channel_of(tracker), text, decision.confidence, candidates_for_log(decision)
            )
        except Exception:  # the user still gets an answer; operators get the log
            log.exception("could not log unanswered question %r", text)

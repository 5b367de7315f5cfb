"""Answer a question from the live FAQ index: answer, clarify or fall back,
with follow-up context and the FAQ's hand-off policy."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import runtime
from bot.actions.replies import carry_out, channel_of, end_turn, state_of
from bot.dialogue.turn import plan_choice, plan_question
from indexer.decide import ANSWER, FALLBACK, Decision
from indexer.search import IndexMissing, Searcher, SearchResult
from indexer.service import ask

log = logging.getLogger(__name__)

# How far down the follow-up's own ranking the resolved FAQ may sit.
FOLLOWUP_POOL = 20
# How many of the follow-up's word-sharing candidates are looked at for the
# previous answer's category.
FOLLOWUP_TOPIC_WINDOW = 5


def resolve(searcher: Searcher, text: str, last_faq_id: str | None,
            followup_max_chars: int) -> tuple[SearchResult, Decision, bool]:
    """Search ``text``; a short, unconfident message right after an answer may
    be a follow-up ("那要多久？" after 提现手续费) and is resolved with that topic:

    1. among the message's own candidates that share words with it, exactly
       one is in the previous answer's category → that one;
    2. otherwise the message is retried with the previous answer's tags, and
       the retry wins when it is confident and lands on an FAQ the message
       itself shares words with.

    Nonsense ("啊啊") shares no words with any FAQ and is never "resolved".
    The flag says the context was used.
    """
    # One search, deep enough for the follow-up checks; the decision only
    # looks at the first few candidates.
    result, decision = ask(searcher, text, k=FOLLOWUP_POOL)
    previous = searcher.by_id.get(last_faq_id) if last_faq_id else None
    if (decision.action == ANSWER or previous is None
            or len(result.normalised.replace(" ", "")) > followup_max_chars):
        return result, decision, False
    lexical = [c for c in result.candidates if c.bm25 > 0]
    same_topic = [c for c in lexical[:FOLLOWUP_TOPIC_WINDOW] if c.entry.category == previous.category]
    if len(same_topic) == 1:
        return result, Decision(ANSWER, decision.confidence, same_topic), True
    topic = " ".join(previous.tags) if previous.tags else previous.question
    result2, decision2 = ask(searcher, f"{topic} {text}")
    if decision2.action == ANSWER and decision2.candidates[0].entry.id in {c.entry.id for c in lexical}:
        return result2, decision2, True
    return result, decision, False


def candidates_for_log(decision: Decision) -> list[dict[str, Any]]:
    return [{"id": c.entry.id, "question": c.entry.question, "fused": round(c.fused, 4),
             "dense": round(c.dense, 4), "bm25": round(c.bm25, 4)} for c in decision.candidates]


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
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
        result, decision, used_context = resolve(searcher, text, tracker.get_slot("last_faq_id"),
                                                 runtime.settings().bot.followup_max_chars)
        plan = plan_question(decision, state)
        if decision.action == FALLBACK:
            self._log_unanswered(tracker, text, decision)
        if used_context:
            log.info("follow-up %r resolved with the previous topic to %s", text, decision.candidates[0].entry.id)
        return end_turn(carry_out(plan, dispatcher, tracker) + [SlotSet("last_question", text)])

    def _chosen(self, searcher: Searcher, dispatcher: CollectingDispatcher, tracker: Tracker,
                state: Any) -> list[EventType]:
        faq_id = next((e.get("value") for e in tracker.latest_message.get("entities", [])
                       if e.get("entity") == "faq_id"), None)
        entry = searcher.by_id.get(str(faq_id)) if faq_id else None
        if entry is None:  # the FAQ was removed or disabled since the buttons were sent
            dispatcher.utter_message(response="utter_choice_gone")
            return end_turn([])
        return end_turn(carry_out(plan_choice(entry, state), dispatcher, tracker)
                        + [SlotSet("last_question", entry.question)])

    def _log_unanswered(self, tracker: Tracker, text: str, decision: Decision) -> None:
        try:
            runtime.records().log_unanswered(tracker.sender_id, channel_of(tracker), text,
                                             decision.confidence, candidates_for_log(decision))
        except Exception:  # the user still gets an answer; operators get the log
            log.exception("could not log unanswered question %r", text)

"""The bot's one action: every message the gate lets through is a turn here.

It reads the message (``said_to_bot``: the intent, whether it is a button of
this turn, and whether retrieval answers it confidently), looks up what to do
in the conversation state machine (``bot.dialogue.conversation.step``) and
carries that out, with the turn logic (``bot.dialogue.turn``) for questions,
choices, feedback and hand-offs. Rasa's rules send every intent here, so no
intent can swallow a question the FAQ answers.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any, assert_never

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import runtime
from bot.actions.replies import (
    HUMAN_BUTTON,
    carry_out,
    channel_of,
    choose_payload,
    end_turn,
    feedback_buttons,
    state_of,
    turn_of,
)
from bot.dialogue.conversation import (
    BOT_PHASES,
    BUTTON_KEY,
    LABEL_KEY,
    Button,
    Do,
    Found,
    Phase,
    Said,
    asks_about_people,
    asks_for_human,
    is_nonsense,
    said_to_bot,
    step,
    without_pleasantries,
)
from bot.dialogue.turn import PlanKind, QuestionTurn, plan_choice, plan_feedback, plan_free_text, plan_request_human
from bot.handoff.offers import WELCOME
from faqbot.normalize import normalize
from indexer.decide import Decision
from indexer.kb import FaqEntry
from indexer.search import IndexMissing, Searcher

log = logging.getLogger(__name__)

MAX_HOT_QUESTIONS = 5
# Entries a customer said did not help, kept for the next question only.
MAX_REJECTED = 5
SMALL_TALK_RESPONSES = {
    "goodbye": "utter_goodbye",
    "thanks": "utter_thanks",
    "bot_challenge": "utter_iamabot",
    "chitchat": "utter_chitchat",
}


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


def hot_buttons(searcher: Searcher, turn: int | None = None) -> list[dict[str, str]]:
    """The questions editors marked ``hot: true``, in KB file order (expired ones left out)."""
    hot = [e for e in searcher.serving_entries() if e.hot][:MAX_HOT_QUESTIONS]
    return [{"title": e.question, "payload": choose_payload(e.id, turn)} for e in hot]


def button_of(message: dict[str, Any]) -> tuple[Button, str | None]:
    """What the gate said about this message's button; only a payload can be one
    (whatever a client put in the metadata, the gate overwrote it)."""
    metadata = message.get("metadata") or {}
    if not (message.get("text") or "").startswith("/"):
        return Button.NONE, None
    try:
        button = Button(metadata.get(BUTTON_KEY) or Button.NONE)
    except ValueError:
        button = Button.NONE
    label = metadata.get(LABEL_KEY)
    return button, label if isinstance(label, str) else None


def entity(message: dict[str, Any], name: str) -> str | None:
    value = next((e.get("value") for e in message.get("entities", []) if e.get("entity") == name), None)
    return str(value) if value is not None else None


def as_written(tracker: Tracker, text: str) -> str:
    """The customer's message as typed, for what is stored. The NLU pipeline hands the actions
    its normalised form (``bot/nlu/normalizer.py``), in which an e-mail address or an upper-case
    order number can no longer be told apart to be masked (``faqbot/masking.py``); the search
    still gets ``text``. ``text`` itself when the last user event is another message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            written = event.get("text")
            if isinstance(written, str) and written and (written == text or normalize(written) == text):
                return written
            return text
    return text


def outcome_of(do: Do, intent: str, question: QuestionTurn | None, tracker: Tracker) -> tuple[str, str | None]:
    """What the bot did with a turn, as the KPIs count it: (kind, FAQ id)."""
    message = tracker.latest_message
    match do:
        case Do.ANSWER if question is not None:
            plan = question.plan
            kind = {
                PlanKind.ANSWER: "answer",
                PlanKind.CLARIFY: "clarify",
                PlanKind.FALLBACK: "fallback",
                PlanKind.REFUSE: "refused",
            }.get(plan.kind, "handoff" if plan.kind == PlanKind.HANDOFF else "other")
            if plan.kind == PlanKind.HANDOFF and plan.entry is not None:
                kind = "answer"  # handoff: always — the answer is shown first, the hand-off is its own record
            return kind, plan.entry.id if plan.entry is not None else None
        case Do.CHOSEN:
            return "answer", entity(message, "faq_id")
        case Do.ACCEPT:
            pending = tracker.get_slot("pending_offer") or ""
            return ("handoff", None) if pending == "human" else ("answer", pending.removeprefix("faq:") or None)
        case Do.AS_LABEL if intent == "choose_faq":
            return "answer", entity(message, "faq_id")
        case Do.HAND_OFF:
            return "handoff", None
        case Do.AS_LABEL if intent == "request_human":
            return "handoff", None
        case Do.AS_LABEL:  # an old 有帮助/没帮助: recorded as what it was, counted for no answer
            return "stale_button", entity(message, "faq_id")
        case Do.FEEDBACK:
            return "feedback", entity(message, "faq_id") or tracker.get_slot("last_faq_id")
        case Do.SMALL_TALK:
            return "small_talk", None
        case _:
            return "other", None


class ActionTurn(Action):
    def name(self) -> str:
        return "action_turn"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        message = tracker.latest_message
        intent = (message.get("intent") or {}).get("name") or ""
        text = message.get("text") or ""
        button, label = button_of(message)
        try:
            phase = Phase(tracker.get_slot("phase") or Phase.BOT)
        except ValueError:
            phase = Phase.BOT
        if phase not in BOT_PHASES:
            phase = Phase.BOT
        try:
            searcher: Searcher | None = runtime.live_index().get()
        except IndexMissing:
            log.error("no published index; run `faqbot index build`")
            searcher = None
        question: QuestionTurn | None = None
        if searcher is not None and button == Button.NONE and text.strip():
            # 转人工 needs no search; "人工客服要排队多久" may be answered (said_to_bot decides).
            if (not asks_for_human(text) or asks_about_people(text)) and not is_nonsense(text):
                question = await self._search(searcher, tracker, without_pleasantries(text))
        found = Found(question.decision.action) if question is not None else Found.NOTHING
        # A message a sensitive word refused or handed off is a question whatever its intent:
        # a greeting with abuse in it gets the refusal, not the greeting.
        said = Said.QUESTION if question is not None and question.blocked else said_to_bot(intent, text, button, found)
        do = step(phase, said)
        log.debug("turn of %s: %s in %s → %s", tracker.sender_id, said, phase, do)
        # Carrying out writes to the database (the unanswered log, feedback, a hand-off request):
        # in a worker thread, so other conversations' actions never wait behind it.
        carry = functools.partial(
            self._carry_out, do, said, intent, text, label, question, searcher, dispatcher, tracker
        )
        events = await asyncio.get_running_loop().run_in_executor(None, carry)
        if text != WELCOME:  # a welcome the widget or a platform asked for is nobody's turn
            await self._record(tracker, outcome_of(do, intent, question, tracker), searcher, as_written(tracker, text))
        return end_turn(events)

    async def _record(
        self, tracker: Tracker, outcome: tuple[str, str | None], searcher: Searcher | None, text: str
    ) -> None:
        """What the bot did with this turn, for the KPIs (off the event loop; a failure only logs)."""
        kind, faq_id = outcome
        entry = searcher.by_id.get(faq_id) if searcher is not None and faq_id else None
        record = functools.partial(
            runtime.records().log_outcome,
            tracker.sender_id,
            channel_of(tracker),
            kind,
            faq_id,
            entry.category if entry is not None else None,
            text if not text.startswith("/") else (entry.question if entry is not None else None),
        )
        try:
            await asyncio.get_running_loop().run_in_executor(None, record)
        except Exception:
            log.exception("could not record the outcome of a turn of %s", tracker.sender_id)

    async def _search(self, searcher: Searcher, tracker: Tracker, text: str) -> QuestionTurn:
        # Embedding the question is tens of milliseconds of CPU: off the event loop, so
        # other conversations' actions are not held up behind it.
        rejected = frozenset(tracker.get_slot("rejected_faq_ids") or [])
        return await asyncio.get_running_loop().run_in_executor(
            None,
            functools.partial(
                plan_free_text,
                searcher,
                text,
                tracker.get_slot("last_faq_id"),
                state_of(tracker),
                runtime.settings().bot.followup_max_chars,
                rejected,
            ),
        )

    def _carry_out(
        self,
        do: Do,
        said: Said,
        intent: str,
        text: str,
        label: str | None,
        question: QuestionTurn | None,
        searcher: Searcher | None,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> list[EventType]:
        match do:
            case Do.ANSWER:
                return self._answer(text, question, searcher, dispatcher, tracker)
            case Do.SMALL_TALK:
                return self._small_talk(intent, searcher, dispatcher, tracker)
            case Do.HAND_OFF:
                return carry_out(plan_request_human(state_of(tracker)), dispatcher, tracker)
            case Do.ACCEPT:  # what is on offer: a person, or the one FAQ of "您是想问：X？"
                pending = tracker.get_slot("pending_offer") or ""
                if pending == "human":
                    return carry_out(plan_request_human(state_of(tracker)), dispatcher, tracker)
                return self._chosen(pending.removeprefix("faq:"), searcher, dispatcher, tracker)
            case Do.CHOSEN:
                return self._chosen(entity(tracker.latest_message, "faq_id"), searcher, dispatcher, tracker)
            case Do.FEEDBACK:
                return self._feedback(intent, dispatcher, tracker)
            case Do.AS_LABEL:
                return self._stale(intent, label, searcher, dispatcher, tracker)
            case Do.DECLINE:
                dispatcher.utter_message(response="utter_declined", buttons=[HUMAN_BUTTON])
                return [SlotSet("pending_offer", "human"), SlotSet("phase", Phase.OFFERING)]
            case Do.PICK_ONE:
                dispatcher.utter_message(response="utter_pick_one")
                return []
            case Do.NOTHING_PENDING:
                dispatcher.utter_message(response="utter_anything_else")
                return [SlotSet("pending_offer", None), SlotSet("phase", Phase.BOT)]
            case Do.REMIND | Do.TOO_LONG | Do.IGNORE:
                dispatcher.utter_message(response="utter_empty")
                return []
            case Do.RATE:  # the gate records ratings before the bot reads anything
                dispatcher.utter_message(response="utter_rating_done")
                return []
            case (
                Do.SAVE_CONTACT
                | Do.ASK_CONTACT_AGAIN
                | Do.OFFER_SKIP
                | Do.ESCAPE
                | Do.SKIP_CONTACT
                | Do.SUBMIT
                | Do.CANCEL_MESSAGE
                | Do.LEAVE_QUEUE
                | Do.ALREADY_QUEUED
                | Do.TO_AGENT
            ):
                raise AssertionError(f"{do} is the gate's, not a step of the bot's phases")
            case _:
                assert_never(do)

    def _answer(
        self,
        text: str,
        question: QuestionTurn | None,
        searcher: Searcher | None,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> list[EventType]:
        if searcher is None or question is None:
            dispatcher.utter_message(response="utter_index_unavailable")
            return []
        if question.unanswered:
            self._log_unanswered(tracker, as_written(tracker, text), question.decision)
        if question.used_context:
            resolved = question.decision.candidates[0].entry.id
            log.info("follow-up %r resolved with the previous topic to %s", text, resolved)
        written = as_written(tracker, text)
        return carry_out(question.plan, dispatcher, tracker, written) + [
            SlotSet("last_question", written),  # feedback and hand-offs store it
            SlotSet("rejected_faq_ids", None),
        ]

    def _small_talk(
        self, intent: str, searcher: Searcher | None, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        if intent in SMALL_TALK_RESPONSES:
            dispatcher.utter_message(response=SMALL_TALK_RESPONSES[intent])
        else:  # a greeting, or the welcome a channel sends on its own
            buttons = hot_buttons(searcher, turn_of(tracker)) if searcher is not None else []
            dispatcher.utter_message(response="utter_greet", buttons=buttons or None)
        return [SlotSet("pending_offer", None), SlotSet("phase", Phase.BOT)]

    def _chosen(
        self, faq_id: str | None, searcher: Searcher | None, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> list[EventType]:
        entry: FaqEntry | None = searcher.serving().get(faq_id) if searcher is not None and faq_id else None
        if entry is None:  # the FAQ was removed, disabled or expired since the button was sent
            dispatcher.utter_message(response="utter_choice_gone")
            return [SlotSet("pending_offer", None), SlotSet("phase", Phase.BOT)]
        assert searcher is not None  # entry came from it
        plan = plan_choice(entry, state_of(tracker), searcher.sensitive)
        return carry_out(plan, dispatcher, tracker) + [
            SlotSet("last_question", entry.question),
            SlotSet("rejected_faq_ids", None),
        ]

    def _feedback(self, intent: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """有帮助 / 没帮助: counted once per answer, against the answer it was under
        (the button names it; typed, the latest answer), and only while that
        answer's feedback is open (set by the answer itself)."""
        helpful = intent == "feedback_positive"
        faq_id = entity(tracker.latest_message, "faq_id") or tracker.get_slot("last_faq_id")
        if faq_id is None or faq_id != tracker.get_slot("last_faq_id") or not tracker.get_slot("feedback_open"):
            if helpful:
                dispatcher.utter_message(response="utter_thanks")
                return []
            dispatcher.utter_message(response="utter_feedback_nothing", buttons=[HUMAN_BUTTON])
            return [SlotSet("pending_offer", "human"), SlotSet("phase", Phase.OFFERING)]
        try:
            runtime.records().log_feedback(
                tracker.sender_id, channel_of(tracker), faq_id, helpful, tracker.get_slot("last_question")
            )
        except Exception:
            log.exception("could not record feedback for %s", tracker.sender_id)
        events = carry_out(plan_feedback(helpful, state_of(tracker)), dispatcher, tracker)
        if not helpful:
            rejected = list(tracker.get_slot("rejected_faq_ids") or [])
            events.append(SlotSet("rejected_faq_ids", ([*rejected, faq_id])[-MAX_REJECTED:]))
        return events

    def _stale(
        self,
        intent: str,
        label: str | None,
        searcher: Searcher | None,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> list[EventType]:
        """A button of an earlier turn does what its label says, as a fresh turn;
        an old 有帮助/没帮助 is never counted for another answer."""
        log.info("a button of an earlier turn from %s: %s (%s)", tracker.sender_id, intent, label)
        if intent == "choose_faq":
            return self._chosen(entity(tracker.latest_message, "faq_id"), searcher, dispatcher, tracker)
        if intent == "request_human":
            return carry_out(plan_request_human(state_of(tracker)), dispatcher, tracker)
        latest = tracker.get_slot("last_faq_id")
        if latest and tracker.get_slot("feedback_open"):  # the latest answer can still be rated: ask again
            dispatcher.utter_message(
                response="utter_stale_feedback_rate_latest", buttons=feedback_buttons(latest, turn_of(tracker))
            )
        else:
            dispatcher.utter_message(response="utter_stale_feedback")
        return []

    def _log_unanswered(self, tracker: Tracker, text: str, decision: Decision) -> None:
        try:
            runtime.records().log_unanswered(
                tracker.sender_id, channel_of(tracker), text, decision.confidence, candidates_for_log(decision)
            )
        except Exception:  # the user still gets an answer; operators get the log
            log.exception("could not log unanswered question %r", text)

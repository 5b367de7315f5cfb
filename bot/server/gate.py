"""The gate every channel passes user messages through (``connectors/gate.py``),
backed by the hand-off store. It is what keeps the bot silent while a person
owns the conversation:

- a waiting or with-agent conversation: the message goes to the agent's log
  (in order, stored before anything else), never to Rasa; "取消" while waiting
  leaves the queue;
- a message being left (留言): the next replies are the contact and the
  question, and a question instead lets the bot answer it (the 留言 is left);
  what each message does in each step is the state machine's
  (``bot/dialogue/conversation.py``);
- a rating button after a hand-off closed is recorded (once, for the user's
  own hand-off);
- for the bot, a ``/payload`` counts as a button of this turn only when the
  bot offers that button to this user now (``bot/handoff/offers.py``); one of
  an earlier turn is marked stale (the bot does what its label says), any
  other is read as plain text;
- anything else is the bot's.

Why a gate rather than Rasa's ConversationPaused: a paused tracker still
receives the messages but nothing forwards them to a person, and resuming
needs Rasa's HTTP API with a token; the gate keeps the conversation's owner in
one table that the console, the action server and every channel read.

Every database call runs in the desk's worker threads (``HandoffDesk.blocking``),
never on the event loop that serves every channel; one conversation's messages
still pass the gate one at a time, in the order they came.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from zoneinfo import ZoneInfo

from rasa.core.channels.channel import UserMessage

from bot.dialogue.conversation import BUTTON_KEY, LABEL_KEY, Button, Do, Phase, Said, said_at_gate, step
from bot.dialogue.texts import say
from bot.handoff.db import now
from bot.handoff.desk import HandoffDesk
from bot.handoff.handoffs import WAITING, Handoff, HandoffError
from bot.handoff.offers import WELCOME, Screened, as_plain_text
from bot.handoff.rating import parse_rating
from bot.handoff.ticket_buttons import RESOLVED, parse_ticket_button
from bot.handoff.tickets import CONTACT, CONTACT_RETRY, Ticket, TicketError
from bot.handoff.wording import FOLLOWUP_EXIT, MESSAGE_EXIT, QUEUE_EXIT, SKIP_CONTACT, SUBMIT, contact_of
from connectors.background import in_background
from indexer.sensitive import Hit

log = logging.getLogger(__name__)
# Where a widget reports its page and device (bot/handoff/customers.py).
CUSTOMER_KEY = "customer"


class InOrder:
    """One message at a time per conversation: with the database calls off the event
    loop, a user's second message must not overtake the first into the agent's log."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class HandoffGate:
    def __init__(self, desk: HandoffDesk, sensitive: Callable[[str], list[Hit]] | None = None) -> None:
        """``sensitive``: the served list's matcher (``KbLookup.sensitive``); a customer's message
        to a person is never held, but its sensitive words are counted (the KPIs' 敏感词)."""
        self.desk = desk
        self.sensitive = sensitive
        self._in_order = InOrder()

    async def intercept(self, message: UserMessage) -> bool:
        text = (message.text or "").strip()
        sender = message.sender_id
        if isinstance(message.metadata, dict) and CUSTOMER_KEY in message.metadata:
            await self._note_customer(message, message.metadata.pop(CUSTOMER_KEY))
        rating = parse_rating(text)
        if rating is not None:
            await self._rate(message, *rating)
            return True
        async with self._in_order.hold(sender):
            return await self._intercept(message, text, sender)

    async def _intercept(self, message: UserMessage, text: str, sender: str) -> bool:
        blocking = self.desk.blocking
        owner, answer_waiting = await blocking(self.desk.owner_of, sender)  # one query: most messages are the bot's
        if answer_waiting:  # the customer is back: first the answers to their 留言 they have not seen
            for text_, buttons in await self.desk.bring_back(message.input_channel or "unknown", sender):
                await message.output_channel.send_text_with_buttons(sender, text_, buttons)
        clicked = parse_ticket_button(text)
        if clicked is not None:  # 问题已解决 / 还有问题 under an answer to a 留言
            await self._after_answer(message, *clicked)
            return True
        if owner is None:
            return False
        label = await blocking(self.desk.offers.label, sender, text) if text.startswith("/") else None
        said = said_at_gate(text, payload_label=label)
        handoff = await blocking(self.desk.handoffs.open_for, sender)
        if handoff is not None:
            phase = Phase.WAITING if handoff.state == WAITING else Phase.WITH_AGENT
            await self._to_person(handoff, message, step(phase, said), label or text)
            return True
        draft = await blocking(self.desk.tickets.draft_for, sender)
        if draft is not None:
            return await self._take_message(draft, message, text, said)
        reopened = await blocking(self.desk.tickets.followup_for, sender)
        if reopened is not None:
            return await self._take_followup(reopened, message, text, said)
        return False  # closed between the two reads

    async def _note_customer(self, message: UserMessage, reported: Any) -> None:
        """Keep the page and device the widget reported for the console (not in the tracker)."""
        try:
            await self.desk.blocking(
                self.desk.note_customer, message.sender_id, message.input_channel or "unknown", reported
            )
        except Exception:  # the panel loses a line; the customer's message goes on
            log.exception("could not note what %s's client reported", message.sender_id)

    async def screen(self, message: UserMessage) -> None:
        text = (message.text or "").strip()
        if text.startswith("/"):
            screened = await self.desk.blocking(self.desk.offers.screen, message.sender_id, text)
        else:
            screened = Screened(text, Button.NONE)
        if screened.text != text:
            log.info("a payload %s was never offered to %s; read as %r", text[:80], message.sender_id, screened.text)
            message.text = screened.text
        # Set here whatever the client sent: the bot trusts only the gate's word on buttons.
        message.metadata = {**(message.metadata or {}), BUTTON_KEY: screened.button, LABEL_KEY: screened.label}

    async def offered(self, message: UserMessage, buttons: list[dict[str, str]]) -> None:
        await self.desk.blocking(self.desk.offers.offer, message.sender_id, buttons)

    async def answered(self, message: UserMessage, reply_ms: float) -> None:
        channel = message.input_channel or "unknown"
        if (message.text or "").strip() == WELCOME:
            return  # a welcome the widget or a platform asked for: nobody has said anything yet
        self.desk.note_turn(message.sender_id, channel, "bot", reply_ms)
        take_over = getattr(self.desk.outbound(channel), "take_over", None)
        if take_over is not None:  # a platform with its own human desk (WeCom 微信客服)
            await self._offer_to_platform(message.sender_id, channel, take_over)

    async def _offer_to_platform(self, sender: str, channel: str, take_over: Callable[[str], Awaitable[bool]]) -> None:
        """A hand-off this turn created goes to the platform's own servicers if it
        takes it; it then leaves our queue (closed as "platform"), counted as a hand-off."""
        handoff = await self.desk.blocking(self.desk.handoffs.open_for, sender)
        if handoff is None or handoff.state != WAITING:
            return
        if await take_over(sender):
            await self.desk.blocking(self.desk.handoffs.close, handoff.id, None, "platform", only_if=WAITING)
            self.desk.pulse.fire()
            log.info("hand-off %s of %s taken over by %s's own servicers", handoff.id, sender, channel)

    async def _reply(
        self,
        message: UserMessage,
        text: str,
        handoff: Handoff | None = None,
        buttons: list[dict[str, str]] | None = None,
    ) -> None:
        if handoff is not None:  # kept in the hand-off's log, so the agent sees what the user was told
            await self.desk.blocking(self.desk.handoffs.bot_message, handoff.id, text)
        if buttons:
            await message.output_channel.send_text_with_buttons(message.sender_id, text, buttons)
        else:
            await message.output_channel.send_text_message(message.sender_id, text)

    def _record_rating(self, sender: str, handoff_id: str, rating: str) -> None:
        handoff = self.desk.handoffs.get(handoff_id)
        if handoff.conversation_id != sender:
            raise HandoffError("a rating for another conversation")
        self.desk.handoffs.rate(handoff_id, rating)

    async def _rate(self, message: UserMessage, handoff_id: str, rating: str) -> None:
        try:
            await self.desk.blocking(self._record_rating, message.sender_id, handoff_id, rating)
        except HandoffError as exc:
            log.info("rating from %s not recorded: %s", message.sender_id, exc)
            await self._reply(message, say("utter_rating_done"))
            return
        self.desk.pulse.fire()
        await self._reply(message, say("utter_rating_thanks"))

    async def _to_person(self, handoff: Handoff, message: UserMessage, do: Do, text: str) -> None:
        """Waiting for or talking with a person (``text`` is a button's label, not its payload)."""
        blocking, store = self.desk.blocking, self.desk.handoffs
        channel = message.input_channel or "unknown"
        waiting = handoff.state == WAITING
        match do:
            case Do.LEAVE_QUEUE:
                await blocking(store.close, handoff.id, None, "user_cancelled")
                self.desk.pulse.fire()
                await self._reply(message, say("utter_handoff_cancelled"), handoff)
            case Do.ALREADY_QUEUED:
                await self._reply(message, say("utter_handoff_already", ticket=handoff.ticket), buttons=[QUEUE_EXIT])
            case Do.TO_AGENT:
                await blocking(store.user_message, handoff.id, as_plain_text(text) if text.startswith("/") else text)
                self.desk.note_turn(message.sender_id, channel, "queue" if waiting else "agent", None)
                self.desk.pulse.fire()
                # Counted after it reached the agent: the first check may load the served list.
                in_background(self._count_sensitive(message.sender_id, channel, text), "a sensitive-word count")
                if waiting:
                    sent = [e for e in await blocking(store.events, handoff.id) if e["kind"] == "user_message"]
                    if len(sent) == 1:  # acknowledge once; the agent answers the rest
                        await self._reply(message, say("utter_handoff_waiting_ack"), handoff, [QUEUE_EXIT])
            case Do.IGNORE | Do.RATE | Do.TOO_LONG:
                pass  # nothing to pass on (ratings and the length limit are handled before any state)
            case _:
                raise AssertionError(f"{do} is not a step while a person owns the conversation")

    async def _count_sensitive(self, conversation_id: str, channel: str, text: str) -> None:
        if self.sensitive is None or text.startswith("/"):
            return
        try:
            hits = await self.desk.blocking(self.sensitive, text)
            if hits:  # to a person: passed on, only recorded ("log")
                await self.desk.blocking(
                    self.desk.records.log_sensitive, conversation_id, channel, "customer", hits, "log"
                )
        except Exception:  # the message reached the agent; only the count is lost
            log.exception("could not count the sensitive words of a message to an agent")

    async def _take_message(self, draft: Ticket, message: UserMessage, text: str, said: Said) -> bool:
        """A message (留言) being left: each step's replies offer the way out. Returns
        False when the customer asked something else: the bot answers that."""
        blocking, tickets = self.desk.blocking, self.desk.tickets
        phase = {CONTACT: Phase.LEAVING_CONTACT, CONTACT_RETRY: Phase.CONTACT_RETRY}.get(
            draft.step or "", Phase.LEAVING_QUESTION
        )
        do = step(phase, said)
        if do == Do.ESCAPE:
            await blocking(tickets.escape, draft.id)
            log.info("留言 %s left unfinished: %s asked the bot instead", draft.ticket, message.sender_id)
            return False
        self.desk.note_turn(message.sender_id, message.input_channel or "unknown", "ticket", None)
        match do:
            case Do.CANCEL_MESSAGE:
                await blocking(tickets.cancel, draft.id)
                await self._reply(message, say("utter_leave_message_cancelled"))
            case Do.SAVE_CONTACT:
                contact = contact_of(text)
                assert contact is not None
                draft = await blocking(tickets.set_contact, draft.id, contact)
                await self._ask_question(message, draft, say("utter_leave_message_contact_saved", contact=contact))
            case Do.SKIP_CONTACT:
                draft = await blocking(tickets.skip_contact, draft.id)
                await self._ask_question(message, draft, say("utter_leave_message_no_contact"))
            case Do.ASK_CONTACT_AGAIN:
                await blocking(tickets.retry_contact, draft.id)
                await self._reply(message, say("utter_leave_message_contact_again"), buttons=[MESSAGE_EXIT])
            case Do.OFFER_SKIP:
                await self._reply(message, say("utter_leave_message_offer_skip"), buttons=[SKIP_CONTACT, MESSAGE_EXIT])
            case Do.REMIND if phase == Phase.LEAVING_QUESTION:
                await self._ask_question(message, draft, "")
            case Do.REMIND:
                await self._reply(
                    message, say("utter_leave_message_remind_contact"), buttons=[SKIP_CONTACT, MESSAGE_EXIT]
                )
            case Do.SUBMIT:
                if said == Said.AFFIRM and not draft.last_question:
                    await self._ask_question(message, draft, "")
                else:
                    await self._submit(message, draft, draft.last_question if said == Said.AFFIRM else text)
            case Do.RATE | Do.TOO_LONG | Do.IGNORE:
                pass  # handled before any state
            case _:
                raise AssertionError(f"{do} is not a step of leaving a message")
        return True

    async def _after_answer(self, message: UserMessage, action: str, ref: str) -> None:
        """A click under an answer: close the customer's own ticket, or reopen it for a follow-up."""
        sender, tickets = message.sender_id, self.desk.tickets
        mine = [t for t in await self.desk.blocking(tickets.of_conversation, sender) if t.ticket == ref]
        try:
            if not mine:
                raise TicketError(f"no ticket {ref!r} in this conversation")
            if action == RESOLVED:
                await self.desk.close_ticket(mine[0].id, sender, "customer_resolved")
                await self._reply(message, say("utter_ticket_resolved", ticket=ref))
                return
            await self.desk.blocking(tickets.reopen, mine[0].id, sender)
        except TicketError as exc:
            log.info("a click under the answer to 留言 %s from %s: %s", ref, sender, exc)
            await self._reply(message, say("utter_ticket_already_done", ticket=ref))
            return
        self.desk.pulse.fire()
        await self._reply(message, say("utter_ticket_followup_ask", ticket=ref), buttons=[FOLLOWUP_EXIT])

    async def _take_followup(self, ticket: Ticket, message: UserMessage, text: str, said: Said) -> bool:
        """The customer said 还有问题: their next message is added to the 留言 for the agent.
        Cancelling, or asking the bot something else, leaves the 留言 as it was."""
        blocking, tickets = self.desk.blocking, self.desk.tickets
        do = step(Phase.FOLLOWING_UP, said)
        if do == Do.ESCAPE:
            await blocking(tickets.drop_followup, ticket.id)
            return False
        self.desk.note_turn(message.sender_id, message.input_channel or "unknown", "ticket", None)
        match do:
            case Do.CANCEL_MESSAGE:
                await blocking(tickets.drop_followup, ticket.id)
                await self._reply(message, say("utter_ticket_followup_cancelled", ticket=ticket.ticket))
            case Do.SUBMIT:
                zone = ZoneInfo(self.desk.settings.handoff.timezone)
                await blocking(tickets.add_followup, ticket.id, text, f"{now().astimezone(zone):%m-%d %H:%M}")
                self.desk.pulse.fire()
                await self._reply(message, say("utter_ticket_followup_done", ticket=ticket.ticket))
            case Do.REMIND:  # a bare 是, or nothing yet: ask again, with the way out
                await self._reply(
                    message, say("utter_ticket_followup_ask", ticket=ticket.ticket), buttons=[FOLLOWUP_EXIT]
                )
            case Do.RATE | Do.TOO_LONG | Do.IGNORE:
                pass  # handled before any state
            case _:
                raise AssertionError(f"{do} is not a step of adding to a 留言")
        return True

    async def _ask_question(self, message: UserMessage, draft: Ticket, before: str) -> None:
        """Confirm the question the customer asked last, or ask for one."""
        if draft.last_question:
            text = say("utter_leave_message_confirm", question=draft.last_question)
            buttons = [SUBMIT, MESSAGE_EXIT]
        else:
            text = say("utter_leave_message_remind_question")
            buttons = [MESSAGE_EXIT]
        await self._reply(message, f"{before}{text}" if before else text, buttons=buttons)

    async def _submit(self, message: UserMessage, draft: Ticket, question: str | None) -> None:
        ticket = await self.desk.blocking(self.desk.tickets.submit, draft.id, question or "")
        self.desk.pulse.fire()
        availability = await self.desk.blocking(self.desk.availability)
        when = (
            await self.desk.blocking(self.desk.expectation, availability)
            if availability.why_offline == "closed"
            else ""
        )
        if ticket.contact:
            # Say only what will happen: an e-mail goes out only when a mail server is configured.
            by_mail = "@" in ticket.contact and self.desk.settings.mail.smtp_url.strip()
            name = "utter_leave_message_done" if by_mail else "utter_leave_message_done_chat"
            text = say(name, ticket=ticket.ticket, contact=ticket.contact, expectation=when)
        else:
            text = say("utter_leave_message_done_no_contact", ticket=ticket.ticket, expectation=when)
        await self._reply(message, text)

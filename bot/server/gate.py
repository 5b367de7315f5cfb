"""The gate every channel passes user messages through (``connectors/gate.py``),
backed by the hand-off store. It is what keeps the bot silent while a person
owns the conversation:

- a waiting or with-agent conversation: the message goes to the agent's log
  (in order, stored before anything else), never to Rasa; "取消" while waiting
  leaves the queue;
- a message being left (留言): the next replies are the contact and the question;
- a rating button after a hand-off closed is recorded (once, for the user's
  own hand-off);
- for the bot, a typed ``/payload`` counts only when the bot offers that
  button to this user now (``bot/handoff/offers.py``); otherwise it is read as its
  title or as text;
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

from rasa.core.channels.channel import UserMessage

from bot.dialogue.texts import say
from bot.handoff.desk import HandoffDesk
from bot.handoff.handoffs import WAITING, Handoff, HandoffError
from bot.handoff.rating import parse_rating
from bot.handoff.tickets import CONTACT, Ticket
from bot.handoff.wording import CANCEL_WORDS, YES_WORDS, contact_of, plain

log = logging.getLogger(__name__)


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
    def __init__(self, desk: HandoffDesk) -> None:
        self.desk = desk
        self._in_order = InOrder()

    async def intercept(self, message: UserMessage) -> bool:
        text = (message.text or "").strip()
        sender = message.sender_id
        rating = parse_rating(text)
        if rating is not None:
            await self._rate(message, *rating)
            return True
        async with self._in_order.hold(sender):
            return await self._intercept(message, text, sender)

    async def _intercept(self, message: UserMessage, text: str, sender: str) -> bool:
        blocking = self.desk.blocking
        owner = await blocking(self.desk.owner_of, sender)  # one query: most messages are the bot's
        if owner is None:
            return False
        handoff = await blocking(self.desk.handoffs.open_for, sender)
        if handoff is not None:
            await self._to_person(handoff, message, text)
            return True
        draft = await blocking(self.desk.tickets.draft_for, sender)
        if draft is not None:
            await self._take_message(draft, message, text)
            return True
        return False  # closed between the two reads

    async def screen(self, message: UserMessage) -> None:
        text = (message.text or "").strip()
        if not text.startswith("/"):
            return
        screened = await self.desk.blocking(self.desk.offers.screen, message.sender_id, text)
        if screened != text:
            log.info("a payload %s was not offered to %s now; read as %r", text[:80], message.sender_id, screened[:80])
            message.text = screened

    async def offered(self, message: UserMessage, buttons: list[dict[str, str]]) -> None:
        await self.desk.blocking(self.desk.offers.offer, message.sender_id, buttons)

    async def answered(self, message: UserMessage, reply_ms: float) -> None:
        channel = message.input_channel or "unknown"
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

    async def _reply(self, message: UserMessage, text: str, handoff: Handoff | None = None) -> None:
        if handoff is not None:  # kept in the hand-off's log, so the agent sees what the user was told
            await self.desk.blocking(self.desk.handoffs.bot_message, handoff.id, text)
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

    async def _to_person(self, handoff: Handoff, message: UserMessage, text: str) -> None:
        blocking, store = self.desk.blocking, self.desk.handoffs
        channel = message.input_channel or "unknown"
        waiting = handoff.state == WAITING
        if waiting and plain(text) in CANCEL_WORDS:
            await blocking(store.close, handoff.id, None, "user_cancelled")
            self.desk.pulse.fire()
            await self._reply(message, say("utter_handoff_cancelled"), handoff)
            return
        if text == "/request_human":  # the 转人工 button again
            await message.output_channel.send_text_message(
                message.sender_id, say("utter_handoff_already", ticket=handoff.ticket)
            )
            return
        await blocking(store.user_message, handoff.id, text)
        self.desk.note_turn(message.sender_id, channel, "queue" if waiting else "agent", None)
        self.desk.pulse.fire()
        if waiting:
            sent = [e for e in await blocking(store.events, handoff.id) if e["kind"] == "user_message"]
            if len(sent) == 1:  # acknowledge once; the agent answers the rest
                await self._reply(message, say("utter_handoff_waiting_ack"), handoff)

    async def _take_message(self, draft: Ticket, message: UserMessage, text: str) -> None:
        blocking, tickets = self.desk.blocking, self.desk.tickets
        self.desk.note_turn(message.sender_id, message.input_channel or "unknown", "ticket", None)
        if plain(text) in CANCEL_WORDS:
            await blocking(tickets.cancel, draft.id)
            await self._reply(message, say("utter_leave_message_cancelled"))
            return
        if draft.step == CONTACT:
            contact = contact_of(text)
            if contact is None:
                await self._reply(message, say("utter_leave_message_contact_invalid"))
                return
            await blocking(tickets.set_contact, draft.id, contact)
            if draft.last_question:
                await self._reply(message, say("utter_leave_message_confirm", question=draft.last_question))
            else:
                await self._reply(message, say("utter_leave_message_question"))
            return
        if plain(text) in YES_WORDS and draft.last_question:
            question = draft.last_question
        elif len(plain(text)) < 2 or plain(text) in YES_WORDS:
            await self._reply(message, say("utter_leave_message_question"))
            return
        else:
            question = text
        ticket = await blocking(tickets.submit, draft.id, question)
        self.desk.pulse.fire()
        availability = await blocking(self.desk.availability)
        when = await blocking(self.desk.expectation, availability) if availability.why_offline == "closed" else ""
        await self._reply(
            message, say("utter_leave_message_done", ticket=ticket.ticket, contact=ticket.contact, expectation=when)
        )

"""The hand-off layer's operations, in one place for every process that needs them:

- the action server asks for a person (``request``): queue for an agent when
  one can take the chat now, otherwise start taking a message (留言);
- the Rasa server's gate and console move conversations along and deliver
  what people write to the user's channel (``connectors/outbound.py``), with
  every message stored first so a restart or an offline client loses nothing.

State lives only in the database, so any number of processes agree on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa

from bot.dialogue.texts import say
from bot.handoff.agents import AgentStore
from bot.handoff.availability import Availability, OpeningHours, check, expectation
from bot.handoff.db import Database
from bot.handoff.handoffs import OPEN_STATES, WAITING, Handoff, HandoffError, HandoffRequest, HandoffStore, handoffs
from bot.handoff.offers import OfferBook
from bot.handoff.records import Records
from bot.handoff.tickets import DRAFTING, TicketStore, tickets
from connectors.outbound import outbound_for
from faqbot.config import Settings

log = logging.getLogger(__name__)

RATE_PAYLOAD = "/rate_service"
# Turns (KPI rows) are written in batches at most this often: one row per
# message, written one by one, cost more than the rest of the gate.
TURN_FLUSH_SECONDS = 1.0


@dataclass(frozen=True)
class Outcome:
    """What a request for a person led to: queued, already queued, or a message is being taken."""

    kind: str  # "queued" | "already" | "message"
    reference: str  # the ticket the user can quote
    text: str  # what to tell the user


def rating_buttons(handoff_id: str) -> list[dict[str, str]]:
    def payload(rating: str) -> str:
        return RATE_PAYLOAD + json.dumps({"handoff_id": handoff_id, "rating": rating})

    return [{"title": "满意", "payload": payload("good")}, {"title": "不满意", "payload": payload("bad")}]


def parse_rating(text: str) -> tuple[str, str] | None:
    """(handoff_id, rating) from a rating button's payload, or None."""
    if not text.startswith(RATE_PAYLOAD + "{"):
        return None
    try:
        data = json.loads(text[len(RATE_PAYLOAD):])
        return str(data["handoff_id"]), str(data["rating"])
    except (ValueError, KeyError, TypeError):
        return None


class Pulse:
    """Wakes everyone waiting for "something changed" (the console's live feeds)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except asyncio.TimeoutError:
            pass


class HandoffDesk:
    def __init__(self, settings: Settings) -> None:
        url = settings.database_url
        self.settings = settings
        self.handoffs = HandoffStore(url)
        self.tickets = TicketStore(url)
        self.agents = AgentStore(url, settings.handoff.session_hours)
        self.records = Records(url)
        self.offers = OfferBook(url)
        self._owners = Database(url, handoffs.metadata, tickets.metadata)  # owner_of reads both tables
        self.hours = OpeningHours.parse(settings.handoff.hours, settings.handoff.timezone)
        self._pulse: Pulse | None = None
        self._turns: list[dict[str, Any]] = []

    # -- who owns a conversation, and the turns log (the gate, every message) -----

    def owner_of(self, conversation_id: str) -> str | None:
        """"handoff" (waiting or with an agent), "ticket" (a message being left) or None (the bot)."""
        query = sa.union_all(
            sa.select(sa.literal("handoff").label("owner")).where(
                handoffs.c.conversation_id == conversation_id, handoffs.c.state.in_(OPEN_STATES)),
            sa.select(sa.literal("ticket").label("owner")).where(
                tickets.c.conversation_id == conversation_id, tickets.c.state == DRAFTING))
        with self._owners.engine.connect() as conn:
            return conn.execute(query).scalar()

    def note_turn(self, conversation_id: str, channel: str, handled_by: str, reply_ms: float | None) -> None:
        """Record one user message for the KPIs (flushed within ``TURN_FLUSH_SECONDS``)."""
        self._turns.append({"at": datetime.now(timezone.utc), "conversation_id": conversation_id,
                            "channel": channel, "handled_by": handled_by, "reply_ms": reply_ms})
        if len(self._turns) == 1:
            try:
                asyncio.get_running_loop().call_later(TURN_FLUSH_SECONDS, self.flush_turns)
            except RuntimeError:  # no event loop (a script or a test): write now
                self.flush_turns()

    def flush_turns(self) -> None:
        rows, self._turns = self._turns, []
        try:
            self.records.log_turns(rows)
        except Exception:
            log.exception("could not record %d turns for the KPIs", len(rows))

    # -- availability and requests (action server) -----------------------------

    def availability(self, now: datetime | None = None) -> Availability:
        now = now or datetime.now(timezone.utc)
        online = len(self.agents.online(self.settings.handoff.presence_timeout))
        waiting = len(self.handoffs.in_states((WAITING,)))
        return check(self.hours, online, waiting, self.settings.handoff.max_waiting_per_agent, now)

    def expectation(self, availability: Availability | None = None) -> str:
        availability = availability or self.availability()
        return expectation(availability, self.hours, datetime.now(timezone.utc))

    def request(self, request: HandoffRequest, last_question: str | None) -> Outcome:
        """A person was asked for: queue, or take a message when nobody can answer live."""
        existing = self.handoffs.open_for(request.conversation_id)
        if existing is not None:
            return Outcome("already", existing.ticket, say("utter_handoff_already", ticket=existing.ticket))
        availability = self.availability()
        if availability.live:
            handoff, _ = self.handoffs.create(request)
            log.info("hand-off %s (%s) for %s on %s queued", handoff.id, handoff.reason,
                     handoff.conversation_id, handoff.channel)
            return Outcome("queued", handoff.ticket, say("utter_handoff_queued", ticket=handoff.ticket,
                                                         expectation=self.expectation(availability)))
        ticket = self.tickets.start(request.conversation_id, request.channel, request.reason,
                                    availability.why_offline or "closed", last_question)
        log.info("nobody available (%s): taking a message %s for %s", availability.why_offline, ticket.id,
                 request.conversation_id)
        return Outcome("message", ticket.ticket, say("utter_leave_message",
                                                     expectation=self.expectation(availability)))

    # -- nobody left to answer (Rasa server) -----------------------------------

    async def release_stranded(self) -> int:
        """Users still waiting when the last agent signs off (or opening hours end)
        must not wait for nobody: each is told so honestly and offered a message
        (留言) instead, with the question they were waiting with as the default.
        Returns how many were released. Conversations already with an agent stay."""
        availability = self.availability()
        if availability.live or availability.why_offline == "busy":
            return 0
        released = 0
        for handoff in self.handoffs.in_states((WAITING,)):
            try:
                closed = self.handoffs.close(handoff.id, None, "nobody_available", only_if=WAITING)
            except HandoffError:  # claimed or cancelled meanwhile
                continue
            asked = [e["text"] for e in self.handoffs.events(handoff.id) if e["kind"] == "user_message"]
            self.tickets.start(closed.conversation_id, closed.channel, closed.reason,
                               availability.why_offline or "closed", asked[-1] if asked else None)
            await self.notice(closed, say("utter_handoff_released", expectation=self.expectation(availability)),
                              "released")
            log.info("hand-off %s of %s released: nobody available (%s); taking a message instead",
                     closed.id, closed.conversation_id, availability.why_offline)
            released += 1
        if released:
            self.pulse.fire()
        return released

    async def watch_stranded(self, every: float = 15.0) -> None:
        """Run ``release_stranded`` periodically for as long as the server runs."""
        while True:
            await asyncio.sleep(every)
            try:
                await self.release_stranded()
            except Exception:
                log.exception("could not check for users waiting with nobody on duty")

    # -- delivery (Rasa server) -----------------------------------------------

    @property
    def pulse(self) -> Pulse:
        if self._pulse is None:  # created inside the server's event loop
            self._pulse = Pulse()
        return self._pulse

    async def deliver(self, channel: str, recipient_id: str, text: str,
                      buttons: list[dict[str, Any]] | None = None, meta: dict[str, Any] | None = None) -> str:
        """Push to the user: "live" (a client got it), "stored" (kept, client offline),
        "poll" (the channel has no push; the user's client polls)."""
        outbound = outbound_for(channel)
        if outbound is None:
            return "poll"
        try:
            return "live" if await outbound.send(recipient_id, text, buttons, meta) else "stored"
        except Exception:
            log.exception("could not push to %s on %s; the message stays stored", recipient_id, channel)
            return "stored"

    async def notice(self, handoff: Handoff, text: str, event: str,
                     buttons: list[dict[str, Any]] | None = None, **details: Any) -> str:
        """A system notice to the user (``event``: claimed | closed | ...), stored in the hand-off's log first."""
        seq = self.handoffs.bot_message(handoff.id, text)
        self.pulse.fire()
        meta = {"from": "system", "event": event, "seq": seq, **details}
        return await self.deliver(handoff.channel, handoff.conversation_id, text, buttons, meta)

    # -- agent operations (console) ---------------------------------------------

    async def claim(self, handoff_id: str, agent: str, display_name: str) -> Handoff:
        handoff = self.handoffs.claim(handoff_id, agent)
        self.pulse.fire()
        await self.notice(handoff, say("utter_handoff_claimed", agent=display_name), "claimed", name=display_name)
        return handoff

    async def reply(self, handoff_id: str, agent: str, text: str, display_name: str | None = None) -> tuple[int, str]:
        seq = self.handoffs.agent_message(handoff_id, agent, text.strip())
        self.pulse.fire()
        handoff = self.handoffs.get(handoff_id)
        meta = {"from": "agent", "name": display_name or agent, "seq": seq}
        return seq, await self.deliver(handoff.channel, handoff.conversation_id, text.strip(), meta=meta)

    async def close(self, handoff_id: str, agent: str | None, why: str | None = None) -> Handoff:
        handoff = self.handoffs.close(handoff_id, agent, why)
        self.pulse.fire()
        name = "utter_handoff_cancelled" if why == "user_cancelled" else "utter_handoff_closed"
        buttons = None if why == "user_cancelled" else rating_buttons(handoff.id)
        await self.notice(handoff, say(name), "closed", buttons)
        return handoff

    def messages_for(self, conversation_id: str, after: int) -> tuple[list[dict[str, Any]], int]:
        """Agent replies and notices for a user who polls (REST), and the cursor to poll from next."""
        closed_text = say("utter_handoff_closed")
        messages, latest = [], after
        for event in self.handoffs.messages_to(conversation_id, after):
            latest = event["seq"]
            message = {"recipient_id": conversation_id, "text": event["text"], "seq": event["seq"],
                       "from": "agent" if event["kind"] == "agent_message" else "system"}
            if event["kind"] == "bot_message" and event["text"] == closed_text:
                message["buttons"] = rating_buttons(event["handoff_id"])
            messages.append(message)
        return messages, latest

    async def answer_ticket(self, ticket_id: str, agent: str, text: str) -> tuple[Any, str]:
        ticket = self.tickets.answer(ticket_id, agent, text.strip())
        self.pulse.fire()
        delivered = await self.deliver(ticket.channel, ticket.conversation_id,
                                       say("utter_ticket_answer", ticket=ticket.ticket, answer=text.strip()))
        return ticket, delivered


# -- taking a message (the gate) ------------------------------------------------

CANCEL_WORDS = {"取消", "取消留言", "不留言", "不用了", "算了", "取消人工", "取消转人工", "退出", "退出排队"}
YES_WORDS = {"是", "是的", "对", "对的", "嗯", "好", "好的", "确认", "提交", "没错", "yes", "y"}
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,18}[0-9]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def contact_of(text: str) -> str | None:
    """A phone number or an email address in the user's reply, as written."""
    text = text.strip().replace("：", ":")
    for part in [text] + re.split(r"[\s,，:]+", text):
        part = part.strip()
        if _EMAIL.match(part) or (_PHONE.match(part) and sum(ch.isdigit() for ch in part) >= 7):
            return part
    return None


def plain(text: str) -> str:
    return re.sub(r"[\s。！!？?，,~～]+", "", text).lower()

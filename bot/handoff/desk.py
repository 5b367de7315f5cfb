"""The Rasa server's half of the hand-off layer: the gate and the console move
conversations along here, and what people write is delivered to the user's channel,
every message stored first so a restart or an offline client loses nothing.

The action server's half (asking for a person) is ``bot/handoff/intake.py``; this desk
includes it, since releasing stranded users and the gate's replies need to know
whether anyone can answer. State lives only in the database, so any number of
processes agree on it. The stores are synchronous; ``blocking`` runs them in a
bounded pool of worker threads so the server's event loop never waits on the database.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from bot.dialogue.texts import say
from bot.handoff import handoffs as handoff_tables
from bot.handoff import tickets as ticket_tables
from bot.handoff.availability import Availability
from bot.handoff.customers import Customer
from bot.handoff.db import Database, now
from bot.handoff.handoffs import (
    AGENT_REOPENED,
    CLOSED,
    OPEN_STATES,
    WAITING,
    WITH_AGENT,
    Handoff,
    HandoffError,
    HandoffRequest,
    WrapUp,
)
from bot.handoff.intake import Intake, Outcome
from bot.handoff.mail import Mailer, MailFailed
from bot.handoff.pulse import Pulse
from bot.handoff.push import Delivered, OutboundLookup, no_push
from bot.handoff.rating import rating_buttons
from bot.handoff.sms import SmsFailed, TencentSms, mobile_e164
from bot.handoff.stores import Stores
from bot.handoff.ticket_buttons import ticket_buttons
from bot.handoff.tickets import (
    CHAT,
    DRAFTING,
    EMAIL,
    FAILED,
    FOLLOWUP,
    NOTIFIED,
    REOPENED,
    RETURN,
    SENT,
    SKIPPED,
    SMS,
    STORED,
    Ticket,
)
from bot.handoff.turnlog import TurnLog
from bot.handoff.windows import window_for
from faqbot.config import ConfigError, Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
# Worker threads for the stores' calls; fewer than the engine's pool (5 + 10 overflow).
DB_WORKERS = 8


class HandoffDesk:
    def __init__(self, settings: Settings, outbound: OutboundLookup = no_push) -> None:
        """``outbound(channel)``: the channel's push side, or None when its users poll."""
        self.settings = settings
        stores = Stores.open(settings)
        self.handoffs, self.tickets, self.agents = stores.handoffs, stores.tickets, stores.agents
        self.records, self.offers, self.hours = stores.records, stores.offers, stores.hours
        self.canned, self.teams, self.customers = stores.canned, stores.teams, stores.customers
        self.audit = stores.audit
        self.intake = Intake(settings, stores)
        self.outbound = outbound
        self.executor = ThreadPoolExecutor(max_workers=DB_WORKERS, thread_name_prefix="handoff-db")
        self.turns = TurnLog(stores.records, self.executor)
        url = settings.database_url
        self._owners = Database(url, handoff_tables.metadata, ticket_tables.metadata)  # owner_of reads both
        self._pulse: Pulse | None = None

    async def blocking(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``call(*args, **kwargs)`` in the desk's worker threads (database work, off the event loop)."""
        return await asyncio.get_running_loop().run_in_executor(self.executor, functools.partial(call, *args, **kwargs))

    @property
    def pulse(self) -> Pulse:
        if self._pulse is None:  # created inside the server's event loop
            self._pulse = Pulse()
        return self._pulse

    # -- who owns a conversation, and the turns log (the gate, every message) -----

    def owner_of(self, conversation_id: str) -> tuple[str | None, bool]:
        """Who has the conversation: "handoff" (waiting or with an agent), "ticket" (a
        message being left) or None (the bot); and whether an answer to one of its 留言
        has not reached the customer yet. One query: the gate asks on every message."""
        handoffs, tickets = handoff_tables.handoffs, ticket_tables.tickets
        query = sa.union_all(
            sa.select(sa.literal("handoff").label("owner")).where(
                handoffs.c.conversation_id == conversation_id, handoffs.c.state.in_(OPEN_STATES)
            ),
            sa.select(sa.literal("ticket").label("owner")).where(
                tickets.c.conversation_id == conversation_id,
                sa.or_(
                    tickets.c.state == DRAFTING,
                    sa.and_(tickets.c.state == REOPENED, tickets.c.step == FOLLOWUP),
                ),
            ),
            sa.select(sa.literal("answer").label("owner")).where(
                tickets.c.conversation_id == conversation_id, ticket_tables.not_shown_in_chat()
            ),
        )
        with self._owners.engine.connect() as conn:
            found = list(conn.execute(query).scalars())
        owner = next((o for o in found if o != "answer"), None)
        return owner, "answer" in found

    def note_customer(self, conversation_id: str, channel: str, reported: Any) -> None:
        """What the customer's client reported about them (page, device, signed user id)."""
        customer = Customer.reported(conversation_id, channel, reported, self.settings.widget.identity_secret)
        if customer is not None:
            self.customers.note(customer)

    def note_turn(self, conversation_id: str, channel: str, handled_by: str, reply_ms: float | None) -> None:
        """Record one user message for the KPIs (written in batches, ``bot/handoff/turnlog.py``)."""
        self.turns.note(conversation_id, channel, handled_by, reply_ms)

    def flush_turns(self) -> None:
        self.turns.flush()

    # -- whether anyone can answer (the action server's half, included) ----------

    def availability(self, now: datetime | None = None) -> Availability:
        return self.intake.availability(now)

    def expectation(self, availability: Availability | None = None) -> str:
        return self.intake.expectation(availability)

    def request(self, request: HandoffRequest, last_question: str | None) -> Outcome:
        """As the action server asks (``Intake.request``): for scripts and tests holding one desk."""
        return self.intake.request(request, last_question)

    # -- what a customer's client asks (bot/server/customer_routes.py) -----------

    def status_of(self, conversation_id: str) -> dict[str, Any]:
        """Who has the conversation now: "bot", "message" (留言 being left), "waiting" (with the
        number waiting ahead) or "with_agent" (with the agent's display name)."""
        current = self.handoffs.open_for(conversation_id)
        if current is None:
            return {"state": "message" if self.tickets.draft_for(conversation_id) else "bot"}
        names = {a.name: a.display_name for a in self.agents.accounts()}
        ahead = sum(1 for h in self.handoffs.in_states((WAITING,)) if h.created_at < current.created_at)
        return {
            "state": current.state,
            "ticket": current.ticket,
            "waiting_ahead": ahead,
            "agent": names.get(current.agent or "", current.agent),
        }

    def messages_for(self, conversation_id: str, after: int) -> tuple[list[dict[str, Any]], int]:
        """Agent replies and notices for a user who polls (REST), and the cursor to poll from next."""
        closed_text = say("utter_handoff_closed")
        messages, latest = [], after
        for event in self.handoffs.messages_to(conversation_id, after):
            latest = event["seq"]
            message = {
                "recipient_id": conversation_id,
                "text": event["text"],
                "seq": event["seq"],
                "from": "agent" if event["kind"] == "agent_message" else "system",
            }
            if event["kind"] == "bot_message" and event["text"] == closed_text:
                message["buttons"] = rating_buttons(event["handoff_id"])
            messages.append(message)
        return messages, latest

    def answered_tickets(self, conversation_id: str) -> list[dict[str, Any]]:
        """The user's messages (留言) that agents have answered, oldest first, with the
        text the chat shows and whether it has appeared in the chat already."""
        waiting = {t.id for t in self.tickets.not_shown(conversation_id)}
        found = []
        for t in self.tickets.answered_for(conversation_id):
            name = self._display_name(t.agent or "")
            found.append(
                {
                    "ticket": t.ticket,
                    "question": t.question,
                    "answer": t.answer,
                    "agent": name,
                    "answered_at": t.to_json()["answered_at"],
                    "text": say("utter_ticket_answer", ticket=t.ticket, answer=t.answer or "", agent=name),
                    "buttons": ticket_buttons(t.ticket),
                    "shown": t.id not in waiting,
                }
            )
        return found

    def mark_shown(self, conversation_id: str, ticket_ref: str, where: str) -> bool:
        """The customer's client showed this answer (``ticket_ref``: the 8-character number)."""
        for t in self.tickets.not_shown(conversation_id):
            if t.ticket == ticket_ref:
                self.tickets.record_delivery(t.id, RETURN, SENT, where)
                return True
        return False

    # -- nobody left to answer ---------------------------------------------------

    async def release_stranded(self) -> int:
        """Users still waiting when the last agent signs off (or opening hours end)
        must not wait for nobody: each is told so honestly and offered a message
        (留言) instead, with the question they were waiting with as the default.
        Returns how many were released. Conversations already with an agent stay."""
        availability = await self.blocking(self.availability)
        if availability.live or availability.why_offline == "busy":
            return 0
        released = 0
        for handoff in await self.blocking(self.handoffs.in_states, (WAITING,)):
            try:
                closed = await self.blocking(self._release, handoff, availability)
            except HandoffError:  # claimed or cancelled meanwhile
                continue
            text = say("utter_handoff_released", expectation=await self.blocking(self.expectation, availability))
            await self.notice(closed, text, "released")
            log.info(
                "hand-off %s of %s released: nobody available (%s); taking a message instead",
                closed.id,
                closed.conversation_id,
                availability.why_offline,
            )
            released += 1
        if released:
            self.pulse.fire()
        return released

    async def console_closed(self, agent: str, grace: float) -> None:
        """An agent's console stream ended (tab closed, network gone). After ``grace``
        seconds, longer than the streams' ping, any console of theirs still open on
        any server has touched their presence; if none has, they are away now, and
        users waiting for nobody learn it at once instead of at the next sweep."""
        closed_at = now()
        await asyncio.sleep(grace)
        try:
            if await self.blocking(self.agents.away_unless_seen_since, agent, closed_at):
                log.info("agent %s's console went away; checking for users left waiting", agent)
                await self.release_stranded()
        except Exception:
            log.exception("could not check presence after %s's console closed", agent)

    def _release(self, handoff: Handoff, availability: Availability) -> Handoff:
        closed = self.handoffs.close(handoff.id, None, "nobody_available", only_if=WAITING)
        asked = [e["text"] for e in self.handoffs.events(handoff.id) if e["kind"] == "user_message"]
        self.tickets.start(
            closed.conversation_id,
            closed.channel,
            closed.reason,
            availability.why_offline or "closed",
            asked[-1] if asked else None,
        )
        return closed

    async def watch_stranded(self, every: float | None = None) -> None:
        """Run ``release_stranded`` every ``every`` seconds (default ``[handoff]
        stranded_check_seconds``) for as long as the server runs."""
        every = self.settings.handoff.stranded_check_seconds if every is None else every
        while True:
            await asyncio.sleep(every)
            try:
                await self.release_stranded()
            except Exception:
                log.exception("could not check for users waiting with nobody on duty")

    # -- delivery ------------------------------------------------------------------

    async def deliver(
        self,
        channel: str,
        recipient_id: str,
        text: str,
        buttons: list[dict[str, Any]] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Delivered:
        """Push to the user (the message is already stored)."""
        outbound = self.outbound(channel)
        if outbound is None:
            return Delivered.POLL
        try:
            return Delivered.LIVE if await outbound.send(recipient_id, text, buttons, meta) else Delivered.STORED
        except Exception:
            log.exception("could not push to %s on %s; the message stays stored", recipient_id, channel)
            return Delivered.STORED

    async def notice(
        self, handoff: Handoff, text: str, event: str, buttons: list[dict[str, Any]] | None = None, **details: Any
    ) -> Delivered:
        """A system notice to the user (``event``: claimed | closed | ...), stored in the hand-off's log first."""
        seq = await self.blocking(self.handoffs.bot_message, handoff.id, text)
        self.pulse.fire()
        meta = {"from": "system", "event": event, "seq": seq, **details}
        return await self.deliver(handoff.channel, handoff.conversation_id, text, buttons, meta)

    # -- agent operations (console) ------------------------------------------------

    def _chats_of(self, agent: str) -> int:
        return sum(1 for h in self.handoffs.in_states((WITH_AGENT,)) if h.agent == agent)

    async def claim(self, handoff_id: str, agent: str, display_name: str) -> Handoff:
        limit = self.settings.handoff.max_chats_per_agent
        mine = await self.blocking(self._chats_of, agent)
        if mine >= limit:
            raise HandoffError(f"you have {mine} conversations open; the limit is {limit}")
        group = await self.blocking(self.teams.may_take, handoff_id, agent)
        if group is not None:
            raise HandoffError(f"this conversation waits for group {group.name}; only its members take it")
        handoff = await self.blocking(self.handoffs.claim, handoff_id, agent)
        self.pulse.fire()
        await self.notice(handoff, say("utter_handoff_claimed", agent=display_name), "claimed", name=display_name)
        return handoff

    def _transfer_target(self, agent: str, to_agent: str | None, to_group: int | None) -> str | None:
        """Check that the target can take the chat now; returns the group's name (if a group)."""
        if (to_agent is None) == (to_group is None):
            raise ValueError("transfer to one agent ('agent') or one group ('group')")
        available = {a.name: a for a in self.agents.available(self.settings.handoff.presence_timeout)}
        if to_agent is not None:
            if to_agent not in available:
                raise HandoffError(f"{to_agent} is not taking chats now")
            limit = self.settings.handoff.max_chats_per_agent
            if (chats := self._chats_of(to_agent)) >= limit:
                raise HandoffError(f"{to_agent} has {chats} conversations open; the limit is {limit}")
            return None
        assert to_group is not None
        group = self.teams.group(to_group)
        if not set(group.members).intersection(set(available) - {agent}):
            raise HandoffError(f"nobody in group {group.name} is taking chats now")
        return group.name

    def _transfer(
        self, handoff_id: str, agent: str, to_agent: str | None, to_group: int | None, note: str | None
    ) -> tuple[Handoff, str | None]:
        group_name = self._transfer_target(agent, to_agent, to_group)
        handoff = self.handoffs.transfer(handoff_id, agent, to_agent, group_name)
        if to_group is not None:
            self.teams.route(handoff_id, to_group, by=agent)
        if note and note.strip():
            self.handoffs.add_note(handoff_id, agent, note.strip())
        return handoff, group_name

    async def transfer(
        self, handoff_id: str, agent: str, to_agent: str | None, to_group: int | None, note: str | None = None
    ) -> Handoff:
        """Hand a chat to another agent who is taking chats now (it stays live: the
        customer is told who has it), or back to the queue for a group with someone
        available; ``note`` goes with it as an internal note."""
        handoff, group_name = await self.blocking(self._transfer, handoff_id, agent, to_agent, to_group, note)
        self.pulse.fire()
        if to_agent is not None:
            name = await self.blocking(self._display_name, to_agent)
            await self.notice(handoff, say("utter_handoff_transferred", agent=name), "transferred", name=name)
        else:
            await self.notice(handoff, say("utter_handoff_requeued"), "transferred", group=group_name)
        log.info("hand-off %s transferred by %s to %s", handoff_id, agent, to_agent or f"group {group_name}")
        return handoff

    def _reopen(self, handoff_id: str, agent: str) -> Handoff:
        closed = self.handoffs.get(handoff_id)
        if closed.state != CLOSED:
            raise HandoffError(f"hand-off {closed.ticket} is {closed.state}; only a closed one is reopened")
        if self.handoffs.open_for(closed.conversation_id) is not None:
            raise HandoffError(f"the customer of hand-off {closed.ticket} is already waiting or with an agent")
        limit = self.settings.handoff.max_chats_per_agent
        if (mine := self._chats_of(agent)) >= limit:
            raise HandoffError(f"you have {mine} conversations open; the limit is {limit}")
        if (why := self.window_closed(closed.channel, closed.conversation_id)) is not None:
            raise HandoffError(f"the platform's reply window has closed: {why}")
        request = HandoffRequest(
            closed.conversation_id, closed.channel, AGENT_REOPENED, closed.transcript, faq_id=closed.faq_id
        )
        opened, _ = self.handoffs.create(request)
        self.handoffs.add_note(opened.id, agent, f"从历史会话 {closed.ticket} 重新打开")
        return self.handoffs.claim(opened.id, agent)

    async def reopen(self, handoff_id: str, agent: str, display_name: str) -> Handoff:
        """An agent writes again to the customer of a closed conversation (found in the history):
        a new hand-off, already theirs, that the customer is told about."""
        opened = await self.blocking(self._reopen, handoff_id, agent)
        self.pulse.fire()
        await self.notice(opened, say("utter_handoff_reopened", agent=display_name), "claimed", name=display_name)
        return opened

    async def reply(
        self, handoff_id: str, agent: str, text: str, display_name: str | None = None, faq_id: str | None = None
    ) -> tuple[int, Delivered]:
        """``faq_id``: the FAQ whose suggested answer the agent used (the studio learns from it)."""
        seq = await self.blocking(self.handoffs.agent_message, handoff_id, agent, text.strip(), faq_id)
        self.pulse.fire()
        handoff = await self.blocking(self.handoffs.get, handoff_id)
        meta = {"from": "agent", "name": display_name or agent, "seq": seq}
        return seq, await self.deliver(handoff.channel, handoff.conversation_id, text.strip(), meta=meta)

    async def typing(self, handoff_id: str, agent: str) -> bool:
        """The agent who has the chat is typing: tell the user's client, where its channel can show it."""
        handoff = await self.blocking(self.handoffs.get, handoff_id)
        if handoff.state != WITH_AGENT or handoff.agent != agent:
            return False
        show = getattr(self.outbound(handoff.channel), "typing", None)
        if show is None:
            return False
        try:
            await show(handoff.conversation_id)
        except Exception:  # a typing hint is not worth failing the agent's request
            log.exception("could not show typing to %s", handoff.conversation_id)
            return False
        return True

    async def close(
        self, handoff_id: str, agent: str | None, why: str | None = None, wrapup: WrapUp | None = None
    ) -> Handoff:
        handoff = await self.blocking(self.handoffs.close, handoff_id, agent, why, None, wrapup)
        self.pulse.fire()
        name = "utter_handoff_cancelled" if why == "user_cancelled" else "utter_handoff_closed"
        buttons = None if why == "user_cancelled" else rating_buttons(handoff.id)
        await self.notice(handoff, say(name), "closed", buttons)
        return handoff

    async def add_note(self, handoff_id: str, agent: str, text: str) -> None:
        """An internal note on the hand-off, never shown to the user."""
        await self.blocking(self.handoffs.add_note, handoff_id, agent, text)
        self.pulse.fire()

    async def answer_ticket(
        self, ticket_id: str, agent: str, text: str, display_name: str | None = None
    ) -> tuple[Ticket, Delivered]:
        """Answer a 留言 and send the answer by every route the customer can be reached
        on: their chat (pushed, when the channel can and they are there), e-mail to
        the address they left (``[mail]``); what is not reached now is shown when
        they come back (``bring_back``). Each route's outcome is recorded for the console."""
        ticket = await self.blocking(self.tickets.answer, ticket_id, agent, text.strip())
        self.pulse.fire()
        name = display_name or agent
        message = say("utter_ticket_answer", ticket=ticket.ticket, answer=ticket.answer or "", agent=name)
        closed = await self.blocking(self.window_closed, ticket.channel, ticket.conversation_id)
        if closed is not None:  # the platform would refuse the send: it waits for their next message
            delivered = Delivered.STORED
            await self.blocking(self.tickets.record_delivery, ticket.id, CHAT, SKIPPED, closed)
        else:
            delivered = await self.deliver(
                ticket.channel,
                ticket.conversation_id,
                message,
                ticket_buttons(ticket.ticket),
                {"from": "agent", "name": name, "event": "ticket"},
            )
            chat = {Delivered.LIVE: (SENT, None), Delivered.STORED: (STORED, "用户当前不在线，下次打开聊天时显示")}
            outcome, detail = chat.get(delivered, (STORED, "该渠道不能主动推送，用户下次发消息或打开聊天时显示"))
            await self.blocking(self.tickets.record_delivery, ticket.id, CHAT, outcome, detail)
        await self.blocking(self._send_by_contact, ticket, name)
        self.pulse.fire()
        return await self.blocking(self.tickets.get, ticket.id), delivered

    def reply_window(self, channel: str, conversation_id: str) -> dict[str, Any] | None:
        """The platform's reply window for this conversation, for the console (None: no window)."""
        window = window_for(channel, conversation_id)
        if window is None:
            return None
        return window.state(self.records.last_message_at(conversation_id), now())

    def window_closed(self, channel: str, conversation_id: str) -> str | None:
        """Why the platform would refuse a message to this customer now, or None if it would not."""
        window = window_for(channel, conversation_id)
        if window is None:
            return None
        last = self.records.last_message_at(conversation_id)
        if last is not None and now() < window.closes_at(last):
            return None
        zone = ZoneInfo(self.settings.handoff.timezone)
        when = f"用户最后一条消息在 {last.astimezone(zone):%m-%d %H:%M}" if last else "没有用户消息记录"
        return (
            f"已超过{window.name} {window.hours} 小时回复窗口（{when}），平台不允许主动发送；"
            "用户下次发消息时会先看到这条回复"
        )

    def _send_by_contact(self, ticket: Ticket, agent: str) -> None:
        """E-mail the answer, or text a notice of it, to the contact the customer left, recorded
        either way. An SMS template cannot carry the answer, so a text only *notifies*: the
        ticket stays answered until the customer sees the answer (``bot/handoff/sms.py``)."""
        contact = ticket.contact or ""
        if not contact:
            self.tickets.record_delivery(ticket.id, EMAIL, SKIPPED, "用户未留联系方式")
            return
        if "@" not in contact:  # a phone number (bot/handoff/wording.py contact_of)
            self._text_notice(ticket, contact)
            return
        mailer = Mailer.from_config(self.settings.mail)
        if mailer is None:
            self.tickets.record_delivery(ticket.id, EMAIL, SKIPPED, "未配置邮件服务器（[mail] smtp_url）")
            return
        subject = say("utter_ticket_mail_subject", ticket=ticket.ticket)
        body = say(
            "utter_ticket_mail_body",
            ticket=ticket.ticket,
            question=ticket.question or "",
            answer=ticket.answer or "",
            agent=agent,
        )
        try:
            message_id = mailer.send(contact, subject, body)
        except MailFailed as exc:
            log.warning("answer to 留言 %s not e-mailed to %s: %s", ticket.ticket, contact, exc)
            self.tickets.record_delivery(ticket.id, EMAIL, FAILED, str(exc))
            return
        self.tickets.record_delivery(ticket.id, EMAIL, SENT, message_id)

    def _text_notice(self, ticket: Ticket, contact: str) -> None:
        """Text the customer that their 留言 has an answer (``[sms]``), recorded either way."""
        try:
            sms = TencentSms.from_config(self.settings.sms)
        except ConfigError as exc:
            log.warning("answer to 留言 %s not texted: [sms] is misconfigured: %s", ticket.ticket, exc)
            self.tickets.record_delivery(ticket.id, SMS, FAILED, f"短信服务配置有误：{exc}")
            return
        if sms is None:
            why = "未配置短信服务（[sms]），请按电话号码联系用户"
            self.tickets.record_delivery(ticket.id, SMS, SKIPPED, why)
            return
        if mobile_e164(contact) is None:
            self.tickets.record_delivery(ticket.id, SMS, SKIPPED, "固定电话不能接收短信，请按电话号码联系用户")
            return
        try:
            serial = sms.send(contact, [ticket.ticket])
        except SmsFailed as exc:
            log.warning("answer to 留言 %s: no SMS notice to %s: %s", ticket.ticket, contact, exc)
            self.tickets.record_delivery(ticket.id, SMS, FAILED, str(exc))
            return
        detail = f"已发短信通知（流水号 {serial}）；短信不含回复内容，用户需在聊天中查看"
        self.tickets.record_delivery(ticket.id, SMS, NOTIFIED, detail)

    async def close_ticket(self, ticket_id: str, actor: str, why: str | None = None) -> Ticket:
        """An agent, or the customer (``actor``: their conversation id), is done with a 留言."""
        closed = await self.blocking(self.tickets.close, ticket_id, actor, why)
        self.pulse.fire()
        return closed

    def _display_name(self, agent: str) -> str:
        return next((a.display_name for a in self.agents.accounts() if a.name == agent), agent)

    async def bring_back(self, channel: str, conversation_id: str) -> list[tuple[str, list[dict[str, str]]]]:
        """Answers to this conversation's 留言 that have not reached the customer: pushed
        now that they are back (labelled with the agent), or returned (text, buttons) for the reply."""
        waiting = await self.blocking(self.tickets.not_shown, conversation_id)
        unsent: list[tuple[str, list[dict[str, str]]]] = []
        for ticket in waiting:
            name = await self.blocking(self._display_name, ticket.agent or "")
            text = say("utter_ticket_answer", ticket=ticket.ticket, answer=ticket.answer or "", agent=name)
            meta = {"from": "agent", "name": name, "event": "ticket"}
            buttons = ticket_buttons(ticket.ticket)
            if await self.deliver(channel, conversation_id, text, buttons, meta) != Delivered.LIVE:
                unsent.append((text, buttons))  # the caller puts it in this reply
            where = f"用户回到对话（{channel}）时显示"
            await self.blocking(self.tickets.record_delivery, ticket.id, RETURN, SENT, where)
        if waiting:
            self.pulse.fire()
        return unsent

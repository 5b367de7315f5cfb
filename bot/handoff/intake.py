"""Asking for a person (the action server's half of the hand-off layer): queue for an
agent when one can take the chat now, otherwise start taking a message (留言)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.dialogue.texts import say
from bot.handoff.availability import Availability, check, expectation
from bot.handoff.db import now as _now
from bot.handoff.handoffs import WAITING, HandoffRequest
from bot.handoff.stores import Stores
from faqbot.config import Settings

log = logging.getLogger(__name__)


class OutcomeKind(StrEnum):
    QUEUED = "queued"  # waiting for an agent
    ALREADY = "already"  # the conversation was waiting or with an agent already
    MESSAGE = "message"  # nobody can answer live: a message is being taken


@dataclass(frozen=True)
class Outcome:
    """What a request for a person led to."""

    kind: OutcomeKind
    reference: str  # the ticket the user can quote
    text: str  # what to tell the user


class Intake:
    def __init__(self, settings: Settings, stores: Stores | None = None) -> None:
        self.stores = stores or Stores.open(settings)
        self.settings = settings

    def availability(self, now: datetime | None = None) -> Availability:
        """Can a person answer now (opening hours, agents signed in and taking chats, queue length)?"""
        stores = self.stores
        online = len(stores.agents.available(self.settings.handoff.presence_timeout))
        waiting = len(stores.handoffs.in_states((WAITING,)))
        return check(stores.hours, online, waiting, self.settings.handoff.max_waiting_per_agent, now or _now())

    def expectation(self, availability: Availability | None = None) -> str:
        """What the user can expect (when someone answers), in their words."""
        return expectation(availability or self.availability(), self.stores.hours, _now())

    def _route(self, handoff_id: str, category: str | None, channel: str) -> str | None:
        """Send a new hand-off to the first group whose rules take it and that has someone
        taking chats now; else it waits for everyone. Returns the group's name."""
        teams = self.stores.teams
        matching = teams.matching(category, channel)
        if not matching:
            return None
        available = {a.name for a in self.stores.agents.available(self.settings.handoff.presence_timeout)}
        group = next((g for g in matching if available.intersection(g.members)), None)
        if group is not None:
            teams.route(handoff_id, group.id)
        return group.name if group else None

    def request(self, request: HandoffRequest, last_question: str | None) -> Outcome:
        """A person was asked for: queue, or take a message when nobody can answer live."""
        handoffs, tickets = self.stores.handoffs, self.stores.tickets
        existing = handoffs.open_for(request.conversation_id)
        if existing is not None:
            return Outcome(OutcomeKind.ALREADY, existing.ticket, say("utter_handoff_already", ticket=existing.ticket))
        availability = self.availability()
        if availability.live:
            handoff, _ = handoffs.create(request)
            group = self._route(handoff.id, request.category, request.channel)
            log.info(
                "hand-off %s (%s) for %s on %s queued for %s",
                handoff.id,
                handoff.reason,
                handoff.conversation_id,
                handoff.channel,
                f"group {group}" if group else "everyone",
            )
            return Outcome(
                OutcomeKind.QUEUED,
                handoff.ticket,
                say("utter_handoff_queued", ticket=handoff.ticket, expectation=self.expectation(availability)),
            )
        ticket = tickets.start(
            request.conversation_id,
            request.channel,
            request.reason,
            availability.why_offline or "closed",
            last_question,
            request.transcript,
        )
        log.info(
            "nobody available (%s): taking a message %s for %s",
            availability.why_offline,
            ticket.id,
            request.conversation_id,
        )
        return Outcome(
            OutcomeKind.MESSAGE, ticket.ticket, say("utter_leave_message", expectation=self.expectation(availability))
        )

"""The hand-off layer's stores on one database: hand-offs, tickets, agents, records, offers,
canned replies, roles and groups, customers, the audit log.

Built once per process half from the settings; all of them share the URL's one
engine (``bot/handoff/db.py``), so a process holds one connection pool.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.handoff.agents import AgentStore
from bot.handoff.audit import AuditLog
from bot.handoff.availability import OpeningHours
from bot.handoff.canned import CannedReplies
from bot.handoff.customers import CustomerBook
from bot.handoff.handoffs import HandoffStore
from bot.handoff.offers import OfferBook
from bot.handoff.records import Records
from bot.handoff.teams import Teams
from bot.handoff.tickets import TicketStore
from faqbot.config import Settings
from faqbot.masking import masker_for


@dataclass(frozen=True)
class Stores:
    settings: Settings
    handoffs: HandoffStore
    tickets: TicketStore
    agents: AgentStore
    records: Records
    offers: OfferBook
    hours: OpeningHours
    canned: CannedReplies
    teams: Teams
    customers: CustomerBook
    audit: AuditLog

    @classmethod
    def open(cls, settings: Settings) -> Stores:
        url = settings.database_url
        return cls(
            settings,
            HandoffStore(url),
            TicketStore(url),
            AgentStore(url, settings.handoff.session_hours),
            Records(url, masker_for(settings.masking)),
            OfferBook(url),
            OpeningHours.parse(settings.handoff.hours, settings.handoff.timezone),
            CannedReplies(url),
            Teams(url),
            CustomerBook(url),
            AuditLog(url),
        )

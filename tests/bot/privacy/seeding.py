"""One customer's data put in every store through the stores' own APIs (and Rasa's own
conversation store), for the retention and data subject tests."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

from bot.handoff.customers import VERIFIED, Customer, CustomerBook
from bot.handoff.handoffs import HandoffRequest, HandoffStore
from bot.handoff.offers import OfferBook
from bot.handoff.records import Records
from bot.handoff.tickets import TicketStore
from bot.studio.gap_report import GapActions
from faqbot.config import PROJECT_ROOT, Settings
from indexer.sensitive import Hit
from tests.databases import scratch_database


@contextlib.contextmanager
def settings_on(kind: str, settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """``settings`` with the bot's tables and Rasa's conversations on a scratch ``kind`` database."""
    with scratch_database(kind, tmp_path) as url:
        tracker = "sqlite" if kind == "sqlite" else url
        yield settings.replace(bot=dataclasses.replace(settings.bot, database_url=url, tracker_store=tracker))


def rasa_store(settings: Settings):
    """Rasa's own SQL conversation store where the settings keep it (as ``faqbot run`` configures)."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    domain = Domain.load(str(PROJECT_ROOT / "bot" / "domain.yml"))
    if settings.bot.tracker_store == "sqlite":
        db = settings.data_dir / "rasa" / "tracker.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        return SQLTrackerStore(domain=domain, dialect="sqlite", db=str(db))
    url = sa.engine.make_url(settings.bot.tracker_store)
    return SQLTrackerStore(
        domain=domain,
        dialect="postgresql",
        host=url.host,
        port=url.port,
        username=url.username,
        db=url.database,
        query=dict(url.query),
    )


def seed(settings: Settings, user: str, text: str = "我的提现一直没到账", phone: str = "13800138000") -> None:
    """``user`` (a conversation id) in every store: Rasa's events, the records, a closed hand-off
    and an open one, a 留言 answered and closed, the customer's page, offered buttons."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    url = settings.database_url
    records = Records(url)
    records.log_turn(user, "rest", "bot", 12.0)
    records.log_unanswered(user, "rest", text, 0.2, [{"id": "fee", "question": "手续费"}])
    records.log_feedback(user, "rest", "fee", False, text)
    records.log_outcome(user, "rest", "fallback", question=text)
    records.log_sensitive(user, "rest", "customer", [Hit("赌博", "gambling", "log", 0, 2, "赌博")])

    store = HandoffStore(url)
    closed, _ = store.create(HandoffRequest(user, "rest", "user_request", [{"role": "user", "text": text}]))
    store.claim(closed.id, "li")
    store.user_message(closed.id, text)
    store.agent_message(closed.id, "li", "我帮您查一下", faq_id="fee")
    store.close(closed.id, "li")
    store.rate(closed.id, "good")
    open_, _ = store.create(HandoffRequest(user, "rest", "user_request", [{"role": "user", "text": "还在吗"}]))
    store.user_message(open_.id, "还在吗")

    tickets = TicketStore(url)
    ticket = tickets.start(user, "rest", "user_request", "closed", text, [{"role": "user", "text": text}])
    tickets.set_contact(ticket.id, phone)
    tickets.submit(ticket.id, text)
    tickets.answer(ticket.id, "li", "已经到账了")
    tickets.record_delivery(ticket.id, "sms", "notified")
    tickets.close(ticket.id, user)
    waiting = tickets.start(user, "rest", "user_request", "closed", "还没回复", None)
    tickets.set_contact(waiting.id, "user@example.com")
    tickets.submit(waiting.id, "还没回复")

    CustomerBook(url).note(
        dataclasses.replace(
            Customer(user, "rest", page_url="https://shop.example.com/p/1", user_agent="Firefox"),
            user_id=f"site-{user}",
            identity=VERIFIED,
        )
    )
    OfferBook(url).offer(user, [{"title": "手续费", "payload": "/faq_fee"}])
    GapActions(url).record("draft", None, text, [text], "editor")

    rasa = rasa_store(settings)

    async def talk() -> None:
        tracker = await rasa.get_or_create_tracker(user)
        tracker.update(UserUttered(text, {"name": "faq", "confidence": 1.0}))
        tracker.update(ActionExecuted("action_turn"))
        tracker.update(BotUttered("您好，请稍等"))
        tracker.update(ActionExecuted("action_listen"))
        await rasa.save(tracker)

    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, talk()).result()
    rasa.engine.dispose()

"""The cached conversation store keeps Rasa's rows and never serves a stale tracker:
two stores on one database stand for two servers; Rasa's stock store reads what
the cached one wrote. Against a real SQLite file and the real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from bot.server.tracker_store import CachedSQLTrackerStore
from faqbot.config import PROJECT_ROOT
from tests.databases import postgres_url


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "bot" / "domain.yml"))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_args(request, tmp_path) -> dict:
    if request.param == "sqlite":
        return {"dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
    url = sa.engine.make_url(postgres_url())
    return {"dialect": "postgresql", "host": url.host, "port": url.port, "username": url.username, "db": url.database}


def a_turn(tracker, text: str) -> None:
    tracker.update(UserUttered(text, {"name": "faq", "confidence": 1.0}))
    tracker.update(ActionExecuted("action_turn"))
    tracker.update(BotUttered(f"答：{text}"))
    tracker.update(SlotSet("phase", "bot"))
    tracker.update(ActionExecuted("action_listen"))


def texts(tracker) -> list[str]:
    return [e.text for e in tracker.events if isinstance(e, UserUttered)]


def test_two_servers_see_each_others_turns_and_rasa_reads_the_rows(domain, store_args):
    one = CachedSQLTrackerStore(domain=domain, **store_args)
    two = CachedSQLTrackerStore(domain=domain, **store_args)
    stock = SQLTrackerStore(domain=domain, **store_args)
    sender = f"cache-{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        tracker = await one.get_or_create_tracker(sender)
        a_turn(tracker, "提现手续费是多少")
        await one.save(tracker)
        again = await one.retrieve(sender)  # from memory: nothing was written since
        assert again is tracker
        a_turn(again, "那要多久")
        await one.save(again)
        # Another server continues the conversation: the first one must not reuse its copy.
        other = await two.retrieve(sender)
        assert other is not None and texts(other) == ["提现手续费是多少", "那要多久"]
        a_turn(other, "谢谢")
        await two.save(other)
        latest = await one.retrieve(sender)  # its copy, with the other server's turn applied
        assert latest is not None and texts(latest) == ["提现手续费是多少", "那要多久", "谢谢"]
        fresh = await stock.retrieve(sender)
        assert fresh is not None and [e.as_dict() for e in latest.events] == [e.as_dict() for e in fresh.events]
        a_turn(latest, "再见")
        await one.save(latest)
        stored = await stock.retrieve(sender)
        assert stored is not None and texts(stored) == ["提现手续费是多少", "那要多久", "谢谢", "再见"]
        assert [e.as_dict() for e in stored.events] == [e.as_dict() for e in latest.events]

    asyncio.run(scenario())
    with stock.engine.connect() as conn:  # each event stored once, in order
        rows = conn.execute(
            sa.text("SELECT type_name, action_name FROM events WHERE sender_id = :s ORDER BY id"), {"s": sender}
        ).all()
    assert [r.type_name for r in rows].count("user") == 4
    assert len(rows) == 1 + 4 * 5  # the initial action_listen and five events per turn


def test_a_kept_tracker_is_handed_out_once(domain, store_args):
    store = CachedSQLTrackerStore(domain=domain, **store_args)
    sender = f"once-{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        tracker = await store.get_or_create_tracker(sender)
        a_turn(tracker, "你好")
        await store.save(tracker)
        first, second = await store.retrieve(sender), await store.retrieve(sender)
        assert first is tracker and second is not None and second is not first
        assert [e.as_dict() for e in second.events] == [e.as_dict() for e in first.events]
        a_turn(second, "没保存的这轮")  # a reader that changes its copy without saving changes nothing stored
        third = await store.retrieve(sender)
        assert third is not None and texts(third) == ["你好"]

    asyncio.run(scenario())

"""The service KPIs on real databases (SQLite and PostgreSQL), from data written
through the real stores and then moved to controlled times."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.handoff.handoffs import HandoffRequest, HandoffStore, handoff_events, handoffs
from bot.handoff.kpis import compute_kpis, format_kpis
from bot.handoff.records import Records, feedback, turns
from bot.handoff.tickets import TicketStore, tickets
from tests.databases import postgres_url

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
EMPTY_DURATIONS = {"avg": None, "median": None, "count": 0}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """SQLite in tmp_path, or a fresh PostgreSQL schema: the shared database's tables stay out of it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'kpis.sqlite'}"
        return
    schema = f"kpi_{uuid.uuid4().hex}"
    admin = sa.create_engine(postgres_url())
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{postgres_url()}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@dataclass
class Stores:
    records: Records
    handoffs: HandoffStore
    tickets: TicketStore

    def turn(
        self, conversation: str, channel: str, at: datetime, reply_ms: float | None = None, handled_by: str = "bot"
    ) -> None:
        self.records.log_turn(conversation, channel, handled_by, reply_ms)
        restamp_last(self.records.engine, turns, turns.c.at, at)

    def feedback(self, conversation: str, channel: str, helpful: bool, at: datetime) -> None:
        self.records.log_feedback(conversation, channel, "faq-1", helpful, "提现手续费")
        restamp_last(self.records.engine, feedback, feedback.c.created_at, at)

    def handoff(
        self,
        conversation: str,
        channel: str,
        created: datetime,
        claimed: datetime | None = None,
        replies: tuple[datetime, ...] = (),
        closed: datetime | None = None,
        rating: tuple[str, datetime] | None = None,
    ) -> None:
        store, engine = self.handoffs, self.handoffs.engine
        handoff, _ = store.create(HandoffRequest(conversation, channel, "user_request", [], created_at=created))
        if claimed:
            store.claim(handoff.id, "alice")
            update(engine, handoffs.update().where(handoffs.c.id == handoff.id).values(claimed_at=claimed))
        for at in replies:
            seq = store.agent_message(handoff.id, "alice", "您好，请问有什么可以帮您？")
            update(engine, handoff_events.update().where(handoff_events.c.seq == seq).values(at=at))
        if closed:
            store.close(handoff.id, "alice" if claimed else None, None if claimed else "user_cancelled")
            update(engine, handoffs.update().where(handoffs.c.id == handoff.id).values(closed_at=closed))
        if rating:
            store.rate(handoff.id, rating[0])
            update(
                engine,
                handoff_events.update()
                .where(handoff_events.c.handoff_id == handoff.id, handoff_events.c.kind == "rating")
                .values(at=rating[1]),
            )

    def ticket(self, conversation: str, channel: str, created: datetime, submitted: datetime | None) -> None:
        draft = self.tickets.start(conversation, channel, "user_request", "closed", "怎么提现")
        self.tickets.set_contact(draft.id, "13800138000")
        if submitted:
            self.tickets.submit(draft.id, "怎么提现")
        update(
            self.tickets.engine,
            tickets.update().where(tickets.c.id == draft.id).values(created_at=created, submitted_at=submitted),
        )


def update(engine: sa.engine.Engine, statement: sa.sql.Update) -> None:
    with engine.begin() as conn:
        assert conn.execute(statement).rowcount == 1


def restamp_last(engine: sa.engine.Engine, table: sa.Table, column: sa.Column, at: datetime) -> None:
    """Move the row just written to ``at`` (the stores stamp the current time)."""
    last = sa.select(sa.func.max(table.c.id)).scalar_subquery()
    update(engine, table.update().where(table.c.id == last).values({column: at}))


@pytest.fixture
def stores(url):
    made = Stores(Records(url), HandoffStore(url), TicketStore(url))
    yield made
    for store in (made.records, made.handoffs, made.tickets):
        store.engine.dispose()


def scenario(stores: Stores) -> None:
    """Three Shanghai days, 2024-05-08..10 (UTC+8), two channels; the times are UTC."""
    # a (rest): 23:30 and 00:30 local are two conversations; the second one is handed off.
    stores.turn("a", "rest", utc(2024, 5, 9, 15, 30), 100)
    stores.turn("a", "rest", utc(2024, 5, 9, 16, 30), 300)
    stores.handoff(
        "a",
        "rest",
        utc(2024, 5, 9, 16, 31),
        claimed=utc(2024, 5, 9, 16, 31, 20),
        replies=(utc(2024, 5, 9, 16, 33), utc(2024, 5, 9, 16, 32, 5)),  # first reply after 65 s
        closed=utc(2024, 5, 9, 16, 36, 20),
        rating=("good", utc(2024, 5, 9, 16, 37)),
    )
    stores.turn("a", "rest", utc(2024, 5, 9, 16, 32, 30), handled_by="agent")
    # b (socketio): a 留言 submitted.
    stores.turn("b", "socketio", utc(2024, 5, 10, 2, 0), 200)
    stores.turn("b", "socketio", utc(2024, 5, 10, 2, 1), handled_by="ticket")
    stores.ticket("b", "socketio", utc(2024, 5, 10, 2, 1), submitted=utc(2024, 5, 10, 2, 2))
    # c (rest): answered by the bot, with feedback.
    stores.turn("c", "rest", utc(2024, 5, 8, 1, 0), 400)
    for minute, helpful in ((1, True), (2, True), (3, False)):
        stores.feedback("c", "rest", helpful, utc(2024, 5, 8, 1, minute))
    # d (socketio): a hand-off the user cancelled while waiting.
    stores.turn("d", "socketio", utc(2024, 5, 8, 3, 0), 500)
    stores.handoff("d", "socketio", utc(2024, 5, 8, 3, 1), closed=utc(2024, 5, 8, 3, 5))
    # e (rest): a 留言 abandoned before submitting: still the bot's.
    stores.turn("e", "rest", utc(2024, 5, 9, 5, 0), 600)
    stores.ticket("e", "rest", utc(2024, 5, 9, 5, 1), submitted=None)
    # f (socketio): handed off, answered after 30 s, handled for 10 minutes, rated bad.
    stores.turn("f", "socketio", utc(2024, 5, 9, 6, 0), 700)
    stores.handoff(
        "f",
        "socketio",
        utc(2024, 5, 9, 6, 1),
        claimed=utc(2024, 5, 9, 6, 1, 10),
        replies=(utc(2024, 5, 9, 6, 1, 30),),
        closed=utc(2024, 5, 9, 6, 11, 10),
        rating=("bad", utc(2024, 5, 9, 6, 12)),
    )
    # Outside the window: 2024-05-07 23:59:59 and 2024-05-11 00:00 local.
    stores.turn("old", "rest", utc(2024, 5, 7, 15, 59, 59), 9000)
    stores.feedback("old", "rest", False, utc(2024, 5, 7, 15, 0))
    stores.turn("late", "rest", utc(2024, 5, 10, 16, 0), 9000)


def kpis_of(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("day", "channel")}


def test_every_kpi_in_total(stores, url):
    scenario(stores)
    report = compute_kpis(url, days=3, now=NOW)
    assert json.loads(json.dumps(report)) == report
    assert (report["from"], report["to"], report["timezone"], report["days"]) == (
        "2024-05-08",
        "2024-05-10",
        "Asia/Shanghai",
        3,
    )
    assert report["totals"] == {
        "conversations": 7,
        "bot_resolved": 3,
        "bot_resolution_rate": 0.4286,
        "handoffs": 3,
        "tickets": 1,
        "handoff_rate": 0.5714,
        "first_response_seconds": {"avg": 47.5, "median": 47.5, "count": 2},
        "handling_seconds": {"avg": 450.0, "median": 450.0, "count": 2},
        "bot_reply_ms": {"p50": 400.0, "p95": 670.0, "count": 7},
        "satisfaction": {"rate": 0.6, "positive": 3, "negative": 2},
        "answer_feedback": {"positive": 2, "negative": 1},
        "service_rating": {"good": 1, "bad": 1},
    }


def test_every_kpi_per_local_day(stores, url):
    scenario(stores)
    by_day = compute_kpis(url, days=3, now=NOW)["by_day"]
    assert [row["day"] for row in by_day] == ["2024-05-08", "2024-05-09", "2024-05-10"]
    assert kpis_of(by_day[0]) == {
        "conversations": 2,
        "bot_resolved": 1,
        "bot_resolution_rate": 0.5,
        "handoffs": 1,
        "tickets": 0,
        "handoff_rate": 0.5,
        "first_response_seconds": EMPTY_DURATIONS,
        "handling_seconds": EMPTY_DURATIONS,
        "bot_reply_ms": {"p50": 450.0, "p95": 495.0, "count": 2},
        "satisfaction": {"rate": 0.6667, "positive": 2, "negative": 1},
        "answer_feedback": {"positive": 2, "negative": 1},
        "service_rating": {"good": 0, "bad": 0},
    }
    assert kpis_of(by_day[1]) == {
        "conversations": 3,
        "bot_resolved": 2,
        "bot_resolution_rate": 0.6667,
        "handoffs": 1,
        "tickets": 0,
        "handoff_rate": 0.3333,
        "first_response_seconds": {"avg": 30.0, "median": 30.0, "count": 1},
        "handling_seconds": {"avg": 600.0, "median": 600.0, "count": 1},
        "bot_reply_ms": {"p50": 600.0, "p95": 690.0, "count": 3},
        "satisfaction": {"rate": 0.0, "positive": 0, "negative": 1},
        "answer_feedback": {"positive": 0, "negative": 0},
        "service_rating": {"good": 0, "bad": 1},
    }
    # a's 00:30 conversation, its hand-off and its rating (00:37 local) all land on the 10th.
    assert kpis_of(by_day[2]) == {
        "conversations": 2,
        "bot_resolved": 0,
        "bot_resolution_rate": 0.0,
        "handoffs": 1,
        "tickets": 1,
        "handoff_rate": 1.0,
        "first_response_seconds": {"avg": 65.0, "median": 65.0, "count": 1},
        "handling_seconds": {"avg": 300.0, "median": 300.0, "count": 1},
        "bot_reply_ms": {"p50": 250.0, "p95": 295.0, "count": 2},
        "satisfaction": {"rate": 1.0, "positive": 1, "negative": 0},
        "answer_feedback": {"positive": 0, "negative": 0},
        "service_rating": {"good": 1, "bad": 0},
    }


def test_every_kpi_per_channel(stores, url):
    scenario(stores)
    report = compute_kpis(url, days=3, now=NOW)
    rest, socketio = report["by_channel"]
    assert (rest["channel"], socketio["channel"]) == ("rest", "socketio")
    assert kpis_of(rest) == {
        "conversations": 4,
        "bot_resolved": 3,
        "bot_resolution_rate": 0.75,
        "handoffs": 1,
        "tickets": 0,
        "handoff_rate": 0.25,
        "first_response_seconds": {"avg": 65.0, "median": 65.0, "count": 1},
        "handling_seconds": {"avg": 300.0, "median": 300.0, "count": 1},
        "bot_reply_ms": {"p50": 350.0, "p95": 570.0, "count": 4},
        "satisfaction": {"rate": 0.75, "positive": 3, "negative": 1},
        "answer_feedback": {"positive": 2, "negative": 1},
        "service_rating": {"good": 1, "bad": 0},
    }
    assert kpis_of(socketio) == {
        "conversations": 3,
        "bot_resolved": 0,
        "bot_resolution_rate": 0.0,
        "handoffs": 2,
        "tickets": 1,
        "handoff_rate": 1.0,
        "first_response_seconds": {"avg": 30.0, "median": 30.0, "count": 1},
        "handling_seconds": {"avg": 600.0, "median": 600.0, "count": 1},
        "bot_reply_ms": {"p50": 500.0, "p95": 680.0, "count": 3},
        "satisfaction": {"rate": 0.0, "positive": 0, "negative": 1},
        "answer_feedback": {"positive": 0, "negative": 0},
        "service_rating": {"good": 0, "bad": 1},
    }
    grid = {
        (row["day"], row["channel"]): (row["conversations"], row["bot_resolved"], row["handoffs"], row["tickets"])
        for row in report["by_day_channel"]
    }
    assert grid == {
        ("2024-05-08", "rest"): (1, 1, 0, 0),
        ("2024-05-08", "socketio"): (1, 0, 1, 0),
        ("2024-05-09", "rest"): (2, 2, 0, 0),
        ("2024-05-09", "socketio"): (1, 0, 1, 0),
        ("2024-05-10", "rest"): (1, 0, 1, 0),
        ("2024-05-10", "socketio"): (1, 0, 0, 1),
    }
    assert [(row["day"], row["channel"]) for row in report["by_day_channel"]] == sorted(grid)


def test_days_follow_the_timezone(stores, url):
    """In UTC, a's 23:30 and 00:30 (Shanghai) turns are one conversation on the 9th, handed off."""
    scenario(stores)
    report = compute_kpis(url, days=3, tz="UTC", now=NOW)
    assert report["timezone"] == "UTC"
    counts = [(row["day"], row["conversations"], row["bot_resolved"], row["handoffs"]) for row in report["by_day"]]
    # 10th: b and "late" (16:00 UTC is still the 10th in UTC); "old" is on the 7th either way.
    assert counts == [("2024-05-08", 2, 1, 1), ("2024-05-09", 3, 1, 2), ("2024-05-10", 2, 1, 0)]
    assert report["by_day"][1]["service_rating"] == {"good": 1, "bad": 1}


def test_window_bounds_are_local_midnights(stores, url):
    start, end = utc(2024, 5, 9, 16), utc(2024, 5, 10, 16)  # 2024-05-10 in Shanghai
    tick = timedelta(microseconds=1)
    stores.turn("before", "rest", start - tick, 5)
    stores.turn("first", "rest", start, 10)
    stores.turn("last", "rest", end - tick, 20)
    stores.turn("after", "rest", end, 40)
    stores.handoff("before", "rest", start - tick)
    stores.ticket("after", "rest", end, submitted=end)
    report = compute_kpis(url, days=1, now=NOW)
    assert (report["from"], report["to"]) == ("2024-05-10", "2024-05-10")
    assert [row["day"] for row in report["by_day"]] == ["2024-05-10"]
    totals = report["totals"]
    assert (totals["conversations"], totals["bot_resolved"], totals["handoffs"], totals["tickets"]) == (2, 2, 0, 0)
    assert totals["bot_reply_ms"] == {"p50": 15.0, "p95": 19.5, "count": 2}


def test_empty_window(stores, url):
    stores.turn("old", "rest", utc(2024, 1, 1), 100)
    report = compute_kpis(url, days=2, now=NOW)
    empty = {
        "conversations": 0,
        "bot_resolved": 0,
        "bot_resolution_rate": None,
        "handoffs": 0,
        "tickets": 0,
        "handoff_rate": None,
        "first_response_seconds": EMPTY_DURATIONS,
        "handling_seconds": EMPTY_DURATIONS,
        "bot_reply_ms": {"p50": None, "p95": None, "count": 0},
        "satisfaction": {"rate": None, "positive": 0, "negative": 0},
        "answer_feedback": {"positive": 0, "negative": 0},
        "service_rating": {"good": 0, "bad": 0},
    }
    assert report["totals"] == empty
    assert report["by_day"] == [{"day": "2024-05-09", **empty}, {"day": "2024-05-10", **empty}]
    assert report["by_channel"] == [] and report["by_day_channel"] == []
    text = format_kpis(report)
    assert "合计" in text and "2024-05-09" in text and "渠道" not in text
    assert "-" in text.splitlines()[3]


def test_an_empty_database_has_its_tables_created(url):
    report = compute_kpis(url, days=1)
    assert report["totals"]["conversations"] == 0 and len(report["by_day"]) == 1


def test_bad_arguments(url):
    with pytest.raises(ValueError, match="days"):
        compute_kpis(url, days=0)
    with pytest.raises(ValueError, match="timezone"):
        compute_kpis(url, tz="Mars/Olympus")


def test_text_report(stores, url):
    scenario(stores)
    text = format_kpis(compute_kpis(url, days=3, now=NOW))
    lines = text.splitlines()
    assert lines[0] == "客服指标 2024-05-08 至 2024-05-10（Asia/Shanghai，3 天）"
    heading = lines[2].split()
    assert heading == [
        "会话数",
        "机器人解决率",
        "转人工率",
        "转人工",
        "留言",
        "人工首次响应",
        "平均处理时长",
        "满意度",
        "机器人响应",
        "p50/p95",
    ]
    assert lines[3].split() == ["合计", "7", "42.9%", "57.1%", "3", "1", "48秒", "7分30秒", "60.0%", "400/670ms"]
    assert lines[4] == "答案反馈: 有帮助 2 / 没帮助 1    人工服务评价: 满意 1 / 不满意 1"
    assert lines[6].split()[0] == "渠道"
    assert lines[7].split() == ["rest", "4", "75.0%", "25.0%", "1", "0", "1分05秒", "5分00秒", "75.0%", "350/570ms"]
    assert lines[8].split() == ["socketio", "3", "0.0%", "100.0%", "2", "1", "30秒", "10分00秒", "0.0%", "500/680ms"]
    assert lines[10].split()[0] == "日期"
    assert lines[11].split() == ["2024-05-08", "2", "50.0%", "50.0%", "1", "0", "-", "-", "66.7%", "450/495ms"]
    assert len(lines) == 14

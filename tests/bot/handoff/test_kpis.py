"""The service KPIs on real databases (SQLite and PostgreSQL), from data written
through the real stores and then moved to controlled times."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from bot.handoff.handoffs import HandoffRequest, HandoffStore, handoff_events, handoffs
from bot.handoff.kpis import compute_kpis, format_kpis
from bot.handoff.records import Records, feedback, outcomes, turns, unanswered
from bot.handoff.tickets import TicketStore, tickets
from tests.databases import scratch_database

NOW = datetime(2024, 5, 10, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
EMPTY_DURATIONS = {"avg": None, "median": None, "count": 0}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    """SQLite in tmp_path, or a fresh PostgreSQL schema: the shared database's tables stay out of it."""
    with scratch_database(request.param, tmp_path) as found:
        yield found


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

    def outcome(
        self,
        conversation: str,
        channel: str,
        kind: str,
        at: datetime,
        faq_id: str | None = None,
        question: str | None = None,
    ) -> None:
        category = "充值提现" if faq_id else None
        self.records.log_outcome(conversation, channel, kind, faq_id, category, question)
        restamp_last(self.records.engine, outcomes, outcomes.c.at, at)

    def unanswered(self, conversation: str, question: str, at: datetime) -> None:
        self.records.log_unanswered(conversation, "rest", question, 0.1, [])
        restamp_last(self.records.engine, unanswered, unanswered.c.created_at, at)

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
    """Three Shanghai days, 2024-05-08..10 (UTC+8), two channels; the times are UTC.
    Each conversation's outcome is named; the numbers below follow from them."""
    # a (rest): 23:30 and 00:30 local are two conversations. The first is answered (bot_resolved);
    # the second falls back, then is handed off, claimed after 20 s (handed_off).
    stores.turn("a", "rest", utc(2024, 5, 9, 15, 30), 100)
    stores.outcome("a", "rest", "answer", utc(2024, 5, 9, 15, 30), "faq-1", "提现手续费多少")
    stores.turn("a", "rest", utc(2024, 5, 9, 16, 30), 300)
    stores.outcome("a", "rest", "fallback", utc(2024, 5, 9, 16, 30))
    stores.unanswered("a", "提現到哪了", utc(2024, 5, 9, 16, 30))
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
    # b (socketio): a 留言 submitted (ticket).
    stores.turn("b", "socketio", utc(2024, 5, 10, 2, 0), 200)
    stores.turn("b", "socketio", utc(2024, 5, 10, 2, 1), handled_by="ticket")
    stores.ticket("b", "socketio", utc(2024, 5, 10, 2, 1), submitted=utc(2024, 5, 10, 2, 2))
    # c (rest): answered, then 有帮助 twice and 没帮助 last (bot_unresolved).
    stores.turn("c", "rest", utc(2024, 5, 8, 1, 0), 400)
    stores.outcome("c", "rest", "answer", utc(2024, 5, 8, 1, 0), "faq-1", "手续费怎么收")
    for minute, helpful in ((1, True), (2, True), (3, False)):
        stores.feedback("c", "rest", helpful, utc(2024, 5, 8, 1, minute))
    # d (socketio): a hand-off the user cancelled while waiting (left_queue).
    stores.turn("d", "socketio", utc(2024, 5, 8, 3, 0), 500)
    stores.handoff("d", "socketio", utc(2024, 5, 8, 3, 1), closed=utc(2024, 5, 8, 3, 5))
    # e (rest): a 留言 started and never submitted (left_ticket).
    stores.turn("e", "rest", utc(2024, 5, 9, 5, 0), 600)
    stores.ticket("e", "rest", utc(2024, 5, 9, 5, 1), submitted=None)
    # f (socketio): handed off, claimed after 10 s, answered after 30 s, handled 10 minutes, rated bad.
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
    # g (rest): the bot's last word was a clarify nobody chose from (bot_unresolved).
    stores.turn("g", "rest", utc(2024, 5, 9, 7, 0), 800)
    stores.outcome("g", "rest", "clarify", utc(2024, 5, 9, 7, 0))
    stores.unanswered("g", "提现到哪了", utc(2024, 5, 9, 7, 0))
    stores.unanswered("g", "别的", utc(2024, 5, 9, 7, 1))
    # Outside the window: 2024-05-07 23:59:59 and 2024-05-11 00:00 local.
    stores.turn("old", "rest", utc(2024, 5, 7, 15, 59, 59), 9000)
    stores.feedback("old", "rest", False, utc(2024, 5, 7, 15, 0))
    stores.outcome("old", "rest", "fallback", utc(2024, 5, 7, 15, 59, 59))
    stores.turn("late", "rest", utc(2024, 5, 10, 16, 0), 9000)


def kpis_of(row: dict) -> dict:
    return {k: v for k, v in row.items() if k not in ("day", "channel")}


def kpis(
    conversations: int,
    outcomes: dict[str, int],
    reasons: dict[str, int],
    turns: tuple[int, int, int],
    queue_wait: tuple,
    first_response: dict,
    handling: dict,
    reply_ms: tuple,
    helpful: tuple[int, int],
    rated: tuple[int, int],
    durable: int = 0,
) -> dict:
    """The expected row, its rates derived here from the counts (so the test checks they add up)."""
    kinds = ("bot_resolved", "bot_unresolved", "handed_off", "left_queue", "ticket", "left_ticket")
    ends = {k: outcomes.get(k, 0) for k in kinds}
    assert sum(ends.values()) == conversations

    def rate(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    asked = sum(turns)
    escalated = ends["handed_off"] + ends["left_queue"] + ends["ticket"] + ends["left_ticket"]
    assert sum(reasons.values()) == escalated
    return {
        "conversations": conversations,
        "outcomes": ends,
        "bot_resolved": ends["bot_resolved"],
        "bot_resolution_rate": rate(ends["bot_resolved"], conversations),
        "durable_resolved": durable,
        "durable_resolution_rate": rate(durable, conversations),
        "containment_rate": rate(ends["bot_resolved"] + ends["bot_unresolved"], conversations),
        "handoff_rate": rate(escalated, conversations),
        "handoffs_by_reason": reasons,
        "abandonment_rate": rate(ends["left_queue"] + ends["left_ticket"], conversations),
        "question_turns": asked,
        "answer_rate": rate(turns[0], asked),
        "clarify_rate": rate(turns[1], asked),
        "fallback_rate": rate(turns[2], asked),
        "queue_wait_seconds": {"p50": queue_wait[0], "p90": queue_wait[1], "count": queue_wait[2]},
        "first_response_seconds": first_response,
        "handling_seconds": handling,
        "bot_reply_ms": {"p50": reply_ms[0], "p95": reply_ms[1], "count": reply_ms[2]},
        "answer_feedback": {"positive": helpful[0], "negative": helpful[1], "rate": rate(helpful[0], sum(helpful))},
        "service_rating": {"good": rated[0], "bad": rated[1], "rate": rate(rated[0], sum(rated))},
        "stale_button_clicks": 0,
    }


NO_WAIT = (None, None, 0)


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
    assert report["totals"] == kpis(
        8,
        {"bot_resolved": 1, "bot_unresolved": 2, "handed_off": 2, "left_queue": 1, "ticket": 1, "left_ticket": 1},
        {"user_request": 5},
        (2, 1, 1),
        (15.0, 19.0, 2),
        {"avg": 47.5, "median": 47.5, "count": 2},
        {"avg": 450.0, "median": 450.0, "count": 2},
        (450.0, 765.0, 8),
        (2, 1),
        (1, 1),
    )
    assert report["totals"]["bot_resolution_rate"] == 0.125 and report["totals"]["handoff_rate"] == 0.625
    assert report["by_agent"] == [
        {
            "agent": "alice",
            "handled": 2,
            "queue_wait_seconds": {"p50": 15.0, "p90": 19.0, "count": 2},
            "first_response_seconds": {"avg": 47.5, "median": 47.5, "count": 2},
            "handling_seconds": {"avg": 450.0, "median": 450.0, "count": 2},
            "service_rating": {"good": 1, "bad": 1, "rate": 0.5},
        }
    ]
    assert report["by_category"] == [{"category": "充值提现", "answers": 2, "not_helpful": 1, "not_helpful_rate": 0.5}]
    assert report["top_questions"] == [
        {"faq_id": "faq-1", "category": "充值提现", "example": "手续费怎么收", "answers": 2}
    ]
    # 提現 and 提现 are one question once normalised; the earliest wording is shown.
    assert report["top_unanswered"] == [{"question": "提现到哪了", "count": 2}, {"question": "别的", "count": 1}]


def test_a_resolution_is_durable_unless_the_customer_comes_back_about_it_within_24_hours(stores, url):
    """Five bot-resolved conversations on 2024-05-08 (local); what each customer did next decides."""
    day1 = utc(2024, 5, 8, 2, 0)  # 10:00 local
    for name in ("gone", "later", "same", "other", "person"):
        stores.turn(name, "rest", day1)
        stores.outcome(name, "rest", "answer", day1, "faq-1", "提现手续费")  # category 充值提现
    # gone: never back. later: back about the same topic after 25 h (durable).
    stores.turn("later", "rest", day1 + timedelta(hours=25))
    stores.outcome("later", "rest", "answer", day1 + timedelta(hours=25), "faq-1")
    # same: back the next local day, 20 h later, asking in the same category (not durable).
    stores.turn("same", "rest", day1 + timedelta(hours=20))
    stores.outcome("same", "rest", "answer", day1 + timedelta(hours=20), "faq-1")
    # other: back after 20 h about something else (small talk, a fallback): still durable.
    stores.turn("other", "rest", day1 + timedelta(hours=20))
    stores.outcome("other", "rest", "fallback", day1 + timedelta(hours=20))
    # person: back after 20 h and asked for a person (not durable).
    stores.turn("person", "rest", day1 + timedelta(hours=20))
    stores.handoff("person", "rest", day1 + timedelta(hours=20, minutes=1))
    report = compute_kpis(url, days=3, now=NOW)
    first = report["by_day"][0]
    assert first["day"] == "2024-05-08" and first["outcomes"]["bot_resolved"] == 5
    assert first["durable_resolved"] == 3 and first["durable_resolution_rate"] == 0.6
    # The returns are conversations of their own on 05-09: resolved, unresolved, handed off.
    assert report["totals"]["conversations"] == 9 and report["totals"]["durable_resolved"] == 5
    # A return after the window's end still counts: a window of only 05-08 sees the same.
    assert compute_kpis(url, days=1, now=utc(2024, 5, 8, 12, 0))["totals"]["durable_resolved"] == 3


def test_every_kpi_per_local_day(stores, url):
    scenario(stores)
    by_day = compute_kpis(url, days=3, now=NOW)["by_day"]
    assert [row["day"] for row in by_day] == ["2024-05-08", "2024-05-09", "2024-05-10"]
    # 8th: c (没帮助 last) and d (left the queue).
    assert kpis_of(by_day[0]) == kpis(
        2,
        {"bot_unresolved": 1, "left_queue": 1},
        {"user_request": 1},
        (1, 0, 0),
        NO_WAIT,
        EMPTY_DURATIONS,
        EMPTY_DURATIONS,
        (450.0, 495.0, 2),
        (2, 1),
        (0, 0),
    )
    # 9th: a's 23:30 (answered), e (留言 not finished), f (handed off), g (clarify last).
    assert kpis_of(by_day[1]) == kpis(
        4,
        {"bot_resolved": 1, "bot_unresolved": 1, "handed_off": 1, "left_ticket": 1},
        {"user_request": 2},
        (1, 1, 0),
        (10.0, 10.0, 1),
        {"avg": 30.0, "median": 30.0, "count": 1},
        {"avg": 600.0, "median": 600.0, "count": 1},
        (650.0, 785.0, 4),
        (0, 0),
        (0, 1),
    )
    # a's 00:30 conversation, its hand-off and its rating (00:37 local) all land on the 10th; b left a 留言.
    assert kpis_of(by_day[2]) == kpis(
        2,
        {"handed_off": 1, "ticket": 1},
        {"user_request": 2},
        (0, 0, 1),
        (20.0, 20.0, 1),
        {"avg": 65.0, "median": 65.0, "count": 1},
        {"avg": 300.0, "median": 300.0, "count": 1},
        (250.0, 295.0, 2),
        (0, 0),
        (1, 0),
    )


def test_every_kpi_per_channel(stores, url):
    scenario(stores)
    report = compute_kpis(url, days=3, now=NOW)
    rest, socketio = report["by_channel"]
    assert (rest["channel"], socketio["channel"]) == ("rest", "socketio")
    assert kpis_of(rest) == kpis(
        5,
        {"bot_resolved": 1, "bot_unresolved": 2, "handed_off": 1, "left_ticket": 1},
        {"user_request": 2},
        (2, 1, 1),
        (20.0, 20.0, 1),
        {"avg": 65.0, "median": 65.0, "count": 1},
        {"avg": 300.0, "median": 300.0, "count": 1},
        (400.0, 760.0, 5),
        (2, 1),
        (1, 0),
    )
    assert kpis_of(socketio) == kpis(
        3,
        {"handed_off": 1, "left_queue": 1, "ticket": 1},
        {"user_request": 3},
        (0, 0, 0),
        (10.0, 10.0, 1),
        {"avg": 30.0, "median": 30.0, "count": 1},
        {"avg": 600.0, "median": 600.0, "count": 1},
        (500.0, 680.0, 3),
        (0, 0),
        (0, 1),
    )
    grid = {
        (row["day"], row["channel"]): (
            row["conversations"],
            row["outcomes"]["bot_resolved"],
            row["outcomes"]["handed_off"],
            row["outcomes"]["ticket"],
        )
        for row in report["by_day_channel"]
    }
    assert grid == {
        ("2024-05-08", "rest"): (1, 0, 0, 0),
        ("2024-05-08", "socketio"): (1, 0, 0, 0),
        ("2024-05-09", "rest"): (3, 1, 0, 0),
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
    counts = [
        (row["day"], row["conversations"], row["outcomes"]["bot_resolved"], row["outcomes"]["handed_off"])
        for row in report["by_day"]
    ]
    # 10th: b and "late" (16:00 UTC is still the 10th in UTC; small talk only counts as resolved).
    assert counts == [("2024-05-08", 2, 0, 0), ("2024-05-09", 4, 0, 2), ("2024-05-10", 2, 1, 0)]
    assert report["by_day"][1]["service_rating"] == {"good": 1, "bad": 1, "rate": 0.5}


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
    assert (totals["conversations"], totals["bot_resolved"], totals["handoff_rate"]) == (2, 2, 0.0)
    assert totals["bot_reply_ms"] == {"p50": 15.0, "p95": 19.5, "count": 2}


def test_empty_window(stores, url):
    stores.turn("old", "rest", utc(2024, 1, 1), 100)
    report = compute_kpis(url, days=2, now=NOW)
    empty = kpis(0, {}, {}, (0, 0, 0), NO_WAIT, EMPTY_DURATIONS, EMPTY_DURATIONS, NO_WAIT, (0, 0), (0, 0))
    assert report["totals"] == empty
    assert report["by_day"] == [{"day": "2024-05-09", **empty}, {"day": "2024-05-10", **empty}]
    assert report["by_channel"] == [] and report["by_day_channel"] == []
    assert report["by_agent"] == report["by_category"] == report["top_questions"] == report["top_unanswered"] == []
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
    assert lines[2].split() == [
        "会话数",
        "机器人解决率",
        "需人工率",
        "转人工",
        "留言",
        "放弃率",
        "兜底率",
        "排队等待p50",
        "人工首次响应",
        "平均处理时长",
        "答案有帮助率",
        "人工服务满意度",
        "机器人响应p50/p95",
    ]
    assert lines[3].split() == (
        ["合计", "8", "12.5%", "62.5%", "3", "2", "25.0%", "25.0%"]
        + ["15秒", "48秒", "7分30秒", "66.7%", "50.0%", "450/765ms"]
    )
    assert lines[4] == (
        "会话结果: 机器人解决 1 / 机器人未解决 2 / 转人工 2 / 排队中离开 1 / 留言 1 / 留言未完成 1（合计 8）"
    )
    assert lines[5] == "答案反馈: 有帮助 2 / 没帮助 1    人工服务评价: 满意 1 / 不满意 1"
    assert lines[7].split()[0] == "渠道"
    assert lines[8].split()[:5] == ["rest", "5", "20.0%", "40.0%", "1"]
    assert lines[11].split()[0] == "日期"
    assert len(lines) == 15


def test_the_exports_carry_the_reports_numbers(stores, url):
    import csv
    import io

    from openpyxl import load_workbook

    from bot.handoff.kpis import TABLES, kpi_table, to_csv, to_xlsx

    scenario(stores)
    report = compute_kpis(url, days=3, now=NOW)
    text = to_csv(report, "by_day")
    assert text.startswith("\ufeff")  # Excel reads UTF-8 with the mark
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    header, *days, total = rows
    assert header[:3] == ["日期", "会话数", "机器人解决"]
    assert [d[0] for d in days] == [r["day"] for r in report["by_day"]]
    assert total[0] == "合计" and int(total[1]) == report["totals"]["conversations"] == sum(int(d[1]) for d in days)
    column = header.index("需人工率")
    assert float(total[column]) == report["totals"]["handoff_rate"]
    book = load_workbook(io.BytesIO(to_xlsx(report)))
    assert book.sheetnames == ["按日", "按渠道", "按客服", "按分类", "热门问题", "未解决问题", "敏感词"]
    for name, sheet in zip(TABLES, book.worksheets, strict=True):
        assert [list(r) for r in sheet.iter_rows(values_only=True)] == kpi_table(report, name)
    with pytest.raises(ValueError, match="unknown table"):
        kpi_table(report, "by_moon")


def test_an_old_feedback_button_is_reported_as_what_it_was(stores, url):
    """An old 有帮助 clicked under an earlier answer counts for no answer, and the report says so."""
    stores.outcome("s", "rest", "answer", utc(2024, 5, 9, 2, 0), "faq-1", "提现手续费多少")
    stores.outcome("s", "rest", "stale_button", utc(2024, 5, 9, 2, 5), "faq-1")
    report = compute_kpis(url, days=3, now=NOW)
    totals = report["totals"]
    assert totals["stale_button_clicks"] == 1
    assert totals["answer_feedback"] == {"positive": 0, "negative": 0, "rate": None}
    assert totals["question_turns"] == 1  # the click is no question turn either
    assert "另有 1 次点的是旧答案下的按钮，未计入" in format_kpis(report)

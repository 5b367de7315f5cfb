"""Customer-service KPIs from the stored events (turns, answer feedback,
hand-offs, tickets), per local day and channel: ``faqbot report kpis``.

Days are local days in ``tz``; the window is the last ``days`` days up to and
including today. Definitions:

- conversation: a distinct (conversation_id, local day) in ``turns``, on the
  channel of its first turn that day.
- handoffs: hand-offs created that day; tickets: 留言 submitted that day
  (state open or answered, by ``submitted_at``).
- bot_resolved: conversations with no hand-off created and no ticket submitted
  for their conversation_id that day. bot_resolution_rate = bot_resolved /
  conversations; handoff_rate = the other conversations / conversations
  (None without conversations).
- first_response_seconds: per hand-off, its first agent message − created_at;
  handling_seconds: closed_at − claimed_at of claimed and closed hand-offs.
  Both ``{avg, median, count}`` on the hand-off's creation day.
- bot_reply_ms: ``{p50, p95, count}`` of the bot's turns' reply_ms (linear
  interpolation between ranks).
- answer_feedback ``{positive, negative}``: the helpful buttons;
  service_rating ``{good, bad}``: ratings of the human service, on the day
  given; satisfaction ``{rate, positive, negative}``: both together, rate =
  positive / (positive + negative).

Rates are rounded to 4 places, seconds and milliseconds to 1; None where
there is nothing to measure. Rows are selected by time window with SQLAlchemy
Core and grouped in Python: portable across SQLite and PostgreSQL, fine for
tens of thousands of rows.
"""

from __future__ import annotations

import math
import statistics
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from bot.handoff.db import aware
from bot.handoff.handoffs import HandoffStore, handoff_events, handoffs
from bot.handoff.records import Records, feedback, turns
from bot.handoff.tickets import SUBMITTED, TicketStore, tickets

Key = tuple[date, str]  # (local day, channel)


@dataclass
class _Facts:
    """What happened in one (day, channel); buckets merge into any grouping."""

    conversations: set[tuple[str, date]] = field(default_factory=set)
    handoffs: int = 0
    tickets: int = 0
    first_response: list[float] = field(default_factory=list)
    handling: list[float] = field(default_factory=list)
    reply_ms: list[float] = field(default_factory=list)
    helpful: int = 0
    unhelpful: int = 0
    good: int = 0
    bad: int = 0


@dataclass(frozen=True)
class _Window:
    zone: ZoneInfo
    days: list[date]

    @property
    def start(self) -> datetime:
        return _midnight(self.days[0], self.zone)

    @property
    def end(self) -> datetime:
        return _midnight(self.days[-1] + timedelta(days=1), self.zone)

    def day(self, at: datetime) -> date:
        return aware(at).astimezone(self.zone).date()

    def holds(self, column: sa.Column) -> sa.sql.ColumnElement:
        return sa.and_(column >= self.start, column < self.end)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def _window(days: int, tz: str, now: datetime | None) -> _Window:
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {tz!r}") from None
    today = aware(now or datetime.now(UTC)).astimezone(zone).date()
    return _Window(zone, [today - timedelta(days=days - 1 - i) for i in range(days)])


# -- reading -----------------------------------------------------------------


def _read_records(conn: sa.engine.Connection, window: _Window, buckets: dict[Key, _Facts]) -> None:
    seen: set[tuple[str, date]] = set()
    query = (
        sa.select(turns.c.at, turns.c.conversation_id, turns.c.channel, turns.c.handled_by, turns.c.reply_ms)
        .where(window.holds(turns.c.at))
        .order_by(turns.c.at, turns.c.id)
    )
    for row in conn.execute(query):
        day = window.day(row.at)
        conversation = (row.conversation_id, day)
        if conversation not in seen:  # the first turn of the day decides the channel
            seen.add(conversation)
            buckets[day, row.channel].conversations.add(conversation)
        if row.handled_by == "bot" and row.reply_ms is not None:
            buckets[day, row.channel].reply_ms.append(row.reply_ms)
    query = sa.select(feedback.c.created_at, feedback.c.channel, feedback.c.helpful).where(
        window.holds(feedback.c.created_at)
    )
    for row in conn.execute(query):
        facts = buckets[window.day(row.created_at), row.channel]
        if row.helpful:
            facts.helpful += 1
        else:
            facts.unhelpful += 1


def _read_handoffs(
    conn: sa.engine.Connection, window: _Window, buckets: dict[Key, _Facts], escalated: set[tuple[str, date]]
) -> None:
    first_reply: dict[str, datetime] = {}
    replies = (
        sa.select(handoff_events.c.handoff_id, handoff_events.c.at)
        .join(handoffs, handoffs.c.id == handoff_events.c.handoff_id)
        .where(window.holds(handoffs.c.created_at), handoff_events.c.kind == "agent_message")
    )
    for row in conn.execute(replies):
        at = aware(row.at)
        first_reply[row.handoff_id] = min(at, first_reply.get(row.handoff_id, at))
    query = sa.select(
        handoffs.c.id,
        handoffs.c.conversation_id,
        handoffs.c.channel,
        handoffs.c.created_at,
        handoffs.c.claimed_at,
        handoffs.c.closed_at,
    ).where(window.holds(handoffs.c.created_at))
    for row in conn.execute(query):
        day = window.day(row.created_at)
        facts = buckets[day, row.channel]
        facts.handoffs += 1
        escalated.add((row.conversation_id, day))
        if row.id in first_reply:
            facts.first_response.append((first_reply[row.id] - aware(row.created_at)).total_seconds())
        if row.claimed_at is not None and row.closed_at is not None:
            facts.handling.append((aware(row.closed_at) - aware(row.claimed_at)).total_seconds())
    ratings = (
        sa.select(handoff_events.c.at, handoff_events.c.text, handoffs.c.channel)
        .join(handoffs, handoffs.c.id == handoff_events.c.handoff_id)
        .where(window.holds(handoff_events.c.at), handoff_events.c.kind == "rating")
    )
    for row in conn.execute(ratings):
        facts = buckets[window.day(row.at), row.channel]
        if row.text == "good":
            facts.good += 1
        elif row.text == "bad":
            facts.bad += 1


def _read_tickets(
    conn: sa.engine.Connection, window: _Window, buckets: dict[Key, _Facts], escalated: set[tuple[str, date]]
) -> None:
    query = sa.select(tickets.c.conversation_id, tickets.c.channel, tickets.c.submitted_at).where(
        tickets.c.state.in_(SUBMITTED), window.holds(tickets.c.submitted_at)
    )
    for row in conn.execute(query):
        day = window.day(row.submitted_at)
        buckets[day, row.channel].tickets += 1
        escalated.add((row.conversation_id, day))


def _read(url: str, window: _Window) -> tuple[dict[Key, _Facts], set[tuple[str, date]]]:
    """Facts per (day, channel), and the (conversation_id, day) pairs that reached a person."""
    buckets: dict[Key, _Facts] = defaultdict(_Facts)
    escalated: set[tuple[str, date]] = set()
    # Each store creates its tables on first use; all three share the URL's one engine.
    records, handoff_store, ticket_store = Records(url), HandoffStore(url), TicketStore(url)
    with records.engine.connect() as conn:
        _read_records(conn, window, buckets)
    with handoff_store.engine.connect() as conn:
        _read_handoffs(conn, window, buckets, escalated)
    with ticket_store.engine.connect() as conn:
        _read_tickets(conn, window, buckets, escalated)
    return buckets, escalated


# -- summing -----------------------------------------------------------------


def _merge(parts: Iterable[_Facts]) -> _Facts:
    total = _Facts()
    for part in parts:
        for f in fields(_Facts):
            mine, theirs = getattr(total, f.name), getattr(part, f.name)
            setattr(total, f.name, mine | theirs if isinstance(mine, set) else mine + theirs)
    return total


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percentile(ordered: list[float], q: float) -> float:
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _durations(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"avg": None, "median": None, "count": 0}
    return {
        "avg": round(statistics.fmean(seconds), 1),
        "median": round(statistics.median(seconds), 1),
        "count": len(seconds),
    }


def _reply_times(ms: list[float]) -> dict[str, Any]:
    if not ms:
        return {"p50": None, "p95": None, "count": 0}
    ordered = sorted(ms)
    return {
        "p50": round(_percentile(ordered, 0.5), 1),
        "p95": round(_percentile(ordered, 0.95), 1),
        "count": len(ordered),
    }


def _kpis(facts: _Facts, escalated: set[tuple[str, date]]) -> dict[str, Any]:
    conversations = len(facts.conversations)
    resolved = len(facts.conversations - escalated)
    positive, negative = facts.helpful + facts.good, facts.unhelpful + facts.bad
    return {
        "conversations": conversations,
        "bot_resolved": resolved,
        "bot_resolution_rate": _ratio(resolved, conversations),
        "handoffs": facts.handoffs,
        "tickets": facts.tickets,
        "handoff_rate": _ratio(conversations - resolved, conversations),
        "first_response_seconds": _durations(facts.first_response),
        "handling_seconds": _durations(facts.handling),
        "bot_reply_ms": _reply_times(facts.reply_ms),
        "satisfaction": {"rate": _ratio(positive, positive + negative), "positive": positive, "negative": negative},
        "answer_feedback": {"positive": facts.helpful, "negative": facts.unhelpful},
        "service_rating": {"good": facts.good, "bad": facts.bad},
    }


def compute_kpis(url: str, days: int = 14, tz: str = "Asia/Shanghai", now: datetime | None = None) -> dict:
    """The KPIs of the last ``days`` local days (today included): in total, per day
    (every day, oldest first), per channel and per day and channel (every pair)."""
    window = _window(days, tz, now)
    buckets, escalated = _read(url, window)
    channels = sorted({channel for _, channel in buckets})

    def kpis(day: date | None = None, channel: str | None = None) -> dict[str, Any]:
        """The KPIs of the buckets of ``day`` and ``channel`` (None: every one)."""
        kept = (
            facts
            for (d, c), facts in buckets.items()
            if (day is None or d == day) and (channel is None or c == channel)
        )
        return _kpis(_merge(kept), escalated)

    return {
        "from": window.days[0].isoformat(),
        "to": window.days[-1].isoformat(),
        "timezone": tz,
        "days": days,
        "totals": kpis(),
        "by_day": [{"day": d.isoformat(), **kpis(day=d)} for d in window.days],
        "by_channel": [{"channel": c, **kpis(channel=c)} for c in channels],
        "by_day_channel": [
            {"day": d.isoformat(), "channel": c, **kpis(day=d, channel=c)} for d in window.days for c in channels
        ],
    }


# -- text --------------------------------------------------------------------

_HEADINGS = [
    "会话数",
    "机器人解决率",
    "转人工率",
    "转人工",
    "留言",
    "人工首次响应",
    "平均处理时长",
    "满意度",
    "机器人响应 p50/p95",
]


def _percent(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.1f}%"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}秒"
    if whole < 3600:
        return f"{whole // 60}分{whole % 60:02d}秒"
    return f"{whole // 3600}小时{whole % 3600 // 60:02d}分"


def _reply_cell(reply: dict[str, Any]) -> str:
    return "-" if reply["p50"] is None else f"{reply['p50']:.0f}/{reply['p95']:.0f}ms"


def _cells(kpis: dict[str, Any]) -> list[str]:
    return [
        str(kpis["conversations"]),
        _percent(kpis["bot_resolution_rate"]),
        _percent(kpis["handoff_rate"]),
        str(kpis["handoffs"]),
        str(kpis["tickets"]),
        _duration(kpis["first_response_seconds"]["avg"]),
        _duration(kpis["handling_seconds"]["avg"]),
        _percent(kpis["satisfaction"]["rate"]),
        _reply_cell(kpis["bot_reply_ms"]),
    ]


def _width(text: str) -> int:
    """Terminal columns: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _table(label: str, rows: list[tuple[str, dict[str, Any]]]) -> list[str]:
    grid = [[label, *_HEADINGS]] + [[name, *_cells(kpis)] for name, kpis in rows]
    widths = [max(_width(line[i]) for line in grid) for i in range(len(grid[0]))]
    return [
        "  ".join(
            cell + " " * (w - _width(cell)) if i == 0 else " " * (w - _width(cell)) + cell
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        ).rstrip()
        for line in grid
    ]


def format_kpis(report: dict) -> str:
    """The report as plain text: totals, then per channel, then per day (times are averages)."""
    totals = report["totals"]
    feedback_, rating = totals["answer_feedback"], totals["service_rating"]
    lines = [
        f"客服指标 {report['from']} 至 {report['to']}（{report['timezone']}，{report['days']} 天）",
        "",
        *_table("", [("合计", totals)]),
        f"答案反馈: 有帮助 {feedback_['positive']} / 没帮助 {feedback_['negative']}    "
        f"人工服务评价: 满意 {rating['good']} / 不满意 {rating['bad']}",
        "",
    ]
    if report["by_channel"]:
        lines += [*_table("渠道", [(row["channel"], row) for row in report["by_channel"]]), ""]
    lines += _table("日期", [(row["day"], row) for row in report["by_day"]])
    return "\n".join(lines)

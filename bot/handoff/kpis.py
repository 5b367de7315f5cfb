"""Customer-service KPIs from the stored events (turns, bot outcomes, answer
feedback, hand-offs, tickets), per local day and channel: ``faqbot report
kpis`` and the console's 数据看板. The definitions (also in the README and on
each console card):

- **conversation**: a distinct (conversation_id, local day) in ``turns``, on
  the channel of its first turn that day. Each conversation ends in exactly one
  of six ``outcomes`` (they add up to ``conversations``), the first that applies:
  ``handed_off`` (a hand-off was created that day — not one an agent reopened
  from the history, which is no request of the customer's — and not cancelled by the
  customer while waiting), ``ticket`` (a 留言 was submitted), ``left_queue``
  (the customer cancelled the hand-off while waiting), ``left_ticket`` (a 留言
  was started and not submitted: cancelled, left for another question, or never
  finished), ``bot_unresolved`` (the bot's last question turn was a fallback
  or a clarify nobody chose from, or its last answer got 没帮助), else
  ``bot_resolved`` (also conversations with small talk only).
- durable_resolved: bot_resolved conversations after which the same customer
  (conversation id) started no new conversation on the same topic within 24 h
  of its last turn — no other conversation-day whose bot answered in the same
  FAQ category, and none that reached a person or the 留言 prompt;
  durable_resolution_rate = durable_resolved / conversations. The last 24 h of
  the window are provisional: a return tomorrow can still undo them.
- bot_resolution_rate = bot_resolved / conversations; containment_rate =
  (bot_resolved + bot_unresolved) / conversations (never reached a person or
  the 留言 prompt); handoff_rate = (handed_off + left_queue + ticket +
  left_ticket) / conversations, ``handoffs_by_reason`` splitting exactly those
  conversations by the reason of their first request (user_request,
  repeated_fallback, negative_feedback, faq_policy, sensitive); abandonment_rate =
  (left_queue + left_ticket) / conversations.
- question turns: bot turns that were a question (``outcomes`` rows answer,
  clarify or fallback); answer_rate, clarify_rate, fallback_rate of them.
- queue_wait_seconds ``{p50, p90, count}``: claimed_at − created_at of claimed
  hand-offs; first_response_seconds: first agent message − created_at;
  handling_seconds: closed_at − claimed_at (``{avg, median, count}``), all on
  the hand-off's creation day.
- bot_reply_ms ``{p50, p95, count}`` of the bot's turns (linear interpolation).
- answer_feedback ``{positive, negative, rate}`` (有帮助 / 没帮助 on answers) and
  service_rating ``{good, bad, rate}`` (满意 / 不满意 on the human service) are
  kept apart; rate = positive / all. stale_button_clicks: old 有帮助/没帮助 buttons clicked,
  counted for no answer (``outcomes`` kind stale_button).
- Over the whole window only: ``by_agent`` (claimed hand-offs, their waits,
  first responses, handling and ratings), ``by_category`` (answers and 没帮助
  per FAQ category), ``top_questions`` (the FAQs answered most) and
  ``top_unanswered`` (the questions logged unanswered most, normalised) and
  ``sensitive`` (sensitive words found, ``sensitive_hits``: per source — customer,
  bot, agent — category and what was done — refuse / handoff / log for a customer,
  withheld for the bot's answer, held / confirmed for an agent's reply — most first).

Rates are rounded to 4 places, seconds and milliseconds to 1; None where
there is nothing to measure. Rows are selected by time window with SQLAlchemy
Core and grouped in Python: portable across SQLite and PostgreSQL, fine for
tens of thousands of rows.
"""

from __future__ import annotations

import functools
import math
import statistics
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from bot.handoff.db import aware
from bot.handoff.handoffs import AGENT_REOPENED, HandoffStore, handoff_events, handoffs
from bot.handoff.records import Records, feedback, outcomes, sensitive_hits, turns, unanswered
from bot.handoff.tables import csv_text, xlsx_bytes
from bot.handoff.tickets import SUBMITTED, TicketStore, tickets
from faqbot.normalize import normalize

Key = tuple[date, str]  # (local day, channel)
Conversation = tuple[str, date]  # (conversation_id, local day)
OUTCOMES = ("bot_resolved", "bot_unresolved", "handed_off", "left_queue", "ticket", "left_ticket")
# When several apply to one conversation, the first in this order is its outcome.
_PRECEDENCE = ("handed_off", "ticket", "left_queue", "left_ticket")
QUESTION_KINDS = ("answer", "clarify", "fallback")
TOP = 10
# A resolution holds if the customer does not come back about it within this.
DURABLE_WITHIN = timedelta(hours=24)


@dataclass
class _Facts:
    """What happened in one (day, channel); buckets merge into any grouping."""

    conversations: set[Conversation] = field(default_factory=set)
    question_kinds: Counter[str] = field(default_factory=Counter)
    queue_wait: list[float] = field(default_factory=list)
    first_response: list[float] = field(default_factory=list)
    handling: list[float] = field(default_factory=list)
    reply_ms: list[float] = field(default_factory=list)
    helpful: int = 0
    unhelpful: int = 0
    good: int = 0
    bad: int = 0
    stale_buttons: int = 0  # old 有帮助/没帮助 clicked (counted for no answer)


@dataclass
class _Conversations:
    """Per conversation-day: what escalated it (and why), and how the bot's part ended."""

    escalations: dict[Conversation, list[tuple[datetime, str, str]]] = field(default_factory=lambda: defaultdict(list))
    last_question: dict[Conversation, tuple[datetime, str]] = field(default_factory=dict)
    negative_at: dict[Conversation, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    last_turn: dict[Conversation, datetime] = field(default_factory=dict)
    last_category: dict[Conversation, str | None] = field(default_factory=dict)
    # Per customer, up to 24 h past the window: (when, local day, category answered or None, escalated).
    returns: dict[str, list[tuple[datetime, date, str | None, bool]]] = field(default_factory=lambda: defaultdict(list))

    def durable(self, conversation: Conversation) -> bool:
        """Bot-resolved, and the customer did not come back about it within 24 h."""
        if self.outcome(conversation) != "bot_resolved":
            return False
        end = self.last_turn.get(conversation)
        if end is None:
            return True
        topic = self.last_category.get(conversation)
        customer, day = conversation
        return not any(
            end < at <= end + DURABLE_WITHIN
            and other != day
            and (escalated or (topic is not None and category == topic))
            for at, other, category, escalated in self.returns.get(customer, [])
        )

    def outcome(self, conversation: Conversation) -> str:
        found = {kind for _, kind, _ in self.escalations.get(conversation, [])}
        for kind in _PRECEDENCE:
            if kind in found:
                return kind
        last = self.last_question.get(conversation)
        if last is None:
            return "bot_resolved"
        at, kind = last
        if kind != "answer" or any(n >= at for n in self.negative_at.get(conversation, [])):
            return "bot_unresolved"
        return "bot_resolved"

    def reason(self, conversation: Conversation) -> str | None:
        found = sorted(self.escalations.get(conversation, []))
        return found[0][2] if found else None


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


@dataclass
class _Report:
    buckets: dict[Key, _Facts] = field(default_factory=lambda: defaultdict(_Facts))
    conversations: _Conversations = field(default_factory=_Conversations)
    agents: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    agent_ratings: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    categories: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    answered: Counter[str] = field(default_factory=Counter)
    faq_category: dict[str, str] = field(default_factory=dict)
    faq_question: dict[str, str] = field(default_factory=dict)
    unanswered: Counter[str] = field(default_factory=Counter)
    unanswered_text: dict[str, str] = field(default_factory=dict)
    # Sensitive words found: (source, category, action) → how many.
    sensitive: Counter[tuple[str, str, str]] = field(default_factory=Counter)


def _read_records(conn: sa.engine.Connection, window: _Window, report: _Report) -> None:
    seen: set[Conversation] = set()
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
            report.buckets[day, row.channel].conversations.add(conversation)
        report.conversations.last_turn[conversation] = aware(row.at)
        if row.handled_by == "bot" and row.reply_ms is not None:
            report.buckets[day, row.channel].reply_ms.append(row.reply_ms)
    query = sa.select(outcomes).where(window.holds(outcomes.c.at)).order_by(outcomes.c.at, outcomes.c.id)
    for row in conn.execute(query):
        at, day = aware(row.at), window.day(row.at)
        if row.kind == "stale_button":
            report.buckets[day, row.channel].stale_buttons += 1
        if row.kind in QUESTION_KINDS:
            report.buckets[day, row.channel].question_kinds[row.kind] += 1
            report.conversations.last_question[row.conversation_id, day] = (at, row.kind)
            report.conversations.last_category[row.conversation_id, day] = row.category
        if row.kind == "answer" and row.faq_id:
            report.answered[row.faq_id] += 1
            if row.category:
                report.faq_category[row.faq_id] = row.category
                report.categories[row.category]["answers"] += 1
            if row.question and not row.question.startswith("/"):
                report.faq_question.setdefault(row.faq_id, row.question)
    query = sa.select(
        feedback.c.created_at, feedback.c.conversation_id, feedback.c.channel, feedback.c.helpful, feedback.c.faq_id
    ).where(window.holds(feedback.c.created_at))
    for row in conn.execute(query):
        day = window.day(row.created_at)
        facts = report.buckets[day, row.channel]
        if row.helpful:
            facts.helpful += 1
        else:
            facts.unhelpful += 1
            report.conversations.negative_at[row.conversation_id, day].append(aware(row.created_at))
            category = report.faq_category.get(row.faq_id or "")
            if category:
                report.categories[category]["not_helpful"] += 1
    for row in conn.execute(sa.select(unanswered.c.question).where(window.holds(unanswered.c.created_at))):
        key = normalize(row.question)
        report.unanswered[key] += 1
        report.unanswered_text.setdefault(key, row.question)
    query = sa.select(sensitive_hits.c.source, sensitive_hits.c.category, sensitive_hits.c.action).where(
        window.holds(sensitive_hits.c.at)
    )
    for row in conn.execute(query):
        report.sensitive[row.source, row.category, row.action] += 1


def _read_handoffs(conn: sa.engine.Connection, window: _Window, report: _Report) -> None:
    first_reply: dict[str, datetime] = {}
    cancelled: set[str] = set()
    events = (
        sa.select(handoff_events.c.handoff_id, handoff_events.c.at, handoff_events.c.kind, handoff_events.c.text)
        .join(handoffs, handoffs.c.id == handoff_events.c.handoff_id)
        .where(window.holds(handoffs.c.created_at), handoff_events.c.kind.in_(("agent_message", "closed")))
    )
    for row in conn.execute(events):
        if row.kind == "closed":
            if row.text == "user_cancelled":
                cancelled.add(row.handoff_id)
            continue
        at = aware(row.at)
        first_reply[row.handoff_id] = min(at, first_reply.get(row.handoff_id, at))
    query = sa.select(
        handoffs.c.id,
        handoffs.c.conversation_id,
        handoffs.c.channel,
        handoffs.c.reason,
        handoffs.c.agent,
        handoffs.c.created_at,
        handoffs.c.claimed_at,
        handoffs.c.closed_at,
    ).where(window.holds(handoffs.c.created_at))
    for row in conn.execute(query):
        created, day = aware(row.created_at), window.day(row.created_at)
        facts = report.buckets[day, row.channel]
        kind = "left_queue" if row.id in cancelled and row.claimed_at is None else "handed_off"
        if row.reason != AGENT_REOPENED:  # an agent writing again is no customer asking for a person
            report.conversations.escalations[row.conversation_id, day].append((created, kind, row.reason))
        times = report.agents.setdefault(row.agent, defaultdict(list)) if row.agent else None
        reopened = row.reason == AGENT_REOPENED  # nobody waited: the agent opened it
        if row.claimed_at is not None and not reopened:
            wait = (aware(row.claimed_at) - created).total_seconds()
            facts.queue_wait.append(wait)
            if times is not None:
                times["queue_wait"].append(wait)
        if row.id in first_reply and not reopened:
            seconds = (first_reply[row.id] - created).total_seconds()
            facts.first_response.append(seconds)
            if times is not None:
                times["first_response"].append(seconds)
        if row.claimed_at is not None and row.closed_at is not None:
            seconds = (aware(row.closed_at) - aware(row.claimed_at)).total_seconds()
            facts.handling.append(seconds)
            if times is not None:
                times["handling"].append(seconds)
    ratings = (
        sa.select(handoff_events.c.at, handoff_events.c.text, handoffs.c.channel, handoffs.c.agent)
        .join(handoffs, handoffs.c.id == handoff_events.c.handoff_id)
        .where(window.holds(handoff_events.c.at), handoff_events.c.kind == "rating")
    )
    for row in conn.execute(ratings):
        facts = report.buckets[window.day(row.at), row.channel]
        if row.text == "good":
            facts.good += 1
        elif row.text == "bad":
            facts.bad += 1
        if row.agent and row.text in ("good", "bad"):
            report.agent_ratings[row.agent][row.text] += 1


def _read_tickets(conn: sa.engine.Connection, window: _Window, report: _Report) -> None:
    query = sa.select(
        tickets.c.conversation_id, tickets.c.state, tickets.c.reason, tickets.c.created_at, tickets.c.submitted_at
    ).where(window.holds(tickets.c.created_at))
    for row in conn.execute(query):
        submitted = row.state in SUBMITTED and row.submitted_at is not None
        at = aware(row.submitted_at if submitted else row.created_at)
        conversation = (row.conversation_id, window.day(at))
        kind = "ticket" if submitted else "left_ticket"
        report.conversations.escalations[conversation].append((at, kind, row.reason))


def _read_returns(
    records: sa.engine.Connection, people: sa.engine.Connection, window: _Window, report: _Report
) -> None:
    """What each customer came back with, from the window's start to 24 h past its end
    (answers by category, hand-offs and 留言), for the durable resolution."""
    start, end = window.start, window.end + DURABLE_WITHIN
    returns = report.conversations.returns
    answers = sa.select(outcomes.c.conversation_id, outcomes.c.at, outcomes.c.category).where(
        outcomes.c.kind == "answer", outcomes.c.at >= start, outcomes.c.at < end
    )
    for row in records.execute(answers):
        returns[row.conversation_id].append((aware(row.at), window.day(row.at), row.category, False))
    for table in (handoffs, tickets):
        reached = sa.select(table.c.conversation_id, table.c.created_at).where(
            table.c.created_at >= start, table.c.created_at < end
        )
        if table is handoffs:
            reached = reached.where(handoffs.c.reason != AGENT_REOPENED)
        for row in people.execute(reached):
            returns[row.conversation_id].append((aware(row.created_at), window.day(row.created_at), None, True))


def _read(url: str, window: _Window) -> _Report:
    report = _Report()
    # Each store creates its tables on first use; all three share the URL's one engine.
    records, handoff_store, ticket_store = Records(url), HandoffStore(url), TicketStore(url)
    with records.engine.connect() as conn:
        _read_records(conn, window, report)
    with handoff_store.engine.connect() as conn:
        _read_handoffs(conn, window, report)
    with ticket_store.engine.connect() as conn:
        _read_tickets(conn, window, report)
    with records.engine.connect() as conn, handoff_store.engine.connect() as other:
        _read_returns(conn, other, window, report)
    return report


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


def _percentiles(values: list[float], *qs: int) -> dict[str, Any]:
    ordered = sorted(values)
    found: dict[str, Any] = {f"p{q}": round(_percentile(ordered, q / 100), 1) if ordered else None for q in qs}
    return {**found, "count": len(ordered)}


def _kpis(facts: _Facts, conversations: _Conversations) -> dict[str, Any]:
    total = len(facts.conversations)
    ends = Counter(conversations.outcome(c) for c in facts.conversations)
    split = {kind: ends.get(kind, 0) for kind in OUTCOMES}
    escalated = [c for c in facts.conversations if conversations.outcome(c) in _PRECEDENCE]
    durable = sum(1 for c in facts.conversations if conversations.durable(c))
    reasons = Counter(conversations.reason(c) or "unknown" for c in escalated)
    asked = sum(facts.question_kinds[k] for k in QUESTION_KINDS)
    helpful = facts.helpful + facts.unhelpful
    rated = facts.good + facts.bad
    return {
        "conversations": total,
        "outcomes": split,
        "bot_resolved": split["bot_resolved"],
        "bot_resolution_rate": _ratio(split["bot_resolved"], total),
        "durable_resolved": durable,
        "durable_resolution_rate": _ratio(durable, total),
        "containment_rate": _ratio(split["bot_resolved"] + split["bot_unresolved"], total),
        "handoff_rate": _ratio(len(escalated), total),
        "handoffs_by_reason": dict(sorted(reasons.items())),
        "abandonment_rate": _ratio(split["left_queue"] + split["left_ticket"], total),
        "question_turns": asked,
        "answer_rate": _ratio(facts.question_kinds["answer"], asked),
        "clarify_rate": _ratio(facts.question_kinds["clarify"], asked),
        "fallback_rate": _ratio(facts.question_kinds["fallback"], asked),
        "queue_wait_seconds": _percentiles(facts.queue_wait, 50, 90),
        "first_response_seconds": _durations(facts.first_response),
        "handling_seconds": _durations(facts.handling),
        "bot_reply_ms": _percentiles(facts.reply_ms, 50, 95),
        "answer_feedback": {
            "positive": facts.helpful,
            "negative": facts.unhelpful,
            "rate": _ratio(facts.helpful, helpful),
        },
        "service_rating": {"good": facts.good, "bad": facts.bad, "rate": _ratio(facts.good, rated)},
        "stale_button_clicks": facts.stale_buttons,
    }


def _by_agent(report: _Report) -> list[dict[str, Any]]:
    rows = []
    for agent in sorted(set(report.agents) | set(report.agent_ratings)):
        times = report.agents.get(agent, {})
        ratings = report.agent_ratings.get(agent, Counter())
        rated = ratings["good"] + ratings["bad"]
        rows.append(
            {
                "agent": agent,
                "handled": len(times.get("queue_wait", [])),
                "queue_wait_seconds": _percentiles(times.get("queue_wait", []), 50, 90),
                "first_response_seconds": _durations(times.get("first_response", [])),
                "handling_seconds": _durations(times.get("handling", [])),
                "service_rating": {
                    "good": ratings["good"],
                    "bad": ratings["bad"],
                    "rate": _ratio(ratings["good"], rated),
                },
            }
        )
    return rows


def compute_kpis(url: str, days: int = 14, tz: str = "Asia/Shanghai", now: datetime | None = None) -> dict:
    """The KPIs of the last ``days`` local days (today included): in total, per day
    (every day, oldest first), per channel and per day and channel (every pair),
    and over the whole window per agent, per category and the top questions."""
    window = _window(days, tz, now)
    report = _read(url, window)
    buckets = report.buckets
    channels = sorted({channel for _, channel in buckets})

    def kpis(day: date | None = None, channel: str | None = None) -> dict[str, Any]:
        """The KPIs of the buckets of ``day`` and ``channel`` (None: every one)."""
        kept = (
            facts
            for (d, c), facts in buckets.items()
            if (day is None or d == day) and (channel is None or c == channel)
        )
        return _kpis(_merge(kept), report.conversations)

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
        "by_agent": _by_agent(report),
        "by_category": [
            {
                "category": name,
                "answers": counts["answers"],
                "not_helpful": counts["not_helpful"],
                "not_helpful_rate": _ratio(counts["not_helpful"], counts["answers"]),
            }
            for name, counts in sorted(report.categories.items(), key=lambda item: (-item[1]["answers"], item[0]))
        ],
        "top_questions": [
            {
                "faq_id": faq_id,
                "category": report.faq_category.get(faq_id),
                "example": report.faq_question.get(faq_id),
                "answers": count,
            }
            for faq_id, count in sorted(report.answered.items(), key=lambda item: (-item[1], item[0]))[:TOP]
        ],
        "top_unanswered": [
            {"question": report.unanswered_text[key], "count": count}
            for key, count in sorted(report.unanswered.items(), key=lambda item: (-item[1], item[0]))[:TOP]
        ],
        "sensitive": [
            {"source": source, "category": category, "action": action, "count": count}
            for (source, category, action), count in sorted(report.sensitive.items(), key=lambda i: (-i[1], i[0]))
        ],
    }


# -- text --------------------------------------------------------------------

_HEADINGS = [
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
    ends = kpis["outcomes"]
    return [
        str(kpis["conversations"]),
        _percent(kpis["bot_resolution_rate"]),
        _percent(kpis["handoff_rate"]),
        str(ends["handed_off"] + ends["left_queue"]),
        str(ends["ticket"] + ends["left_ticket"]),
        _percent(kpis["abandonment_rate"]),
        _percent(kpis["fallback_rate"]),
        _duration(kpis["queue_wait_seconds"]["p50"]),
        _duration(kpis["first_response_seconds"]["avg"]),
        _duration(kpis["handling_seconds"]["avg"]),
        _percent(kpis["answer_feedback"]["rate"]),
        _percent(kpis["service_rating"]["rate"]),
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
    """The report as plain text: totals and how conversations ended, then per channel, then per day."""
    totals = report["totals"]
    feedback_, rating, ends = totals["answer_feedback"], totals["service_rating"], totals["outcomes"]
    clicks = totals["stale_button_clicks"]
    stale = f"（另有 {clicks} 次点的是旧答案下的按钮，未计入）" if clicks else ""
    lines = [
        f"客服指标 {report['from']} 至 {report['to']}（{report['timezone']}，{report['days']} 天）",
        "",
        *_table("", [("合计", totals)]),
        "会话结果: "
        + " / ".join(f"{OUTCOME_NAMES[k]} {ends[k]}" for k in OUTCOMES)
        + f"（合计 {totals['conversations']}）",
        f"答案反馈: 有帮助 {feedback_['positive']} / 没帮助 {feedback_['negative']}{stale}    "
        f"人工服务评价: 满意 {rating['good']} / 不满意 {rating['bad']}",
        "",
    ]
    if report["by_channel"]:
        lines += [*_table("渠道", [(row["channel"], row) for row in report["by_channel"]]), ""]
    lines += _table("日期", [(row["day"], row) for row in report["by_day"]])
    if report.get("sensitive"):
        lines += ["", "敏感词: " + " / ".join(_sensitive_cell(row) for row in report["sensitive"])]
    return "\n".join(lines)


SENSITIVE_SOURCES = {"customer": "客户消息", "bot": "机器人答案", "agent": "人工回复"}
SENSITIVE_ACTIONS = {
    "refuse": "拒答",
    "handoff": "转人工",
    "log": "只记录",
    "withheld": "未发出",
    "held": "被拦下",
    "confirmed": "确认后发出",
}


def _sensitive_cell(row: dict[str, Any]) -> str:
    source = SENSITIVE_SOURCES.get(row["source"], row["source"])
    return f"{source}·{row['category']}·{SENSITIVE_ACTIONS.get(row['action'], row['action'])} {row['count']}"


# -- export (CSV, XLSX) -------------------------------------------------------

OUTCOME_NAMES = {
    "bot_resolved": "机器人解决",
    "bot_unresolved": "机器人未解决",
    "handed_off": "转人工",
    "left_queue": "排队中离开",
    "ticket": "留言",
    "left_ticket": "留言未完成",
}


def _outcome_count(key: str, kpis: dict[str, Any]) -> int:
    return int(kpis["outcomes"][key])


_ROW_COLUMNS: list[tuple[str, Any]] = [
    ("会话数", lambda k: k["conversations"]),
    *[(name, functools.partial(_outcome_count, key)) for key, name in OUTCOME_NAMES.items()],
    ("机器人解决率", lambda k: k["bot_resolution_rate"]),
    ("持久解决", lambda k: k["durable_resolved"]),
    ("持久解决率", lambda k: k["durable_resolution_rate"]),
    ("自助率", lambda k: k["containment_rate"]),
    ("需人工率", lambda k: k["handoff_rate"]),
    ("放弃率", lambda k: k["abandonment_rate"]),
    ("问题轮次", lambda k: k["question_turns"]),
    ("直接回答率", lambda k: k["answer_rate"]),
    ("澄清率", lambda k: k["clarify_rate"]),
    ("兜底率", lambda k: k["fallback_rate"]),
    ("排队等待p50(秒)", lambda k: k["queue_wait_seconds"]["p50"]),
    ("排队等待p90(秒)", lambda k: k["queue_wait_seconds"]["p90"]),
    ("人工首次响应平均(秒)", lambda k: k["first_response_seconds"]["avg"]),
    ("处理时长平均(秒)", lambda k: k["handling_seconds"]["avg"]),
    ("有帮助", lambda k: k["answer_feedback"]["positive"]),
    ("没帮助", lambda k: k["answer_feedback"]["negative"]),
    ("答案有帮助率", lambda k: k["answer_feedback"]["rate"]),
    ("旧按钮点击", lambda k: k["stale_button_clicks"]),
    ("满意", lambda k: k["service_rating"]["good"]),
    ("不满意", lambda k: k["service_rating"]["bad"]),
    ("人工服务满意度", lambda k: k["service_rating"]["rate"]),
    ("机器人响应p50(ms)", lambda k: k["bot_reply_ms"]["p50"]),
    ("机器人响应p95(ms)", lambda k: k["bot_reply_ms"]["p95"]),
]
TABLES = ("by_day", "by_channel", "by_agent", "by_category", "top_questions", "top_unanswered", "sensitive")


def kpi_table(report: dict, name: str) -> list[list[Any]]:
    """One table of the report as rows (the first is the header): exactly the report's numbers."""
    if name in ("by_day", "by_channel"):
        key, label = ("day", "日期") if name == "by_day" else ("channel", "渠道")
        rows = [[row[key], *(get(row) for _, get in _ROW_COLUMNS)] for row in report[name]]
        total = ["合计", *(get(report["totals"]) for _, get in _ROW_COLUMNS)]
        return [[label, *(title for title, _ in _ROW_COLUMNS)], *rows, total]
    if name == "by_agent":
        header = ["客服", "接入会话", "排队等待p50(秒)", "首次响应平均(秒)", "处理时长平均(秒)"]
        header += ["满意", "不满意", "满意度"]
        return [header] + [
            [
                a["agent"],
                a["handled"],
                a["queue_wait_seconds"]["p50"],
                a["first_response_seconds"]["avg"],
                a["handling_seconds"]["avg"],
                a["service_rating"]["good"],
                a["service_rating"]["bad"],
                a["service_rating"]["rate"],
            ]
            for a in report["by_agent"]
        ]
    if name == "by_category":
        return [["分类", "回答次数", "没帮助", "没帮助率"]] + [
            [c["category"], c["answers"], c["not_helpful"], c["not_helpful_rate"]] for c in report["by_category"]
        ]
    if name == "top_questions":
        return [["FAQ", "分类", "用户问法示例", "回答次数"]] + [
            [q["faq_id"], q["category"], q["example"], q["answers"]] for q in report["top_questions"]
        ]
    if name == "top_unanswered":
        return [["问题", "次数"]] + [[q["question"], q["count"]] for q in report["top_unanswered"]]
    if name == "sensitive":
        return [["来源", "分类", "处理", "次数"]] + [
            [
                SENSITIVE_SOURCES.get(r["source"], r["source"]),
                r["category"],
                SENSITIVE_ACTIONS.get(r["action"], r["action"]),
                r["count"],
            ]
            for r in report["sensitive"]
        ]
    raise ValueError(f"unknown table {name!r}; expected one of {TABLES}")


def to_csv(report: dict, name: str) -> str:
    """One table as CSV (UTF-8 with a byte-order mark, so Excel reads the Chinese)."""
    return csv_text(kpi_table(report, name))


SHEET_TITLES = {
    "by_day": "按日",
    "by_channel": "按渠道",
    "by_agent": "按客服",
    "by_category": "按分类",
    "top_questions": "热门问题",
    "top_unanswered": "未解决问题",
    "sensitive": "敏感词",
}


def to_xlsx(report: dict) -> bytes:
    """Every table, one sheet each, in one workbook."""
    return xlsx_bytes({SHEET_TITLES[name]: kpi_table(report, name) for name in TABLES})

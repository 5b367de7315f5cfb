"""Opening hours, and whether a person can take a chat now.

Hours are written the way a support team says them, in local time:
``"always"`` (also ``24/7``, ``7x24``), or rules separated by ``;``, each
*days* then *time ranges*: ``"mon-fri 09:00-12:00,13:30-18:00; sat,sun 10:00-16:00"``.
Days are ``mon``…``sun``, single, listed with ``,`` or as a range ``mon-fri``
(``fri-mon`` wraps). A range starts inclusive and ends exclusive; ``24:00``
may end one. A range that crosses midnight is refused: write it as two rules
("fri 22:00-24:00; sat 00:00-02:00"), which is what it means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
ALWAYS = {"always", "24/7", "7x24", "7×24"}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")


class HoursError(ValueError):
    """The opening hours cannot be read; the message names the part."""


def _minutes(text: str, where: str) -> int:
    match = _TIME.match(text)
    if not match:
        raise HoursError(f"handoff.hours: {where!r}: expected HH:MM-HH:MM, e.g. 09:00-18:00")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise HoursError(f"handoff.hours: {where!r}: {text} is not a time of day")
    return hours * 60 + minutes


def _days(text: str, rule: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        ends = part.strip().split("-")
        if len(ends) > 2 or any(end not in DAYS for end in ends):
            raise HoursError(f"handoff.hours: {rule!r}: unknown day {part.strip()!r}; use {', '.join(DAYS)}")
        first, last = DAYS.index(ends[0]), DAYS.index(ends[-1])
        span = (last - first) % 7
        days += [(first + i) % 7 for i in range(span + 1)]
    return days


@dataclass(frozen=True)
class OpeningHours:
    always: bool
    timezone: str
    # Per weekday (0 = Monday): sorted (start, end) minutes after midnight.
    week: tuple[tuple[tuple[int, int], ...], ...] = ((),) * 7

    @classmethod
    def parse(cls, spec: str, timezone: str) -> "OpeningHours":
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise HoursError(f"handoff.timezone: unknown time zone {timezone!r}, e.g. Asia/Shanghai") from None
        text = " ".join(spec.strip().lower().split())
        if text in ALWAYS:
            return cls(True, timezone)
        if not text:
            raise HoursError("handoff.hours: empty; use \"always\" or e.g. \"mon-fri 09:00-18:00\"")
        week: list[list[tuple[int, int]]] = [[] for _ in DAYS]
        for rule in filter(None, (r.strip() for r in text.split(";"))):
            parts = rule.split(" ")
            if len(parts) != 2:
                raise HoursError(f"handoff.hours: {rule!r}: expected days then times, e.g. \"mon-fri 09:00-18:00\"")
            day_text, times_text = parts
            for span in times_text.split(","):
                bounds = span.split("-")
                if len(bounds) != 2:
                    raise HoursError(f"handoff.hours: {span!r}: expected HH:MM-HH:MM, e.g. 09:00-18:00")
                start, end = _minutes(bounds[0], span), _minutes(bounds[1], span)
                if start == 24 * 60 or end <= start:
                    raise HoursError(f"handoff.hours: {span!r}: the end must be later the same day "
                                     "(split a range past midnight into two rules)")
                for day in _days(day_text, rule):
                    week[day].append((start, end))
        return cls(False, timezone, tuple(tuple(sorted(ranges)) for ranges in week))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_open(self, at: datetime) -> bool:
        if self.always:
            return True
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.week[local.weekday()])

    def next_open(self, at: datetime) -> datetime | None:
        """When a person is next on duty; None if now (or always)."""
        if self.always or self.is_open(at):
            return None
        local = at.astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        for ahead in range(8):
            day = local.date() + timedelta(days=ahead)
            for start, _ in self.week[day.weekday()]:
                if ahead or start > minute:
                    return datetime.combine(day, time(start // 60, start % 60), tzinfo=self.zone)
        return None  # no hours at all: never open

    def describe(self) -> str:
        if self.always:
            return "7×24 小时"
        groups: list[tuple[list[int], tuple[tuple[int, int], ...]]] = []
        for day, ranges in enumerate(self.week):
            if not ranges:
                continue
            if groups and groups[-1][1] == ranges and groups[-1][0][-1] == day - 1:
                groups[-1][0].append(day)
            else:
                groups.append(([day], ranges))
        parts = []
        for days, ranges in groups:
            names = DAY_NAMES[days[0]] if len(days) == 1 else (
                f"{DAY_NAMES[days[0]]}、{DAY_NAMES[days[1]]}" if len(days) == 2
                else f"{DAY_NAMES[days[0]]}至{DAY_NAMES[days[-1]]}")
            spans = "、".join(f"{_clock(s)}–{_clock(e)}" for s, e in ranges)
            parts.append(f"{names} {spans}")
        return "，".join(parts) or "暂无人工服务时间"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class Availability:
    live: bool  # a person can take the chat now
    why_offline: str | None  # "closed" | "no_agent" | "busy"
    waiting_ahead: int  # conversations already waiting
    next_open: datetime | None  # for "closed"


def check(hours: OpeningHours, agents_online: int, waiting: int, max_waiting_per_agent: int,
          now: datetime) -> Availability:
    if not hours.is_open(now):
        return Availability(False, "closed", waiting, hours.next_open(now))
    if agents_online == 0:
        return Availability(False, "no_agent", waiting, None)
    if waiting >= agents_online * max_waiting_per_agent:
        return Availability(False, "busy", waiting, None)
    return Availability(True, None, waiting, None)


def _when(moment: datetime, now: datetime) -> str:
    """"今天 09:00", "明天 09:00" or "11月27日（周五）09:00", in the moment's own zone."""
    today: date = now.astimezone(moment.tzinfo).date()
    clock = moment.strftime("%H:%M")
    if moment.date() == today:
        return f"今天 {clock}"
    if moment.date() == today + timedelta(days=1):
        return f"明天 {clock}"
    return f"{moment.month}月{moment.day}日（{DAY_NAMES[moment.weekday()]}）{clock}"


def expectation(availability: Availability, hours: OpeningHours, now: datetime) -> str:
    """One honest sentence on when a person will reply."""
    ahead = availability.waiting_ahead
    if availability.live:
        return f"人工客服正在接入，您前面还有 {ahead} 位，请稍候。" if ahead else "马上为您接入人工客服，请稍候。"
    if availability.why_offline == "busy":
        return f"当前咨询人数较多，您前面还有 {ahead} 位，客服将按顺序尽快回复。"
    if availability.why_offline == "no_agent":
        return f"目前没有客服在线（服务时间：{hours.describe()}），客服上线后会尽快回复您。"
    if availability.next_open is None:
        return "目前暂无人工服务时间，客服会尽快处理您的留言。"
    return (f"现在是非服务时间（服务时间：{hours.describe()}），"
            f"客服将于{_when(availability.next_open, now)} 上班后回复您。")

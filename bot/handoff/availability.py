"""Opening hours, and whether a person can take a chat now.

Hours are written the way a support team says them, in local time
(``handoff.timezone``):

- ``"always"`` (also ``"24/7"``, ``"7x24"``, ``"7×24"``): people answer at any time;
- otherwise rules separated by ``;``, each *days* then *time ranges*, e.g.
  ``"mon-fri 09:00-12:00,13:30-18:00; sat,sun 10:00-16:00"``.

Days are ``mon`` … ``sun``: one day, a list (``sat,sun`` or ``sat sun``) or a
range (``mon-fri``; ``fri-mon`` wraps over the weekend). Times are ``HH:MM``,
several ranges per rule separated by ``,``. Days are letters and times start
with a digit, so the first digit is where the times begin: the grammar needs
no other separator and any spacing works. Case does not matter, and the
full-width forms a Chinese keyboard types (``；，：～``) are read as their ASCII
twins.

A range starts inclusive and ends exclusive (``09:00-18:00`` is open at 09:00
and closed at 18:00); ``24:00`` may end a range. A range that crosses
midnight (``22:00-02:00``) is refused rather than guessed at: write a night
shift as the two rules it is, ``"fri 22:00-24:00; sat 00:00-02:00"``.
Overlapping or touching ranges on one day are merged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
ALWAYS = {"always", "24/7", "7x24", "7×24"}
DAY_MINUTES = 24 * 60
EXAMPLE = '"mon-fri 09:00-18:00"'

# Full-width punctuation as typed on a Chinese keyboard, and the usual range dashes.
_ASCII = str.maketrans(
    {"；": ";", "，": ",", "、": ",", "：": ":", "－": "-", "–": "-", "—": "-", "~": "-", "～": "-", "　": " "}
)
_RULE = re.compile(r"^(?P<days>[^\d]*?)\s*(?P<times>\d.*)$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")

Ranges = tuple[tuple[int, int], ...]  # sorted (start, end) minutes after midnight


class HoursError(ValueError):
    """The opening hours cannot be read; the message names the part, so the setting can be fixed."""


def _error(rule: str, problem: str) -> HoursError:
    return HoursError(f"handoff.hours: {rule!r}: {problem}")


def _minutes(text: str, span: str, rule: str) -> int:
    """Minutes after midnight of one ``HH:MM``; 24:00 is 1440 so it can end a day."""
    match = _TIME.match(text)
    if not match:
        raise _error(rule, f"{span!r} is not HH:MM-HH:MM, e.g. 09:00-18:00")
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise _error(rule, f"{text} is not a time of day")
    return hours * 60 + minutes


def _span(span: str, rule: str) -> tuple[int, int]:
    """One ``HH:MM-HH:MM`` within a single day."""
    bounds = span.split("-")
    if len(bounds) != 2:
        raise _error(rule, f"{span!r} is not HH:MM-HH:MM, e.g. 09:00-18:00")
    start, end = (_minutes(bound, span, rule) for bound in bounds)
    if start == DAY_MINUTES:
        raise _error(rule, f"{span!r}: 24:00 can only end a range")
    if start == end:
        raise _error(rule, f"{span!r} starts and ends at the same time")
    if end < start:
        raise _error(rule, f'{span!r} crosses midnight; write it as two rules, e.g. "fri 22:00-24:00; sat 00:00-02:00"')
    return start, end


def _days(text: str, rule: str) -> list[int]:
    """Weekday numbers (0 = Monday) of ``mon``, ``sat,sun``, ``sat sun``, ``mon-fri`` or ``fri-mon``."""
    text = re.sub(r"\s*-\s*", "-", re.sub(r"\s*,\s*", ",", text.strip()))
    days: list[int] = []
    for part in re.split(r"[,\s]+", text):
        ends = part.split("-")
        if len(ends) > 2 or any(end not in DAYS for end in ends):
            raise _error(rule, f"unknown day {part!r}; use {', '.join(DAYS)} or a range like mon-fri")
        first, last = DAYS.index(ends[0]), DAYS.index(ends[-1])
        days += [(first + i) % 7 for i in range((last - first) % 7 + 1)]
    return days


def _rule(rule: str) -> tuple[list[int], list[tuple[int, int]]]:
    """Days and time ranges of one rule: letters first, then from the first digit on, the times."""
    match = _RULE.match(rule.lower())
    if not match or not match.group("days"):
        raise _error(rule, f"expected days then times, e.g. {EXAMPLE}")
    times = re.sub(r"\s+", "", match.group("times"))
    if re.search(r"[a-z]", times):
        raise _error(rule, 'separate rules with ";", e.g. "mon-fri 09:00-18:00; sat 10:00-16:00"')
    spans = [_span(span, rule) for span in times.split(",")]
    return _days(match.group("days"), rule), spans


def _merged(ranges: list[tuple[int, int]]) -> Ranges:
    """Overlapping or touching ranges as one, so they read and compare as the team meant them."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def _zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise HoursError(f"handoff.timezone: unknown time zone {timezone!r}, e.g. Asia/Shanghai") from None


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_list(days: list[int]) -> str:
    """ "每天", "周一至周五", "周六、周日" or "周一、周三至周五": runs of three or more read as a range."""
    if len(days) == 7:
        return "每天"
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    names = [
        f"{DAY_NAMES[run[0]]}至{DAY_NAMES[run[-1]]}" if len(run) > 2 else "、".join(DAY_NAMES[day] for day in run)
        for run in runs
    ]
    return "、".join(names)


@dataclass(frozen=True)
class OpeningHours:
    """When people answer chats; parse once at start-up so a bad setting stops the bot there."""

    always: bool
    timezone: str
    week: tuple[Ranges, ...] = ((),) * 7  # per weekday, 0 = Monday

    @classmethod
    def parse(cls, spec: str, timezone: str) -> OpeningHours:
        _zone(timezone)
        text = spec.translate(_ASCII).strip()
        if " ".join(text.lower().split()) in ALWAYS:
            return cls(True, timezone)
        rules = [rule.strip() for rule in text.split(";") if rule.strip()]
        if not rules:
            raise HoursError(f'handoff.hours: empty; use "always" or e.g. {EXAMPLE}')
        week: list[list[tuple[int, int]]] = [[] for _ in DAYS]
        for rule in rules:
            days, spans = _rule(rule)
            for day in days:
                week[day] += spans
        return cls(False, timezone, tuple(_merged(ranges) for ranges in week))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _local(self, at: datetime) -> datetime:
        """``at`` on the team's wall clock; a naive time is refused, since its zone would be a guess."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"opening hours need an aware datetime, got {at!r}")
        return at.astimezone(self.zone)

    def is_open(self, at: datetime) -> bool:
        local = self._local(at)
        if self.always:
            return True
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.week[local.weekday()])

    def next_open(self, at: datetime) -> datetime | None:
        """When a person is next on duty, in the team's zone; None if now (or always), or never."""
        if self.is_open(at):
            return None
        local = self._local(at)
        minute = local.hour * 60 + local.minute
        for ahead in range(8):  # today's later hours, … the same weekday next week
            day = local.date() + timedelta(days=ahead)
            for start, _ in self.week[day.weekday()]:
                if ahead or start > minute:
                    return datetime.combine(day, time(start // 60, start % 60), tzinfo=self.zone)
        return None

    def describe(self) -> str:
        """The hours in Chinese for users and agents, days with the same hours together."""
        if self.always:
            return "7×24 小时"
        same: dict[Ranges, list[int]] = {}
        for day, ranges in enumerate(self.week):
            if ranges:
                same.setdefault(ranges, []).append(day)
        parts = [
            f"{_day_list(days)} {'、'.join(f'{_clock(s)}–{_clock(e)}' for s, e in ranges)}"
            for ranges, days in same.items()
        ]  # dicts keep insertion order: by first day
        return "，".join(parts) or "暂无人工服务时间"


@dataclass(frozen=True)
class Availability:
    """Whether a person can take the chat now, and if not why, so the user is told the truth."""

    live: bool  # a person can take the chat now
    why_offline: str | None  # "closed" (outside hours) | "no_agent" (in hours, nobody signed in) | "busy"
    waiting_ahead: int  # conversations already waiting
    next_open: datetime | None  # for "closed"


def check(
    hours: OpeningHours, agents_online: int, waiting: int, max_waiting_per_agent: int, now: datetime
) -> Availability:
    """Closed beats no agent beats a full queue: the first reason is the one the user can act on."""
    if not hours.is_open(now):
        return Availability(False, "closed", waiting, hours.next_open(now))
    if agents_online <= 0:
        return Availability(False, "no_agent", waiting, None)
    if waiting >= agents_online * max_waiting_per_agent:
        return Availability(False, "busy", waiting, None)
    return Availability(True, None, waiting, None)


def _when(moment: datetime, now: datetime) -> str:
    """ "今天 09:00", "明天 09:00" or "11月30日（周一）09:00", counted in the moment's own zone."""
    days = (moment.date() - now.astimezone(moment.tzinfo).date()).days
    clock = moment.strftime("%H:%M")
    if days == 0:
        return f"今天 {clock}"
    if days == 1:
        return f"明天 {clock}"
    return f"{moment.month}月{moment.day}日（{DAY_NAMES[moment.weekday()]}）{clock}"


def expectation(availability: Availability, hours: OpeningHours, now: datetime) -> str:
    """One honest sentence on when a person will reply; never promises a reply sooner than true."""
    ahead = availability.waiting_ahead
    if availability.live:
        return f"人工客服正在接入，您前面还有 {ahead} 位，请稍候。" if ahead else "马上为您接入人工客服，请稍候。"
    if availability.why_offline == "busy":
        return f"当前咨询人数较多，您前面还有 {ahead} 位，客服将按顺序尽快回复。"
    if availability.why_offline == "no_agent":
        if hours.always:  # "no one online (hours: 7×24)" would contradict itself
            return "目前没有客服在线，客服上线后会尽快回复您。"
        return f"目前没有客服在线（服务时间：{hours.describe()}），客服上线后会尽快回复您。"
    if availability.next_open is None:
        return "目前暂无人工服务时间，客服看到您的留言后会尽快回复。"
    return (
        f"现在是非服务时间（服务时间：{hours.describe()}），客服将于{_when(availability.next_open, now)} 上班后回复您。"
    )

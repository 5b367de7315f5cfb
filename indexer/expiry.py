"""Answers valid until a date (``valid_until:``): parsing, "today", and which entries are expired.

An entry with ``valid_until: 2026-12-31`` answers through the end of that day and not
after. "That day" is the local day of ``[handoff] timezone`` (the project's one configured
time zone, also the day of the KPIs and exports; Asia/Shanghai unless set), so every
server agrees whatever the machine's own zone. Expiry is decided when a question is
asked (``indexer/search.py``), never at build time: nothing needs publishing at midnight.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from indexer.model import FaqEntry, Problem

DEFAULT_TIMEZONE = "Asia/Shanghai"
SOON_DAYS = 7  # the studio marks an entry 即将过期 this many days ahead
DATE_PATTERN = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def parse_valid_until(text: str) -> tuple[str, str]:
    """``(YYYY-MM-DD, "")`` for a date, or ``("", why)`` in Chinese (without the field name)."""
    value = text.strip()
    example = "写成 年-月-日，例如 2026-12-31"
    found = DATE_PATTERN.match(value)
    if not found and DATE_PATTERN.match(value[:10]) and len(value) > 10:
        return "", f"只写日期，不写时间：条目到这一天结束前都有效；{example}，现在写的是“{value}”"
    if not found:
        return "", f"应该是一个日期，{example}；现在写的是“{value}”"
    year, month, day = (int(g) for g in found.groups())
    if not 1 <= month <= 12:
        return "", f"“{value}”不是有效的日期：月份只能是 1 到 12；{example}"
    try:
        return date(year, month, day).isoformat(), ""
    except ValueError:
        return "", f"“{value}”不是有效的日期：{year} 年 {month} 月没有 {day} 日；{example}"


def local_today(timezone: str = DEFAULT_TIMEZONE, clock: Clock = utc_now) -> date:
    """The day it is now in ``timezone`` (``clock`` for tests: no sleeping until midnight)."""
    now = clock()
    if now.tzinfo is None:  # a naive clock is read as UTC
        now = now.replace(tzinfo=UTC)
    return now.astimezone(ZoneInfo(timezone or DEFAULT_TIMEZONE)).date()


def is_expired(entry: FaqEntry, today: date) -> bool:
    """Whether ``entry`` no longer answers on ``today`` (its last day was before it)."""
    return bool(entry.valid_until) and date.fromisoformat(entry.valid_until) < today


def expiry_status(entry: FaqEntry, today: date, soon_days: int = SOON_DAYS) -> str:
    """``"expired"``, ``"soon"`` (its last day is within ``soon_days``) or ``""``."""
    if not entry.valid_until:
        return ""
    if is_expired(entry, today):
        return "expired"
    return "soon" if date.fromisoformat(entry.valid_until) <= today + timedelta(days=soon_days) else ""


def expiry_problems(entries: Iterable[FaqEntry], today: date) -> list[Problem]:
    """A warning for every enabled entry already expired on ``today`` (``kb validate``, ``index build``)."""
    problems = []
    for entry in entries:
        if entry.enabled and is_expired(entry, today):
            file, _, line = entry.source.rpartition(":")
            problems.append(
                Problem(
                    file or entry.source,
                    int(line) if line.isdigit() else 0,
                    "valid_until",
                    f"条目 {entry.id} 已过期（有效期至 {entry.valid_until}）：机器人不会再用它回答；"
                    "请更新内容和有效期，或删除这个条目",
                    "warning",
                )
            )
    return problems

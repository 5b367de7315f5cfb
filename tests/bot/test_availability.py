"""Opening hours and availability: parsing, boundaries, zones, next opening, and the user's sentence."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.availability import HoursError, OpeningHours, check, expectation

SH = ZoneInfo("Asia/Shanghai")
WEEK = "mon-fri 09:00-12:00,13:30-18:00; sat,sun 10:00-16:00"


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """2026-11-23 is a Monday: day 23 = Monday … 29 = Sunday."""
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


@pytest.mark.parametrize("spec", ["always", " ALWAYS ", "24/7", "7x24"])
def test_always_is_always_open(spec):
    hours = OpeningHours.parse(spec, "Asia/Shanghai")
    assert hours.always and hours.is_open(local(29, 3)) and hours.next_open(local(29, 3)) is None
    assert hours.describe() == "7×24 小时"


@pytest.mark.parametrize("spec, fragment", [
    ("", "empty"), ("mon-fri 9-18", "'9-18': expected HH:MM-HH:MM"), ("funday 09:00-10:00", "unknown day 'funday'"),
    ("mon 18:00-09:00", "split a range past midnight"), ("mon 10:00-10:00", "must be later"),
    ("mon 09:60-10:00", "09:60 is not a time of day"), ("mon-fri", "expected days then times"),
    ("mon 09:00-10:00-11:00", "expected HH:MM-HH:MM")])
def test_bad_hours_name_the_bad_part(spec, fragment):
    with pytest.raises(HoursError, match=fragment.replace("(", r"\(")):
        OpeningHours.parse(spec, "Asia/Shanghai")


def test_an_unknown_zone_is_refused():
    with pytest.raises(HoursError, match="unknown time zone 'Mars/Base'"):
        OpeningHours.parse("always", "Mars/Base")


def test_boundaries_start_inclusive_end_exclusive_and_zones_converted():
    hours = OpeningHours.parse(WEEK, "Asia/Shanghai")
    assert hours.is_open(local(23, 9)) and not hours.is_open(local(23, 8, 59))
    assert not hours.is_open(local(23, 12)) and hours.is_open(local(23, 13, 30))
    assert not hours.is_open(local(28, 9, 30)) and hours.is_open(local(28, 10))
    assert hours.is_open(datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc))  # 09:00 in Shanghai
    assert OpeningHours.parse("sat 00:00-24:00", "Asia/Shanghai").is_open(local(28, 23, 59))
    assert OpeningHours.parse("fri-mon 10:00-11:00", "Asia/Shanghai").is_open(local(29, 10, 30))  # wraps


def test_next_opening_across_lunch_nights_and_weekends():
    hours = OpeningHours.parse(WEEK, "Asia/Shanghai")
    assert hours.next_open(local(23, 12, 30)) == local(23, 13, 30)
    assert hours.next_open(local(23, 19)) == local(24, 9)
    assert hours.next_open(local(27, 18)) == local(28, 10)
    assert hours.next_open(local(29, 17)) == datetime(2026, 11, 30, 9, 0, tzinfo=SH)
    assert hours.next_open(local(23, 10)) is None


def test_describe_groups_days_with_the_same_hours():
    hours = OpeningHours.parse(WEEK, "Asia/Shanghai")
    assert hours.describe() == "周一至周五 09:00–12:00、13:30–18:00，周六、周日 10:00–16:00"


def test_check_decides_closed_no_agent_busy_or_live():
    hours = OpeningHours.parse(WEEK, "Asia/Shanghai")
    assert check(hours, 3, 0, 5, local(23, 20)).why_offline == "closed"
    assert check(hours, 0, 0, 5, local(23, 10)).why_offline == "no_agent"
    assert check(hours, 2, 10, 5, local(23, 10)).why_offline == "busy"
    live = check(hours, 2, 9, 5, local(23, 10))
    assert live.live and live.why_offline is None and live.waiting_ahead == 9


def test_the_user_hears_when_a_person_will_reply():
    hours = OpeningHours.parse(WEEK, "Asia/Shanghai")

    def said(now, online=1, waiting=0):
        return expectation(check(hours, online, waiting, 5, now), hours, now)

    assert said(local(23, 10)) == "马上为您接入人工客服，请稍候。"
    assert said(local(23, 10), waiting=2) == "人工客服正在接入，您前面还有 2 位，请稍候。"
    assert said(local(23, 10), waiting=5) == "当前咨询人数较多，您前面还有 5 位，客服将按顺序尽快回复。"
    assert said(local(23, 10), online=0).startswith("目前没有客服在线（服务时间：周一至周五")
    assert "客服将于今天 13:30 上班后回复您" in said(local(23, 12, 30))
    assert "客服将于明天 09:00 上班后回复您" in said(local(23, 19))
    assert "客服将于明天 10:00 上班后回复您" in said(local(28, 17))
    weekdays = OpeningHours.parse("mon-fri 09:00-18:00", "Asia/Shanghai")
    friday_night = local(27, 19)
    assert "客服将于11月30日（周一）09:00 上班后回复您" in expectation(
        check(weekdays, 1, 0, 5, friday_night), weekdays, friday_night)

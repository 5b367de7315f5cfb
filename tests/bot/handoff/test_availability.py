"""Opening hours and availability: parsing, boundaries, zones, next opening, and the user's sentence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.handoff.availability import Availability, HoursError, OpeningHours, check, expectation

SH = ZoneInfo("Asia/Shanghai")
WEEK = "mon-fri 09:00-12:00,13:30-18:00; sat,sun 10:00-16:00"


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """2026-11-23 is a Monday: day 23 = Monday … 29 = Sunday, 30 = the next Monday."""
    return datetime(2026, 11, day, hour, minute, second, tzinfo=SH)


def hours(spec: str = WEEK, zone: str = "Asia/Shanghai") -> OpeningHours:
    return OpeningHours.parse(spec, zone)


# -- parsing -------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["always", " ALWAYS ", "Always", "24/7", "7x24", "7X24", "7×24"])
def test_always_is_always_open(spec):
    always = hours(spec)
    assert always.always and always.is_open(local(29, 3)) and always.next_open(local(29, 3)) is None
    assert always.describe() == "7×24 小时"


@pytest.mark.parametrize(
    "spec",
    [
        WEEK,
        "MON-FRI 09:00-12:00, 13:30-18:00;SAT, SUN 10:00-16:00;",
        "  mon - fri   09:00 - 12:00 ,13:30-18:00 ;  sat sun 10:00-16:00  ",
        "mon-fri 09:00-12:00,13:30-18:00; sat 10:00-16:00; sun 10:00-16:00",
        "mon-fri 09:00-12:00，13:30-18:00；sat、sun 10：00～16：00",  # full-width punctuation
        "sat-sun 10:00-13:00,12:00-16:00; mon-fri 09:00-12:00,13:30-18:00; wed 09:30-11:00",  # overlaps merged
    ],
)
def test_the_same_week_written_many_ways(spec):
    assert hours(spec) == hours(WEEK)
    assert not hours(spec).always


def test_a_week_parses_into_sorted_merged_minutes_per_day():
    week = hours("mon 13:00-14:00,09:00-10:00; mon 09:30-11:00; tue 09:00-10:00,10:00-11:00").week
    assert week[0] == ((9 * 60, 11 * 60), (13 * 60, 14 * 60))
    assert week[1] == ((9 * 60, 11 * 60),)  # touching ranges are one
    assert week[2:] == ((),) * 5


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", 'handoff.hours: empty; use "always" or e.g. "mon-fri 09:00-18:00"'),
        ("   ", "handoff.hours: empty"),
        (" ; ;", "handoff.hours: empty"),
        ("mon-fri 9-18", "handoff.hours: 'mon-fri 9-18': '9-18' is not HH:MM-HH:MM, e.g. 09:00-18:00"),
        ("mon 09:00", "handoff.hours: 'mon 09:00': '09:00' is not HH:MM-HH:MM"),
        ("mon 09:00-10:00-11:00", "'mon 09:00-10:00-11:00': '09:00-10:00-11:00' is not HH:MM-HH:MM"),
        ("mon 09:00-12:00,", "handoff.hours: 'mon 09:00-12:00,': '' is not HH:MM-HH:MM"),
        ("mon 0900-1000", "'0900-1000' is not HH:MM-HH:MM"),
        ("mon 09:60-10:00", "handoff.hours: 'mon 09:60-10:00': 09:60 is not a time of day"),
        ("mon 25:00-26:00", "25:00 is not a time of day"),
        ("mon 09:00-24:30", "24:30 is not a time of day"),
        ("mon 24:00-24:00", "'24:00-24:00': 24:00 can only end a range"),
        ("mon 10:00-10:00", "handoff.hours: 'mon 10:00-10:00': '10:00-10:00' starts and ends at the same time"),
        (
            "mon 22:00-02:00",
            "handoff.hours: 'mon 22:00-02:00': '22:00-02:00' crosses midnight; write it as two "
            'rules, e.g. "fri 22:00-24:00; sat 00:00-02:00"',
        ),
        (
            "Funday 09:00-10:00",
            "handoff.hours: 'Funday 09:00-10:00': unknown day 'funday'; "
            "use mon, tue, wed, thu, fri, sat, sun or a range like mon-fri",
        ),
        ("monday 09:00-10:00", "unknown day 'monday'"),
        ("mon-fri-sat 09:00-10:00", "unknown day 'mon-fri-sat'"),
        ("-fri 09:00-10:00", "unknown day '-fri'"),
        ("Mon-Fri", "handoff.hours: 'Mon-Fri': expected days then times, e.g. \"mon-fri 09:00-18:00\""),
        ("09:00-18:00", "handoff.hours: '09:00-18:00': expected days then times"),
        ("mon-fri 09:00-18:00; sat", "handoff.hours: 'sat': expected days then times"),
        ("never", "handoff.hours: 'never': expected days then times"),
        (
            "mon-fri 09:00-18:00, sat 10:00-16:00",
            "handoff.hours: 'mon-fri 09:00-18:00, sat 10:00-16:00': "
            'separate rules with ";", e.g. "mon-fri 09:00-18:00; sat 10:00-16:00"',
        ),
    ],
)
def test_bad_hours_name_the_bad_part(spec, message):
    with pytest.raises(HoursError) as caught:
        hours(spec)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("zone", ["Mars/Base", "", "../etc/passwd"])
def test_an_unknown_zone_is_refused(zone):
    with pytest.raises(HoursError, match=f"handoff.timezone: unknown time zone {zone!r}"):
        hours("always", zone)


# -- is_open -------------------------------------------------------------------


def test_a_range_starts_inclusive_and_ends_exclusive():
    week = hours()
    assert not week.is_open(local(23, 8, 59, 59)) and week.is_open(local(23, 9))
    assert week.is_open(local(23, 11, 59, 59)) and not week.is_open(local(23, 12))
    assert not week.is_open(local(23, 13, 29)) and week.is_open(local(23, 13, 30))
    assert week.is_open(local(27, 17, 59)) and not week.is_open(local(27, 18))
    assert not week.is_open(local(28, 9, 30)) and week.is_open(local(28, 10))  # Saturday's own hours
    assert week.is_open(local(29, 15, 59)) and not week.is_open(local(29, 16))


def test_24_00_ends_the_day_and_a_day_range_wraps_over_the_weekend():
    whole_saturday = hours("sat 00:00-24:00")
    assert whole_saturday.is_open(local(28, 0)) and whole_saturday.is_open(local(28, 23, 59, 59))
    assert not whole_saturday.is_open(local(29, 0)) and not whole_saturday.is_open(local(27, 23, 59))
    fri_to_mon = hours("fri-mon 10:00-11:00")
    assert [fri_to_mon.is_open(local(day, 10, 30)) for day in range(23, 30)] == [
        True,
        False,
        False,
        False,
        True,
        True,
        True,
    ]


def test_a_night_shift_is_written_as_two_rules():
    night = hours("fri 22:00-24:00; sat 00:00-02:00")
    assert not night.is_open(local(27, 21, 59))
    assert night.is_open(local(27, 22)) and night.is_open(local(27, 23, 59)) and night.is_open(local(28, 0))
    assert night.is_open(local(28, 1, 59)) and not night.is_open(local(28, 2))
    assert night.next_open(local(28, 3)) == datetime(2026, 12, 4, 22, 0, tzinfo=SH)


def test_times_in_other_zones_are_read_on_the_teams_clock():
    week = hours()
    assert week.is_open(datetime(2026, 11, 23, 1, 0, tzinfo=UTC))  # Mon 09:00 in Shanghai
    assert not week.is_open(datetime(2026, 11, 23, 0, 59, tzinfo=UTC))  # Mon 08:59
    new_york = ZoneInfo("America/New_York")  # UTC-5 in November
    assert week.is_open(datetime(2026, 11, 22, 20, 0, tzinfo=new_york))  # Sun 20:00 there, Mon 09:00 here
    assert not week.is_open(datetime(2026, 11, 22, 19, 59, tzinfo=new_york))


def test_the_configured_zone_decides_not_the_callers():
    london = hours("mon-fri 09:00-17:00", "Europe/London")
    assert london.is_open(local(23, 17))  # 09:00 in London (UTC+0 in November)
    assert not london.is_open(local(23, 16, 59))
    assert london.next_open(local(23, 10)) == datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/London"))
    assert london.next_open(local(23, 10)).tzinfo == ZoneInfo("Europe/London")


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="aware datetime"):
        hours().is_open(datetime(2026, 11, 23, 10, 0))
    with pytest.raises(ValueError, match="aware datetime"):
        hours("always").next_open(datetime(2026, 11, 23, 10, 0))


# -- next_open -----------------------------------------------------------------


@pytest.mark.parametrize(
    "now, opening",
    [
        (local(23, 0, 0), local(23, 9)),  # Monday before work
        (local(23, 8, 59, 59), local(23, 9)),  # a second before
        (local(23, 12), local(23, 13, 30)),  # lunch, from the minute it starts
        (local(23, 13, 29, 59), local(23, 13, 30)),
        (local(23, 18), local(24, 9)),  # evening: tomorrow
        (local(23, 23, 59, 59), local(24, 9)),
        (local(27, 18), local(28, 10)),  # Friday evening: Saturday's later hours
        (local(28, 9), local(28, 10)),
        (local(29, 16), datetime(2026, 11, 30, 9, 0, tzinfo=SH)),  # Sunday evening: over the end of the week
    ],
)
def test_next_opening_across_lunch_nights_and_weekends(now, opening):
    found = hours().next_open(now)
    assert found == opening and found.tzinfo == SH


def test_next_opening_is_none_while_open_and_may_be_a_week_away():
    assert hours().next_open(local(23, 9)) is None and hours().next_open(local(29, 15, 59)) is None
    mondays = hours("mon 09:00-10:00")
    assert mondays.next_open(local(23, 10)) == local(30, 9)  # the same weekday, next week
    assert mondays.next_open(local(22, 23, 59)) == local(23, 9)


def test_next_opening_from_another_zone_is_in_the_configured_one():
    found = hours().next_open(datetime(2026, 11, 27, 10, 0, tzinfo=UTC))  # Fri 18:00 in Shanghai
    assert found == local(28, 10) and str(found.tzinfo) == "Asia/Shanghai"


def test_next_opening_walks_over_a_month_and_year_end():
    weekdays = hours("mon-fri 09:00-18:00")
    new_years_eve = datetime(2026, 12, 31, 18, 0, tzinfo=SH)
    assert weekdays.next_open(new_years_eve) == datetime(2027, 1, 1, 9, 0, tzinfo=SH)
    assert weekdays.next_open(datetime(2027, 1, 1, 18, 0, tzinfo=SH)) == datetime(2027, 1, 4, 9, 0, tzinfo=SH)


# -- describe ------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec, text",
    [
        (WEEK, "周一至周五 09:00–12:00、13:30–18:00，周六、周日 10:00–16:00"),
        ("mon-fri 09:00-18:00; sat 10:00-16:00", "周一至周五 09:00–18:00，周六 10:00–16:00"),
        ("mon-sun 09:00-21:00", "每天 09:00–21:00"),
        ("sat,sun 00:00-24:00", "周六、周日 00:00–24:00"),
        ("mon,wed,fri 09:00-18:00", "周一、周三、周五 09:00–18:00"),
        ("mon-fri 09:00-18:00; sun 09:00-18:00; sat 10:00-12:00", "周一至周五、周日 09:00–18:00，周六 10:00–12:00"),
        ("fri-mon 10:00-11:00", "周一、周五至周日 10:00–11:00"),
        ("tue 14:00-15:00; mon 09:00-10:00", "周一 09:00–10:00，周二 14:00–15:00"),
        ("mon 09:00-11:00,10:00-12:00", "周一 09:00–12:00"),
    ],
)
def test_describe_groups_days_with_the_same_hours(spec, text):
    assert hours(spec).describe() == text


# -- check ---------------------------------------------------------------------


def test_outside_hours_it_is_closed_even_with_agents_and_room():
    closed = check(hours(), agents_online=3, waiting=0, max_waiting_per_agent=5, now=local(23, 20))
    assert closed == Availability(False, "closed", 0, local(24, 9))


def test_in_hours_with_nobody_signed_in_there_is_no_agent():
    assert check(hours(), 0, 2, 5, local(23, 10)) == Availability(False, "no_agent", 2, None)


def test_a_full_queue_is_busy_from_agents_times_the_limit():
    assert check(hours(), 2, 10, 5, local(23, 10)) == Availability(False, "busy", 10, None)
    assert check(hours(), 2, 11, 5, local(23, 10)).why_offline == "busy"
    assert check(hours(), 1, 0, 0, local(23, 10)).why_offline == "busy"  # a limit of 0 never queues


def test_with_room_in_the_queue_a_person_takes_the_chat():
    assert check(hours(), 2, 9, 5, local(23, 10)) == Availability(True, None, 9, None)
    assert check(hours(), 1, 0, 5, local(23, 10)) == Availability(True, None, 0, None)
    assert check(hours("always"), 1, 0, 5, local(29, 3)).live


def test_check_reads_an_aware_utc_now():
    assert check(hours(), 1, 0, 5, datetime(2026, 11, 23, 2, 0, tzinfo=UTC)).live  # 10:00 Shanghai
    closed = check(hours(), 1, 0, 5, datetime(2026, 11, 23, 12, 0, tzinfo=UTC))  # 20:00 Shanghai
    assert closed.why_offline == "closed" and closed.next_open == local(24, 9)


# -- expectation ---------------------------------------------------------------


def said(now: datetime, online: int = 1, waiting: int = 0, spec: str = WEEK) -> str:
    opening = hours(spec)
    return expectation(check(opening, online, waiting, 5, now), opening, now)


def test_live_tells_how_many_are_ahead():
    assert said(local(23, 10)) == "马上为您接入人工客服，请稍候。"
    assert said(local(23, 10), waiting=2) == "人工客服正在接入，您前面还有 2 位，请稍候。"


def test_busy_and_no_agent_say_so():
    assert said(local(23, 10), waiting=5) == "当前咨询人数较多，您前面还有 5 位，客服将按顺序尽快回复。"
    assert said(local(23, 10), online=0) == (
        "目前没有客服在线（服务时间：周一至周五 09:00–12:00、13:30–18:00，周六、周日 10:00–16:00），"
        "客服上线后会尽快回复您。"
    )
    # Round the clock, the hours would contradict "nobody online": they are left out.
    assert said(local(23, 10), online=0, spec="always") == "目前没有客服在线，客服上线后会尽快回复您。"


def test_closed_names_the_next_opening_today_tomorrow_or_by_date():
    service = "现在是非服务时间（服务时间：周一至周五 09:00–12:00、13:30–18:00，周六、周日 10:00–16:00），"
    assert said(local(23, 12, 30)) == service + "客服将于今天 13:30 上班后回复您。"
    assert said(local(23, 7)) == service + "客服将于今天 09:00 上班后回复您。"
    assert said(local(23, 19)) == service + "客服将于明天 09:00 上班后回复您。"
    assert said(local(28, 17)) == service + "客服将于明天 10:00 上班后回复您。"
    assert said(local(27, 19), spec="mon-fri 09:00-18:00") == (
        "现在是非服务时间（服务时间：周一至周五 09:00–18:00），客服将于11月30日（周一）09:00 上班后回复您。"
    )
    assert "客服将于12月4日（周五）22:00 上班后回复您" in said(local(28, 3), spec="fri 22:00-24:00; sat 00:00-02:00")


def test_today_and_tomorrow_are_the_teams_days_not_utc_ones():
    # 17:00 UTC on Sunday is 01:00 Monday in Shanghai: opening at 09:00 is "today" for the team.
    now = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
    assert "客服将于今天 09:00 上班后回复您" in said(now)
    # 15:30 UTC on Sunday is 23:30 Sunday in Shanghai: Monday 09:00 is "tomorrow".
    assert "客服将于明天 09:00 上班后回复您" in said(now - timedelta(hours=1, minutes=30))


def test_closed_with_no_opening_at_all_promises_nothing_it_cannot_keep():
    never = OpeningHours(False, "Asia/Shanghai")
    availability = check(never, 1, 0, 5, local(23, 10))
    assert availability == Availability(False, "closed", 0, None) and never.describe() == "暂无人工服务时间"
    assert expectation(availability, never, local(23, 10)) == "目前暂无人工服务时间，客服看到您的留言后会尽快回复。"


@pytest.mark.parametrize(
    "now, online, waiting",
    [
        (local(23, 10), 1, 0),
        (local(23, 10), 1, 3),
        (local(23, 10), 1, 5),
        (local(23, 10), 0, 0),
        (local(23, 20), 1, 0),
        (local(27, 20), 1, 0),
    ],
)
def test_every_expectation_is_one_sentence(now, online, waiting):
    text = said(now, online, waiting)
    assert text.endswith("。") and text.count("。") == 1

"""Readers joining and leaving per day (broadsheet.services.growth): days are the calendar
days of the configured zone, across changes to summer time and in zones whose midnight is not
on the hour; days without changes are zeros; each change counts under what it became."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from broadsheet.errors import ValidationError
from broadsheet.services.growth import daily_growth, period_days
from tests.support.history import changed

PARIS = ZoneInfo("Europe/Paris")
UTC_ZONE = ZoneInfo("UTC")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0):
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def by_day(growth) -> dict[date, tuple[int, int, int, int, int, int]]:
    return {
        d.day: (d.signups, d.confirmations, d.unsubscribes, d.bounces, d.complaints, d.net)
        for d in growth.days
    }


def test_a_period_is_its_days_oldest_first_today_included_and_empty_days_are_zeros(db):
    growth = daily_growth(db, 7, UTC_ZONE, now=utc(2026, 3, 10, 12))
    assert [d.day for d in growth.days] == [date(2026, 3, n) for n in range(4, 11)]
    assert set(by_day(growth).values()) == {(0, 0, 0, 0, 0, 0)}
    assert growth.zone == "UTC"


def test_each_change_counts_under_what_the_reader_became_and_net_counts_active_readers(db):
    day = utc(2026, 3, 10, 9)
    ann = changed(db, day, None, "pending")
    changed(db, day, "pending", "active", ann)
    changed(db, day, None, "active")  # added as active (an import)
    bob = changed(db, day, "active", "unsubscribed")
    changed(db, day, "unsubscribed", "pending", bob)  # back after leaving: a signup again
    changed(db, day, "active", "bounced")
    changed(db, day, "pending", "bounced")  # never active: no loss to the audience
    changed(db, day, "bounced", "complained")
    changed(db, day, "active", "complained")
    growth = daily_growth(db, 7, UTC_ZONE, now=utc(2026, 3, 10, 12))
    assert by_day(growth)[date(2026, 3, 10)] == (2, 2, 1, 2, 2, 2 - 3)
    assert growth.days[-1].left == 5
    total = growth.total
    assert (total.signups, total.confirmations, total.left, total.net) == (2, 2, 5, -1)


def test_days_end_at_midnight_in_the_zone_across_the_change_to_summer_time(db):
    # Paris: UTC+1 until 29 March 2026 at 02:00, then UTC+2 (that day has 23 hours).
    changed(db, utc(2026, 3, 28, 22, 59, 59), None, "pending")  # 23:59:59 on the 28th
    changed(db, utc(2026, 3, 28, 23, 0), None, "pending")  # midnight: the 29th
    changed(db, utc(2026, 3, 29, 21, 59, 59), None, "pending")  # 23:59:59 on the 29th
    changed(db, utc(2026, 3, 29, 22, 0), None, "pending")  # midnight: the 30th
    growth = daily_growth(db, 3, PARIS, now=utc(2026, 3, 30, 9))
    signups = {d: figures[0] for d, figures in by_day(growth).items()}
    assert signups == {date(2026, 3, 28): 1, date(2026, 3, 29): 2, date(2026, 3, 30): 1}
    assert growth.zone == "Europe/Paris"


def test_a_zone_whose_midnight_falls_on_the_half_hour_keeps_its_days(db):
    kolkata = ZoneInfo("Asia/Kolkata")  # UTC+5:30: midnight is 18:30 UTC the day before
    changed(db, utc(2026, 5, 1, 18, 29, 59), None, "pending")  # 23:59:59 on 1 May
    changed(db, utc(2026, 5, 1, 18, 30), None, "pending")  # midnight: 2 May
    growth = daily_growth(db, 2, kolkata, now=utc(2026, 5, 2, 6))
    assert [(d.day.day, d.signups) for d in growth.days] == [(1, 1), (2, 1)]


def test_changes_before_the_period_or_after_today_are_left_out(db):
    changed(db, utc(2026, 3, 3, 23, 59, 59), None, "pending")  # the day before the period
    changed(db, utc(2026, 3, 4, 0, 0), None, "pending")  # its first instant
    changed(db, utc(2026, 3, 10, 23, 59, 59), None, "pending")  # the last instant of today
    changed(db, utc(2026, 3, 11, 0, 0), None, "pending")  # tomorrow
    growth = daily_growth(db, 7, UTC_ZONE, now=utc(2026, 3, 10, 12))
    assert growth.total.signups == 2
    assert (growth.days[0].signups, growth.days[-1].signups) == (1, 1)


@pytest.mark.parametrize(("given", "days"), [(None, 30), ("", 30), ("7", 7), ("90", 90), (30, 30)])
def test_a_period_is_7_30_or_90_days(given, days):
    assert period_days(given) == days


@pytest.mark.parametrize("given", ["14", "0", "-7", "seven", "7.0", "\u0667", "1" * 400, True])
def test_any_other_period_is_refused_on_its_parameter(given):
    with pytest.raises(ValidationError) as caught:
        period_days(given)
    assert caught.value.fields == {"period": "must be one of 7, 30, 90 (days)"}

"""Readers joining and leaving, per day: what the overview's chart and day table show.

Counted from the readers' history (`subscriber_events`): every change of status is one event,
so a day's figures are the changes made that day, whoever made them. Days are the calendar
days of a time zone (the TIMEZONE setting), from midnight to midnight there, so a day across
a change to or from summer time has 23 or 25 hours.

One query per period, whatever its length: it reads the period's events from the index on
`at` (`ix_subscriber_events_at`, which also holds both statuses), counting them in slots of
an hour (or of the half or quarter hour a zone like Asia/Kolkata needs) that each fall within
one local day; the slots are then added up by day here. Days without events are zeros.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, ColumnElement, Integer, cast, func, select
from sqlalchemy.orm import Session

from broadsheet.errors import ValidationError
from broadsheet.models import SubscriberEvent, SubscriberStatus, utcnow

PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
LEAVING = (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED)


@dataclass
class Day:
    """One day's changes: readers who asked to join (`signups`: new, or back after leaving),
    became active (`confirmations`: by their link, or added as active), and left."""

    day: date
    signups: int = 0
    confirmations: int = 0
    unsubscribes: int = 0
    bounces: int = 0
    complaints: int = 0
    # Active readers gained minus active readers lost: the change in the audience.
    net: int = 0

    @property
    def left(self) -> int:
        return self.unsubscribes + self.bounces + self.complaints


@dataclass(frozen=True)
class Growth:
    """A period's days, oldest first, and their totals."""

    zone: str
    days: list[Day]
    total: Day = field(init=False)

    def __post_init__(self) -> None:
        total = Day(self.days[0].day if self.days else date.min)
        for day in self.days:
            for name in ("signups", "confirmations", "unsubscribes", "bounces", "complaints"):
                setattr(total, name, getattr(total, name) + getattr(day, name))
            total.net += day.net
        object.__setattr__(self, "total", total)


def period_days(value: object, field_name: str = "period") -> int:
    """How many days a period covers, from a query string: one of PERIODS (default 30)."""
    if value in (None, ""):
        return DEFAULT_PERIOD
    allowed = ", ".join(str(p) for p in PERIODS)
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) in PERIODS:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value in PERIODS:
        return value
    raise ValidationError({field_name: f"must be one of {allowed} (days)"})


def daily_growth(
    session: Session, days: int, zone: ZoneInfo, now: datetime | None = None
) -> Growth:
    """The last `days` calendar days in `zone`, today included, each with its changes."""
    today = (now or utcnow()).astimezone(zone).date()
    dates = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    bounds = [_midnight(d, zone) for d in [*dates, today + timedelta(days=1)]]
    slot = _slot_seconds(bounds)
    number = _slot_number(session, slot)
    rows = session.execute(
        select(number, SubscriberEvent.from_status, SubscriberEvent.to_status, func.count())
        .where(SubscriberEvent.at >= bounds[0], SubscriberEvent.at < bounds[-1])
        .group_by(number, SubscriberEvent.from_status, SubscriberEvent.to_status)
    )
    by_date = {d: Day(d) for d in dates}
    for n, before, after, count in rows:
        start = datetime.fromtimestamp(int(n) * slot, UTC)
        _add(by_date[start.astimezone(zone).date()], before, after, count)
    return Growth(zone.key, list(by_date.values()))


def _add(day: Day, before: SubscriberStatus | None, after: SubscriberStatus, count: int) -> None:
    if after == SubscriberStatus.PENDING:
        day.signups += count
    elif after == SubscriberStatus.ACTIVE:
        day.confirmations += count
    elif after == SubscriberStatus.UNSUBSCRIBED:
        day.unsubscribes += count
    elif after == SubscriberStatus.BOUNCED:
        day.bounces += count
    elif after == SubscriberStatus.COMPLAINED:
        day.complaints += count
    if after == SubscriberStatus.ACTIVE and before != SubscriberStatus.ACTIVE:
        day.net += count
    elif before == SubscriberStatus.ACTIVE and after != SubscriberStatus.ACTIVE:
        day.net -= count


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """When `day` begins in `zone`, in UTC."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def _slot_seconds(bounds: Iterable[datetime]) -> int:
    """The longest slot (at most an hour) that every local midnight of the period starts:
    midnight falls on a whole hour of UTC in most zones, on a half or quarter in a few."""
    slot = 3600
    for bound in bounds:
        slot = math.gcd(slot, int(bound.timestamp()) % 86400)
    return slot


def _slot_number(session: Session, slot: int) -> ColumnElement[int]:
    """Which slot of `slot` seconds since 1970 an event's time falls in, in the dialect's SQL."""
    if session.get_bind().dialect.name == "postgresql":
        epoch = func.extract("epoch", SubscriberEvent.at)
        return cast(func.floor(epoch / slot), BigInteger)
    # SQLite keeps the time as UTC text; strftime('%s') reads it as whole seconds since 1970.
    return cast(func.strftime("%s", SubscriberEvent.at), Integer) // slot

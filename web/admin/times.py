"""Times in the admin: a `datetime-local` field read in the editor's timezone (the page's
script fills a hidden `timezone` field from the browser; UTC without it), and how long
something took, said as people say it."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from broadsheet.errors import ValidationError

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


def zone_named(name: str | None) -> ZoneInfo:
    """The IANA zone `name` ("Europe/Paris"); UTC when absent or unknown."""
    if not name or len(name) > 64:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_to_utc(value: str, zone: ZoneInfo, field: str) -> datetime:
    """'2026-12-03T07:00' in `zone` as an aware UTC datetime; ValidationError on `field`."""
    try:
        naive = datetime.strptime(value.strip()[:16], LOCAL_FORMAT)
    except ValueError:
        example = "must be a date and time, such as 2026-12-03 07:00"
        raise ValidationError({field: example}) from None
    return naive.replace(tzinfo=zone).astimezone(UTC)


def utc_to_local(value: datetime | None, zone: ZoneInfo) -> str:
    """A stored time as the `datetime-local` field shows it in `zone` ('' for none)."""
    return value.astimezone(zone).strftime(LOCAL_FORMAT) if value else ""


def duration(seconds: float) -> str:
    """'0.4 s', '45 s', '3 min 12 s', '2 h 5 min', '3 d 4 h'."""
    if seconds < 10:
        return f"{max(seconds, 0):.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (secs, "s")]
    first = next(i for i, (n, _) in enumerate(parts) if n)
    return " ".join(f"{n} {unit}" for n, unit in parts[first : first + 2] if n)


def pace(count: int, seconds: float) -> str | None:
    """`count` messages over `seconds` as an average rate, per second or, when slower, per
    minute; None when no time passed."""
    if seconds <= 0:
        return None
    rate = count / seconds
    if rate >= 1:
        return f"{rate:,.1f} messages a second"
    return f"{rate * 60:,.1f} messages a minute"

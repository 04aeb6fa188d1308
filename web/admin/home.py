"""The admin's overview: what needs attention (warnings in plain words, paused and failing
sends), the system's health (workers, queues, relays, beat, the bounce mailbox), readers
joining and leaving per day, and the latest campaigns side by side.

Every signed-in role reads it. `?period=` chooses the days shown (7, 30 or 90), counted in the
TIMEZONE setting's days; any other value is a 422 naming `period`, with the default shown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import redis
from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from broadsheet.errors import ValidationError
from broadsheet.health import COMPLAINT_LINE, Health
from broadsheet.models import CampaignStatus, utcnow
from broadsheet.services import campaigns, growth, reception
from broadsheet.settings import Settings
from web.access import guard
from web.admin.auth import current_role
from web.admin.charts import BarChart, Series, bar_chart
from web.admin.times import duration
from web.admin.warnings import warnings
from web.db import session
from web.extensions import redis_client
from web.health import snapshot

bp = Blueprint("home", __name__)
guard(bp, current_role)


@bp.get("/")
def index() -> ResponseReturnValue:
    db = session()
    errors: dict[str, str] = {}
    try:
        days = growth.period_days(request.args.get("period"))
    except ValidationError as exc:
        errors, days = exc.fields, growth.DEFAULT_PERIOD
    settings: Settings = current_app.config["BROADSHEET"]
    grown = growth.daily_growth(db, days, ZoneInfo(settings.timezone))
    latest = campaigns.list_campaigns(db, limit=8)
    waiting = {
        status: campaigns.list_campaigns(db, status=status, limit=5)
        for status in (CampaignStatus.PAUSED, CampaignStatus.SENDING, CampaignStatus.SCHEDULED)
    }
    drafts = campaigns.list_campaigns(db, status=CampaignStatus.DRAFT, limit=5)
    shown = {c.id for c in [*latest, *drafts, *(c for cs in waiting.values() for c in cs)]}
    counts = campaigns.counts_by_campaign(db, sorted(shown))
    troubled = [
        c
        for c in waiting[CampaignStatus.SENDING]
        if counts[c.id]["unknown"] or counts[c.id]["failed"]
    ]
    system = _system([relay.name for relay in settings.relays])
    now = utcnow()
    page = render_template(
        "admin/home.html",
        errors=errors,
        warnings=warnings(db, system, now),
        system=system,
        ago=_ago(now),
        latest=latest,
        counts=counts,
        received=reception.reception(db, [c.id for c in latest], engagement=True),
        complaint_line=COMPLAINT_LINE,
        paused=waiting[CampaignStatus.PAUSED],
        sending=waiting[CampaignStatus.SENDING],
        troubled=troubled,
        scheduled=waiting[CampaignStatus.SCHEDULED],
        drafts=drafts,
        readers=campaigns.audience_size(db, "everyone"),
        period=days,
        periods=growth.PERIODS,
        growth=grown,
        growth_chart=growth_chart(grown),
    )
    return page, 422 if errors else 200


def _system(relays: list[str]) -> Health | None:
    """What the workers, beat and the bounce poll left in Redis, of the relays configured
    now (one dropped from SMTP_URL may have left its state); None: Redis can't be read."""
    try:
        found = snapshot(redis_client())
    except redis.RedisError:
        return None
    return replace(found, relays=tuple(r for r in found.relays if r.name in relays))


def _ago(now: datetime) -> Callable[..., str]:
    """'3 min ago' for a time before `now` (`suffix=""`: '3 min')."""

    def ago(then: datetime, suffix: str = " ago") -> str:
        return duration(max(0.0, (now - then).total_seconds())) + suffix

    return ago


def growth_chart(grown: growth.Growth) -> BarChart:
    """Readers asking to join and confirming above the line, readers leaving below it."""
    labels = [d.day.strftime("%-d %b") for d in grown.days]
    return bar_chart(
        "Readers joining and leaving",
        labels,
        [
            Series("Signups", [d.signups for d in grown.days], colour=1),
            Series("Confirmed", [d.confirmations for d in grown.days], colour=2),
            Series("Left", [d.left for d in grown.days], colour=4, below=True),
        ],
        unit="readers a day",
        x_unit=f"days ({grown.zone})",
    )

"""The admin's overview: what needs attention (warnings in plain words, paused and failing
sends), readers joining and leaving per day, and the latest campaigns side by side.

Every signed-in role reads it. `?period=` chooses the days shown (7, 30 or 90), counted in the
TIMEZONE setting's days; any other value is a 422 naming `period`, with the default shown.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue

from broadsheet.errors import ValidationError
from broadsheet.models import CampaignStatus
from broadsheet.services import campaigns, growth, reception
from broadsheet.settings import Settings
from web.access import guard
from web.admin.auth import current_role
from web.admin.charts import BarChart, Series, bar_chart
from web.admin.warnings import warnings
from web.db import session

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
    page = render_template(
        "admin/home.html",
        errors=errors,
        warnings=warnings(db),
        latest=latest,
        counts=counts,
        received=reception.reception(db, [c.id for c in latest], engagement=True),
        complaint_line=reception.COMPLAINT_LINE,
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

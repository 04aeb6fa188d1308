"""The admin's home page: the latest campaigns, and what needs someone's attention."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from broadsheet.models import CampaignStatus
from broadsheet.services import campaigns
from web.access import guard
from web.admin.auth import current_role
from web.db import session

bp = Blueprint("home", __name__)
guard(bp, current_role)


@bp.get("/")
def index() -> ResponseReturnValue:
    db = session()
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
    return render_template(
        "admin/home.html",
        latest=latest,
        counts=counts,
        paused=waiting[CampaignStatus.PAUSED],
        sending=waiting[CampaignStatus.SENDING],
        troubled=troubled,
        scheduled=waiting[CampaignStatus.SCHEDULED],
        drafts=drafts,
        readers=campaigns.audience_size(db, "everyone"),
    )

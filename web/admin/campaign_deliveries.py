"""A campaign's deliveries, as its page's counts and failure groups link to them: a keyset
page at a time, filtered by status (or the readers who complained or unsubscribed through
it), reader's domain and reply class, each row with the relay's reply or the error in full.
Read by every signed-in role (the campaigns section's READ right)."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from broadsheet.services import campaigns
from broadsheet.services.delivery_pages import (
    STATUSES,
    check_domain,
    check_status,
    deliveries_page,
    readers_who,
)
from broadsheet.services.paging import page_marker, page_size
from web.admin.campaigns import bp
from web.db import session

PAGE = 50


@bp.get("/<int:campaign_id>/deliveries")
def deliveries(campaign_id: int) -> ResponseReturnValue:
    args = request.args
    status = args.get("status") or None
    statuses = check_status(status)
    domain = check_domain(args.get("domain"))
    reply = (args.get("reply") or "").strip()[:200] or None
    after = page_marker(args["after"], "after") if args.get("after") else None
    limit = page_size(args.get("limit"), default=PAGE)
    campaign = campaigns.get_campaign(session(), campaign_id)
    page = deliveries_page(
        session(),
        campaign_id,
        statuses=statuses,
        domain=domain,
        reply=reply,
        after=after,
        limit=limit,
        left=readers_who(status),
    )
    return render_template(
        "admin/campaign_deliveries.html",
        campaign=campaign,
        page=page,
        status=status,
        statuses=STATUSES,
        domain=domain,
        reply=reply,
        after=after,
        limit=limit if args.get("limit") else None,
    )

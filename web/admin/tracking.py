"""A campaign's open and click tracking in the admin: whether it is on, and its switch while
the campaign is a draft or scheduled (admin/_tracking.html, included on the campaign page)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from broadsheet.errors import Conflict, ValidationError
from broadsheet.services import campaigns
from web.access import guard
from web.admin.auth import current_role
from web.db import session

bp = Blueprint("tracking", __name__, url_prefix="/campaigns")
guard(bp, current_role)  # changes take EDIT

CHOICES = {"on": True, "off": False}


@bp.post("/<int:campaign_id>/tracking")
def switch(campaign_id: int) -> ResponseReturnValue:
    chosen = request.form.get("tracking", "")
    back = redirect(
        url_for("admin.campaigns.show", campaign_id=campaign_id, _anchor="opens-and-clicks"), 303
    )
    if chosen not in CHOICES:
        raise ValidationError({"tracking": "choose on or off"})
    try:
        campaign = campaigns.set_tracking(session(), campaign_id, CHOICES[chosen])
    except Conflict:
        flash("Nothing changed: this campaign has started, so its tracking is fixed.", "warning")
        return back
    if campaign.tracking:
        flash("Opens and clicks will be counted for this campaign.", "success")
    else:
        flash("Opens and clicks will not be counted: no pixel, links as written.", "success")
    return back

"""The admin's campaigns section (being built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from broadsheet.access import Right
from web.access import guard
from web.admin.auth import current_role

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")
guard(bp, current_role, rights={"pause": Right.PAUSE})


@bp.get("")
def index():  # type: ignore[no-untyped-def]
    return render_template("admin/home.html")


@bp.get("/new")
def new():  # type: ignore[no-untyped-def]
    return render_template("admin/home.html")


@bp.post("/<int:campaign_id>/pause")
def pause(campaign_id: int):  # type: ignore[no-untyped-def]
    return render_template("admin/home.html")

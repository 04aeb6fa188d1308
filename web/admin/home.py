"""The admin's home page: the latest campaigns, and what needs someone's attention."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.access import guard
from web.admin.auth import current_role

bp = Blueprint("home", __name__)
guard(bp, current_role)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return render_template("admin/home.html")

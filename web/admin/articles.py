"""The admin's articles section (being built)."""

from __future__ import annotations

from flask import Blueprint, render_template

from web.access import guard
from web.admin.auth import current_role

bp = Blueprint("articles", __name__, url_prefix="/articles")
guard(bp, current_role)


@bp.get("")
def index():  # type: ignore[no-untyped-def]
    return render_template("admin/home.html")

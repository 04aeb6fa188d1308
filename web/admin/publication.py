"""The publication's settings (admins): its name and look (logo, accent colour), and the
postal address and note every campaign's footer carries. Thin over
broadsheet/services/publication.py."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from broadsheet.access import Right
from broadsheet.errors import ValidationError
from broadsheet.mail.compose import publication_name
from broadsheet.mail.look import contrast_problems
from broadsheet.services.publication import get_publication, save_publication
from web.access import guard
from web.admin.auth import current_role
from web.admin.forms import posted
from web.db import session

bp = Blueprint("publication", __name__, url_prefix="/publication")
guard(bp, current_role, read=Right.MANAGE, write=Right.MANAGE)
FIELDS = ("name", "logo_url", "logo_alt", "accent", "postal_address", "footer_note")


@bp.get("")
def show() -> ResponseReturnValue:
    row = get_publication(session())
    return _page({name: getattr(row, name) for name in FIELDS}, {})


@bp.post("")
def save() -> ResponseReturnValue:
    form = posted(FIELDS)
    try:
        row = save_publication(
            session(), form["postal_address"], form["footer_note"], name=form["name"],
            logo_url=form["logo_url"], logo_alt=form["logo_alt"], accent=form["accent"],
        )  # fmt: skip
    except ValidationError as exc:
        return _page(form, exc.fields), 422
    flash("Saved. Campaigns made from now on carry it.", "success")
    if row.accent and (problems := contrast_problems(row.accent)):
        flash(f"The accent colour is hard to read for {', '.join(problems)}.", "warning")
    return redirect(url_for("admin.publication.show"), 303)


def _page(form: dict[str, str], errors: dict[str, str]) -> str:
    default = publication_name(current_app.config["BROADSHEET"])
    return render_template("admin/publication.html", form=form, errors=errors, default=default)

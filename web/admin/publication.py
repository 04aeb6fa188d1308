"""The publication's settings (admins): the postal address and the note every campaign's
footer carries. Thin over broadsheet/services/publication.py."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from broadsheet.access import Right
from broadsheet.errors import ValidationError
from broadsheet.services.publication import get_publication, save_publication
from web.access import guard
from web.admin.auth import current_role
from web.admin.forms import posted
from web.db import session

bp = Blueprint("publication", __name__, url_prefix="/publication")
guard(bp, current_role, read=Right.MANAGE, write=Right.MANAGE)
FIELDS = ("postal_address", "footer_note")


@bp.get("")
def show() -> ResponseReturnValue:
    row = get_publication(session())
    return _page({"postal_address": row.postal_address, "footer_note": row.footer_note}, {})


@bp.post("")
def save() -> ResponseReturnValue:
    form = posted(FIELDS)
    try:
        save_publication(session(), form["postal_address"], form["footer_note"])
    except ValidationError as exc:
        return _page(form, exc.fields), 422
    flash("Saved. Campaigns made from now on carry it in their footer.", "success")
    return redirect(url_for("admin.publication.show"), 303)


def _page(form: dict[str, str], errors: dict[str, str]) -> str:
    return render_template("admin/publication.html", form=form, errors=errors)

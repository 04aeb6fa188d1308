"""The admin's newsletters: every newsletter with its readers, and a form to make one (an
editor's or admin's). Thin over broadsheet/services/newsletters.py."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from broadsheet.errors import Conflict, ValidationError
from broadsheet.services import newsletters
from web.access import guard
from web.admin.auth import current_role
from web.admin.forms import posted
from web.db import session

bp = Blueprint("newsletters", __name__, url_prefix="/newsletters")
guard(bp, current_role)
FIELDS = ("name", "slug", "description", "sender_name", "sender_address", "reply_to")
EMPTY = {**dict.fromkeys(FIELDS, ""), "public": "yes", "welcome": ""}


@bp.get("")
def index() -> ResponseReturnValue:
    return _page(EMPTY, {})


@bp.post("")
def create() -> ResponseReturnValue:
    form = {**posted(FIELDS), **{box: request.form.get(box, "") for box in ("public", "welcome")}}
    try:
        made = newsletters.create_newsletter(
            session(), form["name"], form["slug"] or None,
            description=form["description"], public=form["public"] == "yes",
            sender_name=form["sender_name"], sender_address=form["sender_address"],
            reply_to=form["reply_to"], welcome=form["welcome"] == "yes",
        )  # fmt: skip
    except ValidationError as exc:
        return _page(form, exc.fields), 422
    except Conflict:
        return _page(form, {"slug": "is taken by another newsletter; choose another"}), 409
    flash(f"“{made.name}” is ready. Readers can be put in it, and campaigns sent to it.", "success")
    return redirect(url_for("admin.newsletters.index"), 303)


def _page(form: dict[str, str], errors: dict[str, str]) -> str:
    return render_template(
        "admin/newsletters.html",
        newsletters=newsletters.list_newsletters(session()),
        readers=newsletters.reader_counts(session()),
        form=form,
        errors=errors,
    )

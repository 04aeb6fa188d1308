"""The admin's newsletters: every newsletter with its readers, a form to make one, and each
one's page to change its details (all but its slug) and set its own look (logo, accent colour,
footer note) where it differs from the publication's; an editor's or admin's, as making one
is. Thin over broadsheet/services/newsletters.py."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from broadsheet.access import Right
from broadsheet.errors import Conflict, ValidationError
from broadsheet.mail.look import contrast_problems
from broadsheet.models import Newsletter
from broadsheet.services import newsletters
from broadsheet.services.publication import get_publication
from web.access import guard
from web.admin.auth import current_role
from web.admin.forms import posted
from web.db import session

bp = Blueprint("newsletters", __name__, url_prefix="/newsletters")
guard(bp, current_role, rights={"edit": Right.EDIT})  # its look's form: for those who may save
FIELDS = ("name", "slug", "description", "sender_name", "sender_address", "reply_to")
EMPTY = {**dict.fromkeys(FIELDS, ""), "public": "yes", "welcome": ""}
LOOK = ("logo_url", "logo_alt", "accent", "footer_note")
DETAILS = ("name", "description", "sender_name", "sender_address", "reply_to")


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


@bp.get("/<int:newsletter_id>")
def edit(newsletter_id: int) -> ResponseReturnValue:
    newsletter = newsletters.get_newsletter(session(), newsletter_id)
    return _look_page(newsletter, {name: getattr(newsletter, name) for name in LOOK}, {})


@bp.post("/<int:newsletter_id>/details")
def save_details(newsletter_id: int) -> ResponseReturnValue:
    newsletter = newsletters.get_newsletter(session(), newsletter_id)
    form = {**posted(DETAILS), **{box: request.form.get(box, "") for box in ("public", "welcome")}}
    look = {name: getattr(newsletter, name) for name in LOOK}
    try:
        newsletters.update_newsletter(
            session(), newsletter.id, name=form["name"], description=form["description"],
            public=form["public"] == "yes", welcome=form["welcome"] == "yes",
            sender_name=form["sender_name"], sender_address=form["sender_address"],
            reply_to=form["reply_to"],
        )  # fmt: skip
    except ValidationError as exc:  # nothing was changed
        return _look_page(newsletter, look, {}, form, exc.fields), 422
    flash(f"Saved “{newsletter.name}”. Campaigns made from now on carry its details.", "success")
    return redirect(url_for("admin.newsletters.edit", newsletter_id=newsletter.id), 303)


@bp.post("/<int:newsletter_id>")
def save_look(newsletter_id: int) -> ResponseReturnValue:
    newsletter = newsletters.get_newsletter(session(), newsletter_id)
    form = posted(LOOK)
    try:
        newsletters.save_look(session(), newsletter.id, **form)
    except ValidationError as exc:
        return _look_page(newsletter, form, exc.fields), 422
    flash(f"Saved. Campaigns to “{newsletter.name}” made from now on carry it.", "success")
    if newsletter.accent and (problems := contrast_problems(newsletter.accent)):
        flash(f"The accent colour is hard to read for {', '.join(problems)}.", "warning")
    return redirect(url_for("admin.newsletters.edit", newsletter_id=newsletter.id), 303)


def _look_page(
    newsletter: Newsletter,
    form: dict[str, str],
    errors: dict[str, str],
    details: dict[str, str] | None = None,
    details_errors: dict[str, str] | None = None,
) -> str:
    """The newsletter's page: its details' form (as saved, or as typed with its errors) and
    its look's."""
    if details is None:
        details = {name: getattr(newsletter, name) for name in DETAILS}
        details |= {box: "yes" if getattr(newsletter, box) else "" for box in ("public", "welcome")}
    return render_template(
        "admin/newsletter.html", newsletter=newsletter, house=get_publication(session()),
        form=form, errors=errors, details=details, details_errors=details_errors or {},
    )  # fmt: skip

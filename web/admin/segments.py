"""The admin's segments: saved audience rules listed in plain words, made and changed with a
form that can count its readers before saving, each with its own page: how many readers it
holds now, "why is this reader in it?", and removing it. Editors and admins change them;
operators read.

A count is one pass over the readers its rules reach (tens of milliseconds at 100,000
readers, PostgreSQL): a page counts one segment, and the list counts a row only when asked
(`/<id>/count`), never every row.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from broadsheet.access import Right
from broadsheet.addresses import check_address
from broadsheet.errors import Conflict, ValidationError
from broadsheet.models import Segment
from broadsheet.services import newsletters, segments, subscriptions
from broadsheet.settings import Settings
from web.access import guard
from web.admin.auth import current_role
from web.admin.confirm import confirmed
from web.admin.segment_form import SOURCES, field_errors, form_of, read_form
from web.admin.segment_words import reasons_words, rules_words
from web.db import session

bp = Blueprint("segments", __name__, url_prefix="/segments")
# The blank forms take EDIT, as sending them would.
guard(bp, current_role, rights={"new": Right.EDIT, "edit": Right.EDIT})


@bp.get("")
def index() -> ResponseReturnValue:
    names, zone = _names(), _zone()
    listed = [(s, rules_words(s.rules, names, zone)) for s in segments.list_segments(session())]
    return render_template("admin/segments.html", listed=listed)


@bp.get("/new")
def new() -> ResponseReturnValue:
    return _form(None, form_of("", {}, {}, _zone()), {})


@bp.post("")
def create() -> ResponseReturnValue:
    return _save(None)


@bp.get("/<int:segment_id>")
def show(segment_id: int) -> ResponseReturnValue:
    """The segment, its count now and, for `?email=`, why that reader is in it or not."""
    segment = segments.get_segment(session(), segment_id)
    email = request.args.get("email")
    explained, errors, status = None, {}, 200
    if email is not None:
        try:
            explained = _explain(segment, email, _names(), _zone())
        except ValidationError as exc:
            errors, status = exc.fields, 422
    return _page(segment, email, explained, errors), status


def _page(
    segment: Segment,
    email: str | None = None,
    explained: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> str:
    db = session()
    return render_template(
        "admin/segment.html",
        segment=segment,
        rules=rules_words(segment.rules, _names(), _zone()),
        count=segments.count(db, segment),
        waiting=segments.waiting_campaigns(db, segment),
        email=email or "",
        explained=explained,
        errors=errors or {},
    )


@bp.get("/<int:segment_id>/count")
def count(segment_id: int) -> ResponseReturnValue:
    """How many readers the segment holds now, for a list or a form that asks."""
    n = segments.count(session(), segments.get_segment(session(), segment_id))
    return jsonify({"count": n, "text": f"{n:,} reader{'' if n == 1 else 's'}"})


@bp.get("/<int:segment_id>/edit")
def edit(segment_id: int) -> ResponseReturnValue:
    segment = segments.get_segment(session(), segment_id)
    slugs = {n.id: n.slug for n in newsletters.list_newsletters(session())}
    return _form(segment, form_of(segment.name, segment.rules, slugs, _zone()), {})


@bp.post("/<int:segment_id>")
def update(segment_id: int) -> ResponseReturnValue:
    return _save(segments.get_segment(session(), segment_id))


@bp.post("/<int:segment_id>/delete")
def delete(segment_id: int) -> ResponseReturnValue:
    """Refused (409, on the segment's page, naming them) while campaigns waiting to start
    go to it; else removed after a confirmation. Campaigns it started keep its rules."""
    segment = segments.get_segment(session(), segment_id)
    if segments.waiting_campaigns(session(), segment):
        return _refused(segment)
    answer = confirmed(
        f"Remove the segment “{segment.name}”?",
        "It leaves the list and can no longer be chosen for a campaign. Campaigns already "
        "sent to it keep the rules it had when they started.",
        "Remove the segment",
        back=url_for("admin.segments.show", segment_id=segment_id),
    )
    if answer is not None:
        return answer
    try:
        segments.delete_segment(session(), segment_id)
    except Conflict:  # a draft chose it between the two posts
        return _refused(segment)
    flash(f"The segment “{segment.name}” is removed.", "success")
    return redirect(url_for("admin.segments.index"), 303)


def _refused(segment: Segment) -> ResponseReturnValue:
    """The segment's page, its Remove section saying which waiting campaigns keep it (409)."""
    waiting = segments.waiting_campaigns(session(), segment)
    them = "them" if len(waiting) > 1 else "it"
    refused = (
        f"it cannot be removed while {segments.in_words(waiting)} "
        f"{'go' if len(waiting) > 1 else 'goes'} to it: give {them} another audience, or "
        f"cancel {them}, first"
    )
    return _page(segment, errors={"remove": refused}), 409


def _save(segment: Segment | None) -> ResponseReturnValue:
    """Create or update from the posted form; "Preview count" counts without saving."""
    db = session()
    form, rules, unread = read_form(_zone())
    if unread:  # a day that is not one; the other rules' errors are shown with it
        try:
            segments.check_segment_rules(db, rules)
        except ValidationError as exc:
            unread = {**field_errors(exc.fields), **unread}
        unread.pop("rules", None)  # the rule that could not be read is one
        return _form(segment, form, unread), 422
    try:
        if request.form.get("preview") == "yes":
            return _form(segment, form, {}, preview=segments.count_rules(db, rules))
        if segment is None:
            segment = segments.create_segment(db, form["name"], rules)
        else:
            segments.update_segment(db, segment.id, form["name"], rules)
    except ValidationError as exc:
        return _form(segment, form, field_errors(exc.fields)), 422
    except Conflict:
        return _form(segment, form, {"name": "is another segment's; choose another"}), 409
    flash(f"The segment “{segment.name}” is saved.", "success")
    return redirect(url_for("admin.segments.show", segment_id=segment.id), 303)


def _form(
    segment: Segment | None,
    form: dict[str, Any],
    errors: dict[str, str],
    preview: int | None = None,
) -> str:
    return render_template(
        "admin/segment_form.html",
        segment=segment,
        form=form,
        errors=errors,
        preview=preview,
        all_newsletters=newsletters.list_newsletters(session()),
        sources=SOURCES,
        zone=_zone().key,
    )


def _explain(segment: Segment, email: str, names: dict[int, str], zone: ZoneInfo) -> dict[str, Any]:
    """Whether the reader at `email` is in the segment, and each rule in words, met or not;
    ValidationError on `email` for an address that is not one or no reader's."""
    address = check_address(email, "email").email
    reader = subscriptions.find_subscriber(session(), address)
    if reader is None:
        raise ValidationError({"email": "is no reader's address"})
    reasons = segments.explain(session(), segment, reader)
    return {
        "reader": reader,
        "member": all(r.met for r in reasons),
        "reasons": reasons_words(reasons, names, zone),
        "missed": sum(not r.met for r in reasons),
    }


def _names() -> dict[int, str]:
    """Newsletter names by id, read once per page."""
    return {n.id: n.name for n in newsletters.list_newsletters(session())}


def _zone() -> ZoneInfo:
    settings: Settings = current_app.config["BROADSHEET"]
    return ZoneInfo(settings.timezone)

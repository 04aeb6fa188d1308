"""The admin's readers: the list (search by address or name, filter by status, keyset pages),
a reader's page (their newsletters, tags, attributes, history and deliveries), adding a reader,
changing their newsletters, tags and attributes, and unsubscribing one.

Views are thin over broadsheet/services/readers.py. Reading takes READ, changes EDIT; an
unsubscribe asks for confirmation first (web/admin/confirm.py).
"""

from __future__ import annotations

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
from flask_login import current_user

from broadsheet.access import Right
from broadsheet.errors import Conflict, ValidationError
from broadsheet.models import MembershipStatus, Subscriber, SubscriberStatus
from broadsheet.services import erasure, newsletters, profiles, readers
from broadsheet.services.paging import page_size
from broadsheet.services.subscriptions import find_subscriber, get_subscriber, update_profile
from broadsheet.settings import Settings
from web import enqueue
from web.access import guard
from web.admin.auth import current_role
from web.admin.confirm import confirmed
from web.admin.forms import posted
from web.db import session

bp = Blueprint("subscribers", __name__, url_prefix="/subscribers")
# Reading takes READ, changes EDIT; so does the add form, which only an editor can send.
# Their data (everything kept about them) is an editor's to download, as changes are.
# So are imports and exports of readers (web/admin/reader_imports.py).
IMPORTS_AND_EXPORTS = ("import_form", "import_upload", "import_show", "import_progress",
                       "import_start", "import_rejects", "export_form",
                       "export_download")  # fmt: skip
guard(
    bp,
    current_role,
    rights={
        "new": Right.EDIT,
        "export": Right.EDIT,
        **dict.fromkeys(IMPORTS_AND_EXPORTS, Right.EDIT),
    },
)
PAGE = 50
ADD_FIELDS = ("email", "name", "status", "reason")
STATUS_CHOICES = [
    (
        SubscriberStatus.PENDING.value,
        "Ask them to confirm: they get a confirmation email and stay pending until they click it",
    ),
    (
        SubscriberStatus.ACTIVE.value,
        "They already agreed elsewhere: add them as active (say how below)",
    ),
]


@bp.get("")
def index() -> ResponseReturnValue:
    search = request.args.get("q", "")
    status = request.args.get("status") or None
    errors: dict[str, str] = {}
    try:
        limit = page_size(request.args.get("limit"), default=PAGE)
        page = readers.list_subscribers(
            session(), search, status, request.args.get("before"), limit
        )
    except ValidationError as exc:
        errors, page = exc.fields, readers.Page([], None)
    answer = render_template(
        "admin/subscribers.html",
        page=page,
        search=search,
        status=status,
        statuses=list(SubscriberStatus),
        errors=errors,
    )
    return answer, 422 if errors else 200


@bp.get("/new")
def new() -> ResponseReturnValue:
    return _add_form({"email": "", "name": "", "status": "pending", "reason": ""}, {})


@bp.post("")
def create() -> ResponseReturnValue:
    form = posted(ADD_FIELDS)
    try:
        reader = readers.add_subscriber_by_editor(
            session(), form["email"], form["name"], form["status"], form["reason"],
            actor=current_user.email, secret=_settings().secret_key,
        )  # fmt: skip
    except ValidationError as exc:
        return _add_form(form, exc.fields), 422
    except Conflict:
        known = find_subscriber(session(), form["email"])
        return _add_form(form, {"email": "this address is already a reader"}, known=known), 409
    if reader.status == SubscriberStatus.PENDING:
        enqueue.confirmation(reader.id)
        flash(f"{reader.email} is pending; a confirmation email is on its way.", "success")
    else:
        flash(f"{reader.email} is active and gets the next campaign.", "success")
    return redirect(url_for("admin.subscribers.show", subscriber_id=reader.id), 303)


@bp.get("/<int:subscriber_id>")
def show(subscriber_id: int) -> ResponseReturnValue:
    return _reader_page(subscriber_id, None, {})


@bp.post("/<int:subscriber_id>/profile")
def profile(subscriber_id: int) -> ResponseReturnValue:
    """Save a reader's newsletters, tags and attributes from their page's form."""
    form = posted(("tags", "attributes"))
    chosen = request.form.getlist("newsletters")
    tags = [tag for tag in form["tags"].split(",") if tag.strip()]
    try:
        attributes = profiles.attributes_from_lines(form["attributes"])
        update_profile(
            session(), subscriber_id, tags=tags, attributes=attributes, newsletters_chosen=chosen
        )
    except ValidationError as exc:
        return _reader_page(subscriber_id, {**form, "newsletters": chosen}, exc.fields), 422
    flash("Their newsletters, tags and attributes are saved.", "success")
    return redirect(url_for("admin.subscribers.show", subscriber_id=subscriber_id), 303)


def _reader_page(subscriber_id: int, form: dict[str, object] | None, errors: dict[str, str]) -> str:
    """A reader's page; `form` holds what was typed into the profile form when it is shown
    again with `errors`, else the form shows what is stored."""
    page = readers.subscriber_page(
        session(), subscriber_id, deliveries_before=request.args.get("before")
    )
    joined = newsletters.memberships(session(), subscriber_id)
    subscribed = [n.slug for n, m in joined if m.status == MembershipStatus.SUBSCRIBED]
    tags = profiles.tags_of(session(), subscriber_id)
    if form is None:
        form = {
            "newsletters": subscribed,
            "tags": ", ".join(tags),
            "attributes": profiles.attributes_as_lines(page.subscriber.attributes),
        }
    return render_template(
        "admin/subscriber.html",
        page=page,
        reader=page.subscriber,
        memberships=joined,
        tags=tags,
        all_newsletters=newsletters.list_newsletters(session()),
        form=form,
        errors=errors,
    )


@bp.post("/<int:subscriber_id>/unsubscribe")
def unsubscribe(subscriber_id: int) -> ResponseReturnValue:
    back = url_for("admin.subscribers.show", subscriber_id=subscriber_id)
    reader = get_subscriber(session(), subscriber_id)
    answer = confirmed(
        f"Unsubscribe {reader.email}?",
        "They get no more campaigns, and their history records that you did it. They can "
        "only come back by signing up again themselves.",
        "Unsubscribe",
        back=back,
    )
    if answer is not None:
        return answer
    try:
        readers.unsubscribe_by_editor(
            session(), subscriber_id, current_user.email, request.form.get("reason")
        )
    except Conflict as exc:
        flash(f"Nothing changed: {exc}.", "info")
        return redirect(back, 303)
    except ValidationError as exc:
        flash(f"Nothing changed: the reason {exc.fields['reason']}.", "error")
        return redirect(back, 303)
    flash(f"{reader.email} is unsubscribed.", "success")
    return redirect(back, 303)


@bp.get("/<int:subscriber_id>/export")
def export(subscriber_id: int) -> ResponseReturnValue:
    """Everything kept about the reader, as a JSON file (their request under GDPR)."""
    data = erasure.export(session(), subscriber_id)
    answer = jsonify(data)
    answer.headers["Content-Disposition"] = f'attachment; filename="reader-{subscriber_id}.json"'
    return answer


@bp.post("/<int:subscriber_id>/erase")
def erase(subscriber_id: int) -> ResponseReturnValue:
    back = url_for("admin.subscribers.show", subscriber_id=subscriber_id)
    reader = get_subscriber(session(), subscriber_id)
    answer = confirmed(
        f"Erase {reader.email}?",
        "Do this only at their request. Their address, name, tags, attributes, newsletters and "
        "notes are deleted for good; the campaigns keep counting their deliveries and opens, "
        "tied to nobody. The address can then only come back by their own signup.",
        "Erase for good",
        back=back,
        acknowledge="They asked to be erased",
    )
    if answer is not None:
        return answer
    erasure.erase(session(), subscriber_id, _settings().secret_key, actor=current_user.email)
    flash("The reader is erased.", "success")
    return redirect(url_for("admin.subscribers.index"), 303)


def _settings() -> Settings:
    settings: Settings = current_app.config["BROADSHEET"]
    return settings


def _add_form(form: dict[str, str], errors: dict[str, str], known: Subscriber | None = None) -> str:
    return render_template(
        "admin/subscriber_new.html",
        form=form,
        errors=errors,
        known=known,
        status_choices=STATUS_CHOICES,
    )

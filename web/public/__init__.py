"""Reader pages: subscribe, confirm (double opt-in), preferences (and the reader's data, mailed
to them on request), unsubscribe (also RFC 8058), archive."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError

from broadsheet.errors import ValidationError
from broadsheet.mail.compose import publication_name
from broadsheet.mail.look import accent_colours
from broadsheet.mail.personal import without_reader
from broadsheet.models import EventSource, Publication, Subscriber, SubscriberStatus
from broadsheet.services import erasure, newsletters, preferences
from broadsheet.services.publication import get_publication
from broadsheet.services.subscriptions import (
    confirm,
    get_subscriber,
    request_subscription,
    unsubscribe,
)
from broadsheet.settings import Settings
from broadsheet.signing import read_confirm_token, read_unsubscribe_token
from web import enqueue
from web.db import commit, session
from web.extensions import client_address, csrf
from web.limits import MY_DATA, SIGNUPS_PER_ADDRESS, SIGNUPS_PER_CLIENT, wait_in_words
from web.public import archive_pages

bp = Blueprint("public", __name__, template_folder="templates")
# The archive (its own file): the feed's fixed path wins over an issue's slug.
bp.add_url_rule("/archive", "archive_index", archive_pages.index, methods=["GET"])
bp.add_url_rule("/archive/feed.atom", "archive_feed", archive_pages.feed, methods=["GET"])
bp.add_url_rule("/archive/<slug>", "archive", archive_pages.article, methods=["GET"])
HONEYPOT = "website"
SITE_DARK_PAPER = "#17160f"  # --paper in dark mode (static/site.css): the lifted accent's ground


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.context_processor(_publication)
    # The archive shows an article to no reader in particular: each field's fallback.
    app.add_template_filter(without_reader, "without_reader")


def _publication() -> dict[str, object]:
    """The name and look every page shows (the admin's too): one read of the publication's
    row, or the defaults when the request's transaction has failed and an error page is
    being shown."""
    try:
        row = get_publication(session())
    except SQLAlchemyError:
        row = Publication(name="", logo_url="", logo_alt="", accent="")
    colours = accent_colours(row.accent, SITE_DARK_PAPER) if row.accent else None
    return {
        "publication": publication_name(_settings(), row.name),
        "logo": (row.logo_url, row.logo_alt) if row.logo_url else None,
        "accent": (colours.link, colours.dark_link) if colours else None,
    }


def _settings() -> Settings:
    settings: Settings = current_app.config["BROADSHEET"]
    return settings


@bp.get("/")
def index() -> ResponseReturnValue:
    return redirect(url_for("public.subscribe_form"))


@bp.get("/subscribe")
def subscribe_form() -> ResponseReturnValue:
    return _subscribe_page("", "", {}, None)


def _subscribe_page(email: str, name: str, errors: dict[str, str], chosen: list[str] | None) -> str:
    """The form; with two public newsletters or more it offers them, all ticked at first."""
    offered = newsletters.public_choices(session())
    if len(offered) < 2:
        offered = []
    ticked = [n.slug for n in offered] if chosen is None else chosen
    return render_template(
        "public/subscribe.html", email=email, name=name, errors=errors, offered=offered,
        ticked=ticked,
    )  # fmt: skip


@bp.post("/subscribe")
def subscribe() -> ResponseReturnValue:
    email = request.form.get("email", "")
    name = request.form.get("name", "")
    if wait := SIGNUPS_PER_CLIENT.spend(client_address()):  # counted before anything else
        return _too_many(wait)
    if request.form.get(HONEYPOT):
        # A bot filled the hidden field: answer as for anyone, do nothing.
        return _check_inbox(get_publication(session()))
    # The form says when it offered newsletters: then what was ticked is the choice.
    chosen = request.form.getlist("newsletters") if request.form.get("offered") else None
    try:
        outcome = request_subscription(
            session(), email, name, source="form", ip=request.remote_addr, chosen=chosen
        )
    except ValidationError as exc:
        # Each message is shown next to, and linked with, the field it is about.
        return _subscribe_page(email, name, exc.fields, chosen), 400
    # A known inbox asked for again: counted under its reader (one key however the address was
    # typed), whoever asks, and refused past its allowance (the answer is a 429, so the
    # request's transaction is rolled back and nobody is mailed). A new address needs no
    # count: its first signup mails it once.
    reader = str(outcome.subscriber_id)
    if not outcome.created and (wait := SIGNUPS_PER_ADDRESS.spend(reader)):
        return _too_many(wait)
    if outcome.send_confirmation:
        enqueue.confirmation(outcome.subscriber_id)
    # The answer's look is read in this transaction: after the commit a read would begin
    # another, which on SQLite waits its turn behind every writer (broadsheet/db.py).
    publication = get_publication(session())
    commit()  # release the write lock before rendering
    return _check_inbox(publication)


def _too_many(wait: int) -> ResponseReturnValue:
    """Over a signup limit: 429, with how long to wait, on the page and in Retry-After."""
    page = render_template("public/too_many.html", wait=wait_in_words(wait))
    return page, 429, {"Retry-After": str(wait)}


def _check_inbox(row: Publication) -> str:
    """The answer to every signup: nothing in it is the reader's (it must not say whether the
    address was known), so each process renders it once per look of the publication (`row`:
    a new name or look shows without a restart)."""
    pages: dict[tuple[str, ...], str] = current_app.extensions.setdefault(
        "broadsheet.check_inbox", {}
    )
    key = (request.script_root, row.name, row.logo_url, row.logo_alt, row.accent)
    page = pages.get(key)
    if page is None:
        page = pages[key] = render_template("public/check_inbox.html")
    return page


@bp.errorhandler(CSRFError)
def form_expired(_exc: CSRFError) -> ResponseReturnValue:
    """A stale or foreign form token: show the form again, filled in, with a fresh token."""
    errors = {"form": "This form has expired. Please check your details and send it again."}
    email, name = request.form.get("email", ""), request.form.get("name", "")
    return render_template("public/subscribe.html", email=email, name=name, errors=errors), 400


@bp.get("/confirm/<token>")
def confirm_page(token: str) -> ResponseReturnValue:
    read_confirm_token(_settings().secret_key, token)
    return render_template("public/confirm.html", token=token)


@bp.post("/confirm/<token>")
# No form token: the signed token in the URL is the proof; there is no session to ride on.
@csrf.exempt  # type: ignore[untyped-decorator]  # Flask-WTF ships no types
def confirm_submit(token: str) -> ResponseReturnValue:
    claim = read_confirm_token(_settings().secret_key, token)
    reader = confirm(session(), claim.subscriber_id, claim.email_key)
    if reader.status != SubscriberStatus.ACTIVE:  # left (or bounced) after the link was sent
        return render_template("public/not_subscribed.html")
    erasure.lift(session(), _settings().secret_key, reader.email_key)  # came back themselves
    enqueue.welcome(reader.id)
    return render_template("public/confirmed.html")


@bp.get("/preferences/<token>")
def preferences_page(token: str) -> ResponseReturnValue:
    claim = read_unsubscribe_token(_settings().secret_key, token)
    reader = get_subscriber(session(), claim.subscriber_id)
    return _preferences(token, reader, {"name": reader.name}, {})


@bp.post("/preferences/<token>")
def preferences_save(token: str) -> ResponseReturnValue:
    claim = read_unsubscribe_token(_settings().secret_key, token)
    reader = get_subscriber(session(), claim.subscriber_id)
    name, chosen = request.form.get("name", ""), request.form.getlist("newsletters")
    try:
        still = preferences.save(session(), reader, name, chosen)
    except ValidationError as exc:
        return _preferences(token, reader, {"name": name}, exc.fields, chosen), 422
    if not still:
        left = preferences.Left((), everything=True)
        return render_template("public/unsubscribed.html", left=left, token=token)
    return _preferences(token, reader, {"name": reader.name}, {}, saved=True)


@bp.post("/preferences/<token>/my-data")
def my_data(token: str) -> ResponseReturnValue:
    """Mail the reader what is kept about them (a JSON attachment, to their own address:
    never shown here, where anyone with a forwarded link could read it), once an hour."""
    claim = read_unsubscribe_token(_settings().secret_key, token)
    reader = get_subscriber(session(), claim.subscriber_id)
    form = {"name": reader.name}
    if _data_refusal(reader):
        return _preferences(token, reader, form, {}), 409
    if wait := MY_DATA.spend(str(reader.id)):
        page = _preferences(token, reader, form, {}, data_wait=wait_in_words(wait))
        return page, 429, {"Retry-After": str(wait)}
    enqueue.data_export(reader.id)  # already owed: the one on its way is the answer
    commit()
    return _preferences(token, reader, form, {}, data_sent=True)


def _preferences(
    token: str,
    reader: Subscriber,
    form: dict[str, str],
    errors: dict[str, str],
    chosen: list[str] | None = None,
    *,
    saved: bool = False,
    data_sent: bool = False,
    data_wait: str | None = None,
) -> str:
    active = reader.status in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING)
    offered = preferences.choices(session(), reader.id) if active else []
    refusal = _data_refusal(reader)
    if chosen is None:
        chosen = [c.newsletter.slug for c in offered if c.subscribed]
    return render_template(
        "public/preferences.html", token=token, reader=reader, active=active,
        offered=offered, chosen=chosen, form=form, errors=errors, saved=saved,
        data_sent=data_sent, data_wait=data_wait, data_refusal=refusal,
    )  # fmt: skip


def _data_refusal(reader: Subscriber) -> str | None:
    """Why the reader's data cannot be mailed to them, or None: nothing is kept about an
    erased reader, and mail to an address that bounced would bounce again."""
    if erasure.was_erased(reader):
        return "erased"
    if reader.status == SubscriberStatus.BOUNCED:
        return "bounced"
    return None


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> ResponseReturnValue:
    claim = read_unsubscribe_token(_settings().secret_key, token)
    names = [n.name for n in preferences.newsletters_of(session(), claim.campaign_id)]
    return render_template("public/unsubscribe.html", token=token, names=names)


@bp.post("/unsubscribe/<token>")
# No form token: RFC 8058 one-click, the mail client POSTs without cookies or a form token.
@csrf.exempt  # type: ignore[untyped-decorator]  # Flask-WTF ships no types
def unsubscribe_submit(token: str) -> ResponseReturnValue:
    """From a campaign to newsletters, those newsletters only (the others kept); from one
    that named none, or with `everything=yes` (the preferences page's button), all mail."""
    claim = read_unsubscribe_token(_settings().secret_key, token)
    one_click = request.form.get("List-Unsubscribe") == "One-Click"
    source = EventSource.ONE_CLICK if one_click else EventSource.UNSUBSCRIBE_LINK
    if request.form.get("everything") == "yes":
        unsubscribe(session(), claim.subscriber_id, source=source, campaign_id=claim.campaign_id)
        left = preferences.Left((), everything=True)
    else:
        left = preferences.leave_through(session(), claim.subscriber_id, claim.campaign_id, source)
    return render_template("public/unsubscribed.html", left=left, token=token)

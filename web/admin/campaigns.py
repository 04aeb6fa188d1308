"""The admin's campaigns: the list, and one page per campaign that walks the editor through
it (the message, the preview exactly as sent, the checks, a test, then send or schedule),
then shows its progress live with the controls its state allows.

Every state change is a POST with a confirmation step (web/admin/confirm.py) that names the
audience; the domain's conditional UPDATE makes a double click, a resubmitted form or a
second tab harmless, and the 409 it raises is shown as a plain message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    Response,
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
from broadsheet.mail.preview import (
    campaign_checks,
    in_colour_scheme,
    message_parts,
    preview_message,
)
from broadsheet.models import Campaign, CampaignStatus
from broadsheet.services import campaigns
from broadsheet.services.paging import page_size
from broadsheet.services.progress import counted_at
from broadsheet.settings import Settings
from web import enqueue
from web.access import guard
from web.admin import campaign_audience, campaign_live
from web.admin.auth import current_role
from web.admin.confirm import confirmed
from web.admin.engagement import engagement_parts, lost_parts
from web.admin.forms import posted
from web.admin.times import duration, local_to_utc, pace, zone_named
from web.db import session
from web.limits import TEST_MESSAGES, wait_in_words

bp = Blueprint("campaigns", __name__, url_prefix="/campaigns")
# Reading takes READ, changes EDIT, and so does the blank form (only an editor can send it);
# an operator may pause a send (and nothing else).
guard(bp, current_role, rights={"new": Right.EDIT, "pause": Right.PAUSE})
PAGE = 25
# Which controls a campaign in each state offers. The page shows those of its state now, and
# each control carries its states (`data-when`) for the script that shows and hides them as
# the state changes under it.
CONTROLS = {
    "send": (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED),
    "schedule": (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED),
    "unschedule": (CampaignStatus.SCHEDULED,),
    "pause": (CampaignStatus.SENDING,),
    "resume": (CampaignStatus.PAUSED,),
    "cancel": (
        CampaignStatus.DRAFT,
        CampaignStatus.SCHEDULED,
        CampaignStatus.SENDING,
        CampaignStatus.PAUSED,
    ),
    "retry-failed": (CampaignStatus.SENDING, CampaignStatus.PAUSED, CampaignStatus.SENT),
}


def _settings() -> Settings:
    settings: Settings = current_app.config["BROADSHEET"]
    return settings


@bp.get("")
def index() -> ResponseReturnValue:
    status = request.args.get("status") or None
    limit = page_size(request.args.get("limit"), default=PAGE)
    page = campaigns.list_campaigns(
        session(), status=status, before=request.args.get("before"), limit=limit
    )
    counts = campaigns.counts_by_campaign(session(), [c.id for c in page])
    return render_template(
        "admin/campaigns.html",
        page=page,
        counts=counts,
        status=status,
        statuses=list(CampaignStatus),
        next_before=page[-1].id if len(page) == limit else None,
    )


@bp.get("/new")
def new() -> ResponseReturnValue:
    chosen = request.args.get("article", "")
    tracking = "on" if _settings().tracking else "off"
    form: dict[str, Any] = {"article_id": chosen, "subject": "", "preheader": None,
                            "newsletters": [], "segment": "", "tracking": tracking}  # fmt: skip
    return _new_form(form, {})


@bp.post("")
def create() -> ResponseReturnValue:
    audience, chosen = campaign_audience.posted()
    form = {**posted(("article_id", "subject", "preheader", "tracking")), **chosen}
    typed = form["article_id"]  # a number (as ASCII digits: "²".isdigit() too) is an id
    article_id = int(typed) if typed.isascii() and typed.isdigit() else typed
    try:
        campaign = campaigns.create_campaign(
            session(),
            article_id,
            form["subject"] or None,
            preheader=form["preheader"],
            audience=audience,
            tracking=_tracking(form["tracking"]),
        )
    except ValidationError as exc:
        return _new_form(form, campaign_audience.field_errors(exc.fields)), 422
    flash("Draft saved. Check the preview and the checks, send yourself a test, then send.")
    return redirect(url_for("admin.campaigns.show", campaign_id=campaign.id), 303)


def _tracking(chosen: str) -> object:
    """The form's on/off as a boolean; not offered (TRACKING=off): the setting's default;
    anything else as it came, for the service to refuse naming the field."""
    if not chosen:
        return _settings().tracking
    return {"on": True, "off": False}.get(chosen, chosen)


@bp.get("/audience-count")
def audience_count() -> ResponseReturnValue:
    """How many readers `?newsletters=<slug>&...&segment=<name>` hold now, for the forms'
    script; 422 naming the field at fault."""
    chosen = request.args.getlist("newsletters")
    audience = campaigns.audience_from_form(chosen, request.args.get("segment", ""))
    try:
        n = campaigns.count_audience(session(), audience)
    except ValidationError as exc:
        return jsonify(errors=campaign_audience.field_errors(exc.fields)), 422
    return jsonify(
        count=n, text=f"Goes to {n:,} reader{'' if n == 1 else 's'} as chosen, counted now."
    )


def _new_form(form: dict[str, Any], errors: dict[str, str]) -> str:
    choices = campaigns.article_choices(session(), form["article_id"])
    chosen = next((a for a in choices if str(a.id) == str(form["article_id"])), None)
    if chosen is not None and not form["subject"] and form["preheader"] is None:
        form = {**form, "subject": chosen.title, "preheader": chosen.dek}
    return render_template(
        "admin/campaign_new.html",
        form={**form, "preheader": form["preheader"] or ""},
        errors=errors,
        articles=choices,
        aud=campaign_audience.offered(session(), form),
    )


@bp.get("/<int:campaign_id>")
def show(campaign_id: int) -> ResponseReturnValue:
    return _page(campaign_id)


def _page(
    campaign_id: int, errors: dict[str, str] | None = None, form: dict[str, Any] | None = None
) -> str:
    db, settings = session(), _settings()
    campaign = campaigns.get_campaign(db, campaign_id)
    shown: dict[str, Any] = {"subject": campaign.subject, "preheader": campaign.preheader}
    aud = None
    if campaign.status in campaigns.STARTABLE and campaign_audience.editable(campaign):
        shown |= campaign_audience.form_of(db, campaign)
        if current_user.can(Right.EDIT):
            aud = campaign_audience.offered(db, {**shown, **(form or {})})
    campaigns.prepare(db, campaign, settings)
    parts = message_parts(preview_message(campaign, settings))
    startable = campaign.status in campaigns.STARTABLE
    counts = campaigns.delivery_counts(db, campaign_id)
    live = {} if startable else campaign_live.live_parts(db, campaign, counts, settings)
    if not startable:  # unsubscribes and complaints need no tracking; opens and clicks do
        figures = engagement_parts if campaign.tracking and settings.tracking else lost_parts
        live |= figures(db, campaign, counts)
    return render_template(
        "admin/campaign.html",
        **live,
        fragment_names=campaign_live.FRAGMENTS,
        campaign=campaign,
        counts=counts,
        timing=_timing(campaign, counts["sent"]),
        counted_at=counted_at(campaign),
        audience_size=campaigns.readers_now(db, campaign) if startable else None,
        audience_words=campaign_audience.in_words(db, campaign) if startable else "",
        aud=aud,
        parts=parts,
        checks=campaign_checks(campaign, settings),
        controls=CONTROLS,
        errors=errors or {},
        form={**shown, **(form or {})},
        can_edit=current_user.can(Right.EDIT),
        can_pause=current_user.can(Right.PAUSE),
    )


@bp.post("/<int:campaign_id>/edit")
def edit(campaign_id: int) -> ResponseReturnValue:
    """The draft's subject, preheader and, when the form carries it, audience."""
    form: dict[str, Any] = posted(("subject", "preheader"))
    audience = campaigns.KEEP
    if request.form.get(campaign_audience.MARKER) == "yes":
        audience, chosen = campaign_audience.posted()
        form |= chosen
    try:
        campaigns.update_draft(
            session(), campaign_id, subject=form["subject"], preheader=form["preheader"],
            audience=audience,
        )  # fmt: skip
    except ValidationError as exc:
        return _page(campaign_id, campaign_audience.field_errors(exc.fields), form), 422
    except Conflict:
        return _refused(campaign_id)
    flash("Saved. The preview below shows the new subject, preheader and sender.", "success")
    return redirect(url_for("admin.campaigns.show", campaign_id=campaign_id), 303)


@bp.get("/<int:campaign_id>/preview.html")
def preview_html(campaign_id: int) -> ResponseReturnValue:
    """The HTML part a sample reader gets, for the page's frames; `?scheme=dark` shows it as
    a mail client in dark mode does. Links open in a new tab; scripts never run."""
    campaign = campaigns.get_campaign(session(), campaign_id)
    campaigns.prepare(session(), campaign, _settings())
    html = message_parts(preview_message(campaign, _settings())).html
    html = in_colour_scheme(html, request.args.get("scheme", "light"))
    html = html.replace("<head>", '<head><base target="_blank">', 1)
    answer = Response(html, mimetype="text/html")
    answer.headers["Content-Security-Policy"] = (
        "sandbox allow-popups allow-popups-to-escape-sandbox; default-src 'none'; "
        "img-src * data:; style-src 'unsafe-inline'"
    )
    return answer


@bp.get("/<int:campaign_id>/preview.eml")
def preview_eml(campaign_id: int) -> ResponseReturnValue:
    """The whole message, as the relay would receive it, to open in a mail program."""
    campaign = campaigns.get_campaign(session(), campaign_id)
    campaigns.prepare(session(), campaign, _settings())
    answer = Response(preview_message(campaign, _settings()), mimetype="message/rfc822")
    answer.headers["Content-Disposition"] = f'attachment; filename="campaign-{campaign_id}.eml"'
    return answer


@bp.get("/<int:campaign_id>/progress")
def progress(campaign_id: int) -> ResponseReturnValue:
    """The campaign's state and counts, polled by the page while it sends, with its live
    parts as HTML to swap in (`fragments`; `?fragments=0` leaves them out)."""
    campaign = campaigns.get_campaign(session(), campaign_id)
    counts = campaigns.delivery_counts(session(), campaign_id)
    kept_at = counted_at(campaign)
    parts = {}
    if request.args.get("fragments") != "0" and campaign.status not in campaigns.STARTABLE:
        live = campaign_live.live_parts(session(), campaign, counts, _settings())
        parts = campaign_live.fragments(campaign, live)
    return jsonify(
        fragments=parts,
        status=campaign.status.value,
        pause_reason=campaign.pause_reason,
        counts=counts,
        done=counts["total"] - counts["queued"] - counts["sending"],
        counted_at=None if kept_at is None else kept_at.isoformat(),
        finished=_timing(campaign, counts["sent"]),
    )


@bp.post("/<int:campaign_id>/test")
def test(campaign_id: int) -> ResponseReturnValue:
    form = posted(("addresses",))
    try:
        addresses = campaigns.recipients_for_test(form["addresses"])
    except ValidationError as exc:
        return _page(campaign_id, exc.fields, form), 422
    wait = TEST_MESSAGES.spend(str(current_user.user_id), len(addresses))
    if wait:
        (allowed,) = TEST_MESSAGES.items
        limit = f"{allowed.amount} test messages per {allowed.get_expiry() // 60} minutes"
        error = (
            f"you have sent the most test messages allowed ({limit}); "
            f"try again in {wait_in_words(wait)}"
        )
        page, status = _page(campaign_id, {"addresses": error}, form), 429
        return page, status, {"Retry-After": str(wait)}
    campaigns.get_campaign(session(), campaign_id)
    enqueue.copies_for_test(campaign_id, addresses, current_user.email)
    flash(f"Test on its way to {', '.join(addresses)}. Its result shows below in a moment.")
    return redirect(url_for("admin.campaigns.show", campaign_id=campaign_id, _anchor="test"), 303)


@bp.post("/<int:campaign_id>/check-links")
def check_links(campaign_id: int) -> ResponseReturnValue:
    """Have the worker try every link of the message (HEAD, a short timeout)."""
    campaigns.get_campaign(session(), campaign_id)
    enqueue.link_check(campaign_id)
    flash(
        "Checking the links; reload the page in a few seconds (a minute at most) to see what "
        "they answered."
    )
    return redirect(url_for("admin.campaigns.show", campaign_id=campaign_id, _anchor="checks"), 303)


@bp.post("/<int:campaign_id>/send")
def send(campaign_id: int) -> ResponseReturnValue:
    campaign = campaigns.get_campaign(session(), campaign_id)
    size = campaigns.readers_now(session(), campaign)
    answer = confirmed(
        f"Send “{campaign.subject}” now?",
        f"It goes to {_readers(size)} ({campaign_audience.in_words(session(), campaign)}), "
        "starting at once. You can pause or cancel it while it sends, but not unsend it.",
        f"Send to {_readers(size)}",
        back=url_for("admin.campaigns.show", campaign_id=campaign_id),
        acknowledge=_failed_checks(campaign),
    )
    if answer is not None:
        return answer
    try:
        campaigns.start_send(session(), campaign_id)
    except Conflict:
        return _refused(campaign_id)
    enqueue.campaign_start(campaign_id)
    flash(f"Sending to {_readers(size)}. Progress shows below as it goes.", "success")
    return _back(campaign_id)


@bp.post("/<int:campaign_id>/schedule")
def schedule(campaign_id: int) -> ResponseReturnValue:
    form = posted(("local_time", "timezone"))
    zone = zone_named(form["timezone"])
    try:
        at = local_to_utc(form["local_time"], zone, "local_time")
        campaigns.check_future(at, "local_time")
    except ValidationError as exc:
        return _page(campaign_id, exc.fields, form), 422
    campaign = campaigns.get_campaign(session(), campaign_id)
    size = campaigns.readers_now(session(), campaign)
    local = at.astimezone(zone).strftime("%A %-d %B %Y at %H:%M")
    answer = confirmed(
        f"Schedule “{campaign.subject}”?",
        f"It will go to {_readers(size)} on {local} ({zone.key}), "
        f"{at.strftime('%H:%M')} UTC. Until then you can change the time, send it at once or "
        "take it back to draft.",
        "Schedule it",
        back=url_for("admin.campaigns.show", campaign_id=campaign_id),
        danger=False,
        acknowledge=_failed_checks(campaign),
    )
    if answer is not None:
        return answer
    try:
        campaigns.schedule(session(), campaign_id, at.isoformat())
    except ValidationError as exc:
        return _page(campaign_id, {"local_time": exc.fields.get("at", str(exc))}, form), 422
    except Conflict:
        return _refused(campaign_id)
    flash(f"Scheduled for {local} ({zone.key}).", "success")
    return _back(campaign_id)


def _control(
    name: str,
    question: str,
    consequence: Callable[[dict[str, int]], str],
    action: str,
    danger: bool = True,
) -> None:
    """A control that asks first, then changes the campaign's state (see CONTROLS)."""

    def view(campaign_id: int) -> ResponseReturnValue:
        campaign = campaigns.get_campaign(session(), campaign_id)
        counts = campaigns.delivery_counts(session(), campaign_id)
        answer = confirmed(
            question.format(subject=campaign.subject),
            consequence(counts),
            action,
            back=url_for("admin.campaigns.show", campaign_id=campaign_id),
            danger=danger,
        )
        if answer is not None:
            return answer
        try:
            message = ACTIONS[name](campaign_id, counts)
        except Conflict:
            return _refused(campaign_id)
        flash(message, "success")
        return _back(campaign_id)

    view.__name__ = name.replace("-", "_")
    bp.post(f"/<int:campaign_id>/{name}")(view)


def _unschedule(campaign_id: int, counts: dict[str, int]) -> str:
    campaigns.unschedule(session(), campaign_id)
    return "Back to draft: it will not be sent until you send or schedule it again."


def _pause(campaign_id: int, counts: dict[str, int]) -> str:
    campaigns.pause(session(), campaign_id, f"paused by {current_user.email}")
    return "Paused. Messages in flight finish; the rest wait until you resume."


def _resume(campaign_id: int, counts: dict[str, int]) -> str:
    campaigns.resume(session(), campaign_id)
    enqueue.campaign_batches(campaign_id)
    return f"Resumed: {_readers(counts['queued'])} still to go."


def _cancel(campaign_id: int, counts: dict[str, int]) -> str:
    campaigns.cancel(session(), campaign_id)
    return "Cancelled. Nobody else will get it; those who did keep their copy."


def _retry_failed(campaign_id: int, counts: dict[str, int]) -> str:
    queued = campaigns.retry_failed(session(), campaign_id)
    if queued:
        enqueue.campaign_batches(campaign_id)
    return f"{_readers(queued)} queued again." if queued else "No failed deliveries to retry."


ACTIONS = {
    "unschedule": _unschedule,
    "pause": _pause,
    "resume": _resume,
    "cancel": _cancel,
    "retry-failed": _retry_failed,
}
_control(
    "unschedule",
    "Take “{subject}” back to draft?",
    lambda c: "It will not be sent at its scheduled time. You can schedule or send it later.",
    "Take it back to draft",
    danger=False,
)
_control(
    "pause",
    "Pause “{subject}”?",
    lambda c: (
        f"{_readers(c['queued'] + c['sending'])} still to go wait until it is resumed. "
        "Nobody is skipped or mailed twice."
    ),
    "Pause the send",
    danger=False,
)
_control(
    "resume",
    "Resume “{subject}”?",
    lambda c: f"Sending starts again for the {_readers(c['queued'])} still to go.",
    "Resume the send",
    danger=False,
)
_control(
    "cancel",
    "Cancel “{subject}”?",
    lambda c: (
        f"Nobody else gets it: {_readers(c['queued'] + c['sending'])} not reached yet will "
        "never be. This cannot be undone."
        if c["total"]
        else "It will never be sent. This cannot be undone."
    ),
    "Cancel the campaign",
)
_control(
    "retry-failed",
    "Retry the failed deliveries of “{subject}”?",
    lambda c: (
        f"The {_readers(c['failed'])} whose delivery failed get another try; readers who "
        "left meanwhile are skipped. Nobody who got it is mailed again."
    ),
    "Retry them",
    danger=False,
)


def _timing(campaign: Campaign, sent: int) -> dict[str, str | None] | None:
    """For a campaign that has ended (sent or cancelled): when, how long it took from its
    start (pauses included) and the average pace of the messages sent; None before."""
    if campaign.finished_at is None:
        return None
    took = None
    if campaign.started_at is not None:
        took = (campaign.finished_at - campaign.started_at).total_seconds()
    return {
        "at": campaign.finished_at.isoformat(),
        "took": None if took is None else duration(took),
        "pace": None if took is None or not sent else pace(sent, took),
    }


def _failed_checks(campaign: Campaign) -> str | None:
    """What must be acknowledged before sending despite failed checks (None: none failed)."""
    campaigns.prepare(session(), campaign, _settings())
    failed = [c.title for c in campaign_checks(campaign, _settings()) if c.level == "fail"]
    if not failed:
        return None
    return f"Send it although {len(failed)} check{'s' if len(failed) > 1 else ''} failed: " + (
        ", ".join(failed) + "."
    )


def _refused(campaign_id: int) -> ResponseReturnValue:
    """A change the campaign's state no longer allows: a double click, a form sent again,
    another tab or another editor got there first. Said plainly; nothing was changed."""
    status = campaigns.get_campaign(session(), campaign_id).status.value
    flash(
        f"Nothing changed: this campaign is {status} now, so that is no longer possible "
        "(perhaps it was done from another tab, or the button was pressed twice).",
        "warning",
    )
    return _back(campaign_id)


def _back(campaign_id: int) -> ResponseReturnValue:
    return redirect(url_for("admin.campaigns.show", campaign_id=campaign_id), 303)


def _readers(count: int) -> str:
    return f"{count:,} reader{'' if count == 1 else 's'}"

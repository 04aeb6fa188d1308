"""The API's routes under /api/v1, authenticated with `Authorization: Bearer <token>`."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from broadsheet.access import Right
from broadsheet.errors import NotFound, ValidationError
from broadsheet.mail import preview
from broadsheet.models import Campaign, EventSource, MembershipStatus, Role, Subscriber
from broadsheet.services import (
    api_tokens,
    articles,
    campaigns,
    engagement,
    erasure,
    newsletters,
    profiles,
    readers,
    subscriptions,
)
from broadsheet.services.paging import page_size
from broadsheet.settings import Settings
from web import enqueue
from web.access import guard
from web.api.serializers import (
    article_json,
    campaign_json,
    checks_json,
    reader_row_json,
    subscriber_json,
)
from web.db import session
from web.extensions import redis_client
from web.nul import fields_with_nul
from worker.rates import current_rates

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _token_role() -> Role:
    """The caller's token's role; 401 without a valid bearer token."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    row = api_tokens.authenticate(session(), token.strip()) if scheme.lower() == "bearer" else None
    if row is None:
        abort(401, description="a valid 'Authorization: Bearer <token>' header is required")
    g.api_token = row
    return row.role


# Reading takes any token; changes take an editor's or admin's; an operator's may pause.
guard(bp, _token_role, rights={"pause_campaign": Right.PAUSE})


def _body() -> dict[str, Any]:
    """The request's JSON object; ValidationError on `body` saying what is wrong with it."""
    if not request.is_json:
        raise ValidationError({"body": "must be a JSON object (Content-Type: application/json)"})
    try:
        data = current_app.json.loads(request.get_data())
    except ValueError as exc:  # UnicodeDecodeError included
        raise ValidationError({"body": f"is not valid JSON: {exc}"}) from None
    if not isinstance(data, dict):
        raise ValidationError({"body": "must be a JSON object"})
    if fields := fields_with_nul(data):
        raise ValidationError({name: "must not hold a NUL character" for name in fields})
    return data


@bp.post("/subscribers")
def create_subscriber() -> ResponseReturnValue:
    data = _body()
    subscriber = subscriptions.create_subscriber(
        session(),
        data.get("email"),
        data.get("name"),
        status=data.get("status", "pending"),
        source=EventSource.API,
        newsletters_chosen=data.get("newsletters"),
        tags=data.get("tags"),
        attributes=data.get("attributes"),
        secret=_settings().secret_key,
    )
    if subscriber.status == "pending":
        enqueue.confirmation(subscriber.id)
    return jsonify(_subscriber(subscriber)), 201


PROFILE_FIELDS = ("name", "tags", "attributes", "newsletters")


@bp.patch("/subscribers/<int:subscriber_id>")
def update_subscriber(subscriber_id: int) -> ResponseReturnValue:
    """Change a reader's `name`, `tags`, `attributes` (each replaced whole) or `newsletters`
    (subscribed to exactly those); fields left out stay as they are."""
    data = _body()
    unknown = sorted(set(data) - set(PROFILE_FIELDS))
    if unknown:
        raise ValidationError({name: "cannot be changed here" for name in unknown})
    subscriber = subscriptions.update_profile(
        session(),
        subscriber_id,
        name=data.get("name"),
        tags=data.get("tags"),
        attributes=data.get("attributes"),
        newsletters_chosen=data.get("newsletters"),
    )
    return jsonify(_subscriber(subscriber))


@bp.delete("/subscribers/<int:subscriber_id>")
def erase_subscriber(subscriber_id: int) -> ResponseReturnValue:
    """Erase the reader at their request (broadsheet.services.erasure): 204, and again 204."""
    erasure.erase(
        session(), subscriber_id, _settings().secret_key, actor=f"API token {g.api_token.name}"
    )
    return "", 204


@bp.get("/subscribers/<int:subscriber_id>/export")
def export_subscriber(subscriber_id: int) -> ResponseReturnValue:
    """Everything kept about the reader, as JSON (their request under GDPR article 15)."""
    return jsonify(erasure.export(session(), subscriber_id))


@bp.get("/subscribers/<int:subscriber_id>")
def get_subscriber(subscriber_id: int) -> ResponseReturnValue:
    return jsonify(_subscriber(subscriptions.get_subscriber(session(), subscriber_id)))


def _subscriber(subscriber: Subscriber) -> dict[str, object]:
    """A reader as JSON with their tags and the newsletters they are subscribed to."""
    joined = newsletters.memberships(session(), subscriber.id)
    subscribed = [n.slug for n, m in joined if m.status == MembershipStatus.SUBSCRIBED]
    return subscriber_json(subscriber, profiles.tags_of(session(), subscriber.id), subscribed)


@bp.get("/subscribers")
def find_subscribers() -> ResponseReturnValue:
    """`?email=` one reader (404 if none); else readers newest first, 50 a page (`?limit=` up
    to 200), filtered by `?status=`, `?newsletter=<slug>`, `?tag=` and `?q=` (the start of
    an address or name); `next_before` is the `?before=` of the next page."""
    args = request.args
    email = args.get("email")
    if email is not None:
        if not email.strip():
            raise ValidationError({"email": "give ?email=<address> to look a subscriber up"})
        subscriber = subscriptions.find_subscriber(session(), email)
        if subscriber is None:
            raise NotFound("no subscriber with that address")
        return jsonify(_subscriber(subscriber))
    newsletter_id = None
    if args.get("newsletter"):
        newsletter_id = newsletters.by_slugs(session(), [args["newsletter"]], "newsletter")[0].id
    tag = profiles.check_tags([args["tag"]], "tag")[0] if args.get("tag") else None
    limit = page_size(args.get("limit"))
    page = readers.list_subscribers(
        session(),
        args.get("q"),
        args.get("status"),
        args.get("before"),
        limit,
        newsletter_id=newsletter_id,
        tag=tag,
    )
    listed = [reader_row_json(row) for row in page.rows]
    return jsonify({"subscribers": listed, "next_before": page.next_before})


@bp.post("/articles")
def create_article() -> ResponseReturnValue:
    data = _body()
    article = articles.create_article(
        session(),
        title=data.get("title"),
        body_markdown=data.get("body_markdown"),
        dek=data.get("dek", ""),
        author=data.get("author", ""),
        url=data.get("url"),
        published_at=data.get("published_at"),
    )
    return jsonify(article_json(article)), 201


def _campaign(campaign: Campaign) -> dict[str, object]:
    """A campaign as JSON, its deliveries and engagement counted as of now."""
    return _campaigns([campaign])[0]


def _campaigns(page: list[Campaign]) -> list[dict[str, object]]:
    """Campaigns as JSON: the same few queries for one campaign as for a page of them."""
    ids = [c.id for c in page]
    counts = campaigns.counts_by_campaign(session(), ids)
    engaged = engagement.engagement_counts(session(), ids)
    return [campaign_json(c, {**counts[c.id], **engaged[c.id]}) for c in page]


@bp.get("/campaigns")
def list_campaigns() -> ResponseReturnValue:
    """Newest first; `?status=draft` filters, `?before=<id>` continues after a page."""
    limit = page_size(request.args.get("limit"))
    page = campaigns.list_campaigns(
        session(),
        status=request.args.get("status"),
        before=request.args.get("before"),
        limit=limit,
    )
    body: dict[str, object] = {"campaigns": _campaigns(page)}
    body["next_before"] = page[-1].id if len(page) == limit else None
    return jsonify(body)


@bp.post("/campaigns")
def create_campaign() -> ResponseReturnValue:
    data = _body()
    campaign = campaigns.create_campaign(
        session(),
        data.get("article_id"),
        data.get("subject"),
        preheader=data.get("preheader"),
        audience=data.get("audience", "everyone"),
        tracking=data.get("tracking", _settings().tracking),
    )
    return jsonify(_campaign(campaign)), 201


@bp.patch("/campaigns/<int:campaign_id>")
def update_campaign(campaign_id: int) -> ResponseReturnValue:
    """Change a draft's or scheduled campaign's `subject`, `preheader` or `tracking`; fields
    left out stay as they are."""
    data = _body()
    unknown = sorted(set(data) - {"subject", "preheader", "tracking"})
    if unknown:
        raise ValidationError({name: "cannot be changed here" for name in unknown})
    campaign = campaigns.get_campaign(session(), campaign_id)
    if "subject" in data or "preheader" in data:
        campaign = campaigns.update_draft(
            session(),
            campaign_id,
            subject=data.get("subject", campaign.subject),
            preheader=data.get("preheader", campaign.preheader),
        )
    if "tracking" in data:
        campaign = campaigns.set_tracking(session(), campaign_id, data["tracking"])
    return jsonify(_campaign(campaign))


@bp.get("/campaigns/<int:campaign_id>")
def get_campaign(campaign_id: int) -> ResponseReturnValue:
    return jsonify(_campaign(campaigns.get_campaign(session(), campaign_id)))


def _settings() -> Settings:
    settings: Settings = current_app.config["BROADSHEET"]
    return settings


@bp.get("/campaigns/<int:campaign_id>/checks")
def campaign_checks(campaign_id: int) -> ResponseReturnValue:
    """The pre-send checks, as the admin shows them before the send button."""
    settings = _settings()
    campaign = campaigns.get_campaign(session(), campaign_id)
    campaigns.prepare(session(), campaign, settings)
    checks = preview.campaign_checks(campaign, settings)
    return jsonify(checks_json(checks, campaign.link_report))


@bp.post("/campaigns/<int:campaign_id>/send")
def send_campaign(campaign_id: int) -> ResponseReturnValue:
    campaign = campaigns.start_send(session(), campaign_id)
    enqueue.campaign_start(campaign.id)
    return jsonify(_campaign(campaign)), 202


@bp.post("/campaigns/<int:campaign_id>/schedule")
def schedule_campaign(campaign_id: int) -> ResponseReturnValue:
    campaign = campaigns.schedule(session(), campaign_id, _body().get("at"))
    return jsonify(_campaign(campaign))


@bp.post("/campaigns/<int:campaign_id>/unschedule")
def unschedule_campaign(campaign_id: int) -> ResponseReturnValue:
    return jsonify(_campaign(campaigns.unschedule(session(), campaign_id)))


@bp.post("/campaigns/<int:campaign_id>/pause")
def pause_campaign(campaign_id: int) -> ResponseReturnValue:
    return jsonify(_campaign(campaigns.pause(session(), campaign_id)))


@bp.post("/campaigns/<int:campaign_id>/resume")
def resume_campaign(campaign_id: int) -> ResponseReturnValue:
    campaign = campaigns.resume(session(), campaign_id)
    enqueue.campaign_batches(campaign.id)
    return jsonify(_campaign(campaign)), 202


@bp.post("/campaigns/<int:campaign_id>/cancel")
def cancel_campaign(campaign_id: int) -> ResponseReturnValue:
    return jsonify(_campaign(campaigns.cancel(session(), campaign_id)))


@bp.post("/campaigns/<int:campaign_id>/retry-failed")
def retry_failed(campaign_id: int) -> ResponseReturnValue:
    queued = campaigns.retry_failed(session(), campaign_id)
    if queued:
        enqueue.campaign_batches(campaign_id)
    body = _campaign(campaigns.get_campaign(session(), campaign_id))
    return jsonify({**body, "requeued": queued}), 202


@bp.get("/rates")
def rates() -> ResponseReturnValue:
    """The send limits in force now: configured and effective (after backoff) rates."""
    return jsonify(current_rates(redis_client(), current_app.config["BROADSHEET"]))

"""JSON API under /api/v1, authenticated with `Authorization: Bearer <token>`."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, Flask, abort, current_app, g, jsonify, request

from broadsheet.errors import NotFound, ValidationError
from broadsheet.models import Article, Campaign, Subscriber
from broadsheet.services import api_tokens, articles, campaigns, subscriptions
from web import enqueue
from web.db import session
from web.extensions import csrf
from worker.rates import current_rates

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def init_app(app: Flask) -> None:
    csrf.exempt(bp)  # bearer tokens, not cookies: cross-site requests cannot ride on them
    app.register_blueprint(bp)


@bp.before_request
def _authenticate() -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    row = api_tokens.authenticate(session(), token.strip()) if scheme.lower() == "bearer" else None
    if row is None:
        abort(401, description="a valid 'Authorization: Bearer <token>' header is required")
    g.api_token = row


def _body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError({"body": "must be a JSON object (Content-Type: application/json)"})
    return data


@bp.post("/subscribers")
def create_subscriber():  # type: ignore[no-untyped-def]
    data = _body()
    subscriber = subscriptions.create_subscriber(
        session(),
        data.get("email"),
        data.get("name"),
        status=data.get("status", "pending"),
        source="api",
    )
    if subscriber.status == "pending":
        enqueue.confirmation(subscriber.id)
    return jsonify(subscriber_json(subscriber)), 201


@bp.get("/subscribers/<int:subscriber_id>")
def get_subscriber(subscriber_id: int):  # type: ignore[no-untyped-def]
    return jsonify(subscriber_json(subscriptions.get_subscriber(session(), subscriber_id)))


@bp.get("/subscribers")
def find_subscriber():  # type: ignore[no-untyped-def]
    email = request.args.get("email")
    if not email:
        raise ValidationError({"email": "give ?email=<address> to look a subscriber up"})
    subscriber = subscriptions.find_subscriber(session(), email)
    if subscriber is None:
        raise NotFound("no subscriber with that address")
    return jsonify(subscriber_json(subscriber))


@bp.post("/articles")
def create_article():  # type: ignore[no-untyped-def]
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


@bp.post("/campaigns")
def create_campaign():  # type: ignore[no-untyped-def]
    data = _body()
    campaign = campaigns.create_campaign(session(), data.get("article_id"), data.get("subject"))
    return jsonify(campaign_json(campaign)), 201


@bp.get("/campaigns/<int:campaign_id>")
def get_campaign(campaign_id: int):  # type: ignore[no-untyped-def]
    return jsonify(campaign_json(campaigns.get_campaign(session(), campaign_id)))


@bp.post("/campaigns/<int:campaign_id>/send")
def send_campaign(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = campaigns.start_send(session(), campaign_id)
    enqueue.campaign_start(campaign.id)
    return jsonify(campaign_json(campaign)), 202


@bp.post("/campaigns/<int:campaign_id>/schedule")
def schedule_campaign(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = campaigns.schedule(session(), campaign_id, _body().get("at"))
    return jsonify(campaign_json(campaign))


@bp.post("/campaigns/<int:campaign_id>/unschedule")
def unschedule_campaign(campaign_id: int):  # type: ignore[no-untyped-def]
    return jsonify(campaign_json(campaigns.unschedule(session(), campaign_id)))


@bp.post("/campaigns/<int:campaign_id>/pause")
def pause_campaign(campaign_id: int):  # type: ignore[no-untyped-def]
    return jsonify(campaign_json(campaigns.pause(session(), campaign_id)))


@bp.post("/campaigns/<int:campaign_id>/resume")
def resume_campaign(campaign_id: int):  # type: ignore[no-untyped-def]
    campaign = campaigns.resume(session(), campaign_id)
    enqueue.campaign_batches(campaign.id)
    return jsonify(campaign_json(campaign)), 202


@bp.post("/campaigns/<int:campaign_id>/cancel")
def cancel_campaign(campaign_id: int):  # type: ignore[no-untyped-def]
    return jsonify(campaign_json(campaigns.cancel(session(), campaign_id)))


@bp.post("/campaigns/<int:campaign_id>/retry-failed")
def retry_failed(campaign_id: int):  # type: ignore[no-untyped-def]
    queued = campaigns.retry_failed(session(), campaign_id)
    if queued:
        enqueue.campaign_batches(campaign_id)
    body = campaign_json(campaigns.get_campaign(session(), campaign_id))
    return jsonify({**body, "requeued": queued}), 202


@bp.get("/rates")
def rates():  # type: ignore[no-untyped-def]
    """The send limits in force now: configured and effective (after backoff) rates."""
    try:
        return jsonify(current_rates(current_app.config["BROADSHEET"]))
    except redis.RedisError as exc:
        return jsonify({"error": f"the rate store (Redis) cannot be reached: {exc}"}), 503


def _iso(value) -> str | None:  # type: ignore[no-untyped-def]
    return value.isoformat() if value is not None else None


def subscriber_json(s: Subscriber) -> dict[str, Any]:
    return {
        "id": s.id,
        "email": s.email,
        "name": s.name,
        "status": s.status.value,
        "source": s.source,
        "created_at": _iso(s.created_at),
        "confirmed_at": _iso(s.confirmed_at),
        "unsubscribed_at": _iso(s.unsubscribed_at),
    }


def article_json(a: Article) -> dict[str, Any]:
    return {
        "id": a.id,
        "slug": a.slug,
        "title": a.title,
        "dek": a.dek,
        "author": a.author,
        "url": a.canonical_url,
        "reading_minutes": a.reading_minutes,
        "published_at": _iso(a.published_at),
    }


def campaign_json(c: Campaign) -> dict[str, Any]:
    return {
        "id": c.id,
        "article_id": c.article_id,
        "subject": c.subject,
        "status": c.status.value,
        "pause_reason": c.pause_reason,
        "counts": campaigns.delivery_counts(session(), c.id),
        "created_at": _iso(c.created_at),
        "scheduled_at": _iso(c.scheduled_at),
        "started_at": _iso(c.started_at),
        "finished_at": _iso(c.finished_at),
    }

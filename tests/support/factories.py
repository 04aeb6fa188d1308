"""Builders for test data, shared by every test module: readers in bulk, articles, campaigns."""

from __future__ import annotations

from datetime import timedelta

import redis
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from broadsheet.mail.preview import preview_message
from broadsheet.models import Article, Campaign, Delivery, Subscriber, User, utcnow
from broadsheet.services import outbox_queue
from broadsheet.services.articles import create_article
from broadsheet.services.campaigns import (
    cancel,
    create_campaign,
    pause,
    prepare,
    schedule,
    start_send,
)
from broadsheet.services.ledger import complete_if_done, plan_deliveries
from broadsheet.services.subscriptions import create_subscriber, request_subscription
from broadsheet.services.users import create_user
from broadsheet.settings import Settings
from worker.tasks import wake_sweep

PASSWORD = "correct horse battery"


def add_readers(
    session: Session, count: int, prefix: str = "reader", domain: str = "example.org"
) -> None:
    """`count` active readers `<prefix><n>@<domain>` named "Reader <n>", committed."""
    session.execute(
        insert(Subscriber),
        [
            {"email": f"{prefix}{n}@{domain}", "email_key": f"{prefix}{n}@{domain}",
             "name": f"Reader {n}", "status": "active"}
            for n in range(count)
        ],
    )  # fmt: skip
    session.commit()


def make_article(session: Session, title: str = "Rate of Change", **fields: object) -> Article:
    """An article through the real service (validated, rendered); not committed."""
    fields.setdefault("body_markdown", "Steady on.")
    return create_article(session, title=title, **fields)


def make_campaign(session: Session, title: str = "Rate of Change", **fields: object) -> Campaign:
    """A draft campaign for a new article; not committed."""
    article = make_article(session, title, **fields)
    return create_campaign(session, article.id)


def campaign_in(session: Session, status: str, title: str = "Rate of Change") -> Campaign:
    """A campaign brought to `status` through the services, as the admin and the worker
    would, committed: `sending` and later ones planned for the active readers, `sent` with
    every delivery sent (as a worker that finished would leave it)."""
    campaign = make_campaign(session, title)
    if status == "scheduled":
        schedule(session, campaign.id, (utcnow() + timedelta(days=1)).isoformat())
    elif status != "draft":
        start_send(session, campaign.id)
        plan_deliveries(session, campaign)
    if status == "paused":
        pause(session, campaign.id, "paused by operator@example.org")
    elif status == "cancelled":
        cancel(session, campaign.id)
    elif status == "sent":
        session.execute(
            update(Delivery)
            .where(Delivery.campaign_id == campaign.id)
            .values(status="sent", sent_at=utcnow())
        )
        complete_if_done(session, campaign.id)
    session.commit()
    session.refresh(campaign)
    return campaign


def sample_message(session: Session, campaign: Campaign, settings: Settings) -> bytes:
    """The message the preview's sample reader gets for `campaign`, rendered first
    (campaigns.prepare): the bytes the admin previews and the worker sends."""
    prepare(session, campaign, settings)
    return preview_message(campaign, settings)


def start_campaign(session: Session) -> int:
    """A campaign moved to `sending`, committed, and its start task enqueued for the worker."""
    from worker.tasks import start_campaign as start_campaign_task

    campaign = make_campaign(session)
    start_send(session, campaign.id)
    session.commit()
    start_campaign_task.delay(campaign.id)
    return campaign.id


def make_user(session: Session, role: str = "editor", email: str | None = None) -> User:
    """An account with PASSWORD, committed (the web app signs in on its own connection)."""
    user = create_user(session, email or f"{role}@example.org", PASSWORD, role)
    session.commit()
    return user


def sign_up(session: Session, client: redis.Redis, email: str) -> int:
    """What the signup form does: the reader and their confirmation in one commit, then a
    sweep asked for. Returns the reader's id."""
    reader_id = request_subscription(session, email).subscriber_id
    outbox_queue.queue_confirmation(session, reader_id)
    session.commit()
    wake_sweep(client)
    return reader_id


def planned_campaign(db: Session, readers: int = 5) -> tuple[int, list[int]]:
    """A sending campaign planned for `readers` new active readers: its id and its delivery
    ids in order (not committed)."""
    for n in range(readers):
        create_subscriber(db, f"r{n}@example.org", status="active")
    article = create_article(db, title="Claims", body_markdown="x")
    campaign = start_send(db, create_campaign(db, article.id).id)
    plan_deliveries(db, campaign)
    ids = list(db.scalars(select(Delivery.id).order_by(Delivery.id)))
    return campaign.id, ids

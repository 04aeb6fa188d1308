"""A welcome owed through the outbox (broadsheet.services.outbox_queue): once ever, only
when a newsletter of the reader's sends one, and not sent to a reader who left since."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from broadsheet.models import OutboxKind, OutboxMessage, OutboxStatus
from broadsheet.services import newsletters, outbox_queue, subscriptions


def reader(db, joins: list[str]) -> int:
    return subscriptions.create_subscriber(
        db, f"{'-'.join(joins) or 'none'}@example.org", status="active", newsletters_chosen=joins
    ).id


def test_a_welcome_is_owed_once_and_only_by_a_newsletter_that_sends_one(db):
    newsletters.create_newsletter(db, "Mornings", welcome=True)
    newsletters.create_newsletter(db, "Quiet")
    welcomed, quiet = reader(db, ["mornings", "quiet"]), reader(db, ["quiet"])
    assert outbox_queue.queue_welcome(db, welcomed) is True
    assert outbox_queue.queue_welcome(db, welcomed) is False  # waiting already
    assert outbox_queue.queue_welcome(db, quiet) is False
    db.execute(
        OutboxMessage.__table__.update()
        .where(OutboxMessage.subscriber_id == welcomed)
        .values(status=OutboxStatus.SENT)
    )
    assert outbox_queue.queue_welcome(db, welcomed) is False  # sent once: never again
    kinds = db.scalars(select(OutboxMessage.kind).where(OutboxMessage.subscriber_id == welcomed))
    assert list(kinds) == [OutboxKind.WELCOME]


def test_the_sweep_holds_a_welcome_with_its_newsletters_or_fails_it_if_they_left(db):
    newsletters.create_newsletter(db, "Mornings", welcome=True)
    newsletters.create_newsletter(db, "Weekend", welcome=True)
    stays, leaves = reader(db, ["mornings", "weekend"]), reader(db, ["weekend"])
    for who in (stays, leaves):
        assert outbox_queue.queue_welcome(db, who)
    subscriptions.unsubscribe(db, leaves)
    held = outbox_queue.claim(db, "sweep-1", timedelta(seconds=30), limit=10)
    assert [(h.subscriber.id, h.newsletters) for h in held] == [(stays, ("Mornings", "Weekend"))]
    failed = db.scalar(select(OutboxMessage.status).where(OutboxMessage.subscriber_id == leaves))
    assert failed == OutboxStatus.FAILED

"""Every change of a reader's status is kept in their history, with what caused it and who."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from broadsheet.models import EventSource, SubscriberEvent
from broadsheet.services.subscriptions import (
    confirm,
    create_subscriber,
    request_subscription,
    unsubscribe,
)
from broadsheet.services.suppression import (
    SoftBounceLimit,
    bounce_if_soft_bounces_pile_up,
    mark_bounced,
    mark_complained,
)
from broadsheet.signing import make_unsubscribe_token


def history(db, subscriber_id: int) -> list[tuple[Any, ...]]:
    """(from, to, source, reason, actor) oldest first."""
    rows = db.scalars(
        select(SubscriberEvent)
        .where(SubscriberEvent.subscriber_id == subscriber_id)
        .order_by(SubscriberEvent.id)
    )
    return [
        (e.from_status and e.from_status.value, e.to_status.value, e.source.value, e.reason,
         e.actor)
        for e in rows
    ]  # fmt: skip


def test_a_readers_own_steps_are_recorded_from_signup_to_coming_back(db):
    outcome = request_subscription(db, "ann@example.org", "Ann")
    reader_id = outcome.subscriber_id
    confirm(db, reader_id, "ann@example.org")
    confirm(db, reader_id, "ann@example.org")  # a second click changes nothing
    unsubscribe(db, reader_id, source=EventSource.ONE_CLICK)
    unsubscribe(db, reader_id)
    request_subscription(db, "ann@example.org", "Ann")
    assert history(db, reader_id) == [
        (None, "pending", "signup", None, None),
        ("pending", "active", "confirm", None, None),
        ("active", "unsubscribed", "one-click", None, None),
        ("unsubscribed", "pending", "signup", None, None),
    ]


def test_an_import_starts_the_history_with_its_reason_and_actor(db):
    reader = create_subscriber(
        db, "bob@example.org", status="active", source=EventSource.ADMIN,
        reason="signed the paper form at the fair", actor="editor@example.org",
    )  # fmt: skip
    assert history(db, reader.id) == [
        (None, "active", "admin", "signed the paper form at the fair", "editor@example.org"),
    ]


def test_bounces_and_complaints_are_recorded_with_the_diagnostic(db):
    ann = create_subscriber(db, "ann@example.org", status="active")
    bob = create_subscriber(db, "bob@example.org", status="active")
    mark_bounced(db, ann.id, "550 5.1.1 no such user")
    mark_bounced(db, ann.id, "550 5.1.1 no such user")  # already bounced: no second event
    mark_complained(db, ann.id, "abuse report")
    assert bounce_if_soft_bounces_pile_up(db, bob.id, SoftBounceLimit(1, 30), "452") is False
    assert history(db, ann.id)[1:] == [
        ("active", "bounced", "bounce", "550 5.1.1 no such user", None),
        ("bounced", "complained", "complaint", "abuse report", None),
    ]
    assert len(history(db, bob.id)) == 1


def test_the_unsubscribe_page_and_a_mail_clients_one_click_are_told_apart(
    client, committed, settings
):
    ids = []
    for address in ("page@example.org", "click@example.org"):
        ids.append(create_subscriber(committed, address, status="active").id)
    committed.commit()
    page, click = (f"/unsubscribe/{make_unsubscribe_token(settings.secret_key, i)}" for i in ids)
    assert client.post(page, data={}).status_code == 200
    one_click = "List-Unsubscribe=One-Click"
    content = "application/x-www-form-urlencoded"
    assert client.post(click, data=one_click, content_type=content).status_code == 200
    try:
        assert [h[-1][2] for h in (history(committed, i) for i in ids)] == [
            "unsubscribe link", "one-click",
        ]  # fmt: skip
    finally:
        committed.rollback()

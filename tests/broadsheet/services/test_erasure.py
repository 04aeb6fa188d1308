"""Erasing a reader at their request (broadsheet.services.erasure): their personal data goes,
the campaigns' counts stay, the address comes back only by their own signup; and the export
of everything kept about one reader."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, insert, select, update

from broadsheet.errors import ValidationError
from broadsheet.imports.importing import import_subscribers
from broadsheet.models import (
    Delivery,
    Engagement,
    Erasure,
    SubscriberEvent,
    SubscriberStatus,
)
from broadsheet.services import erasure, newsletters, profiles, subscriptions
from tests.support.factories import campaign_in

SECRET = "erasure-test-secret"


def ann_with_history(db) -> tuple[int, int]:
    """Ann: in a newsletter, tagged, with attributes, a delivery with a relay's reply naming
    her, and an open; returns (her id, the campaign's)."""
    newsletters.create_newsletter(db, "Daily")
    ann = subscriptions.create_subscriber(
        db, "Ann@Example.org", "Ann Reader", status="active", tags=["donor"],
        attributes={"city": "Lyon"}, newsletters_chosen=["daily"], reason="met at the fair",
    )  # fmt: skip
    campaign = campaign_in(db, "sent", "Rate of Change")  # her delivery planned with it
    db.execute(
        update(Delivery)
        .where(Delivery.subscriber_id == ann.id)
        .values(relay_reply="250 ok <ann@example.org>")
    )
    db.execute(
        insert(Engagement),
        [{"campaign_id": campaign.id, "delivery_id": 1, "subscriber_id": ann.id, "kind": "open",
          "human": True, "reason": "reader"}],
    )  # fmt: skip
    db.flush()
    return ann.id, campaign.id


def test_erasing_removes_what_names_her_and_keeps_the_counts(db):
    ann, campaign = ann_with_history(db)
    sent = db.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.campaign_id == campaign)
    )
    erasure.erase(db, ann, SECRET, actor="editor@example.org")
    reader = subscriptions.get_subscriber(db, ann)
    assert reader.email == f"erased-{ann}@erased.invalid" and reader.name == ""
    assert reader.attributes is None and reader.status == SubscriberStatus.UNSUBSCRIBED
    assert profiles.tags_of(db, ann) == [] and newsletters.memberships(db, ann) == []
    replies = db.scalars(select(Delivery.relay_reply).where(Delivery.subscriber_id == ann))
    assert list(replies) == [None]
    assert (
        db.scalar(
            select(func.count()).select_from(Delivery).where(Delivery.campaign_id == campaign)
        )
        == sent
    )
    assert (
        db.scalar(
            select(func.count()).select_from(Engagement).where(Engagement.subscriber_id == ann)
        )
        == 1
    )
    notes = db.scalars(select(SubscriberEvent.reason).where(SubscriberEvent.subscriber_id == ann))
    assert set(notes) == {None}
    assert db.get(Erasure, erasure.address_hash(SECRET, "ann@example.org")) is not None
    erasure.erase(db, ann, SECRET)  # again: nothing more to do


def test_an_erased_address_is_refused_by_the_api_and_imports_but_may_sign_up(db):
    ann, _ = ann_with_history(db)
    erasure.erase(db, ann, SECRET)
    with pytest.raises(ValidationError) as refused:
        subscriptions.create_subscriber(db, "ANN@example.org", secret=SECRET)
    assert "erased at the reader's request" in refused.value.fields["email"]
    rejects = io.StringIO()
    export = b"Email Address,First Name\nann@example.org,Ann\nbo@example.org,Bo\n"
    summary = import_subscribers(
        db, io.BytesIO(export), "mailchimp.csv", rejects=rejects, secret=SECRET
    )
    assert (summary.imported, summary.rejected) == (1, 1)
    assert (
        "ann@example.org" in rejects.getvalue()
        and "erased at the reader's request" in rejects.getvalue()
    )
    outcome = subscriptions.request_subscription(db, "ann@example.org", "Ann")
    assert outcome.created and outcome.send_confirmation  # their own signup is let through
    erasure.lift(db, SECRET, "ann@example.org")  # as confirming it does
    assert not subscriptions.is_erased(db, SECRET, "ann@example.org")


def test_the_export_holds_everything_kept_about_her(db):
    ann, _ = ann_with_history(db)
    data = erasure.export(db, ann)
    assert data["email"].lower() == "ann@example.org" and data["name"] == "Ann Reader"
    assert data["tags"] == ["donor"] and data["attributes"] == {"city": "Lyon"}
    assert data["newsletters"][0]["slug"] == "daily" and data["newsletters"][0]["subscribed"]
    assert data["history"][0]["reason"] == "met at the fair"
    assert data["deliveries"][0]["campaign"] == "Rate of Change"
    assert data["opens_and_clicks"][0]["kind"] == "open"

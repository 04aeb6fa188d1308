"""Signup, confirmation and unsubscribe rules, on the real database (rolled back per test)."""

from __future__ import annotations

import logging

import pytest

from broadsheet.errors import Conflict, NotFound, ValidationError
from broadsheet.models import Subscriber, SubscriberStatus
from broadsheet.services.subscriptions import (
    confirm,
    create_subscriber,
    find_subscriber,
    request_subscription,
    unsubscribe,
)


def test_signup_is_pending_and_owes_a_confirmation(db):
    outcome = request_subscription(db, " Ann@Example.ORG ", "Ann", ip="192.0.2.1")
    assert outcome.send_confirmation
    reader = db.get(Subscriber, outcome.subscriber_id)
    assert reader.status == SubscriberStatus.PENDING
    assert (reader.email, reader.email_key) == ("Ann@example.org", "ann@example.org")
    assert (reader.source, reader.signup_ip) == ("form", "192.0.2.1")


def test_addresses_are_unique_case_insensitively(db):
    request_subscription(db, "ann@example.org")
    again = request_subscription(db, "ANN@example.org")
    found = find_subscriber(db, "Ann@Example.org")
    assert found is not None and found.id == again.subscriber_id
    with pytest.raises(Conflict):
        create_subscriber(db, "aNN@example.org")


@pytest.mark.parametrize(
    "address", ["", "plainaddress", "a@b", "a b@example.org", "ann@@example.org", None, 42]
)
def test_malformed_addresses_are_refused_with_the_field(db, address):
    with pytest.raises(ValidationError) as info:
        request_subscription(db, address)
    assert "email" in info.value.fields


def test_confirm_activates_once(db):
    reader = db.get(Subscriber, request_subscription(db, "ann@example.org").subscriber_id)
    confirm(db, reader.id, reader.email_key)
    first = reader.confirmed_at
    assert reader.status == SubscriberStatus.ACTIVE and first is not None
    confirm(db, reader.id, reader.email_key)
    assert reader.confirmed_at == first


def test_confirm_needs_the_matching_address(db):
    reader = db.get(Subscriber, request_subscription(db, "ann@example.org").subscriber_id)
    with pytest.raises(NotFound):
        confirm(db, reader.id, "someone.else@example.org")
    assert reader.status == SubscriberStatus.PENDING


def test_unsubscribed_reader_is_not_reactivated_by_an_old_confirm_link(db):
    reader = create_subscriber(db, "ann@example.org", status="active")
    unsubscribe(db, reader.id)
    confirm(db, reader.id, reader.email_key)
    assert reader.status == SubscriberStatus.UNSUBSCRIBED


def test_signing_up_again_after_unsubscribing_needs_a_new_confirmation(db):
    reader = create_subscriber(db, "ann@example.org", status="active")
    unsubscribe(db, reader.id)
    outcome = request_subscription(db, "ann@example.org")
    assert outcome.send_confirmation and reader.status == SubscriberStatus.PENDING


def test_active_reader_signing_up_again_changes_nothing(db):
    reader = create_subscriber(db, "ann@example.org", status="active")
    outcome = request_subscription(db, "ann@example.org", "New Name")
    assert not outcome.send_confirmation
    assert (reader.status, reader.name) == (SubscriberStatus.ACTIVE, "")


def test_pending_reader_gets_a_new_confirmation_only_after_a_pause(db):
    from broadsheet.models import utcnow

    reader = db.get(Subscriber, request_subscription(db, "ann@example.org").subscriber_id)
    reader.confirmation_sent_at = utcnow()  # as the outbox's sweep stamps it
    db.flush()
    assert not request_subscription(db, "ann@example.org").send_confirmation


def test_unsubscribe_is_idempotent_and_keeps_bounced_readers_suppressed(db):
    reader = create_subscriber(db, "ann@example.org", status="active")
    unsubscribe(db, reader.id)
    when = reader.unsubscribed_at
    unsubscribe(db, reader.id)
    assert reader.unsubscribed_at == when
    bounced = create_subscriber(db, "bob@example.org", status="active")
    bounced.status = SubscriberStatus.BOUNCED
    unsubscribe(db, bounced.id)
    assert bounced.status == SubscriberStatus.BOUNCED


def test_api_status_must_be_active_or_pending(db):
    with pytest.raises(ValidationError) as info:
        create_subscriber(db, "ann@example.org", status="bounced")
    assert "status" in info.value.fields


def test_names_cannot_carry_line_breaks(db):
    reader = create_subscriber(db, "ann@example.org", "Ann\r\nBcc: eve@example.org")
    assert "\n" not in reader.name and "\r" not in reader.name


def test_each_change_is_logged_with_the_reader_id_and_never_the_address(db, caplog):
    with caplog.at_level(logging.INFO, logger="broadsheet.services.subscriptions"):
        signup = request_subscription(db, "ann@example.org")
        confirm(db, signup.subscriber_id, "ann@example.org")
        unsubscribe(db, signup.subscriber_id, campaign_id=None)
        added = create_subscriber(db, "bob@example.org")
    said = [(r.getMessage().split(" ", 2)[2], getattr(r, "subscriber_id", None))
            for r in caplog.records]  # fmt: skip
    reader = signup.subscriber_id
    assert said == [
        ("signed up (form)", reader), ("confirmed", reader),
        ("unsubscribed (unsubscribe link, campaign None)", reader),
        ("added (api, pending)", added.id),
    ]  # fmt: skip
    assert "example.org" not in caplog.text

"""Signing up, double opt-in confirmation and unsubscribing."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import ReturningInsert

from broadsheet import telemetry
from broadsheet.addresses import check_address, clean_name
from broadsheet.db import dialect_insert
from broadsheet.errors import Conflict, NotFound, ValidationError
from broadsheet.models import (
    Erasure,
    EventSource,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    utcnow,
)
from broadsheet.services import newsletters, profiles
from broadsheet.signing import erasure_hash

log = logging.getLogger(__name__)

# A pending reader who signs up again gets a new confirmation mail, but not more often than this.
RESEND_CONFIRMATION_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class SignupOutcome:
    """What a signup did; `send_confirmation` says whether a confirmation mail is owed, and
    `created` whether the address was new (else it was a reader already)."""

    subscriber_id: int
    send_confirmation: bool
    created: bool = False


def find_subscriber(session: Session, email: str) -> Subscriber | None:
    return session.scalar(select(Subscriber).where(Subscriber.email_key == email.strip().lower()))


def get_subscriber(session: Session, subscriber_id: int) -> Subscriber:
    subscriber = session.get(Subscriber, subscriber_id)
    if subscriber is None:
        raise NotFound(f"subscriber {subscriber_id} does not exist")
    return subscriber


def request_subscription(
    session: Session,
    email: object,
    name: object = "",
    *,
    source: str = "form",
    ip: str | None = None,
    chosen: list[str] | None = None,
) -> SignupOutcome:
    """A public signup: never reveals whether the address was known, always double opt-in.
    The reader joins the public newsletters, or those of them `chosen` (slugs the form
    offered: at least one; ValidationError on `newsletters` otherwise)."""
    address = check_address(email)
    display = clean_name(name)
    if chosen is not None:
        offered = {n.slug for n in newsletters.public_choices(session)}
        if not chosen or not set(chosen) <= offered:
            problem = "choose at least one" if not chosen else "choose among those listed"
            raise ValidationError({"newsletters": problem})
    created = _insert(session, address.email, address.key, display, source, ip)
    if created is not None:
        _record(session, created, None, SubscriberStatus.PENDING, EventSource.SIGNUP)
        newsletters.join_public(session, created, chosen)
        log.info("subscriber %s signed up (%s)", created, source, extra={"subscriber_id": created})
        return SignupOutcome(created, send_confirmation=True, created=True)
    existing = find_subscriber(session, address.key)
    assert existing is not None  # the insert found it there
    again = _signup_again(session, existing, display)
    if again and chosen is not None:  # coming back, to what they ticked now
        newsletters.join_public(session, existing.id, chosen)
    if again:
        log.info(
            "subscriber %s signed up again (%s, %s)", existing.id, source, existing.status.value,
            extra={"subscriber_id": existing.id},
        )  # fmt: skip
    return SignupOutcome(existing.id, again)


def create_subscriber(
    session: Session,
    email: object,
    name: object = "",
    *,
    status: object = "pending",
    source: EventSource = EventSource.API,
    ip: str | None = None,
    reason: str | None = None,
    actor: str | None = None,
    newsletters_chosen: object = None,
    tags: object = None,
    attributes: object = None,
    secret: str | None = None,
) -> Subscriber:
    """An import (the API, an editor): `active` records consent already given; an existing
    address is a Conflict, and with `secret` (SECRET_KEY) an address erased at its reader's
    request a ValidationError on `email` saying so (broadsheet.services.erasure). The reader's
    history starts with one event, `source` and `reason`.
    They join `newsletters_chosen` (slugs; [] none), or with None the default newsletter, and carry
    `tags` and `attributes` (profiles.check_tags, check_attributes)."""
    if status not in (SubscriberStatus.PENDING.value, SubscriberStatus.ACTIVE.value):
        raise ValidationError({"status": "must be 'active' or 'pending'"})
    checked_tags = [] if tags is None else profiles.check_tags(tags)
    checked_attributes = None if attributes is None else profiles.check_attributes(attributes)
    if newsletters_chosen is None:
        joining = newsletters.default_ids(session)
    elif newsletters_chosen == []:
        joining = []  # in none: only a campaign to everyone reaches them
    else:
        joining = [n.id for n in newsletters.by_slugs(session, newsletters_chosen)]
    address = check_address(email)
    if secret is not None and is_erased(session, secret, address.key):
        raise ValidationError({"email": f"{address.email} {ERASED}"})
    display = clean_name(name)
    source = EventSource(source)
    created_id = _insert(session, address.email, address.key, display, source.value, ip)
    if created_id is None:
        raise Conflict(f"{address.email} is already a subscriber")
    created = session.get(Subscriber, created_id)
    assert created is not None
    if status == SubscriberStatus.ACTIVE:
        _stamp(created, SubscriberStatus.ACTIVE)
    _record(session, created_id, None, created.status, source, reason, actor)
    newsletters.join(session, created_id, joining)
    profiles.set_tags(session, created_id, checked_tags)
    created.attributes = checked_attributes or None
    session.flush()
    log.info(
        "subscriber %s added (%s, %s)", created_id, source.value, created.status.value,
        extra={"subscriber_id": created_id},
    )  # fmt: skip
    return created


# Said of an address erased at its reader's request (broadsheet.services.erasure.REFUSAL).
ERASED = "was erased at the reader's request; only they can come back, by signing up again"


def is_erased(session: Session, secret: str, email_key: str) -> bool:
    """Whether the address was erased at its reader's request (broadsheet.services.erasure)."""
    return session.get(Erasure, erasure_hash(secret, email_key)) is not None


def update_profile(
    session: Session,
    subscriber_id: int,
    *,
    name: object = None,
    tags: object = None,
    attributes: object = None,
    newsletters_chosen: object = None,
) -> Subscriber:
    """Change what is given of a reader's name, tags, attributes (each replaced whole) and
    newsletters (subscribed to exactly those slugs, unsubscribed from the rest they were in);
    None leaves a part as it is. Their status does not change here."""
    subscriber = get_subscriber(session, subscriber_id)
    checked_tags = None if tags is None else profiles.check_tags(tags)
    checked_attributes = None if attributes is None else profiles.check_attributes(attributes)
    chosen = None
    if newsletters_chosen is not None:
        chosen = (
            [] if newsletters_chosen == [] else newsletters.by_slugs(session, newsletters_chosen)
        )
    if name is not None:
        subscriber.name = clean_name(name)
    if checked_tags is not None:
        profiles.set_tags(session, subscriber_id, checked_tags)
    if checked_attributes is not None:
        subscriber.attributes = checked_attributes or None
    if chosen is not None:
        wanted = {n.id for n in chosen}
        for newsletter, membership in newsletters.memberships(session, subscriber_id):
            if newsletter.id not in wanted and membership.status == "subscribed":
                newsletters.leave(session, subscriber_id, newsletter.id)
        newsletters.join(session, subscriber_id, sorted(wanted))
    session.flush()
    return subscriber


def confirm(session: Session, subscriber_id: int, email_key: str) -> Subscriber:
    """Turn a pending reader active. Idempotent; a reader who left since is not re-added."""
    subscriber = session.get(Subscriber, subscriber_id, with_for_update=True)
    if subscriber is None or subscriber.email_key != email_key:
        raise NotFound("this confirmation link does not match a subscriber")
    if subscriber.status == SubscriberStatus.PENDING:
        set_status(session, subscriber, SubscriberStatus.ACTIVE, source=EventSource.CONFIRM)
        session.flush()
        log.info("subscriber %s confirmed", subscriber_id, extra={"subscriber_id": subscriber_id})
    return subscriber


def unsubscribe(
    session: Session,
    subscriber_id: int,
    *,
    source: EventSource = EventSource.UNSUBSCRIBE_LINK,
    reason: str | None = None,
    actor: str | None = None,
    campaign_id: int | None = None,
) -> Subscriber:
    """Stop all mail to a reader. Idempotent; bounced and complained readers stay as they are.
    `campaign_id`: the campaign whose link they followed, counted as its unsubscribe."""
    subscriber = session.get(Subscriber, subscriber_id, with_for_update=True)
    if subscriber is None:
        raise NotFound("this unsubscribe link does not match a subscriber")
    if subscriber.status in (SubscriberStatus.PENDING, SubscriberStatus.ACTIVE):
        set_status(
            session,
            subscriber,
            SubscriberStatus.UNSUBSCRIBED,
            source=source,
            reason=reason,
            actor=actor,
            campaign_id=campaign_id,
        )
        session.flush()
        log.info(
            "subscriber %s unsubscribed (%s, campaign %s)", subscriber_id, source,
            campaign_id, extra={"subscriber_id": subscriber_id, "campaign_id": campaign_id},
        )  # fmt: skip
    return subscriber


def _insert(
    session: Session, email: str, key: str, name: str, source: str, ip: str | None
) -> int | None:
    """Insert a pending reader in one statement; None when the address exists (also when a
    twin request won the race). `INSERT ... ON CONFLICT DO NOTHING`: SQLite and PostgreSQL."""
    params = {"email": email, "email_key": key, "name": name, "source": source, "signup_ip": ip}
    statement = _insert_statement(_dialect(session))
    return session.connection().execute(statement, params).scalar_one_or_none()


@functools.cache
def _insert_statement(dialect: str) -> ReturningInsert[Any]:
    """Built once per dialect, the values bound at each call: a signup spends its time in
    the database, not in building the statement."""
    table = Subscriber.__table__
    return (
        dialect_insert(dialect, table)
        .on_conflict_do_nothing(index_elements=["email_key"])
        .returning(table.c.id)
    )


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _signup_again(session: Session, subscriber: Subscriber, name: str) -> bool:
    """A known address signed up again; decide whether a confirmation mail is owed."""
    if subscriber.status == SubscriberStatus.UNSUBSCRIBED:
        set_status(session, subscriber, SubscriberStatus.PENDING, source=EventSource.SIGNUP)
        subscriber.name = name or subscriber.name
        return True
    if subscriber.status == SubscriberStatus.PENDING:
        last = subscriber.confirmation_sent_at
        return last is None or utcnow() - last >= RESEND_CONFIRMATION_AFTER
    return False  # active: nothing to do; bounced or complained: suppressed


def set_status(
    session: Session,
    subscriber: Subscriber,
    status: SubscriberStatus,
    *,
    source: EventSource,
    reason: str | None = None,
    actor: str | None = None,
    campaign_id: int | None = None,
) -> None:
    """Move a reader to `status`, stamping `status_changed_at` and that status's `*_at`, and
    record the change in their history (with the campaign that led to it, when known):
    every change of status goes through here."""
    _record(session, subscriber.id, subscriber.status, status, source, reason, actor, campaign_id)
    _stamp(subscriber, status)


def _record(
    session: Session,
    subscriber_id: int,
    before: SubscriberStatus | None,
    after: SubscriberStatus,
    source: EventSource,
    reason: str | None = None,
    actor: str | None = None,
    campaign_id: int | None = None,
) -> None:
    """One event in the reader's history: a plain INSERT on the session's connection, no
    object for the session to flush (the ORM's own work would double a signup's cost)."""
    params = {
        "subscriber_id": subscriber_id,
        "from_status": before,
        "to_status": after,
        "source": source,
        "reason": reason or None,
        "actor": actor,
        "campaign_id": campaign_id,
    }
    session.connection().execute(_EVENT_INSERT, params)
    _count(session, before, after, source)


def _count(
    session: Session, before: SubscriberStatus | None, after: SubscriberStatus, source: str
) -> None:
    """The change as /metrics counts it (broadsheet/telemetry.py), once its commit is in."""
    if after == SubscriberStatus.PENDING:  # signed up, by the form or the API
        telemetry.note(session, telemetry.SIGNUPS)
    elif after == SubscriberStatus.ACTIVE and before == SubscriberStatus.PENDING:
        telemetry.note(session, telemetry.CONFIRMATIONS)
    elif after == SubscriberStatus.UNSUBSCRIBED:
        telemetry.note(session, telemetry.UNSUBSCRIBES, source)


_EVENT_INSERT = insert(SubscriberEvent.__table__)


def _stamp(subscriber: Subscriber, status: SubscriberStatus) -> None:
    now = utcnow()
    subscriber.status = status
    subscriber.status_changed_at = now
    stamp = {
        SubscriberStatus.ACTIVE: "confirmed_at",
        SubscriberStatus.UNSUBSCRIBED: "unsubscribed_at",
        SubscriberStatus.BOUNCED: "bounced_at",
        SubscriberStatus.COMPLAINED: "complained_at",
    }.get(status)
    if stamp:
        setattr(subscriber, stamp, now)

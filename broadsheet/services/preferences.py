"""A reader's own preferences page (through the link in every campaign): the newsletters they
can choose (the public ones and any they are in), their name, and saving both; and what an
unsubscribe link from a campaign leaves: its newsletters, or everything."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from broadsheet.addresses import clean_name
from broadsheet.errors import ValidationError
from broadsheet.models import (
    Campaign,
    EventSource,
    Membership,
    MembershipStatus,
    Newsletter,
    Subscriber,
    SubscriberStatus,
)
from broadsheet.services import newsletters
from broadsheet.services.subscriptions import unsubscribe


@dataclass(frozen=True)
class Choice:
    newsletter: Newsletter
    subscribed: bool


def choices(session: Session, subscriber_id: int) -> list[Choice]:
    """The newsletters a reader may choose: every public one, and private ones they are in;
    the default first, then by name."""
    query = (
        select(Newsletter, Membership.status)
        .outerjoin(
            Membership,
            (Membership.newsletter_id == Newsletter.id)
            & (Membership.subscriber_id == subscriber_id),
        )
        .where(or_(Newsletter.public, Membership.status == MembershipStatus.SUBSCRIBED))
        .order_by(Newsletter.is_default.desc(), Newsletter.name)
    )
    return [
        Choice(newsletter, status == MembershipStatus.SUBSCRIBED)
        for newsletter, status in session.execute(query)
    ]


def save(session: Session, subscriber: Subscriber, name: object, chosen: list[str]) -> bool:
    """Keep the reader's name and the newsletters they chose among `choices` (leaving the
    others); choosing none stops all their mail, as unsubscribing from everything does.
    Returns whether they are still subscribed. ValidationError names a field at fault."""
    offered = {c.newsletter.slug: c.newsletter.id for c in choices(session, subscriber.id)}
    unknown = [slug for slug in chosen if slug not in offered]
    if unknown:
        raise ValidationError({"newsletters": "choose among the newsletters listed"})
    if not isinstance(name, str) or len(name) > 200:
        raise ValidationError({"name": "must be at most 200 characters"})
    subscriber.name = clean_name(name)
    wanted = {offered[slug] for slug in chosen}
    for newsletter_id in set(offered.values()) - wanted:
        newsletters.leave(session, subscriber.id, newsletter_id)
    newsletters.join(session, subscriber.id, sorted(wanted))
    if not wanted and offered:
        unsubscribe(session, subscriber.id, source=EventSource.UNSUBSCRIBE_LINK)
        return False
    session.flush()
    return subscriber.status in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING)


@dataclass(frozen=True)
class Left:
    """What an unsubscribe link did: `newsletters` the names of those left, whether the
    reader now gets nothing at all, and whether that is because the campaign named no
    newsletter (it went to everyone, or to tags alone)."""

    newsletters: tuple[str, ...]
    everything: bool
    named_none: bool = False


def newsletters_of(session: Session, campaign_id: int | None) -> list[Newsletter]:
    """The newsletters a campaign went to, by name: those its audience names, directly or
    through its segment (frozen when its send started); none for a campaign to everyone or
    to tags alone."""
    campaign = session.get(Campaign, campaign_id) if campaign_id is not None else None
    ids = newsletters.named_by(campaign)
    if not ids:
        return []
    query = select(Newsletter).where(Newsletter.id.in_(ids)).order_by(Newsletter.name)
    return list(session.scalars(query))


def leave_through(
    session: Session, subscriber_id: int, campaign_id: int | None, source: EventSource
) -> Left:
    """An unsubscribe link or one-click POST (RFC 8058) from a campaign: a campaign whose
    audience named newsletters unsubscribes the reader from exactly those, keeping the
    others; from the last ones they were in, or from a campaign that named none (everyone,
    tags alone), from everything (their status, counted as the campaign's unsubscribe). The
    campaign comes from the signed token, its newsletters from its frozen audience.
    Idempotent."""
    left = newsletters_of(session, campaign_id)
    names = tuple(n.name for n in left)
    reader = session.get(Subscriber, subscriber_id)
    gets_mail = reader is not None and reader.status in (
        SubscriberStatus.ACTIVE,
        SubscriberStatus.PENDING,
    )
    if left and gets_mail:
        for newsletter in left:
            newsletters.leave(session, subscriber_id, newsletter.id, campaign_id)
        still = session.scalar(
            select(Membership.newsletter_id)
            .where(
                Membership.subscriber_id == subscriber_id,
                Membership.status == MembershipStatus.SUBSCRIBED,
            )
            .limit(1)
        )
        if still is not None:
            session.flush()
            return Left(names, everything=False)
    unsubscribe(session, subscriber_id, source=source, campaign_id=campaign_id)
    if not gets_mail:  # nothing was theirs to leave
        return Left((), everything=True)
    return Left(names, everything=True, named_none=not left)

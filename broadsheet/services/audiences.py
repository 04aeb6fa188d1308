"""Who a campaign goes to, as one SQL condition on `subscribers`: every active reader, or
those of them subscribed to any of the campaign's newsletters. Planning (ledger) and the
count shown before a send (campaigns.audience_size) use the same condition."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session

from broadsheet.errors import ValidationError
from broadsheet.models import Membership, MembershipStatus, Subscriber, SubscriberStatus
from broadsheet.services import newsletters

EVERYONE = "everyone"
NEWSLETTERS = "newsletters"
KNOWN_RULES = ("newsletters",)


def check_audience(session: Session, audience: object) -> tuple[str, dict[str, Any] | None]:
    """The campaign's `audience` and `audience_rules` from what an editor or the API sent:
    "everyone", or {"newsletters": [slugs]} (one or more newsletters, each reader once).
    ValidationError on `audience` (or `audience.newsletters`) otherwise."""
    if audience is None or audience == EVERYONE:
        return EVERYONE, None
    if not isinstance(audience, dict):
        raise ValidationError(
            {"audience": 'must be "everyone" or an object such as {"newsletters": ["weekly"]}'}
        )
    unknown = sorted(set(audience) - set(KNOWN_RULES))
    if unknown:
        raise ValidationError(
            {"audience": f"unknown rule {unknown[0]!r}; known: {', '.join(KNOWN_RULES)}"}
        )
    if NEWSLETTERS not in audience:
        return EVERYONE, None
    chosen = newsletters.by_slugs(session, audience[NEWSLETTERS], "audience.newsletters")
    return NEWSLETTERS, {NEWSLETTERS: [n.id for n in chosen]}


def readers_condition(audience: str, rules: dict[str, Any] | None) -> ColumnElement[bool]:
    """The condition on `subscribers` a reader meets to be in the audience. A reader in two
    chosen newsletters meets it once (a semi-join, never a join that repeats them)."""
    active = Subscriber.status == SubscriberStatus.ACTIVE
    if audience != NEWSLETTERS or not rules:
        return active
    member = exists(
        select(Membership.subscriber_id).where(
            Membership.subscriber_id == Subscriber.id,
            Membership.newsletter_id.in_(list(rules[NEWSLETTERS])),
            Membership.status == MembershipStatus.SUBSCRIBED,
        )
    )
    return and_(active, member)

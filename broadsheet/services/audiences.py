"""Who a campaign goes to, as one SQL condition on `subscribers`: every active reader, or
those of them its rules choose: subscribed to any of its newsletters, carrying any or all of
some tags, and none of others. Planning (ledger) and the count shown before a send
(campaigns.audience_size) use the same condition."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, exists, not_, select
from sqlalchemy.orm import Session

from broadsheet.errors import ValidationError
from broadsheet.models import (
    Membership,
    MembershipStatus,
    Subscriber,
    SubscriberStatus,
    SubscriberTag,
)
from broadsheet.services import newsletters
from broadsheet.services.profiles import check_tags

EVERYONE = "everyone"
CHOSEN = "chosen"  # by `audience_rules`
NEWSLETTERS = "newsletters"
TAG_RULES = ("tags_any", "tags_all", "exclude_tags")
KNOWN_RULES = (NEWSLETTERS, *TAG_RULES)


def check_audience(session: Session, audience: object) -> tuple[str, dict[str, Any] | None]:
    """The campaign's `audience` and `audience_rules` from what an editor or the API sent:
    "everyone", or an object of rules, all of which a reader meets: {"newsletters": [slugs]}
    (subscribed to any; kept as their ids), "tags_any", "tags_all", "exclude_tags" (lists of
    tags). ValidationError on `audience` or `audience.<rule>` otherwise."""
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
    rules: dict[str, Any] = {}
    if NEWSLETTERS in audience:
        chosen = newsletters.by_slugs(session, audience[NEWSLETTERS], "audience.newsletters")
        rules[NEWSLETTERS] = [n.id for n in chosen]
    for rule in TAG_RULES:
        if rule in audience:
            tags = check_tags(audience[rule], f"audience.{rule}")
            if not tags:
                raise ValidationError({f"audience.{rule}": "must name at least one tag"})
            rules[rule] = tags
    return (CHOSEN, rules) if rules else (EVERYONE, None)


def readers_condition(audience: str, rules: dict[str, Any] | None) -> ColumnElement[bool]:
    """The condition on `subscribers` a reader meets to be in the audience: each rule is an
    EXISTS (or NOT EXISTS) on an index, so a reader in two chosen newsletters, or with two of
    the tags, meets it once and is planned once."""
    conditions: list[ColumnElement[bool]] = [Subscriber.status == SubscriberStatus.ACTIVE]
    rules = rules if audience != EVERYONE and rules else {}
    if NEWSLETTERS in rules:
        conditions.append(
            exists(
                select(Membership.subscriber_id).where(
                    Membership.subscriber_id == Subscriber.id,
                    Membership.newsletter_id.in_(list(rules[NEWSLETTERS])),
                    Membership.status == MembershipStatus.SUBSCRIBED,
                )
            )
        )
    if "tags_any" in rules:
        conditions.append(_tagged(rules["tags_any"]))
    for tag in rules.get("tags_all", ()):
        conditions.append(_tagged([tag]))
    if "exclude_tags" in rules:
        conditions.append(not_(_tagged(rules["exclude_tags"])))
    return and_(*conditions)


def _tagged(tags: list[str]) -> ColumnElement[bool]:
    return exists(
        select(SubscriberTag.subscriber_id).where(
            SubscriberTag.subscriber_id == Subscriber.id, SubscriberTag.tag.in_(tags)
        )
    )

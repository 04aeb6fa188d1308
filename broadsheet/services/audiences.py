"""Who a campaign goes to, as one SQL condition on `subscribers`: every active reader, or
those of them its rules choose. Rules, all of which a reader meets:

- `newsletters`: subscribed to any of them (kept as ids);
- `tags_any`, `tags_all`, `exclude_tags`: carries any, all, none of the tags;
- `attributes`, `has_attributes`: attributes with those values, attributes with a value
  (broadsheet.services.attribute_rules says how values compare);
- `sources`: signed up through one of them (form, api, admin, import);
- `signed_up_after`, `signed_up_before`: ISO 8601 times;
- `engaged_in_last`, `not_engaged_in_last`: opened or clicked (or did not) any of the last N
  sent campaigns;
- `never_engaged`: true: opened or clicked no campaign, ever. Engagement is what the other
  rules count: any open or click recorded for the reader, whatever its verdict (a machine's
  too), so a reader whose mail is opened by a scanner is not "never engaged". In privacy mode
  (TRACKING_PRIVACY=on) no reader's hits are kept, and every reader counts as never engaged;
- `segment`: a saved segment (broadsheet.services.segments), kept by id: a campaign waiting
  to start reads its rules as they are now, under the others, and they are frozen into the
  campaign's own rules when the send starts (broadsheet.services.audience_freeze).

Planning (ledger), the count shown before a send (campaigns.audience_size), a segment's count
and its "why is this reader in it?" use the same conditions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, not_, select, true
from sqlalchemy.orm import Session

from broadsheet.errors import ValidationError
from broadsheet.models import (
    Campaign,
    CampaignStatus,
    Engagement,
    Membership,
    MembershipStatus,
    Segment,
    Subscriber,
    SubscriberStatus,
    SubscriberTag,
)
from broadsheet.services import newsletters
from broadsheet.services.attribute_rules import (
    ATTRIBUTE_RULES,
    attribute_condition,
    check_attribute_rule,
)
from broadsheet.services.audience_freeze import SEGMENT
from broadsheet.services.profiles import check_tags

EVERYONE = "everyone"
CHOSEN = "chosen"  # by `audience_rules`
NEWSLETTERS = "newsletters"
TAG_RULES = ("tags_any", "tags_all", "exclude_tags")
TIME_RULES = ("signed_up_after", "signed_up_before")
ENGAGEMENT_RULES = ("engaged_in_last", "not_engaged_in_last")
NEVER_ENGAGED = "never_engaged"
KNOWN_RULES = (
    NEWSLETTERS,
    *TAG_RULES,
    *ATTRIBUTE_RULES,
    "sources",
    *TIME_RULES,
    *ENGAGEMENT_RULES,
    NEVER_ENGAGED,
    "segment",
)
MAX_CAMPAIGNS_BACK = 100


def check_audience(session: Session, audience: object) -> tuple[str, dict[str, Any] | None]:
    """The campaign's `audience` and `audience_rules` from what an editor or the API sent:
    "everyone", or an object of rules (see the module). ValidationError on `audience` or
    `audience.<rule>` otherwise."""
    if audience is None or audience == EVERYONE:
        return EVERYONE, None
    rules = check_rules(session, audience, "audience")
    return (CHOSEN, rules) if rules else (EVERYONE, None)


def check_rules(session: Session, given: object, field: str) -> dict[str, Any]:
    """Rules as kept: each checked, newsletters as ids, a segment as its id (its rules are
    read under the others: audience_freeze.rules_of). Every rule at fault at once."""
    if not isinstance(given, dict):
        raise ValidationError(
            {field: 'must be "everyone" or an object such as {"newsletters": ["weekly"]}'}
        )
    unknown = sorted(set(given) - set(KNOWN_RULES))
    if unknown:
        raise ValidationError(
            {field: f"unknown rule {unknown[0]!r}; known: {', '.join(KNOWN_RULES)}"}
        )
    rules: dict[str, Any] = {}
    errors: dict[str, str] = {}
    # The segment first, then the others in the order of KNOWN_RULES, as they are kept.
    for rule in sorted(given, key=lambda rule: (rule != "segment", KNOWN_RULES.index(rule))):
        try:
            _check_rule(session, rule, given[rule], f"{field}.{rule}", rules)
        except ValidationError as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationError(errors)
    return rules


def _check_rule(
    session: Session, rule: str, value: object, field: str, rules: dict[str, Any]
) -> None:
    """Check one rule and keep it in `rules` (a segment's rules added in); ValidationError on
    `field` otherwise."""
    if rule == "segment":
        rules.update(_segment_rules(session, value, field))
    elif rule == NEWSLETTERS:
        rules[rule] = [n.id for n in newsletters.by_slugs(session, value, field)]
    elif rule in TAG_RULES:
        tags = check_tags(value, field)
        if not tags:
            raise ValidationError({field: "must name at least one tag"})
        rules[rule] = tags
    elif rule in ATTRIBUTE_RULES:
        rules[rule] = check_attribute_rule(rule, value, field)
    elif rule == "sources":
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(s, str) and 0 < len(s) <= 32 for s in value)
        ):
            raise ValidationError({field: "must be a list of signup sources"})
        rules[rule] = list(dict.fromkeys(value))
    elif rule in TIME_RULES:
        rules[rule] = _time(value, field).isoformat()
    elif rule in ENGAGEMENT_RULES:
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or not 1 <= value <= MAX_CAMPAIGNS_BACK
        ):
            raise ValidationError(
                {field: f"must be a whole number of campaigns, 1 to {MAX_CAMPAIGNS_BACK}"}
            )
        rules[rule] = value
    elif rule == NEVER_ENGAGED:
        if value is not True:
            raise ValidationError({field: "must be true (leave it out to not use it)"})
        rules[rule] = True


def _segment_rules(session: Session, name: object, field: str) -> dict[str, Any]:
    """The segment named `name` by its id: a reference, so that a later change to the
    segment reaches a campaign until its send starts."""
    found = (
        session.scalar(select(Segment.id).where(Segment.name == name))
        if isinstance(name, str)
        else None
    )
    if found is None:
        raise ValidationError({field: f"no such segment: {name!r}"})
    return {SEGMENT: found}


def _time(value: object, field: str) -> datetime:
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ValidationError(
            {field: "must be an ISO 8601 time with its zone, e.g. 2026-01-31T00:00:00Z"}
        )
    return when


def readers_condition(audience: str, rules: dict[str, Any] | None) -> ColumnElement[bool]:
    """The condition on `subscribers` a reader meets to be in the audience: each rule is a
    test of the reader's own row (source, times, attributes) or an EXISTS (or NOT EXISTS) on
    an index or a set read once, never a join that repeats a reader, so a reader in two
    chosen newsletters, or with two of the tags, is planned once."""
    active = Subscriber.status == SubscriberStatus.ACTIVE
    chosen = rules if audience != EVERYONE and rules else {}
    return and_(active, *(condition for _, condition in rule_conditions(chosen)))


def rule_conditions(rules: dict[str, Any]) -> list[tuple[str, ColumnElement[bool]]]:
    """Each rule's own condition on `subscribers`, by rule (what `explain` shows one by one)."""
    conditions: list[tuple[str, ColumnElement[bool]]] = []
    if NEWSLETTERS in rules:
        member = exists(
            select(Membership.subscriber_id).where(
                Membership.subscriber_id == Subscriber.id,
                Membership.newsletter_id.in_(list(rules[NEWSLETTERS])),
                Membership.status == MembershipStatus.SUBSCRIBED,
            )
        )
        conditions.append((NEWSLETTERS, member))
    if "tags_any" in rules:
        conditions.append(("tags_any", _tagged(rules["tags_any"])))
    if "tags_all" in rules:
        every = [_tagged([tag]) for tag in rules["tags_all"]]
        conditions.append(("tags_all", and_(true(), *every)))
    if "exclude_tags" in rules:
        conditions.append(("exclude_tags", not_(_tagged(rules["exclude_tags"]))))
    for rule in ATTRIBUTE_RULES:
        if rule in rules:
            conditions.append((rule, attribute_condition(rule, rules[rule])))
    if "sources" in rules:
        conditions.append(("sources", Subscriber.source.in_(rules["sources"])))
    if "signed_up_after" in rules:
        after = datetime.fromisoformat(rules["signed_up_after"])
        conditions.append(("signed_up_after", Subscriber.created_at > after))
    if "signed_up_before" in rules:
        before = datetime.fromisoformat(rules["signed_up_before"])
        conditions.append(("signed_up_before", Subscriber.created_at < before))
    if "engaged_in_last" in rules:
        conditions.append(
            ("engaged_in_last", Subscriber.id.in_(_engaged(rules["engaged_in_last"])))
        )
    if "not_engaged_in_last" in rules:
        engaged = _engaged(rules["not_engaged_in_last"])
        conditions.append(("not_engaged_in_last", Subscriber.id.not_in(engaged)))
    if rules.get(NEVER_ENGAGED):
        # NOT EXISTS, an anti-join over every engagement, read once; not NOT IN, whose set
        # of every reader who ever engaged could outgrow PostgreSQL's memory for a hash.
        ever = exists(select(Engagement.id).where(Engagement.subscriber_id == Subscriber.id))
        conditions.append((NEVER_ENGAGED, not_(ever)))
    return conditions


def _tagged(tags: list[str]) -> ColumnElement[bool]:
    return exists(
        select(SubscriberTag.subscriber_id).where(
            SubscriberTag.subscriber_id == Subscriber.id, SubscriberTag.tag.in_(tags)
        )
    )


def _engaged(campaigns_back: int) -> Select[int]:
    """The readers who opened or clicked any of the last `campaigns_back` sent campaigns: one
    set, read once from those campaigns' engagements (a hashed subquery), not per reader."""
    last = (
        select(Campaign.id)
        .where(Campaign.status == CampaignStatus.SENT)
        .order_by(Campaign.id.desc())
        .limit(campaigns_back)
        .subquery()
    )
    return select(Engagement.subscriber_id).where(Engagement.campaign_id.in_(select(last.c.id)))

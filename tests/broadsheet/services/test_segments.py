"""Saved segments (broadsheet.services.segments): made from checked rules, counted, used as a
campaign's audience, and explained for one reader; engagement and signup rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, update

from broadsheet.errors import Conflict, ValidationError
from broadsheet.models import Engagement, Subscriber
from broadsheet.services import newsletters, segments, subscriptions
from tests.broadsheet.services.test_newsletters import planned_emails
from tests.support.factories import campaign_in


def reader(db, email: str, *tags: str, source: str = "api") -> Subscriber:
    made = subscriptions.create_subscriber(db, email, status="active", tags=list(tags))
    made.source = source
    return made


def test_a_segment_counts_plans_and_explains_the_same_readers(db):
    newsletters.create_newsletter(db, "Weekly")
    newsletters.create_newsletter(db, "Daily")
    ann = subscriptions.create_subscriber(
        db, "ann@example.org", status="active", tags=["donor"], newsletters_chosen=["weekly"]
    )
    bob = subscriptions.create_subscriber(
        db,
        "bob@example.org",
        status="active",
        tags=["donor", "press"],
        newsletters_chosen=["weekly"],
    )
    subscriptions.create_subscriber(
        db, "cy@example.org", status="active", tags=["donor"], newsletters_chosen=["daily"]
    )
    donors = segments.create_segment(
        db,
        "Weekly donors",
        {"newsletters": ["weekly"], "tags_any": ["donor"], "exclude_tags": ["press"]},
    )
    assert segments.count(db, donors) == 1
    assert planned_emails(db, {"segment": "Weekly donors"}) == ["ann@example.org"]
    assert planned_emails(db, {"segment": "Weekly donors", "tags_any": ["press"]}) == []
    why_ann = {r.rule: r.met for r in segments.explain(db, donors, ann)}
    assert why_ann == {"status": True, "newsletters": True, "tags_any": True, "exclude_tags": True}
    why_bob = {r.rule: r.met for r in segments.explain(db, donors, bob)}
    assert why_bob["exclude_tags"] is False and why_bob["tags_any"] is True


def test_engagement_rules_look_at_the_last_campaigns_sent(db):
    fan, quiet, old = (reader(db, f"{n}@example.org") for n in ("fan", "quiet", "old"))
    first, second = campaign_in(db, "sent", "First"), campaign_in(db, "sent", "Second")
    at = datetime.now(UTC)
    for who, campaign in ((fan, second), (old, first)):
        db.execute(
            insert(Engagement),
            [{"campaign_id": campaign.id, "delivery_id": 0, "subscriber_id": who.id,
              "kind": "open", "human": True, "reason": "reader", "at": at}],
        )  # fmt: skip
    assert planned_emails(db, {"engaged_in_last": 1}) == ["fan@example.org"]
    assert planned_emails(db, {"engaged_in_last": 2}) == ["fan@example.org", "old@example.org"]
    assert planned_emails(db, {"not_engaged_in_last": 1}) == [
        "old@example.org",
        "quiet@example.org",
    ]
    assert quiet.id  # made, never engaged


def test_signup_source_and_time_rules(db):
    reader(db, "form@example.org", source="form")
    reader(db, "api@example.org", source="api")
    db.execute(
        update(Subscriber)
        .where(Subscriber.email == "form@example.org")
        .values(created_at=datetime.now(UTC) - timedelta(days=30))
    )
    week_ago = (datetime.now(UTC) - timedelta(days=7)).isoformat()
    assert planned_emails(db, {"sources": ["form"]}) == ["form@example.org"]
    assert planned_emails(db, {"signed_up_after": week_ago}) == ["api@example.org"]
    assert planned_emails(db, {"signed_up_before": week_ago}) == ["form@example.org"]


@pytest.mark.parametrize(
    ("name", "rules", "field"),
    [
        ("", {"tags_any": ["a"]}, "name"),
        ("Empty", {}, "rules"),
        ("Nested", {"segment": "Other"}, "rules.segment"),
        ("Unknown tag rule", {"tags_any": [""]}, "rules.tags_any"),
        ("Not an object", ["a"], "rules"),
    ],
)
def test_a_segment_that_cannot_be_is_refused_naming_the_field(db, name, rules, field):
    with pytest.raises(ValidationError) as refused:
        segments.create_segment(db, name, rules)
    assert field in refused.value.fields


def test_a_segment_name_in_use_is_a_conflict(db):
    segments.create_segment(db, "Donors", {"tags_any": ["donor"]})
    with pytest.raises(Conflict):
        segments.create_segment(db, "Donors", {"tags_any": ["press"]})

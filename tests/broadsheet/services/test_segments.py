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


def with_attributes(db, email: str, attributes: dict[str, object] | None) -> Subscriber:
    return subscriptions.create_subscriber(db, email, status="active", attributes=attributes)


def test_attribute_rules_compare_values_as_text_and_null_as_absent(db):
    lyon = with_attributes(db, "lyon@example.org", {"city": "Lyon", "plan": "pro", "seats": 42})
    with_attributes(db, "paris@example.org", {"city": "Paris", "plan": "pro", "seats": "42"})
    with_attributes(db, "vip@example.org", {"city": "lyon", "vip": True, "seats": 42.0})
    with_attributes(db, "bare@example.org", None)
    with_attributes(db, "blank@example.org", {"city": None, "vip": "false"})
    assert planned_emails(db, {"attributes": {"city": "Lyon"}}) == ["lyon@example.org"]
    assert planned_emails(db, {"attributes": {"plan": "pro", "city": "Paris"}}) == [
        "paris@example.org"
    ]
    both = ["lyon@example.org", "paris@example.org"]
    assert planned_emails(db, {"attributes": {"seats": 42}}) == both  # 42 and "42", not 42.0
    assert planned_emails(db, {"attributes": {"seats": "42"}}) == both
    assert planned_emails(db, {"attributes": {"seats": 42.0}}) == ["vip@example.org"]
    assert planned_emails(db, {"attributes": {"vip": True}}) == ["vip@example.org"]
    assert planned_emails(db, {"attributes": {"vip": "true"}}) == ["vip@example.org"]
    assert planned_emails(db, {"attributes": {"vip": False}}) == ["blank@example.org"]
    assert planned_emails(db, {"attributes": {"city": None}}) == [
        "bare@example.org", "blank@example.org",
    ]  # fmt: skip
    assert planned_emails(db, {"has_attributes": ["city", "plan"]}) == both
    assert planned_emails(db, {"has_attributes": ["vip"], "attributes": {"city": None}}) == [
        "blank@example.org"
    ]
    pros = segments.create_segment(db, "Pros in Lyon", {"attributes": {"city": "Lyon"}})
    assert segments.count(db, pros) == 1
    assert segments.count_rules(db, {"has_attributes": ["seats"]}) == 3
    why = {r.rule: (r.wanted, r.met) for r in segments.explain(db, pros, lyon)}
    assert why["attributes"] == ({"city": "Lyon"}, True)
    bare = subscriptions.find_subscriber(db, "bare@example.org")
    assert bare is not None
    assert not {r.rule: r.met for r in segments.explain(db, pros, bare)}["attributes"]


def test_never_engaged_is_no_open_or_click_of_any_campaign_whatever_its_verdict(db):
    human, machine, quiet = (reader(db, f"{n}@example.org") for n in ("human", "machine", "quiet"))
    old, last = campaign_in(db, "sent", "Old"), campaign_in(db, "sent", "Last")
    at = datetime.now(UTC)
    for who, campaign, kind, is_human in ((human, old, "click", True),
                                          (machine, last, "open", False)):  # fmt: skip
        db.execute(
            insert(Engagement),
            [{"campaign_id": campaign.id, "delivery_id": 0, "subscriber_id": who.id,
              "kind": kind, "human": is_human, "reason": "reader", "at": at}],
        )  # fmt: skip
    assert planned_emails(db, {"never_engaged": True}) == ["quiet@example.org"]
    assert planned_emails(db, {"not_engaged_in_last": 1}) == [
        "human@example.org", "quiet@example.org",
    ]  # fmt: skip
    never = segments.create_segment(db, "Never", {"never_engaged": True, "sources": ["api"]})
    assert segments.count(db, never) == 1
    assert {r.rule: r.met for r in segments.explain(db, never, quiet)} == {
        "status": True, "sources": True, "never_engaged": True,
    }  # fmt: skip
    assert not {r.rule: r.met for r in segments.explain(db, never, machine)}["never_engaged"]


@pytest.mark.parametrize(
    ("rules", "field", "says"),
    [
        ({"attributes": {"city": ["Lyon"]}}, "rules.attributes.city", "a string, a number"),
        ({"attributes": {"city": {"is": "Lyon"}}}, "rules.attributes.city", "a string"),
        ({"attributes": {"n": float("nan")}}, "rules.attributes.n", "a number"),
        ({"attributes": {"bio": "x" * 501}}, "rules.attributes.bio", "500 characters"),
        ({"attributes": {"two words": "x"}}, "rules.attributes", "not an attribute name"),
        ({"attributes": {}}, "rules.attributes", "at least one attribute"),
        ({"attributes": ["city"]}, "rules.attributes", "an object"),
        ({"has_attributes": "city"}, "rules.has_attributes", "list of attribute names"),
        ({"has_attributes": ["a-b"]}, "rules.has_attributes", "not an attribute name"),
        ({"never_engaged": False}, "rules.never_engaged", "must be true"),
        ({"never_engaged": "yes"}, "rules.never_engaged", "must be true"),
    ],
)
def test_bad_attribute_and_never_engaged_rules_are_refused_naming_the_field(db, rules, field, says):
    with pytest.raises(ValidationError) as refused:
        segments.create_segment(db, "Bad", rules)
    assert says in refused.value.fields[field]

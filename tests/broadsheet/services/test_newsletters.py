"""Newsletters and memberships (broadsheet.services.newsletters), and a campaign's audience
(broadsheet.services.audiences): planned once per reader from the chosen newsletters."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from broadsheet.errors import Conflict, ValidationError
from broadsheet.models import Delivery, Subscriber
from broadsheet.services import audiences, campaigns, newsletters, subscriptions
from broadsheet.services.ledger import plan_deliveries
from tests.support.factories import make_article


def reader(db, email: str, *, joins: list[str], status: str = "active") -> int:
    return subscriptions.create_subscriber(db, email, status=status, newsletters_chosen=joins).id


def planned_emails(db, audience: object) -> list[str]:
    article = make_article(db, "Overlaps")
    campaign = campaigns.create_campaign(db, article.id, audience=audience)
    plan_deliveries(db, campaign)
    query = (
        select(Subscriber.email)
        .join(Delivery, Delivery.subscriber_id == Subscriber.id)
        .where(Delivery.campaign_id == campaign.id)
        .order_by(Subscriber.email)
    )
    return list(db.scalars(query))


def test_a_campaign_to_two_newsletters_reaches_each_member_once_and_no_one_else(db):
    newsletters.create_newsletter(db, "The Daily")
    newsletters.create_newsletter(db, "The Weekly", "weekly")
    reader(db, "both@example.org", joins=["the-daily", "weekly"])
    reader(db, "daily@example.org", joins=["the-daily"])
    reader(db, "weekly@example.org", joins=["weekly"])
    reader(db, "left@example.org", joins=["weekly"], status="pending")  # not confirmed
    newsletters.create_newsletter(db, "Other")
    reader(db, "other@example.org", joins=["other"])
    both = ["both@example.org", "daily@example.org", "weekly@example.org"]
    assert planned_emails(db, {"newsletters": ["the-daily", "weekly"]}) == both
    assert planned_emails(db, {"newsletters": ["weekly"]}) == [both[0], both[2]]
    assert len(planned_emails(db, "everyone")) == 4  # every active reader, in any or none


def test_leaving_one_newsletter_keeps_the_others(db):
    daily = newsletters.create_newsletter(db, "Daily")
    newsletters.create_newsletter(db, "Weekly")
    ann = reader(db, "ann@example.org", joins=["daily", "weekly"])
    assert newsletters.leave(db, ann, daily.id) is True
    assert newsletters.leave(db, ann, daily.id) is False  # already out
    assert planned_emails(db, {"newsletters": ["daily"]}) == []
    assert planned_emails(db, {"newsletters": ["weekly"]}) == ["ann@example.org"]
    newsletters.join(db, ann, [daily.id])  # back in
    assert planned_emails(db, {"newsletters": ["daily"]}) == ["ann@example.org"]


def test_the_count_before_a_send_is_the_audience_planned(db):
    newsletters.create_newsletter(db, "Daily")
    reader(db, "a@example.org", joins=["daily"])
    reader(db, "b@example.org", joins=["daily"])
    kind, rules = audiences.check_audience(db, {"newsletters": ["daily"]})
    assert campaigns.audience_size(db, kind, rules) == 2
    choices = {n.slug: size for n, size in campaigns.newsletter_choices(db)}
    assert choices["daily"] == 2


def test_a_reader_made_without_a_choice_joins_the_default_and_a_signup_the_public_ones(db):
    for existing in newsletters.list_newsletters(db):  # the migration's default, if kept
        existing.is_default = False
    default = newsletters.create_newsletter(db, "Default")
    default.is_default = True
    public = newsletters.create_newsletter(db, "Public")
    newsletters.create_newsletter(db, "Private", public=False)
    made = subscriptions.create_subscriber(db, "api@example.org")
    assert [n.slug for n, _ in newsletters.memberships(db, made.id)] == ["default"]
    signed = subscriptions.request_subscription(db, "form@example.org")
    joined = {n.slug for n, _ in newsletters.memberships(db, signed.subscriber_id)}
    assert "private" not in joined and {"default", "public"} <= joined
    assert public.public and not newsletters.by_slugs(db, ["private"])[0].public


@pytest.mark.parametrize(
    ("audience", "field", "says"),
    [
        ({"newsletters": ["nope"]}, "audience.newsletters", "no such newsletter: 'nope'"),
        ({"newsletters": []}, "audience.newsletters", "at least one"),
        ({"newsletters": "daily"}, "audience.newsletters", "list of newsletter slugs"),
        ({"cohort": 3}, "audience", "unknown rule 'cohort'"),
        ({"segment": "nope"}, "audience.segment", "no such segment: 'nope'"),
        ({"engaged_in_last": 0}, "audience.engaged_in_last", "1 to 100"),
        ({"signed_up_after": "2026-01-01"}, "audience.signed_up_after", "with its zone"),
        ({"sources": []}, "audience.sources", "list of signup sources"),
        (["daily"], "audience", 'must be "everyone"'),
        ("all", "audience", 'must be "everyone"'),
    ],
)
def test_an_audience_that_cannot_be_is_refused_naming_the_field(db, audience, field, says):
    newsletters.create_newsletter(db, "Daily")
    article = make_article(db)
    with pytest.raises(ValidationError) as refused:
        campaigns.create_campaign(db, article.id, audience=audience)
    assert says in refused.value.fields[field]


def test_a_newsletter_needs_a_name_a_free_slug_and_good_addresses(db):
    with pytest.raises(ValidationError) as refused:
        newsletters.create_newsletter(
            db, "", "Not A Slug", sender_address="nobody", reply_to="x@", public="yes"
        )
    assert set(refused.value.fields) == {"name", "slug", "sender_address", "reply_to", "public"}
    newsletters.create_newsletter(db, "Weekly")
    with pytest.raises(Conflict):
        newsletters.create_newsletter(db, "Weekly again", "weekly")
    with pytest.raises(ValidationError) as unknown:
        subscriptions.create_subscriber(db, "z@example.org", newsletters_chosen=["monthly"])
    assert "monthly" in unknown.value.fields["newsletters"]

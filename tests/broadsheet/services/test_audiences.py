"""A campaign's audience by tags (broadsheet.services.audiences) and the tags and attributes
a reader carries (broadsheet.services.profiles)."""

from __future__ import annotations

import pytest

from broadsheet.errors import ValidationError
from broadsheet.services import newsletters, profiles, subscriptions
from tests.broadsheet.services.test_newsletters import planned_emails


def tagged(db, email: str, *tags: str, joins: list[str] | None = None) -> int:
    return subscriptions.create_subscriber(
        db, email, status="active", tags=list(tags), newsletters_chosen=joins
    ).id


def test_a_campaign_to_a_tag_reaches_exactly_the_tagged_readers(db):
    tagged(db, "donor@example.org", "donor", "Lyon")
    tagged(db, "both@example.org", "donor", "press")
    tagged(db, "press@example.org", "press")
    tagged(db, "none@example.org")
    assert planned_emails(db, {"tags_any": ["donor"]}) == ["both@example.org", "donor@example.org"]
    assert planned_emails(db, {"tags_any": ["donor", "press"]}) == [
        "both@example.org", "donor@example.org", "press@example.org",
    ]  # fmt: skip
    assert planned_emails(db, {"tags_all": ["donor", "press"]}) == ["both@example.org"]
    assert planned_emails(db, {"tags_any": ["donor"], "exclude_tags": ["press"]}) == [
        "donor@example.org"
    ]
    assert planned_emails(db, {"tags_any": ["LYON "]}) == ["donor@example.org"]  # as stored


def test_tags_and_newsletters_together_are_both_met(db):
    newsletters.create_newsletter(db, "Weekly")
    tagged(db, "in@example.org", "vip", joins=["weekly"])
    tagged(db, "out@example.org", "vip", joins=[])
    tagged(db, "plain@example.org", joins=["weekly"])
    audience = {"newsletters": ["weekly"], "tags_any": ["vip"]}
    assert planned_emails(db, audience) == ["in@example.org"]


def test_a_profile_changes_part_by_part(db):
    newsletters.create_newsletter(db, "Daily")
    newsletters.create_newsletter(db, "Weekly")
    ann = tagged(db, "ann@example.org", "a", joins=["daily"])
    subscriptions.update_profile(db, ann, attributes={"city": "Lyon", "paid": True})
    subscriptions.update_profile(db, ann, tags=["b", "B", " c "], newsletters_chosen=["weekly"])
    reader = subscriptions.get_subscriber(db, ann)
    assert reader.attributes == {"city": "Lyon", "paid": True}
    assert profiles.tags_of(db, ann) == ["b", "c"]
    states = {n.slug: m.status.value for n, m in newsletters.memberships(db, ann)}
    assert states == {"daily": "unsubscribed", "weekly": "subscribed"}
    subscriptions.update_profile(db, ann, attributes={}, tags=[])
    assert subscriptions.get_subscriber(db, ann).attributes is None
    assert profiles.tags_of(db, ann) == []


@pytest.mark.parametrize(
    ("tags", "attributes", "field", "says"),
    [
        (["ok", ""], None, "tags", "is not a tag"),
        ("donor", None, "tags", "list of strings"),
        (["x" * 65], None, "tags", "is not a tag"),
        (None, ["city"], "attributes", "JSON object"),
        (None, {"two words": 1}, "attributes", "not an attribute name"),
        (None, {"city": {"nested": 1}}, "attributes", "string, a number"),
        (None, {"bio": "x" * 9000}, "attributes", "8192 bytes"),
    ],
)
def test_bad_tags_and_attributes_are_refused_naming_the_field(db, tags, attributes, field, says):
    with pytest.raises(ValidationError) as refused:
        subscriptions.create_subscriber(db, "z@example.org", tags=tags, attributes=attributes)
    assert says in refused.value.fields[field]


def test_a_tag_rule_without_tags_is_refused(db):
    from broadsheet.services.audiences import check_audience

    with pytest.raises(ValidationError) as refused:
        check_audience(db, {"exclude_tags": []})
    assert "at least one tag" in refused.value.fields["audience.exclude_tags"]

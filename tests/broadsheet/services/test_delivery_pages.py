"""A campaign's deliveries a keyset page at a time (broadsheet.services.delivery_pages), by
status, reader's domain and reply class; bad filters name their field."""

from __future__ import annotations

import pytest

from broadsheet.errors import ValidationError
from broadsheet.models import EventSource
from broadsheet.services import campaigns, engagement, newsletters, subscriptions
from broadsheet.services.delivery_pages import (
    check_domain,
    check_status,
    deliveries_page,
    readers_who,
)
from broadsheet.services.ledger import plan_deliveries
from broadsheet.services.preferences import leave_through
from tests.support.factories import make_article
from tests.support.live import mixed_campaign


def page(session, campaign_id, status=None, domain=None, reply=None, after=None, limit=50):
    return deliveries_page(
        session, campaign_id, statuses=check_status(status), domain=check_domain(domain),
        reply=reply, after=after, limit=limit, left=readers_who(status),
    )  # fmt: skip


def test_pages_follow_one_another_by_id_and_end(committed):
    campaign_id = mixed_campaign(committed)
    first = page(committed, campaign_id, status="failures", limit=4)
    assert len(first.rows) == 4 and first.after == first.rows[-1].id
    second = page(committed, campaign_id, status="failures", after=first.after, limit=4)
    assert [r.id for r in second.rows] > [r.id for r in first.rows]
    assert len(second.rows) == 2 and second.after is None
    assert {r.status for r in first.rows + list(second.rows)} == {"failed", "bounced"}


def test_a_domain_and_a_reply_class_narrow_the_list(committed):
    campaign_id = mixed_campaign(committed)
    refused = page(committed, campaign_id, status="failures", domain="Refusing.test")
    assert len(refused.rows) == 3
    assert all(r.email.endswith("@refusing.test") for r in refused.rows)
    assert refused.rows[0].reply == "550 5.7.1 <x@refusing.test>: we refuse"
    bounced = page(committed, campaign_id, status="failures", reply="550 5.1.1")
    assert [r.status for r in bounced.rows] == ["bounced", "bounced"]
    lost = page(committed, campaign_id, reply="connection lost")
    assert [r.email.rpartition("@")[2] for r in lost.rows] == ["slow.test"]
    assert page(committed, campaign_id, domain="example.org.uk").rows == []


@pytest.mark.parametrize(
    ("field", "check", "value"),
    [("status", check_status, "lost"), ("domain", check_domain, "a@b"),
     ("domain", check_domain, "a b")],
)  # fmt: skip
def test_a_bad_filter_is_refused_naming_its_field(field, check, value):
    with pytest.raises(ValidationError) as raised:
        check(value)
    assert field in raised.value.fields


def test_unsubscribed_lists_readers_who_left_its_newsletter_or_everything_through_it(committed):
    newsletters.create_newsletter(committed, "Weekly")
    newsletters.create_newsletter(committed, "Daily")
    readers = [
        subscriptions.create_subscriber(
            committed, f"{name}@example.org", status="active", newsletters_chosen=chosen
        ).id
        for name, chosen in (("ann", ["weekly", "daily"]), ("bo", ["weekly"]), ("cy", ["weekly"]))
    ]
    weekly = campaigns.create_campaign(
        committed, make_article(committed).id, audience={"newsletters": ["weekly"]}
    )
    plan_deliveries(committed, weekly)
    for reader in readers[:2]:  # Ann keeps Daily; Bo's last newsletter: everything
        leave_through(committed, reader, weekly.id, EventSource.ONE_CLICK)
    first = page(committed, weekly.id, status="unsubscribed", limit=1)
    assert [r.email for r in first.rows] == ["ann@example.org"] and first.after == readers[0]
    rest = page(committed, weekly.id, status="unsubscribed", after=first.after, limit=1)
    assert [r.email for r in rest.rows] == ["bo@example.org"]
    assert engagement.count_left(committed, [weekly.id])[weekly.id]["unsubscribed"] == 2

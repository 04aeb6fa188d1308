"""A campaign to a saved segment follows the segment while it waits (its count and what it
would plan), and freezes the segment's rules into itself when its send starts: the ledger
holds the audience as it stood then, and no later change to the segment reaches it. A
segment a campaign waits on is not deleted (broadsheet.services.audience_freeze)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from broadsheet.errors import Conflict
from broadsheet.models import Campaign, Delivery, Subscriber
from broadsheet.services import campaigns, ledger, newsletters, segments, subscriptions
from tests.support.factories import make_article


def readers(db) -> None:
    """Ann (daily, donor), Bob (weekly, press), Cy (daily and weekly, donor and press), Di
    (staff only, donor)."""
    for name in ("Daily", "Weekly", "Staff"):
        newsletters.create_newsletter(db, name)
    for email, tags, chosen in (
        ("ann@example.org", ["donor"], ["daily"]),
        ("bob@example.org", ["press"], ["weekly"]),
        ("cy@example.org", ["donor", "press"], ["daily", "weekly"]),
        ("di@example.org", ["donor"], ["staff"]),
    ):
        subscriptions.create_subscriber(
            db, email, status="active", tags=tags, newsletters_chosen=chosen
        )


def rules(campaign: Campaign) -> dict[str, Any]:
    return campaign.audience_rules or {}


def planned(db, campaign_id: int) -> list[str]:
    query = (
        select(Subscriber.email)
        .join(Delivery, Delivery.subscriber_id == Subscriber.id)
        .where(Delivery.campaign_id == campaign_id)
        .order_by(Subscriber.email)
    )
    return list(db.scalars(query))


def test_a_draft_follows_its_segment_until_the_send_starts_then_keeps_it(db, settings):
    readers(db)
    donors = segments.create_segment(db, "Donors", {"tags_any": ["donor"]})
    campaign = campaigns.create_campaign(
        db,
        make_article(db).id,
        audience={"newsletters": ["daily", "weekly"], "segment": "Donors"},
    )
    assert campaign.segment_id == donors.id
    assert set(rules(campaign)) == {"newsletters"}  # a reference, not a copy
    assert campaigns.readers_now(db, campaign) == 2  # Ann, Cy (Di is in neither newsletter)

    segments.update_segment(db, donors.id, "Donors", {"tags_any": ["press"]})
    assert campaigns.readers_now(db, campaign) == 2  # Bob and Cy now
    assert [c.id for c in segments.waiting_campaigns(db, donors)] == [campaign.id]

    campaigns.start_send(db, campaign.id)
    campaigns.freeze_audience(db, campaign, settings)  # what the start task does first
    assert ledger.plan_deliveries(db, campaign) == 2
    assert planned(db, campaign.id) == ["bob@example.org", "cy@example.org"]  # each once
    assert segments.waiting_campaigns(db, donors) == []
    assert rules(campaign)["tags_any"] == ["press"] and rules(campaign)["segment"] == "Donors"

    segments.update_segment(db, donors.id, "Donors", {"tags_any": ["donor"]})
    assert rules(campaign)["tags_any"] == ["press"]
    assert campaigns.readers_now(db, campaign) == 2
    assert ledger.plan_deliveries(db, campaign) == 0  # a re-run adds nobody
    assert planned(db, campaign.id) == ["bob@example.org", "cy@example.org"]
    assert segments.waiting_campaigns(db, donors) == []


def test_planning_freezes_a_segment_not_frozen_yet(db):
    """The ledger freezes too, so nothing plans a segment's rules as they may change."""
    readers(db)
    segments.create_segment(db, "Donors", {"tags_any": ["donor"]})
    campaign = campaigns.create_campaign(db, make_article(db).id, audience={"segment": "Donors"})
    campaigns.start_send(db, campaign.id)
    ledger.plan_deliveries(db, campaign)
    assert planned(db, campaign.id) == ["ann@example.org", "cy@example.org", "di@example.org"]
    assert campaign.segment_id is None and rules(campaign)["tags_any"] == ["donor"]


def test_a_segment_a_campaign_waits_on_is_not_deleted_until_it_is_cancelled(db):
    readers(db)
    donors = segments.create_segment(db, "Donors", {"tags_any": ["donor"]})
    campaign = campaigns.create_campaign(
        db, make_article(db, "Spring appeal").id, audience={"segment": "Donors"}
    )
    with pytest.raises(Conflict) as refused:
        segments.delete_segment(db, donors.id)
    assert f"campaign {campaign.id} (“Spring appeal”)" in str(refused.value)
    campaigns.cancel(db, campaign.id)  # cancelling freezes, as starting does
    segments.delete_segment(db, donors.id)
    assert campaign.audience_rules == {"tags_any": ["donor"], "segment": "Donors"}


def test_a_draft_changes_audience_and_the_segment_it_leaves_is_free(db):
    readers(db)
    donors = segments.create_segment(db, "Donors", {"tags_any": ["donor"]})
    campaign = campaigns.create_campaign(db, make_article(db).id, audience={"segment": "Donors"})
    campaigns.update_draft(
        db, campaign.id, subject="Weekly", preheader="", audience={"newsletters": ["weekly"]}
    )
    assert campaign.segment_id is None and campaigns.readers_now(db, campaign) == 2
    segments.delete_segment(db, donors.id)

"""A campaign's tracking switch through the API, and its engagement in `counts`: unique
readers, raw and likely human, and the unsubscribes and complaints it caused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from broadsheet.models import Delivery, EngagementKind
from broadsheet.services.subscriptions import unsubscribe
from broadsheet.services.suppression import mark_complained
from broadsheet.tracking.hits import Hit
from broadsheet.tracking.store import record_hits
from tests.support.api import bearer
from tests.support.factories import add_readers, campaign_in, make_article


@pytest.fixture
def headers(committed):
    return bearer(committed)


def test_tracking_is_on_by_default_and_can_be_chosen(client, committed, headers):
    article = make_article(committed)
    committed.commit()
    made = client.post("/api/v1/campaigns", json={"article_id": article.id}, headers=headers)
    assert made.status_code == 201 and made.get_json()["tracking"] is True
    off = client.post(
        "/api/v1/campaigns", json={"article_id": article.id, "tracking": False}, headers=headers
    )
    assert off.status_code == 201 and off.get_json()["tracking"] is False


@pytest.mark.parametrize("value", ["yes", 1, None, "off"])
def test_tracking_must_be_a_boolean(client, committed, headers, value):
    article = make_article(committed)
    committed.commit()
    answer = client.post(
        "/api/v1/campaigns", json={"article_id": article.id, "tracking": value}, headers=headers
    )
    assert answer.status_code == 422 and "tracking" in answer.get_json()["fields"]


def test_patch_changes_a_draft_and_refuses_a_started_campaign(client, committed, headers):
    draft = campaign_in(committed, "draft")
    url = f"/api/v1/campaigns/{draft.id}"
    answer = client.patch(url, json={"tracking": False, "subject": "New"}, headers=headers)
    assert answer.status_code == 200
    assert (answer.get_json()["tracking"], answer.get_json()["subject"]) == (False, "New")
    bad = client.patch(url, json={"status": "sent"}, headers=headers)
    assert bad.status_code == 422 and "status" in bad.get_json()["fields"]
    sending = campaign_in(committed, "sending", "Later")
    late = client.patch(
        f"/api/v1/campaigns/{sending.id}", json={"tracking": False}, headers=headers
    )
    assert late.status_code == 409


def test_counts_have_unique_readers_raw_and_human(client, committed, headers):
    add_readers(committed, 4)
    campaign = campaign_in(committed, "sent")
    first, second, third, fourth = committed.execute(
        select(Delivery.id, Delivery.subscriber_id)
        .where(Delivery.campaign_id == campaign.id)
        .order_by(Delivery.id)
    ).all()

    def hit(kind, delivery, human, reason="client", link=None):
        return Hit(kind, campaign.id, delivery, link, human, reason, 1_765_000_000_000)

    hits = [
        hit(EngagementKind.OPEN, first.id, True),
        hit(EngagementKind.OPEN, first.id, True),
        hit(EngagementKind.CLICK, first.id, True, link=0),
        hit(EngagementKind.OPEN, second.id, False, "bare-agent"),
        hit(EngagementKind.CLICK, third.id, False, "honeypot", link=3),
    ]
    record_hits(committed, "batch-1", hits, privacy=False)
    unsubscribe(committed, fourth.subscriber_id, campaign_id=campaign.id)
    mark_complained(committed, third.subscriber_id, "spam", campaign.id)
    committed.commit()
    counts = client.get(f"/api/v1/campaigns/{campaign.id}", headers=headers).get_json()["counts"]
    assert {k: counts[k] for k in ("opened", "opened_human", "clicked", "clicked_human")} == {
        "opened": 3, "opened_human": 1, "clicked": 2, "clicked_human": 1,
    }  # fmt: skip
    assert (counts["unsubscribed"], counts["complained"]) == (1, 1)
    listed = client.get("/api/v1/campaigns", headers=headers).get_json()["campaigns"]
    assert listed[0]["counts"]["opened"] == 3

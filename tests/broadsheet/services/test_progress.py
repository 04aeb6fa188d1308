"""A campaign's counts by status (broadsheet.services.progress): a small campaign is counted
at every ask; a large one is shown with counts kept on it, which the tick brings up to date
while the counts can still change, and which are exact once it finishes."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from broadsheet.models import Campaign, CampaignStatus, Delivery, DeliveryStatus
from broadsheet.services import progress
from broadsheet.services.campaigns import delivery_counts, start_send
from broadsheet.services.ledger import complete_if_done, plan_deliveries
from tests.support.api import bearer
from tests.support.factories import add_readers, make_campaign
from worker.tasks import tick


def started(session, readers: int = 5) -> int:
    """A planned, sending campaign to `readers` readers, its counts kept, committed."""
    add_readers(session, readers)
    campaign = start_send(session, make_campaign(session).id)
    plan_deliveries(session, campaign)
    progress.keep(session, [campaign.id])
    session.commit()
    return campaign.id


def set_status(session, campaign_id: int, status: DeliveryStatus, rows: int) -> None:
    """`rows` of the campaign's deliveries get `status` (as sending them would)."""
    ids = [
        d.id
        for d in session.query(Delivery).filter_by(campaign_id=campaign_id).order_by(Delivery.id)
    ][:rows]
    session.execute(update(Delivery).where(Delivery.id.in_(ids)).values(status=status))
    session.commit()


@pytest.fixture
def large(monkeypatch):
    """Campaigns of more than 3 deliveries count as large."""
    monkeypatch.setattr(progress, "KEPT_COUNTS_ABOVE", 3)


def test_a_small_campaign_is_counted_at_every_ask(committed):
    campaign_id = started(committed)
    set_status(committed, campaign_id, DeliveryStatus.SENT, 2)
    counts = delivery_counts(committed, campaign_id)
    assert (counts["sent"], counts["queued"], counts["total"]) == (2, 3, 5)


def test_a_large_campaign_shows_its_kept_counts_until_the_tick_counts_again(committed, large):
    campaign_id = started(committed)
    set_status(committed, campaign_id, DeliveryStatus.SENT, 2)
    assert delivery_counts(committed, campaign_id)["sent"] == 0  # as kept at planning
    assert delivery_counts(committed, campaign_id, live=True)["sent"] == 2
    assert progress.recount(committed) == [campaign_id]
    committed.commit()
    assert delivery_counts(committed, campaign_id)["sent"] == 2
    committed.expire_all()
    assert committed.get(Campaign, campaign_id).counted_at is not None


def test_the_tick_counts_a_large_sending_campaign_again(committed, large):
    campaign_id = started(committed)
    set_status(committed, campaign_id, DeliveryStatus.SENT, 3)
    assert tick()["recounted"] == 1
    assert delivery_counts(committed, campaign_id)["sent"] == 3
    committed.rollback()


def test_a_paused_campaign_is_counted_again_only_while_rows_were_in_flight(committed, large):
    campaign_id = started(committed)
    set_status(committed, campaign_id, DeliveryStatus.SENDING, 1)
    progress.recount(committed)  # while sending: one row in flight
    committed.execute(
        update(Campaign).where(Campaign.id == campaign_id).values(status=CampaignStatus.PAUSED)
    )
    set_status(committed, campaign_id, DeliveryStatus.SENT, 1)  # the row in flight lands
    assert progress.recount(committed) == [campaign_id]  # kept counts said one was in flight
    committed.commit()
    assert delivery_counts(committed, campaign_id)["sent"] == 1
    assert progress.recount(committed) == []  # nothing can change while it stays paused


def test_a_finished_campaign_keeps_its_exact_final_counts(committed, large):
    campaign_id = started(committed)
    set_status(committed, campaign_id, DeliveryStatus.SENT, 4)
    set_status(committed, campaign_id, DeliveryStatus.SENT, 5)
    assert complete_if_done(committed, campaign_id) == 1
    committed.commit()
    counts = delivery_counts(committed, campaign_id)
    assert (counts["sent"], counts["queued"], counts["total"]) == (5, 0, 5)
    assert progress.recount(committed) == []  # sent: final


def test_the_admin_says_when_a_large_campaigns_counts_were_made(editor, committed, large):
    campaign_id = started(committed)
    page = editor.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Counted at" in page
    polled = editor.get(f"/admin/campaigns/{campaign_id}/progress").get_json()
    assert polled["counted_at"] is not None
    assert polled["counts"]["total"] == 5


def test_the_admin_counts_a_small_campaign_at_each_request(editor, committed):
    campaign_id = started(committed)
    set_status(committed, campaign_id, DeliveryStatus.SENT, 1)
    page = editor.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Counted at" not in page
    polled = editor.get(f"/admin/campaigns/{campaign_id}/progress").get_json()
    assert (polled["counted_at"], polled["counts"]["sent"]) == (None, 1)


def test_the_api_says_when_kept_counts_were_made(client, committed, large):
    large_id = started(committed)
    answer = client.get(f"/api/v1/campaigns/{large_id}", headers=bearer(committed)).get_json()
    assert answer["counted_at"] is not None and answer["counts"]["total"] == 5

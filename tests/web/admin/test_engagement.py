"""A sent campaign's opens and clicks on its page, read by every role: readers and hits
side by side (likely human, raw), the note on why they differ, the chart, the top links,
the readers it lost linked to their deliveries; privacy mode and tracking off said plainly;
the overview's open, click and unsubscribe rates; a campaign with many hits shown as last
counted, on its page, the overview and the API alike."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import insert, select, update

from broadsheet.models import Campaign, Engagement, EngagementCount, EngagementReport, utcnow
from broadsheet.services import engagement_kept
from broadsheet.services.campaigns import prepare
from broadsheet.services.engagement import WHY_THEY_DIFFER
from broadsheet.services.engagement_report import recount_engagement
from tests.support.admin import sign_in
from tests.support.api import bearer
from tests.support.engagement import LINKS, engaged_campaign
from tests.support.factories import campaign_in, make_user


def figure(page: str, name: str) -> str:
    """The text of a figure's cell (`data-figure="name"`), tags left out."""
    cell = page.split(f'data-figure="{name}">', 1)[1].split("</td>", 1)[0]
    return " ".join("".join(part.split(">")[-1] for part in cell.split("<")).split())


@pytest.mark.parametrize("role", ["admin", "editor", "operator"])
def test_every_role_reads_the_figures(app, committed, role, settings):
    campaign = engaged_campaign(committed, settings)
    make_user(committed, role)
    client = app.test_client()
    sign_in(client, f"{role}@example.org")
    answer = client.get(f"/admin/campaigns/{campaign.id}")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert "Shares are of the 10 messages sent." in page
    assert figure(page, "opened_human") == "3 30.0%"
    assert figure(page, "opened") == "6 60.0%"
    assert figure(page, "clicked_human") == "2 20.0%"
    assert figure(page, "opens") == "6" and figure(page, "clicks_human") == "3"
    assert WHY_THEY_DIFFER.replace("'", "&#39;") in page
    assert 'id="engagement-chart"' in page and "Machines&#39; opens and clicks" in page
    assert f'title="{LINKS[1]}"' in page and ">example.org/the/longest/path" in page
    for status in ("unsubscribed", "complained"):
        assert f'/deliveries?status={status}">1</a> <span class="rate">10.0%' in page
        listed = client.get(f"/admin/campaigns/{campaign.id}/deliveries?status={status}")
        assert listed.status_code == 200
        text = listed.get_data(as_text=True)
        reader = "rate-7" if status == "unsubscribed" else "rate-8"
        assert f"{reader}@example.org" in text and text.count("@example.org</a>") == 1


def test_privacy_mode_counts_hits_and_says_it_keeps_no_reader(app, settings, editor, committed):
    campaign = campaign_in(committed, "sent")
    prepare(committed, campaign, settings)
    campaign.tracking_links = LINKS
    committed.execute(
        insert(EngagementCount),
        [
            {"campaign_id": campaign.id, "kind": "open", "link_index": -1, "human": True,
             "count": 7},
            {"campaign_id": campaign.id, "kind": "click", "link_index": 0, "human": False,
             "count": 2},
        ],
    )  # fmt: skip
    committed.commit()
    app.config["BROADSHEET"] = replace(settings, tracking_privacy=True)
    page = editor.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "no record per reader" in page
    assert 'data-figure="opened' not in page  # no unique figures
    assert figure(page, "opens") == "7" and figure(page, "clicks") == "2"
    assert figure(page, "clicks_human") == "0"
    assert "Clicks, likely human" in page


def test_tracking_off_says_so_instead_of_zeros(app, settings, editor, committed):
    campaign = campaign_in(committed, "sent")
    committed.execute(update(Campaign).values(tracking=False))
    committed.commit()
    page = editor.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "sent without tracking" in page and "data-figure" not in page
    app.config["BROADSHEET"] = replace(settings, tracking=False)
    page = editor.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "tracking is off for every campaign" in page and "data-figure" not in page


@pytest.mark.parametrize("off", ["campaign", "everywhere"])
def test_without_tracking_the_readers_it_lost_still_show(app, settings, editor, committed, off):
    campaign = engaged_campaign(committed, settings)
    if off == "campaign":
        committed.execute(update(Campaign).values(tracking=False))
        committed.commit()
    else:
        app.config["BROADSHEET"] = replace(settings, tracking=False)
    page = editor.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "data-figure" not in page and "no opens or clicks to show" in page
    assert "Readers it lost" in page and "counted with tracking off too" in page
    for status in ("unsubscribed", "complained"):
        link = f'/admin/campaigns/{campaign.id}/deliveries?status={status}">1</a>'
        assert f'data-left="{status}"><a href="{link}' in page  # the delivery card's count
        assert f'data-lost="{status}"><a href="{link} <span class="rate">10.0%' in page
        listed = editor.get(f"/admin/campaigns/{campaign.id}/deliveries?status={status}")
        reader = "rate-7" if status == "unsubscribed" else "rate-8"
        assert f"{reader}@example.org" in listed.get_data(as_text=True)


def test_a_tracked_campaign_without_hits_says_nothing_yet(editor, committed):
    campaign = campaign_in(committed, "sent")
    page = editor.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Counted, but nothing yet" in page and "data-figure" not in page


def test_the_overview_shows_open_click_and_unsubscribe_rates(editor, committed, settings):
    engaged_campaign(committed, settings)
    untracked = campaign_in(committed, "sent", "Quiet Post")
    committed.execute(update(Campaign).where(Campaign.id == untracked.id).values(tracking=False))
    committed.commit()
    page = editor.get("/admin/").get_data(as_text=True)
    row = page.split("Rate of Change</a>", 1)[1].split("</tr>", 1)[0]
    assert 'data-label="Opened"' in row and ">30.0%</span>" in row and "raw 60.0%" in row
    assert ">20.0%</span>" in row and "raw 30.0%" in row  # clicked
    assert '1 <span class="rate">(10.0%)</span>' in row  # unsubscribed
    quiet = page.split("Quiet Post</a>", 1)[1].split("</tr>", 1)[0]
    assert quiet.count("not counted") == 2


def test_a_large_campaign_shows_its_kept_figures_and_when(editor, committed, settings, monkeypatch):
    monkeypatch.setattr(engagement_kept, "KEPT_ABOVE", 3)  # its 10 hits make it large
    campaign = engaged_campaign(committed, settings)
    committed.add(EngagementReport(campaign_id=campaign.id, hits=10))  # as the drain keeps it
    committed.flush()
    assert recount_engagement(committed, utcnow()) == [campaign.id]
    # A hit not yet counted (it came after): the pages show the kept figures, not it.
    row = committed.execute(
        select(Engagement.delivery_id, Engagement.subscriber_id)
        .where(Engagement.campaign_id == campaign.id)
        .order_by(Engagement.delivery_id.desc())
    ).first()
    assert row is not None
    committed.add(
        Engagement(campaign_id=campaign.id, delivery_id=row[0] + 100, subscriber_id=row[1],
                   kind="open", human=True, reason="client", at=utcnow())
    )  # fmt: skip
    committed.commit()
    page = editor.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert figure(page, "opened") == "6 60.0%" and figure(page, "opens") == "6"
    assert "data-engagement-counted-at" in page and "is counted again every few seconds" in page
    assert f'title="{LINKS[1]}"' in page and 'id="engagement-chart"' in page
    assert '/deliveries?status=unsubscribed">1</a>' in page  # counted at the look
    overview = editor.get("/admin/").get_data(as_text=True)
    rates = overview.split("Rate of Change</a>", 1)[1].split("</tr>", 1)[0]
    assert "raw 60.0%" in rates
    api = editor.application.test_client()
    counts = api.get(f"/api/v1/campaigns/{campaign.id}", headers=bearer(committed)).get_json()
    assert (counts["counts"]["opened"], counts["counts"]["unsubscribed"]) == (6, 1)

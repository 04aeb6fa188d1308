"""A campaign's engagement as its page shows it (broadsheet.services.engagement_report):
readers and hits, raw and likely human, shares of the messages sent, the top links, hour or
day buckets since the send; the overview's rates (reception) and the deliveries of the
readers it lost (delivery_pages)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from broadsheet.models import Delivery, Engagement, EventSource, SubscriberEvent
from broadsheet.services.delivery_pages import deliveries_page, readers_who
from broadsheet.services.engagement_report import engagement_report
from broadsheet.services.reception import reception
from tests.support.engagement import LINKS, engaged_campaign


def test_readers_hits_and_shares_raw_and_likely_human(committed, settings):
    campaign = engaged_campaign(committed, settings)
    report = engagement_report(committed, campaign, sent=10)
    r = report.readers
    assert (r["opened"], r["opened_human"], r["clicked"], r["clicked_human"]) == (6, 3, 3, 2)
    assert (r["unsubscribed"], r["complained"]) == (1, 1)  # reader 9's names no campaign
    assert report.hits == {"opens": 6, "opens_human": 4, "clicks": 4, "clicks_human": 3}
    assert report.share("opened_human") == 0.3 and report.share("complained") == 0.1
    assert [(x.url, x.clicked, x.clicked_human) for x in report.links] == [
        (LINKS[0], 2, 1), (LINKS[1], 1, 1),
    ]  # fmt: skip
    assert engagement_report(committed, campaign, sent=0).share("opened") is None


def test_the_first_two_days_go_by_hour_then_by_day(committed, settings):
    campaign = engaged_campaign(committed, settings)
    report = engagement_report(committed, campaign, sent=10)
    assert report.hourly and len(report.buckets) == 6  # hours 0 to 5, the empty ones kept
    first = report.buckets[0]
    assert (first.opens, first.opens_human, first.clicks, first.clicks_human) == (3, 1, 2, 1)
    assert first.machine == 3 and report.buckets[3].opens == 0
    assert campaign.started_at is not None
    late = campaign.started_at + timedelta(days=3, hours=2)
    committed.execute(
        update(Engagement).where(Engagement.campaign_id == campaign.id, Engagement.human.is_(False))
        .values(at=late)
    )  # fmt: skip
    by_day = engagement_report(committed, campaign, sent=10)
    assert not by_day.hourly and len(by_day.buckets) == 4
    assert by_day.buckets[0].start.hour == 0 and by_day.buckets[-1].machine == 3
    assert sum(b.opens for b in by_day.buckets) == 6


def test_the_overview_rates_come_for_every_campaign_at_once(committed, settings):
    first, second = (
        engaged_campaign(committed, settings),
        engaged_campaign(committed, settings, "Second Post"),
    )
    figures = reception(committed, [first.id, second.id], engagement=True)
    assert figures[first.id].sent == 10
    assert figures[first.id].rate("opened_human") == 0.3
    assert figures[second.id].sent == 20  # the first's readers are still active
    assert figures[second.id].rate("clicked") == 0.15
    assert figures[second.id].rate("unsubscribed") == 0.05
    assert reception(committed, [first.id])[first.id].rate("opened") == 0.0  # not asked for


def test_the_readers_it_lost_are_listed_by_their_deliveries(committed, settings):
    campaign = engaged_campaign(committed, settings)

    def emails(status: str, limit: int = 50) -> list[str]:
        page = deliveries_page(
            committed, campaign.id, statuses=None, domain=None, reply=None, after=None,
            limit=limit, left=readers_who(status),
        )  # fmt: skip
        return [row.email for row in page.rows]

    assert emails("unsubscribed") == ["rate-7@example.org"]  # not reader 9 (no campaign)
    assert emails("complained") == ["rate-8@example.org"]
    assert readers_who("sent") is None and len(emails("sent")) == 10


def test_the_readers_it_lost_come_a_page_of_readers_at_a_time(committed, settings):
    campaign = engaged_campaign(committed, settings)
    deliveries = committed.execute(
        select(Delivery.subscriber_id).where(Delivery.campaign_id == campaign.id)
    ).scalars()
    for reader in list(deliveries)[:3]:  # readers 0-2 unsubscribe through it too
        committed.add(
            SubscriberEvent(
                subscriber_id=reader, from_status="active", to_status="unsubscribed",
                source=EventSource.ONE_CLICK, campaign_id=campaign.id,
            )
        )  # fmt: skip
    committed.commit()
    seen: list[str] = []
    pages: list[int | None] = []
    after = None
    while len(pages) < 3:
        page = deliveries_page(
            committed, campaign.id, statuses=None, domain=None, reply=None, after=after,
            limit=3, left=readers_who("unsubscribed"),
        )  # fmt: skip
        seen += [row.email for row in page.rows]
        pages.append(after := page.after)
        if after is None:
            break
    assert seen == [f"rate-{n}@example.org" for n in (0, 1, 2, 7)]
    assert len(pages) == 2  # three readers, then the last one

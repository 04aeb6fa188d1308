"""The link check through the real worker, with the production address policy: a campaign's
links on a loopback site are not asked (the address is internal), the report is stored on the
campaign, and the pre-send checks read it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from broadsheet.mail.checks import run_checks
from broadsheet.mail.link_report import LinkReport, LinkResult
from broadsheet.models import Campaign
from tests.support.factories import make_campaign, sample_message
from tests.support.web_servers import Server, serve
from worker.tasks import check_campaign_links

INTERNAL = ("not checked", "the address is internal")


@pytest.fixture(scope="module")
def site() -> Iterator[Server]:
    yield from serve(Server())


def results(report: LinkReport) -> dict[str, LinkResult]:
    return {result["url"]: result for result in report["results"]}


def verdict(result: LinkResult) -> tuple[str, str | None]:
    return result["outcome"], result["reason"]


def test_worker_stores_the_report_on_the_campaign(committed, celery_worker, site, settings):
    """The real task with the production policy: the site on loopback is not asked."""
    body = f"Read [this]({site.url}/ok) and [that]({site.url}/missing)."
    campaign = make_campaign(committed, body_markdown=body)
    committed.commit()
    campaign_id = campaign.id
    site.seen.clear()
    check_campaign_links.delay(campaign_id)

    deadline = time.monotonic() + 30
    while True:
        # Plain values, and the read ended at once: SQLite's write lock is taken at BEGIN.
        report, html = committed.execute(
            select(Campaign.link_report, Campaign.rendered_html).where(Campaign.id == campaign_id)
        ).one()
        committed.rollback()
        if report is not None:
            break
        assert time.monotonic() < deadline, celery_worker.log()
        time.sleep(0.2)

    assert html is not None  # rendered by the task
    assert {url: verdict(r) for url, r in results(report).items()} == {
        f"{site.url}/ok": INTERNAL,
        f"{site.url}/missing": INTERNAL,
    }
    assert site.seen == []
    campaign = committed.get(Campaign, campaign_id)
    checks = run_checks(
        sample_message(committed, campaign, settings),
        subject=campaign.subject,
        preheader="",
        settings=settings,
        link_report=report,
    )
    committed.rollback()
    links = next(check for check in checks if check.key == "links")
    assert links.level == "warn"
    assert links.detail == (
        f"2 links were not checked: {site.url}/ok (the address is internal), "
        f"{site.url}/missing (the address is internal)."
    )

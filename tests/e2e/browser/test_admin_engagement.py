"""A sent campaign's opens and clicks, and the overview's rates, in a real browser (Debian's
Chromium through Playwright): at phone and desktop widths, light and dark, with no sideways
scrolling and readable contrast. Screenshots go to tests/artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, ViewportSize, expect
from sqlalchemy.orm import Session

from broadsheet.models import EngagementReport, utcnow
from broadsheet.services import engagement_kept
from broadsheet.services.engagement_report import recount_engagement
from broadsheet.settings import Settings
from tests.support.admin_browser import EVERY_SCREEN, TEXT, sign_in
from tests.support.browser import Scheme, contrast_ratios, horizontal_overflow, open_page
from tests.support.engagement import engaged_campaign
from tests.support.factories import make_user
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser
SHOWN = [*TEXT, ".engagement-figures th", ".engagement-figures td", ".rate", ".chart-title"]


@EVERY_SCREEN
def test_a_sent_campaigns_opens_and_clicks(
    browser: Browser,
    live: LiveServer,
    committed: Session,
    settings: Settings,
    shots: Path,
    device: str,
    viewport: ViewportSize,
    scheme: Scheme,
):
    make_user(committed, "operator")
    campaign = engaged_campaign(committed, settings)
    page = open_page(browser, live, viewport, scheme)
    try:
        sign_in(page, "operator@example.org")
        page.goto(f"/admin/campaigns/{campaign.id}")
        section = page.locator("#opens-and-clicks")
        expect(section.locator('[data-figure="opened_human"]')).to_contain_text("30.0%")
        expect(section.locator("#engagement-chart")).to_be_visible()
        section.screenshot(path=shots / f"{device}-opens-and-clicks.png")
        page.locator("#delivery").screenshot(path=shots / f"{device}-delivery.png")
        assert horizontal_overflow(page) <= 0, f"the campaign page scrolls sideways on {device}"
        low = [(s, r) for s, r in contrast_ratios(page, SHOWN) if r < 4.5]
        assert not low, f"text below 4.5:1 contrast on {device}: {low}"

        section.get_by_role("link", name="1").first.click()
        expect(page.locator("h1")).to_contain_text("readers who unsubscribed")
        expect(page.locator("main")).to_contain_text("rate-7@example.org")

        page.goto("/admin/")
        table = page.locator("table[aria-labelledby=campaigns-title]")
        expect(table).to_contain_text("30.0%")
        table.screenshot(path=shots / f"{device}-overview-campaigns.png")
        assert horizontal_overflow(page) <= 0, f"the overview scrolls sideways on {device}"
    finally:
        page.context.close()


@EVERY_SCREEN
def test_a_large_campaigns_kept_figures_say_when_they_were_counted(
    browser: Browser,
    live: LiveServer,
    committed: Session,
    settings: Settings,
    shots: Path,
    device: str,
    viewport: ViewportSize,
    scheme: Scheme,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setattr(engagement_kept, "KEPT_ABOVE", 3)  # its 10 hits make it large
    make_user(committed, "operator")
    campaign = engaged_campaign(committed, settings)
    committed.add(EngagementReport(campaign_id=campaign.id, hits=10))  # as the drain keeps it
    committed.flush()
    recount_engagement(committed, utcnow())
    committed.commit()
    page = open_page(browser, live, viewport, scheme)
    try:
        sign_in(page, "operator@example.org")
        page.goto(f"/admin/campaigns/{campaign.id}")
        section = page.locator("#opens-and-clicks")
        expect(section.locator("[data-engagement-counted-at]")).to_be_visible()
        expect(section.locator('[data-figure="opened_human"]')).to_contain_text("30.0%")
        section.screenshot(path=shots / f"{device}-opens-and-clicks-kept.png")
        assert horizontal_overflow(page) <= 0, f"the campaign page scrolls sideways on {device}"
        low = [(s, r) for s, r in contrast_ratios(page, SHOWN) if r < 4.5]
        assert not low, f"text below 4.5:1 contrast on {device}: {low}"
    finally:
        page.context.close()

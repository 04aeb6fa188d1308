"""The tracking switch in a real browser (Debian's Chromium through Playwright): on the
new-campaign form and the campaign page, at phone and desktop widths, light and dark, with no
sideways scrolling and readable contrast. Screenshots go to tests/artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, ViewportSize, expect
from sqlalchemy.orm import Session

from tests.support.admin_browser import EVERY_SCREEN, TEXT, sign_in
from tests.support.browser import Scheme, contrast_ratios, horizontal_overflow, open_page
from tests.support.factories import make_campaign, make_user
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser


@EVERY_SCREEN
def test_tracking_is_chosen_and_switched_off(
    browser: Browser,
    live: LiveServer,
    committed: Session,
    shots: Path,
    device: str,
    viewport: ViewportSize,
    scheme: Scheme,
):
    make_user(committed, "editor")
    campaign = make_campaign(committed, "Late Trains")
    committed.commit()
    page = open_page(browser, live, viewport, scheme)
    try:
        sign_in(page, "editor@example.org")
        page.goto(f"/admin/campaigns/new?article={campaign.article_id}")
        expect(page.get_by_label("Count opens and clicks")).to_have_value("on")
        page.locator("main form").screenshot(path=shots / f"{device}-new-campaign.png")
        assert horizontal_overflow(page) <= 0, f"the form scrolls sideways on {device}"

        page.goto(f"/admin/campaigns/{campaign.id}")
        section = page.locator("#opens-and-clicks")
        expect(section).to_contain_text("Counted: each message carries an invisible pixel")
        section.get_by_label("Count opens and clicks").select_option("off")
        section.get_by_role("button", name="Save").click()
        expect(page.get_by_role("status")).to_contain_text("will not be counted")
        expect(page.locator("#opens-and-clicks")).to_contain_text("Not counted")
        page.locator("#opens-and-clicks").screenshot(path=shots / f"{device}-tracking.png")
        assert horizontal_overflow(page) <= 0, f"the campaign page scrolls sideways on {device}"
        low = [(s, r) for s, r in contrast_ratios(page, TEXT) if r < 4.5]
        assert not low, f"text below 4.5:1 contrast on {device}: {low}"
    finally:
        page.context.close()

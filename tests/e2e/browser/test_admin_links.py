"""The link check's report on the campaign page in a real browser (Debian's Chromium through
Playwright): the checks name broken and unchecked links with their reasons, and the section
fits a phone and a desktop, in light and dark, without sideways scrolling and with readable
contrast. Screenshots are kept under tests/artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, ViewportSize, expect
from sqlalchemy.orm import Session

from broadsheet.services.campaigns import record_link_report
from tests.support.admin_browser import EVERY_SCREEN, TEXT, sign_in
from tests.support.browser import Scheme, contrast_ratios, horizontal_overflow, open_page
from tests.support.factories import make_campaign, make_user
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser

MISSING = "https://example.org/reports/2026/the-annual-review-of-late-trains-in-full.pdf"
INTRANET = "http://wiki.internal.example/departments/timetables/drafts/next-winter"
BODY = f"[The review]({MISSING}), [our notes]({INTRANET}), [the data](https://example.org/data)."


def result(url: str, outcome: str, reason: str | None) -> dict[str, object]:
    return {"url": url, "outcome": outcome, "reason": reason, "https": None}


@EVERY_SCREEN
def test_the_link_report_reads_in_the_checks(
    browser: Browser,
    live: LiveServer,
    committed: Session,
    shots: Path,
    device: str,
    viewport: ViewportSize,
    scheme: Scheme,
):
    make_user(committed, "editor")
    campaign = make_campaign(committed, "Late Trains", body_markdown=BODY)
    record_link_report(
        committed,
        campaign.id,
        {
            "checked_at": "2026-03-01T07:00:00+00:00",
            "results": [
                result(MISSING, "broken", "404 Not Found"),
                result(INTRANET, "not checked", "the address is internal"),
                result("https://example.org/data", "works", None),
            ],
            "skipped": None,
        },
    )
    committed.commit()
    page = open_page(browser, live, viewport, scheme)
    try:
        sign_in(page, "editor@example.org")
        page.goto(f"/admin/campaigns/{campaign.id}#checks")
        links = page.locator(".check", has_text="Links work")
        expect(links.locator(".check-level")).to_have_text("Fail")
        expect(links).to_contain_text(
            f"1 of 3 links did not work when checked: {MISSING} (404 Not Found). "
            f"1 link was not checked: {INTRANET} (the address is internal)."
        )
        expect(page.locator("#checks")).to_contain_text("Last checked 2026-03-01 07:00 UTC")
        page.locator("#checks").screenshot(path=shots / f"{device}-link-report.png")
        assert horizontal_overflow(page) <= 0, f"the campaign page scrolls sideways on {device}"
        low = [(s, r) for s, r in contrast_ratios(page, TEXT) if r < 4.5]
        assert not low, f"text below 4.5:1 contrast on {device}: {low}"
    finally:
        page.context.close()

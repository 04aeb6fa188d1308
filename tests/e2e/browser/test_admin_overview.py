"""The overview and the reports page in a real browser (Debian's Chromium through Playwright),
at a phone's and a desktop's width, light and dark: nothing scrolls sideways, text keeps its
contrast, the chart carries its text equivalent, and the period and kind filters work from
the keyboard. Screenshots are kept under tests/artifacts/screenshots/test_admin_overview/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broadsheet.models import Delivery, DeliveryStatus, ReportKind, utcnow
from tests.support.admin_browser import DESKTOP, PHONE, TEXT, sign_in
from tests.support.browser import Scheme, contrast_ratios, horizontal_overflow, open_page
from tests.support.factories import add_readers, campaign_in, make_user
from tests.support.history import changed, reader, reported

pytestmark = pytest.mark.browser

VIEWPORTS: dict[str, tuple[ViewportSize, Scheme]] = {
    "phone": (PHONE, "light"),
    "desktop": (DESKTOP, "light"),
    "phone-dark": (PHONE, "dark"),
    "desktop-dark": (DESKTOP, "dark"),
}
CHECKED = [*TEXT, ".warnings p", ".rate", ".day-table th", ".day-table td", ".reply",
           ".chart-title", ".chart-unit", ".chart-x-unit", ".filters a"]  # fmt: skip
LONG = "a.reader.with.a.really.remarkably.long.address.indeed@mail.subdomain.example.org"


def seed(committed: Session) -> None:
    """Ninety days of readers coming and going, a campaign above the complaint line, and
    reports of every kind (one with a long address and a long diagnostic)."""
    now = utcnow()
    for day in range(90):
        at = now - timedelta(days=day, hours=1)
        for _ in range((day * 7) % 5 + 1):
            ann = changed(committed, at, None, "pending")
            if day % 3:
                changed(committed, at, "pending", "active", ann)
        if day % 4 == 0:
            changed(committed, at, "active", "unsubscribed")
        if day % 9 == 0:
            changed(committed, at, "active", "bounced")
    add_readers(committed, 40)
    campaign = campaign_in(committed, "sent", "A Headline That Is Long Enough To Wrap On A Phone")
    readers = list(
        committed.scalars(select(Delivery.subscriber_id).where(Delivery.campaign_id == campaign.id))
    )
    committed.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign.id, Delivery.subscriber_id.in_(readers[:2]))
        .values(status=DeliveryStatus.BOUNCED)
    )
    long_one = reader(committed, LONG)
    diagnostic = (
        f"550-5.1.1 The email account that you tried to reach does not exist. <{LONG}> Please "
        "try double-checking the recipient's email address for typos or unnecessary spaces. "
        "https://support.google.com/mail/?p=NoSuchUser a640c23a62f3a-ab7c2f3e1b2si1234567"
    )
    reported(committed, ReportKind.HARD, subscriber_id=long_one, campaign_id=campaign.id,
             diagnostic=diagnostic)  # fmt: skip
    reported(committed, ReportKind.SOFT, subscriber_id=readers[3], campaign_id=campaign.id,
             diagnostic="452 4.2.2 Mailbox full")  # fmt: skip
    reported(committed, ReportKind.POLICY, diagnostic="550 5.7.1 Message rejected as spam")
    reported(committed, ReportKind.COMPLAINT, subscriber_id=readers[4], campaign_id=campaign.id,
             diagnostic=None)  # fmt: skip
    committed.commit()


def visit(page: Page) -> Iterator[str]:
    """Open each page the way a person would; yield a name once it is shown."""
    page.goto("/admin/")
    expect(page.get_by_role("heading", level=2, name="Warnings")).to_be_visible()
    plot = page.locator("#growth-chart svg[role=img]")
    summary = "Readers joining and leaving, 30 days (UTC). Signups: largest 5 at "
    assert (plot.get_attribute("aria-label") or "").startswith(summary)
    yield "overview"
    page.get_by_role("link", name="Last 7 days").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Last 7 days")).to_have_attribute("aria-current", "page")
    expect(page.locator(".day-table tbody tr")).to_have_count(7)
    yield "overview-7"
    page.goto("/admin/?period=90")
    expect(page.locator(".day-table tbody tr")).to_have_count(90)
    yield "overview-90"
    page.get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bounce and complaint reports")
    expect(page.get_by_role("link", name=LONG)).to_be_visible()
    yield "reports"
    page.get_by_role("link", name="Complaints", exact=True).click()
    expect(page.locator(".reports tbody tr")).to_have_count(1)
    yield "reports-complaints"
    page.goto("/admin/reports?kind=bounce")
    expect(page.get_by_role("alert")).to_contain_text("The kind parameter must be one of")
    yield "reports-error"


@pytest.mark.parametrize("device", VIEWPORTS)
def test_the_overview_and_reports_fit_the_screen_with_readable_contrast(
    browser, live, committed: Session, shots: Path, device: str
):
    viewport, scheme = VIEWPORTS[device]
    make_user(committed, "operator")
    seed(committed)
    page = open_page(browser, live, viewport, scheme)
    try:
        sign_in(page, "operator@example.org")
        for name in visit(page):
            page.screenshot(path=shots / f"{device}-{name}.png", full_page=True)
            assert horizontal_overflow(page) <= 0, f"{name} scrolls sideways on {device}"
            low = [(s, r) for s, r in contrast_ratios(page, CHECKED) if r < 4.5]
            assert not low, f"{name} on {device}: text below 4.5:1 contrast {low}"
    finally:
        page.context.close()

"""The admin in a real browser (Debian's Chromium through Playwright) against the real app:
a send watched live to the end, the role rules as people meet them, and every main page at a
phone's and a desktop's width, in light and dark, without sideways scrolling and with readable
contrast. Screenshots are kept under tests/artifacts/screenshots/."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broadsheet.models import Delivery
from broadsheet.services import progress
from broadsheet.services.campaigns import start_send
from broadsheet.services.ledger import plan_deliveries
from broadsheet.services.newsletters import create_newsletter
from tests.support.admin_browser import DESKTOP, PHONE, TEXT, sign_in
from tests.support.browser import Scheme, contrast_ratios, horizontal_overflow, open_page
from tests.support.factories import add_readers, make_campaign, make_user
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser

VIEWPORTS: dict[str, tuple[ViewportSize, Scheme]] = {
    "phone": (PHONE, "light"),
    "desktop": (DESKTOP, "light"),
    "phone-dark": (PHONE, "dark"),
}


@pytest.fixture
def editor_page(browser: Browser, live: LiveServer, committed: Session) -> Iterator[Page]:
    make_user(committed, "editor")
    page = open_page(browser, live, DESKTOP)
    sign_in(page, "editor@example.org")
    yield page
    page.context.close()


@pytest.mark.usefixtures("celery_worker")
def test_a_send_is_confirmed_then_watched_to_the_end_without_a_reload(
    editor_page: Page, committed: Session, smtp, shots: Path
):
    page = editor_page
    add_readers(committed, 40)
    campaign = make_campaign(committed, "The Late Train")
    committed.commit()
    page.goto(f"/admin/campaigns/{campaign.id}")
    page.get_by_role("button", name="Send now…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Send “The Late Train” now?")
    page.screenshot(path=shots / "send-confirm.png", full_page=True)
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("button", name="Send to 40 readers").click()
    expect(page.locator("[data-live-status]")).to_have_text("sending")
    page.evaluate("window.stillTheSamePage = true")  # the page after the redirect
    expect(page.locator("[data-live-status]")).to_have_text("sent", timeout=60_000)
    assert page.evaluate("window.stillTheSamePage") is True, "it updated in place"
    expect(page.locator('dd[data-count="sent"]')).to_have_text("40")
    expect(page.get_by_role("button", name="Pause")).to_be_hidden()
    expect(page.locator('[data-timing="at"]')).to_have_text(re.compile(r"^\d+ \w+ \d{4}, .* UTC$"))
    expect(page.get_by_text("Took, pauses included")).to_be_visible()
    expect(page.locator('[data-timing="pace"]')).to_contain_text("messages a")
    page.screenshot(path=shots / "send-finished.png", full_page=True)
    copies = Counter(r for m in smtp.messages for r in m.rcpt_tos)
    assert copies == Counter({f"reader{n}@example.org": 1 for n in range(40)})


def test_the_role_rules_as_people_meet_them(
    browser: Browser, live: LiveServer, committed: Session, shots: Path
):
    make_user(committed, "operator")
    make_user(committed, "editor")
    campaign = make_campaign(committed, "Sending Now")
    start_send(committed, campaign.id)
    committed.commit()
    page = open_page(browser, live, DESKTOP)
    try:
        page.goto("/admin/users")
        expect(page).to_have_url(f"{live.url}/admin/login?next=/admin/users")
        sign_in(page, "operator@example.org")
        page.goto(f"/admin/campaigns/{campaign.id}")
        expect(page.get_by_role("button", name="Pause")).to_be_visible()
        expect(page.get_by_role("button", name="Cancel the campaign")).to_have_count(0)
        expect(page.get_by_role("button", name="Send the test")).to_have_count(0)
        page.goto("/admin/tokens")
        expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
        page.screenshot(path=shots / "operator-403.png")
        page.get_by_role("button", name="Sign out").click()
        sign_in(page, "editor@example.org")
        expect(page.get_by_role("link", name="People")).to_have_count(0)
        page.goto("/admin/users")
        expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    finally:
        page.context.close()


def visit_main_pages(page: Page, campaign_id: int) -> Iterator[str]:
    for path, name in [
        ("/admin/", "home"),
        ("/admin/campaigns", "campaigns"),
        (f"/admin/campaigns/{campaign_id}", "campaign"),
        ("/admin/campaigns/new", "campaign-new"),
        ("/admin/users", "people"),
        ("/admin/tokens", "tokens"),
        ("/admin/newsletters", "newsletters"),
        ("/admin/publication", "publication"),
    ]:
        page.goto(path)
        yield name
    page.goto("/admin/newsletters")
    page.get_by_label("Name", exact=True).fill("The Morning Briefing For Readers Who Wake Early")
    page.get_by_label("Short name").fill("Not A Valid Short Name")
    page.get_by_role("button", name="Make the newsletter").click()
    expect(page.get_by_label("Short name")).to_be_focused()
    yield "newsletters-error"
    page.get_by_role("link", name="Weekly Dispatch").click()
    page.get_by_label("Accent colour").fill("#12345z")
    page.get_by_role("button", name="Save its look").click()
    expect(page.get_by_label("Accent colour")).to_be_focused()
    yield "newsletter-look-error"
    page.get_by_label("Name", exact=True).fill("")
    page.get_by_label("Replies go to").fill("nobody")
    page.get_by_role("button", name="Save the details").click()
    expect(page.get_by_label("Name", exact=True)).to_be_focused()
    expect(page.locator("#reply_to-error")).to_be_visible()
    yield "newsletter-details-error"
    page.goto(f"/admin/campaigns/{campaign_id}")
    page.get_by_role("button", name="Cancel this draft").click()
    yield "confirm-cancel"
    page.goto(f"/admin/campaigns/{campaign_id}")
    page.get_by_label("Send a test to").fill("not an address")
    page.get_by_role("button", name="Send the test").click()
    expect(page.get_by_label("Send a test to")).to_be_focused()
    yield "campaign-error"


@pytest.mark.parametrize("device", VIEWPORTS)
def test_every_admin_page_fits_the_screen_with_readable_contrast(
    browser: Browser, live: LiveServer, committed: Session, shots: Path, device: str
):
    viewport, scheme = VIEWPORTS[device]
    make_user(committed, "admin")
    add_readers(committed, 3)
    create_newsletter(
        committed, "Weekly Dispatch", description="Sundays: the week's five best pieces."
    )
    create_newsletter(committed, "Donors", public=False)
    campaign = make_campaign(committed, "A Headline That Is Long Enough To Wrap On A Phone")
    committed.commit()
    page = open_page(browser, live, viewport, scheme)
    try:
        page.goto("/admin/login")
        page.screenshot(path=shots / f"{device}-login.png", full_page=True)
        sign_in(page, "admin@example.org")
        for name in visit_main_pages(page, campaign.id):
            page.screenshot(path=shots / f"{device}-{name}.png", full_page=True)
            assert horizontal_overflow(page) <= 0, f"{name} scrolls sideways on {device}"
            low = [(s, r) for s, r in contrast_ratios(page, TEXT) if r < 4.5]
            assert not low, f"{name} on {device}: text below 4.5:1 contrast {low}"
            if viewport["width"] < 500:
                controls = page.locator(
                    "main input:not([type=hidden]):not([type=checkbox]), main button, main select"
                )
                for control in controls.all():
                    if control.is_visible():
                        box = control.bounding_box()
                        assert box and box["height"] >= 40, f"{name}: small touch target"
                        size = control.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
                        assert size >= 16 or control.evaluate("el => el.tagName") == "BUTTON", (
                            f"{name}: phones zoom into fields under 16px"
                        )
    finally:
        page.context.close()


LUMINANCE = """() => {
  const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\\d+/g).map(Number);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}"""


def test_the_preview_switches_between_light_and_dark_in_place(
    editor_page: Page, committed: Session
):
    page = editor_page
    campaign = make_campaign(committed, "Night Trains")
    committed.commit()
    page.goto(f"/admin/campaigns/{campaign.id}")
    frames = page.locator("iframe[data-preview-frame]")
    expect(frames).to_have_count(2)

    def backgrounds() -> list[float]:
        """The luminance (0 black to 1 white) of each preview's message background; asked
        again while a frame is still loading its new document (its old one is gone)."""
        deadline = time.monotonic() + 10
        while True:
            shown = [f for f in page.frames if "/preview.html" in f.url]
            try:
                return [f.evaluate(LUMINANCE) for f in shown]
            except PlaywrightError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    assert all(level > 0.8 for level in backgrounds()), "light first"
    page.get_by_role("button", name="Dark").click()
    expect(page.get_by_role("button", name="Dark")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="Light")).to_have_attribute("aria-pressed", "false")
    for frame in frames.all():
        expect(frame).to_have_attribute("src", re.compile(r"scheme=dark"))
    page.wait_for_load_state("load")
    levels = backgrounds()
    assert len(levels) == 2 and all(level < 0.3 for level in levels), levels


def test_a_large_campaign_says_when_its_counts_were_made(
    browser: Browser, live: LiveServer, committed: Session, shots: Path, monkeypatch
):
    monkeypatch.setattr(progress, "KEPT_COUNTS_ABOVE", 3)  # 8 deliveries count as large
    make_user(committed, "editor")
    add_readers(committed, 8)
    campaign = start_send(committed, make_campaign(committed, "The Long List").id)
    plan_deliveries(committed, campaign)
    progress.keep(committed, [campaign.id])
    committed.commit()
    for device, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = open_page(browser, live, viewport)
        try:
            sign_in(page, "editor@example.org")
            page.goto(f"/admin/campaigns/{campaign.id}")
            expect(page.get_by_text("Counted at")).to_be_visible()
            expect(page.locator('dd[data-count="queued"]')).to_have_text("8")
            assert horizontal_overflow(page) <= 0, f"the page scrolls sideways on {device}"
            page.screenshot(path=shots / f"counted-{device}.png", full_page=True)
            card = page.locator("[data-progress-url]")
            card.screenshot(path=shots / f"counted-{device}-delivery.png")
            if device == "desktop":  # the poll brings the next count and its time
                made = page.locator("[data-counted-at]").text_content()
                time.sleep(1.1)  # counted_at moves on by at least a second
                first = committed.scalar(select(Delivery.id).order_by(Delivery.id))
                committed.execute(
                    update(Delivery).where(Delivery.id == first).values(status="sent")
                )
                progress.keep(committed, [campaign.id])
                committed.commit()
                expect(page.locator('dd[data-count="sent"]')).to_have_text("1")
                expect(page.locator("[data-counted-at]")).not_to_have_text(made or "")
        finally:
            page.context.close()

"""The article editor in a real browser (Debian's Chromium through Playwright): the preview
follows the typing without a reload, a lost tab's typing comes back, the time is shown in the
editor's timezone, and the list and editor fit a phone and a desktop without sideways
scrolling. Screenshots are kept under tests/artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy.orm import Session

from tests.support.admin_browser import DESKTOP, PHONE, TEXT, sign_in
from tests.support.browser import Scheme, contrast_ratios, horizontal_overflow
from tests.support.factories import make_article, make_campaign, make_user
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser

LONG_BODY = (
    "The **8:14** leaves on time, mostly.\n\n## Timetables\n\n"
    + "A paragraph that runs on long enough to wrap across several lines of the preview. " * 6
    + "\n\n> Punctuality is the politeness of railways.\n\n"
    + "- one platform\n- two clocks\n\n"
    + "`https://example.org/a-very-long-address-that-should-wrap-or-scroll-and-never-push-the-page`"
)


def editor_in(
    browser: Browser,
    live: LiveServer,
    viewport: ViewportSize,
    zone: str = "UTC",
    scheme: Scheme = "light",
) -> Page:
    """A signed-in editor's page in a fresh context whose clock is in `zone`."""
    context = browser.new_context(
        viewport=viewport, base_url=live.url, timezone_id=zone, color_scheme=scheme
    )
    page = context.new_page()
    sign_in(page, "editor@example.org")
    return page


def test_typing_markdown_updates_the_preview_without_a_reload(
    browser: Browser, live: LiveServer, committed: Session, shots: Path
):
    make_user(committed, "editor")
    page = editor_in(browser, live, DESKTOP)
    try:
        page.goto("/admin/articles/new")
        page.evaluate("window.stillTheSamePage = true")
        page.get_by_label("Title").fill("Late Trains")
        expect(page.locator("[data-preview-title]")).to_have_text("Late Trains")
        page.get_by_label("Text").press_sequentially("Hello **bold** <script>x()</script>")
        preview = page.locator("[data-preview-body]")
        expect(preview.locator("strong")).to_have_text("bold")
        expect(preview.locator("script")).to_have_count(0)
        expect(page.locator("[data-preview-status]")).to_contain_text("min read")
        assert page.evaluate("window.stillTheSamePage") is True
        page.get_by_role("button", name="Save the article").click()
        expect(page.get_by_role("heading", level=1).first).to_have_text("Late Trains")
        expect(page.locator(".flash.success")).to_contain_text("Article saved")
    finally:
        page.context.close()


def test_unsaved_typing_survives_a_closed_tab(browser: Browser, live: LiveServer, committed):
    make_user(committed, "editor")
    article = make_article(committed, "Kept Safe", body_markdown="First draft.")
    committed.commit()
    page = editor_in(browser, live, DESKTOP)
    try:
        page.goto(f"/admin/articles/{article.id}")
        page.get_by_label("Text").fill("Second draft, never saved.")
        page.wait_for_timeout(700)  # the copy is kept after half a second of quiet
        page.reload()
        expect(page.get_by_label("Text")).to_have_value("First draft.")
        page.get_by_role("button", name="Restore it").click()
        expect(page.get_by_label("Text")).to_have_value("Second draft, never saved.")
        expect(page.locator("[data-preview-body]")).to_have_text("Second draft, never saved.")
    finally:
        page.context.close()


def test_the_published_time_shows_and_saves_in_the_editors_timezone(
    browser: Browser, live: LiveServer, committed: Session
):
    make_user(committed, "editor")
    article = make_article(committed, "Zoned", published_at="2026-07-01T08:00:00+00:00")
    committed.commit()
    page = editor_in(browser, live, DESKTOP, zone="America/New_York")
    try:
        page.goto(f"/admin/articles/{article.id}")
        expect(page.get_by_label("Published")).to_have_value("2026-07-01T04:00")
        expect(page.locator("[data-timezone-name]")).to_have_text("America/New_York")
    finally:
        page.context.close()


def fits(page: Page, name: str) -> None:
    assert horizontal_overflow(page) <= 0, f"{name} scrolls sideways"
    low = [(s, r) for s, r in contrast_ratios(page, [*TEXT, ".body"]) if r < 4.5]
    assert not low, f"{name}: text below 4.5:1 contrast {low}"


@pytest.mark.parametrize("device", ["phone", "desktop", "phone-dark"])
def test_the_list_and_the_editor_fit_the_screen_with_readable_contrast(
    browser: Browser, live: LiveServer, committed: Session, shots: Path, device: str
):
    viewport = PHONE if device.startswith("phone") else DESKTOP
    scheme: Scheme = "dark" if device.endswith("dark") else "light"
    make_user(committed, "editor")
    for n in range(3):
        make_article(committed, f"Station Notes {n}", dek="Short items from the platforms.",
                     author="Ann Writer")  # fmt: skip
    campaign = make_campaign(
        committed, "A Headline That Is Long Enough To Wrap On A Phone Screen",
        dek="Why every station has two clocks, and why they never agree.",
        author="Ann Writer", body_markdown=LONG_BODY, url="https://example.org/clocks",
    )  # fmt: skip
    committed.commit()
    page = editor_in(browser, live, viewport, scheme=scheme)
    try:
        for path, name in [
            ("/admin/articles", "list"),
            ("/admin/articles?q=station", "search"),
            (f"/admin/articles/{campaign.article_id}", "edit"),
            ("/admin/articles/new", "new"),
        ]:
            page.goto(path)
            page.screenshot(path=shots / f"{device}-{name}.png", full_page=True)
            fits(page, f"{name} on {device}")
        page.get_by_label("Title").fill("")
        page.get_by_label("Canonical URL").fill("not a url")
        page.get_by_role("button", name="Save the article").click()
        expect(page.get_by_label("Title")).to_be_focused()
        expect(page.locator("#url-error")).to_be_visible()
        page.screenshot(path=shots / f"{device}-errors.png", full_page=True)
        fits(page, f"the error page on {device}")
    finally:
        page.context.close()

"""The archive in a real browser (Debian's Chromium) against the live app: a phone (375 px)
and a desktop (1440 px), light and dark; every page fits the width with readable contrast,
and a reader can page back and open an issue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy.orm import Session

from broadsheet.services import archive, newsletters
from tests.support.archive import send_issue
from tests.support.browser import Scheme, contrast_ratios, horizontal_overflow, open_page
from tests.support.factories import make_article
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 375, "height": 740}
WIDE: ViewportSize = {"width": 1440, "height": 900}
VIEWPORTS: dict[str, tuple[ViewportSize, Scheme]] = {
    "phone": (PHONE, "light"),
    "phone-dark": (PHONE, "dark"),
    "desktop": (WIDE, "light"),
    "desktop-dark": (WIDE, "dark"),
}
TEXT = [
    "body", "h1", "h2", ".nameplate", ".kicker", ".lede", ".dek", ".byline", ".author",
    ".sections a", ".pager a", ".fine", ".empty", ".colophon", "main a",
]  # fmt: skip
LONG = "Supercalifragilisticexpialidociouslylongheadlinethatwouldoverflowanarrowscreen"


def fill_archive(db: Session) -> None:
    """Two public newsletters and a private one, a page and a half of issues, and titles and
    names long enough to test the layout; committed for the live server."""
    newsletters.create_newsletter(
        db, "The Morning Briefing", "daily", description="What matters, before your coffee."
    )
    newsletters.create_newsletter(db, "Weekend Long Reads", "weekly")
    newsletters.create_newsletter(db, "Staff Notes", "staff", public=False)
    for day in range(archive.PAGE + 4):
        audience = {"newsletters": ["daily" if day % 2 else "weekly"]}
        send_issue(db, f"Dispatch number {day}: the rails", day=day, audience=audience)
    send_issue(db, "Pay rise for all", day=90, audience={"newsletters": ["staff"]})
    long = make_article(
        db, f"A timetable is a hope with numbers in it, and {LONG}",
        dek="Why every delay has a story, and why the boards should tell it honestly.",
        author="Ada Lovelace-Babbage",
    )  # fmt: skip
    send_issue(db, long, day=100)
    db.commit()


def visit(page: Page) -> Iterator[str]:
    page.goto("/archive")
    expect(page.get_by_role("heading", level=1)).to_have_text("Past issues")
    yield "archive"
    page.get_by_role("link", name="Older issues").click()
    expect(page.get_by_role("link", name="Newest issues")).to_be_visible()
    yield "archive-older"
    page.goto("/archive?newsletter=daily")
    expect(page.get_by_role("heading", level=1)).to_have_text("The Morning Briefing")
    yield "archive-daily"
    page.goto("/archive?before=abc")
    expect(page.get_by_role("heading", level=1)).to_have_text("This archive page does not exist")
    yield "archive-bad-page"


@pytest.mark.parametrize("device", VIEWPORTS)
def test_archive_pages_fit_the_screen_with_readable_contrast(
    browser: Browser, live: LiveServer, committed: Session, shots: Path, device: str
):
    fill_archive(committed)
    viewport, scheme = VIEWPORTS[device]
    page = open_page(browser, live, viewport, scheme)
    try:
        for name in visit(page):
            page.screenshot(path=shots / f"{device}-{name}.png", full_page=True)
            page.screenshot(path=shots / f"{device}-{name}-top.png")  # as first seen
            assert horizontal_overflow(page) <= 0, f"{name} scrolls sideways on {device}"
            main = page.locator("main").bounding_box()
            assert main and main["x"] >= 0 and main["x"] + main["width"] <= viewport["width"]
            low = [(s, r) for s, r in contrast_ratios(page, TEXT) if r < 4.5]
            assert not low, f"{name} on {device}: text below 4.5:1 contrast {low}"
            for link in page.locator(".sections a, .pager a").all():
                box = link.bounding_box()
                assert box and box["height"] >= 24, f"{name}: a link too small to tap"
    finally:
        page.context.close()


def test_a_reader_pages_back_through_the_archive_and_opens_an_issue(
    browser: Browser, live: LiveServer, committed: Session
):
    fill_archive(committed)
    page = open_page(browser, live, PHONE)
    try:
        page.goto("/subscribe")
        page.get_by_role("link", name="Read past issues").click()
        issues = page.locator(".issues h2 a")
        expect(issues).to_have_count(archive.PAGE)
        expect(issues.first).to_contain_text("A timetable is a hope")
        expect(page.get_by_text("Pay rise for all")).to_have_count(0)
        page.get_by_role("link", name="Older issues").click()
        expect(issues).to_have_count(5)  # 24 public issues and the long one, 20 a page
        page.get_by_role("link", name="Dispatch number 0: the rails").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Dispatch number 0: the rails")
        page.get_by_role("link", name="From the archive").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Past issues")
        page.get_by_role("link", name="Weekend Long Reads").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Weekend Long Reads")
        expect(issues.nth(1)).to_have_text("Dispatch number 22: the rails")  # after "everyone"
    finally:
        page.context.close()

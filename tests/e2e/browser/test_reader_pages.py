"""Reader pages in a real browser (Debian's Chromium through Playwright) against the real app
served over HTTP: signing up and confirming by mail, errors a screen reader can find, keyboard
focus, and a layout that fits a phone and a desktop with readable contrast."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from broadsheet.models import Subscriber
from broadsheet.services.articles import create_article
from broadsheet.services.campaigns import create_campaign, start_send
from broadsheet.services.newsletters import create_newsletter
from broadsheet.services.subscriptions import create_subscriber
from broadsheet.settings import Settings
from broadsheet.signing import make_confirm_token, make_unsubscribe_token
from tests.support.api import links, text_part
from tests.support.browser import Scheme, contrast_ratios, horizontal_overflow, open_page
from tests.support.live_server import LiveServer
from tests.support.smtp import Received, RecordingHandler

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
VIEWPORTS: dict[str, tuple[ViewportSize, Scheme]] = {
    "phone": ({"width": 375, "height": 740}, "light"),
    "desktop": (DESKTOP, "light"),
    "phone-dark": ({"width": 375, "height": 740}, "dark"),
}
# Text whose contrast with its background must reach WCAG AA (4.5:1) on every page.
TEXT = [
    "body", "h1", ".nameplate", ".kicker", ".lede", ".fine", ".tips", "label", ".optional",
    ".error", ".alert", "input", "button", ".button", ".dek", ".byline", ".author", ".body",
    ".colophon", "main a",
]  # fmt: skip
ARTICLE = (
    "Trains are late, and yet the timetable remains the most optimistic document a country "
    "publishes. It promises arrivals.\n\n"
    "> A schedule is a hope with numbers in it.\n\n"
    "## What the numbers hide\n\n"
    "Every delay has a story: a signal, a storm, a "
    "supercalifragilisticexpialidociouslylongwordthatwouldoverflowanarrowscreen, or "
    "https://example.org/a/very/long/path/that/keeps/going/and/going/without/any/breaks.\n\n"
    "```\ndelay = scheduled_arrival - actual_arrival  # minutes, always negative somehow\n```\n\n"
    "- Fewer promises\n- Better signals\n- Honest boards\n"
)


@pytest.fixture
def page(browser: Browser, live: LiveServer) -> Iterator[Page]:
    page = open_page(browser, live, DESKTOP)
    yield page
    page.context.close()


def status_of(committed: Session, email_key: str) -> str | None:
    """The reader's status as committed; the read transaction ends at once (on SQLite an open
    one would hold the write lock the app needs)."""
    try:
        return committed.scalar(select(Subscriber.status).where(Subscriber.email_key == email_key))
    finally:
        committed.rollback()


def first_mail_to(smtp: RecordingHandler, address: str, timeout: float = 30) -> Received:
    """The first message the relay accepted for `address` (other tests' mail is ignored)."""
    deadline = time.monotonic() + timeout
    while not (received := smtp.to(address)):
        assert time.monotonic() < deadline, f"no mail reached {address}"
        time.sleep(0.05)
    return received[0]


def heading(page: Page):
    return page.get_by_role("heading", level=1)


@pytest.mark.usefixtures("celery_worker")
def test_reader_subscribes_in_the_browser_and_confirms_from_the_email(
    page: Page, live: LiveServer, committed: Session, smtp, shots: Path
):
    page.goto("/subscribe")
    page.get_by_label("Email address").fill("Browser.Reader@example.org")
    page.get_by_label("Name").fill("Bea Browser")
    page.get_by_role("button", name="Subscribe").click()
    expect(heading(page)).to_have_text("Check your inbox")
    page.screenshot(path=shots / "flow-1-check-inbox.png", full_page=True)

    mail = first_mail_to(smtp, "Browser.Reader@example.org")
    (confirm_url,) = set(links(text_part(mail.parsed()), "confirm"))
    parts = urlsplit(confirm_url)
    assert parts.netloc == "news.example.test"
    page.goto(live.url + parts.path)
    expect(heading(page)).to_have_text("Confirm your subscription")
    assert status_of(committed, "browser.reader@example.org") == "pending"

    page.get_by_role("button", name="Confirm subscription").click()
    expect(heading(page)).to_have_text("You are subscribed")
    page.screenshot(path=shots / "flow-2-confirmed.png", full_page=True)
    assert status_of(committed, "browser.reader@example.org") == "active"


def test_invalid_address_error_sits_by_the_field_and_is_announced(
    page: Page, committed: Session, owed: Callable[[], list[int]]
):
    page.goto("/subscribe")
    page.get_by_label("Email address").fill("reader.example.org")
    page.get_by_role("button", name="Subscribe").click()

    expect(page).to_have_title(re.compile(r"^Error: "))
    field, error = page.get_by_label("Email address"), page.locator("#email-error")
    expect(error).to_have_text("An email address must have an @-sign.")
    expect(field).to_be_focused()
    expect(field).to_have_value("reader.example.org")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description("An email address must have an @-sign.")
    expect(page.get_by_label("Name")).not_to_have_attribute("aria-invalid", "true")
    above, below = error.bounding_box(), field.bounding_box()
    assert above and below
    assert 0 <= below["y"] - (above["y"] + above["height"]) <= 16, "the error touches its field"
    assert owed() == []
    assert status_of(committed, "reader.example.org") is None


def focused(page: Page) -> dict[str, Any]:
    found: dict[str, Any] = page.evaluate(
        """() => {
          const el = document.activeElement, style = getComputedStyle(el);
          return {id: el.id, text: el.textContent.trim(), tag: el.tagName,
                  outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2};
        }"""
    )
    return found


def test_keyboard_reaches_every_control_in_order_with_visible_focus(page: Page, shots: Path):
    page.goto("/subscribe")
    seen = []
    for step in range(5):
        page.keyboard.press("Tab")
        now = focused(page)
        assert now["outline"], f"no visible focus ring on {now}"
        seen.append(now["id"] or now["text"])
        page.screenshot(path=shots / f"focus-{step}.png")
    assert seen == ["Skip to content", "The Test Gazette", "email", "name", "Subscribe"]

    page.goto("/subscribe")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert focused(page)["id"] == "main", "the skip link moves focus to the content"


def reader_tokens(committed: Session, settings: Settings) -> tuple[str, str]:
    """A pending reader's confirm token and an unsubscribe token for them."""
    reader = create_subscriber(committed, "layout.reader@example.org", "Lay Out")
    committed.commit()
    confirm = make_confirm_token(settings.secret_key, reader.id, reader.email_key)
    return confirm, make_unsubscribe_token(settings.secret_key, reader.id)


def published_slug(committed: Session) -> str:
    article = create_article(
        committed,
        title="The Timetable Is a Work of Fiction",
        dek="Why railway schedules read like the most hopeful prose a nation writes.",
        author="Ada Columnist",
        body_markdown=ARTICLE,
        published_at="2026-03-05T09:00:00+00:00",
    )
    start_send(committed, create_campaign(committed, article.id).id)
    committed.commit()
    return article.slug


def visit_every_page(page: Page, committed: Session, settings: Settings) -> Iterator[str]:
    """Walk through every reader page, yielding a short name once each is on screen."""
    for name, about in (
        ("Mornings", "The day's three pieces, before work."),
        ("Weekend Long Reads", ""),
    ):
        create_newsletter(committed, name, description=about)
    committed.commit()
    page.goto("/subscribe")
    expect(page.get_by_label("Weekend Long Reads")).to_be_checked()
    yield "subscribe"
    page.get_by_label("Email address").fill("not an address")
    page.get_by_label("Name").fill("Zoë Ñandú")
    page.get_by_role("button", name="Subscribe").click()
    yield "subscribe-error"
    page.context.clear_cookies()  # the session behind the form's CSRF token is gone
    page.get_by_label("Email address").fill("zoe@example.org")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("alert")).to_contain_text("This form has expired.")
    expect(page.get_by_role("alert")).to_be_focused()
    yield "form-expired"
    page.get_by_role("button", name="Subscribe").click()
    expect(heading(page)).to_have_text("Check your inbox")
    yield "check-inbox"
    confirm, unsubscribe = reader_tokens(committed, settings)
    page.goto(f"/confirm/{confirm}")
    yield "confirm"
    page.get_by_role("button", name="Confirm subscription").click()
    expect(heading(page)).to_have_text("You are subscribed")
    yield "confirmed"
    page.goto(f"/preferences/{unsubscribe}")
    expect(heading(page)).to_have_text("Your preferences")
    yield "preferences"
    page.get_by_label("Weekend Long Reads").check()
    page.get_by_role("button", name="Save my preferences").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(page.get_by_label("Weekend Long Reads")).to_be_checked()
    yield "preferences-saved"
    page.goto(f"/unsubscribe/{unsubscribe}")
    yield "unsubscribe"
    page.get_by_role("button", name="Unsubscribe").click()
    expect(heading(page)).to_have_text("You are unsubscribed")
    yield "unsubscribed"
    page.goto(f"/archive/{published_slug(committed)}")
    yield "archive"
    page.goto(f"/confirm/{confirm[:-4]}")
    yield "bad-link"
    page.goto("/no/such/page")
    yield "not-found"
    for _ in range(5):  # signed up once above: the sixth time within the hour is refused
        page.goto("/subscribe")
        page.get_by_label("Email address").fill("zoe@example.org")
        page.get_by_role("button", name="Subscribe").click()
    expect(heading(page)).to_have_text("Too many signups at once")
    yield "too-many"


@pytest.mark.parametrize("device", VIEWPORTS)
def test_every_page_fits_the_screen_with_readable_contrast(
    browser: Browser,
    live: LiveServer,
    committed: Session,
    settings: Settings,
    owed: Callable[[], list[int]],
    shots: Path,
    device: str,
):
    viewport, scheme = VIEWPORTS[device]
    page = open_page(browser, live, viewport, scheme)
    try:
        for name in visit_every_page(page, committed, settings):
            page.screenshot(path=shots / f"{device}-{name}.png", full_page=True)
            assert horizontal_overflow(page) <= 0, f"{name} scrolls sideways on {device}"
            main = page.locator("main").bounding_box()
            assert main and main["x"] >= 0 and main["x"] + main["width"] <= viewport["width"]
            low = [(s, r) for s, r in contrast_ratios(page, TEXT) if r < 4.5]
            assert not low, f"{name} on {device}: text below 4.5:1 contrast {low}"
            if viewport["width"] < 500:
                # A checkbox is reached through its label, which is the target to measure.
                targets = "main input:not([type=hidden]):not([type=checkbox]), main button"
                for control in page.locator(f"{targets}, main label.choice").all():
                    if control.is_visible():
                        box = control.bounding_box()
                        assert box and box["height"] >= 44, f"{name}: small touch target"
                        size = control.evaluate("el => parseFloat(getComputedStyle(el).fontSize)")
                        assert size >= 16, f"{name}: phones zoom into inputs under 16px"
    finally:
        page.context.close()
    assert len(owed()) == 1, "the one valid signup asked for one confirmation mail"

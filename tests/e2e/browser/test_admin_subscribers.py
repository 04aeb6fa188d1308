"""The Subscribers section in a real browser (Debian's Chromium through Playwright): searched and
paged from the keyboard, a reader's page, the add form with an error and the unsubscribe
confirmation, at a phone's and a desktop's width, without sideways scrolling and with readable
contrast. Screenshots are kept under tests/artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import insert
from sqlalchemy.orm import Session

from broadsheet.models import Delivery
from broadsheet.services.newsletters import create_newsletter
from broadsheet.services.subscriptions import (
    confirm,
    create_subscriber,
    request_subscription,
    update_profile,
)
from tests.support.browser import Scheme, contrast_ratios, horizontal_overflow, open_page
from tests.support.factories import PASSWORD, add_readers, make_campaign, make_user

pytestmark = pytest.mark.browser

VIEWPORTS: dict[str, tuple[ViewportSize, Scheme]] = {
    "phone": ({"width": 375, "height": 800}, "light"),
    "desktop": ({"width": 1440, "height": 900}, "light"),
    "phone-dark": ({"width": 375, "height": 800}, "dark"),
}
TEXT = [
    "body", "h1", "h2", "label", "legend", ".hint", ".error", ".muted", ".small", ".kicker",
    ".status", "main button", "main .button", ".listing td", ".listing th", ".reply",
    ".reader-facts dt", ".history-when", "main a",
]  # fmt: skip
LONG = "a.reader.with.a.really.remarkably.long.address.indeed@mail.subdomain.example.org"


def seed(committed: Session) -> int:
    """Sixty readers, then one with a long address, a history and two deliveries."""
    add_readers(committed, 60)
    outcome = request_subscription(committed, LONG, "Maximiliana Theodora Worthington-Smythe")
    confirm(committed, outcome.subscriber_id, LONG)
    for name, public in (
        ("The Morning Briefing For Readers Who Wake Early", True),
        ("Donors", False),
    ):
        create_newsletter(committed, name, public=public)
    update_profile(
        committed, outcome.subscriber_id, tags=["donor", "press"],
        attributes={"city": "Lyon", "member_since": 2019}, newsletters_chosen=["donors"],
    )  # fmt: skip
    create_subscriber(committed, "pending.one@example.org", "Pat Pending")
    sent = make_campaign(committed, "A Headline That Is Long Enough To Wrap On A Phone Screen")
    bounced = make_campaign(committed, "Late Train")
    committed.flush()
    reply = "550 5.1.1 <" + LONG + ">: Recipient address rejected: User unknown in relay table"
    committed.execute(
        insert(Delivery),
        [
            {"campaign_id": sent.id, "subscriber_id": outcome.subscriber_id, "status": "sent",
             "relay_reply": "250 2.0.0 Ok: queued as 4XyZabc"},
            {"campaign_id": bounced.id, "subscriber_id": outcome.subscriber_id,
             "status": "bounced", "attempts": 2, "relay_reply": reply},
        ],
    )  # fmt: skip
    committed.commit()
    return outcome.subscriber_id


def visit(page: Page, reader_id: int) -> Iterator[str]:
    """Open each page of the section the way a person would; yield a name once it is shown."""
    page.goto("/admin/subscribers")
    expect(page.get_by_role("heading", level=1)).to_have_text("Subscribers")
    yield "list"
    page.get_by_label("Search by address or name").focus()
    page.keyboard.type("a.reader")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name=LONG)).to_be_visible()
    yield "search"
    page.goto("/admin/subscribers")
    page.get_by_role("link", name="Older →").click()
    expect(page.get_by_role("link", name="← Newest")).to_be_visible()
    page.get_by_role("link", name="Pending").click()
    expect(page.get_by_role("link", name="pending.one@example.org")).to_be_visible()
    yield "filtered"
    page.goto(f"/admin/subscribers/{reader_id}")
    expect(page.get_by_role("heading", level=2, name="Deliveries")).to_be_visible()
    expect(page.get_by_label("Donors")).to_be_checked()
    yield "reader"
    page.get_by_label("Attributes").fill("city = Paris\nno sign here")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Line 2 has no")).to_be_visible()
    expect(page.get_by_label("Attributes")).to_have_value("city = Paris\nno sign here")
    yield "profile-error"
    page.get_by_role("button", name="Erase…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Erase {LONG}?")
    yield "erase-confirm"
    page.goto(f"/admin/subscribers/{reader_id}")
    page.get_by_label("Why").fill("asked by email")
    page.get_by_role("button", name="Unsubscribe…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Unsubscribe {LONG}?")
    yield "unsubscribe-confirm"
    page.goto("/admin/subscribers/new")
    page.get_by_label("Email address").fill("kim@example.org")
    page.get_by_label("They already agreed elsewhere").check()
    page.get_by_role("button", name="Add the reader").click()
    expect(page.get_by_label("How they agreed")).to_be_focused()
    expect(page.get_by_label("Email address")).to_have_value("kim@example.org")
    yield "add-error"


@pytest.mark.parametrize("device", VIEWPORTS)
def test_the_subscribers_pages_fit_the_screen_and_work_from_the_keyboard(
    browser, live, committed: Session, shots: Path, device: str
):
    viewport, scheme = VIEWPORTS[device]
    make_user(committed, "editor")
    reader_id = seed(committed)
    page = open_page(browser, live, viewport, scheme)
    try:
        page.goto("/admin/login")
        page.get_by_label("Email address").fill("editor@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        for name in visit(page, reader_id):
            page.screenshot(path=shots / f"{device}-{name}.png", full_page=True)
            assert horizontal_overflow(page) <= 0, f"{name} scrolls sideways on {device}"
            low = [(s, r) for s, r in contrast_ratios(page, TEXT) if r < 4.5]
            assert not low, f"{name} on {device}: text below 4.5:1 contrast {low}"
    finally:
        page.context.close()

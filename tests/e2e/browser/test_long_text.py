"""A long unbroken subject, title, byline, name or address wraps inside the page: in Chromium
at a phone's and a desktop's width, no admin or reader page that shows one is wider than the
window. Screenshots are kept under tests/artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy.orm import Session

from broadsheet.services.api_tokens import create_token
from broadsheet.services.subscriptions import create_subscriber
from tests.support.admin_browser import DESKTOP, PHONE, sign_in
from tests.support.browser import open_page
from tests.support.factories import add_readers, campaign_in, make_user
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser

WORD = "Supercalifragilistic" * 15  # 300 characters, the most a subject or title may have
ADDRESS = f"{'x' * 64}@{'y' * 63}.{'z' * 63}.example"
WIDTH = "[document.scrollingElement.scrollWidth, window.innerWidth]"


def made_long(committed: Session) -> dict[str, int]:
    """Campaigns (a draft and one sent) of articles whose subject, title, dek and byline are
    one long word each, a reader with the longest address, a person and a token likewise."""
    add_readers(committed, 2)
    sent = campaign_in(committed, "sent", WORD)
    draft = campaign_in(committed, "draft", WORD)
    for campaign in (sent, draft):
        campaign.article.author, campaign.article.dek = WORD[:200], WORD
    reader = create_subscriber(committed, ADDRESS, WORD[:200], status="active")
    make_user(committed, "admin", email=f"{'a' * 64}@{'b' * 63}.example")
    make_user(committed, "operator")
    create_token(committed, WORD[:100], "operator")
    committed.commit()
    return {
        "sent": sent.id,
        "draft": draft.id,
        "sent article": sent.article_id,  # published: it has a web page
        "draft article": draft.article_id,
        "reader": reader.id,
    }


def fits(page: Page, shots: Path, name: str) -> None:
    page.screenshot(path=shots / f"{name}.png", full_page=True)
    wide, window = page.evaluate(WIDTH)
    assert wide == window, f"{name}: the page is {wide}px wide in a {window}px window"


@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_long_words_wrap_inside_every_page_that_shows_them(
    browser: Browser, live: LiveServer, committed: Session, shots: Path, device: str
):
    made = made_long(committed)
    viewport = PHONE if device == "phone" else DESKTOP
    page = open_page(browser, live, viewport)
    try:
        sign_in(page, f"{'a' * 64}@{'b' * 63}.example")
        for name, path in [
            ("home", "/admin/"),
            ("campaigns", "/admin/campaigns"),
            ("campaign-draft", f"/admin/campaigns/{made['draft']}"),
            ("campaign-sent", f"/admin/campaigns/{made['sent']}"),
            ("articles", "/admin/articles"),
            ("article", f"/admin/articles/{made['draft article']}"),
            ("subscribers", "/admin/subscribers"),
            ("subscriber", f"/admin/subscribers/{made['reader']}"),
            ("people", "/admin/users"),
            ("tokens", "/admin/tokens"),
        ]:
            page.goto(path)
            fits(page, shots, f"{device}-{name}")
        page.goto(f"/admin/campaigns/{made['draft']}")
        page.get_by_role("button", name="Send now…").click()
        fits(page, shots, f"{device}-confirm-send")
        page.get_by_role("button", name="Sign out").click()
        sign_in(page, "operator@example.org")
        page.goto(f"/admin/articles/{made['sent article']}")
        fits(page, shots, f"{device}-article-read")
        page.get_by_role("link", name="Its web page").click()
        fits(page, shots, f"{device}-archive")
    finally:
        page.context.close()

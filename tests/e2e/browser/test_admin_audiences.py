"""The Segments and Feeds pages in a real browser (Debian's Chromium through Playwright), on a
phone's width: a segment counted from the list when asked (the page's script), a new
campaign's audience counted as it is chosen, a reader explained from the keyboard, a feed polled
now; nothing scrolls sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from broadsheet.services import feeds, newsletters, segments, subscriptions
from tests.support.admin_browser import PHONE, sign_in
from tests.support.browser import horizontal_overflow, open_page
from tests.support.factories import make_article, make_user

pytestmark = pytest.mark.browser
FEED = "https://a-rather-long-feed-address.example.org/releases/atom.xml?format=full"


def test_segments_and_feeds_work_on_a_phone(browser, live, committed: Session):
    newsletters.create_newsletter(committed, "Weekly")
    for email, tags in (("ann@example.org", ["donor"]), ("bob@example.org", ["press"])):
        subscriptions.create_subscriber(
            committed, email, status="active", tags=tags, newsletters_chosen=["weekly"]
        )
    segment = segments.create_segment(committed, "Donors", {"tags_any": ["donor"]})
    feeds.create_feed(committed, FEED, newsletter="weekly")
    make_article(committed, "Spring appeal")
    make_user(committed, "editor")
    committed.commit()
    page = open_page(browser, live, PHONE)
    sign_in(page, "editor@example.org")

    page.goto("/admin/segments")
    page.get_by_role("link", name="Count").click()
    expect(page.get_by_text("1 reader", exact=True)).to_be_visible()
    assert horizontal_overflow(page) == 0
    page.goto("/admin/campaigns/new")
    page.get_by_label("Saved segment").select_option("Donors")
    expect(page.get_by_text("Goes to 1 reader as chosen, counted now.")).to_be_visible()
    page.get_by_label("Weekly").check()
    expect(page.get_by_text("Goes to 1 reader as chosen, counted now.")).to_be_visible()
    page.get_by_label("Saved segment").select_option("")
    expect(page.get_by_text("Goes to 2 readers as chosen, counted now.")).to_be_visible()
    assert horizontal_overflow(page) == 0

    page.goto(f"/admin/segments/{segment.id}")
    page.get_by_label("Reader's email address").fill("bob@example.org")
    page.keyboard.press("Enter")
    expect(page.get_by_text("is not in “Donors”: 1 of its 2 rules is not met.")).to_be_visible()
    assert horizontal_overflow(page) == 0

    page.goto("/admin/feeds")
    page.get_by_role("button", name="Poll now").click()
    expect(page.get_by_role("status")).to_contain_text(f"{FEED} is being polled")
    assert horizontal_overflow(page) == 0

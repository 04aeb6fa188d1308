"""An editor's first issue, in a real browser against the real app, worker and SMTP server:
sign in, write the article with the live preview, make the campaign, read the checks, send a
test (the previewed message but for its personal fields and the `[Test]` subject), send, watch
it reach "sent" without a reload, and find every reader's copy at the SMTP server once."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from broadsheet.mail.preview import SAMPLE_EMAIL
from tests.support.admin_browser import DESKTOP, sign_in
from tests.support.browser import open_page
from tests.support.factories import add_readers, make_user
from tests.support.live_server import LiveServer
from tests.support.messages import personal_parts

pytestmark = pytest.mark.browser

READERS = 30
TESTER = "desk@example.net"
BODY = (
    "The 8:14 left on time this morning, as it has every day this month.\n\n"
    "## A timetable is a promise\n\n"
    "Every line of it is *a promise* someone keeps at dawn. "
    "Read [the full timetable](https://example.org/timetable)."
)


@pytest.mark.usefixtures("celery_worker")
def test_an_editors_first_issue_from_sign_in_to_every_inbox(
    browser: Browser, live: LiveServer, committed: Session, smtp, shots: Path
):
    make_user(committed, "editor")
    add_readers(committed, READERS)
    committed.commit()
    page = open_page(browser, live, DESKTOP)
    try:
        sign_in(page, "editor@example.org")

        page.get_by_role("link", name="Articles", exact=True).click()
        page.get_by_role("link", name="New article").click()
        page.evaluate("window.stillTheSamePage = true")
        page.get_by_label("Title").fill("Trains and Time")
        page.get_by_label("Dek").fill("Why the timetable is worth keeping.")
        page.get_by_label("Text").fill(BODY[:60])
        page.get_by_label("Text").press_sequentially(BODY[60:], delay=5)
        preview = page.locator("[data-preview-body]")
        expect(preview.locator("h2")).to_have_text("A timetable is a promise")
        expect(preview.locator("em")).to_have_text("a promise")
        assert page.evaluate("window.stillTheSamePage") is True, "the preview followed the typing"
        page.screenshot(path=shots / "1-article.png", full_page=True)
        page.get_by_role("button", name="Save the article").click()
        expect(page.locator(".flash.success")).to_contain_text("Article saved")

        page.get_by_role("link", name="New campaign from this article").click()
        expect(page.get_by_label("Subject")).to_have_value("Trains and Time")
        expect(page.get_by_label("Preheader")).to_have_value("Why the timetable is worth keeping.")
        audience = page.get_by_role("group", name="Audience", exact=True)
        expect(audience).to_contain_text(f"nothing chosen: every active reader ({READERS})")
        page.get_by_role("button", name="Save the draft").click()
        expect(page).to_have_url(re.compile(r"/admin/campaigns/\d+$"))
        campaign_page = page.url
        checks = page.locator("#checks .check")
        expect(checks.first).to_be_visible()
        levels = checks.evaluate_all("els => els.map(e => e.dataset.level)")
        assert "fail" not in levels, f"a clean article fails a check: {levels}"
        page.screenshot(path=shots / "2-campaign.png", full_page=True)

        previewed = page.request.get(f"{campaign_page}/preview.eml").body()
        page.get_by_label("Send a test to").fill(TESTER)
        page.get_by_role("button", name="Send the test").click()
        expect(page.get_by_role("status").first).to_contain_text(f"Test on its way to {TESTER}")
        (test_copy,) = smtp.wait_for(1)
        assert test_copy.rcpt_tos == (TESTER,)
        expected = personal_parts(previewed, SAMPLE_EMAIL, "Hi Ann Reader,")
        got = personal_parts(test_copy.data, TESTER, "Hello,")
        assert (got.pop("subject"), expected.pop("subject")) == (
            "[Test] Trains and Time", "Trains and Time",
        )  # fmt: skip
        assert got == expected, "the test is the previewed message but for its personal fields"

        page.get_by_role("button", name="Send now…").click()
        page.get_by_role("button", name=f"Send to {READERS} readers").click()
        page.evaluate("window.stillTheSamePage = true")
        expect(page.locator("[data-live-status]")).to_have_text("sent", timeout=60_000)
        assert page.evaluate("window.stillTheSamePage") is True, "progress updated in place"
        expect(page.locator('dd[data-count="sent"]')).to_have_text(str(READERS))
        page.screenshot(path=shots / "3-sent.png", full_page=True)
    finally:
        page.context.close()
    copies = Counter(r for m in smtp.messages for r in m.rcpt_tos)
    readers = {f"reader{n}@example.org": 1 for n in range(READERS)}
    assert copies == Counter({**readers, TESTER: 1}), "every reader once, the tester once"

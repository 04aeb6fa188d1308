"""Import readers in a real browser (Chromium through Playwright) with the real worker: the
form, then the dry run's page, which shows the mapping once the worker has checked the file
(the page polls for it), at a phone's width, without sideways scrolling; then the editor
thinks better of it and discards the upload, through its confirmation."""

from __future__ import annotations

import pytest
from playwright.sync_api import FilePayload, expect

from tests.support.admin_browser import PHONE, sign_in
from tests.support.browser import horizontal_overflow, open_page
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


def test_the_dry_run_page_shows_its_mapping_once_the_worker_has_checked(
    live, committed, browser, celery_worker, shots
):
    make_user(committed, "editor")
    page = open_page(browser, live.url, viewport=PHONE)
    sign_in(page, "editor@example.org")
    page.goto("/admin/subscribers/imports/new")
    export: FilePayload = {
        "name": "members.csv",
        "mimeType": "text/csv",
        "buffer": b"Email Address,First Name,City\nann@example.org,Ann,Lyon\n",
    }
    page.get_by_label("CSV file").set_input_files(files=export)
    page.get_by_role("button", name="Check the file").click()
    # The real worker checks the file; the page must notice it by itself.
    expect(page.get_by_role("button", name="Import 1 reader")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("cell", name="attribute city")).to_be_visible()
    assert horizontal_overflow(page) == 0
    page.screenshot(path=shots / "checked-phone.png", full_page=True)
    page.get_by_role("button", name="Discard this upload").click()
    expect(page.get_by_role("heading", name="Discard members.csv?")).to_be_visible()
    page.screenshot(path=shots / "discard-confirm-phone.png", full_page=True)
    page.get_by_role("button", name="Discard").click()
    expect(page.get_by_text("members.csv is discarded: nothing was imported.")).to_be_visible()
    expect(page.get_by_role("button", name="Check the file")).to_be_visible()

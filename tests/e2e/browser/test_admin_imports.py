"""Import readers in a real browser (Chromium through Playwright): the form, then a dry run's
page whose state arrives without a reload (a small JSON poll), at a phone's width, without
sideways scrolling."""

from __future__ import annotations

import pytest
from playwright.sync_api import FilePayload, expect

from broadsheet.db import make_session_factory
from broadsheet.services import reader_imports
from tests.support.admin_browser import PHONE, sign_in
from tests.support.browser import horizontal_overflow, open_page
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


def test_the_dry_run_page_shows_its_mapping_once_the_worker_has_checked(
    live, committed, browser, engine, settings
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
    expect(page.get_by_role("heading", name="Checking the file…")).to_be_visible()
    job_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    # The worker's part, done here: the page must notice it by itself.
    sessions = make_session_factory(engine)
    assert reader_imports.work(sessions, job_id, settings.secret_key) == "checked"
    expect(page.get_by_role("button", name="Import 1 reader")).to_be_visible(timeout=5000)
    expect(page.get_by_role("cell", name="attribute city")).to_be_visible()
    assert horizontal_overflow(page) == 0

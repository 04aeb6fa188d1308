"""The admin in the browser: the screen sizes its pages are made for, and signing in as a
person would."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.factories import PASSWORD

PHONE, DESKTOP = {"width": 375, "height": 800}, {"width": 1440, "height": 900}


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form and wait until the admin says who is signed in."""
    page.goto("/admin/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

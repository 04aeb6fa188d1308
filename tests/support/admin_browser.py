"""The admin in the browser: the screen sizes its pages are made for, and signing in as a
person would."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.support.factories import PASSWORD

PHONE: ViewportSize = {"width": 375, "height": 800}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
# A page test run at each size and colour scheme: its `device`, `viewport` and `scheme`.
EVERY_SCREEN = pytest.mark.parametrize(
    ("device", "viewport", "scheme"),
    [
        ("phone", PHONE, "light"),
        ("phone-dark", PHONE, "dark"),
        ("desktop", DESKTOP, "light"),
        ("desktop-dark", DESKTOP, "dark"),
    ],
)
# Text whose contrast the page checks measure.
TEXT = [
    "body", "h1", "h2", "h3", "label", ".hint", ".error", ".muted", ".small", ".kicker",
    ".status", "main button", "main .button", ".listing td", ".listing th", ".check-level",
    ".counts dt", ".counts dd", ".inbox-preheader", ".flash", "main a", ".sections a",
]  # fmt: skip


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the form and wait until the admin says who is signed in."""
    page.goto("/admin/login")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

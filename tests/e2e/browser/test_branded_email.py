"""A newsletter's own look in a real browser: the message a reader of a branded newsletter
gets (its logo, accent colour and footer, the publication's postal address), opened as the
admin's preview opens it, at a phone's width in light and dark. It must fit the screen, keep
the logo inside it, and keep its text and links readable. Screenshots under
tests/artifacts/screenshots/."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Route, expect
from sqlalchemy.orm import Session

from broadsheet.services import articles, campaigns, newsletters, publication
from tests.support.admin_browser import PHONE, sign_in
from tests.support.browser import Scheme, contrast_ratios, horizontal_overflow, open_page
from tests.support.factories import make_user
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser

LOGO = "https://cdn.example.org/the-night-desk-wide.png"


def wide_png(width: int = 1200, height: int = 300) -> bytes:
    """A plain PNG far wider than a phone, as a logo made for a web page would be."""
    row = b"\x00" + b"\x1f\x4e\x79" * width
    raw = zlib.compress(row * height)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_branded_newsletters_message_fits_a_phone_and_stays_readable(
    browser: Browser, live: LiveServer, committed: Session, shots: Path, scheme: Scheme
):
    make_user(committed, "editor")
    publication.save_publication(
        committed, "The Night Desk\n12 Quay Street\nBristol BS1 4XX", "",
        name="The Night Desk",
    )  # fmt: skip
    weekly = newsletters.create_newsletter(committed, "Night Desk Weekly", "weekly")
    newsletters.save_look(
        committed, weekly.id, logo_url=LOGO, logo_alt="The Night Desk", accent="#c2410c",
        footer_note="You get the weekly because you asked for it on our site.",
    )  # fmt: skip
    article = articles.create_article(
        committed, title="Late Trains, Early Papers",
        body_markdown="The last train left at midnight. [Read the timetable]"
        "(https://example.org/timetable) and **see** why." + " More words follow." * 40,
    )  # fmt: skip
    campaign = campaigns.create_campaign(
        committed, article.id, audience={"newsletters": ["weekly"]}
    )
    committed.commit()
    page = open_page(browser, live, PHONE, scheme)
    try:
        sign_in(page, "editor@example.org")
        page.route(LOGO, lambda route: _logo(route))
        page.goto(f"/admin/campaigns/{campaign.id}/preview.html?scheme={scheme}")
        logo = page.get_by_role("img", name="The Night Desk")
        expect(logo).to_be_visible()
        shown = page.evaluate(
            "() => { const i = document.querySelector('img.logo');"
            " return [i.naturalWidth, i.getBoundingClientRect().right]; }"
        )
        assert shown[0] == 1200, "the logo loaded"
        assert shown[1] <= PHONE["width"], f"the logo runs off a phone: {shown}"
        assert horizontal_overflow(page) <= 0, "the message scrolls sideways on a phone"
        text = page.locator("body").inner_text()
        assert "12 Quay Street" in text and "Bristol BS1 4XX" in text, "the postal address"
        assert "Night Desk Weekly" in text, "the newsletter it came from"
        assert "You get the weekly because you asked for it" in text
        page.screenshot(path=shots / f"branded-phone-{scheme}.png", full_page=True)
        ratios = contrast_ratios(page, [".content p", ".content a", ".footer p", ".footer a"])
        assert {selector for selector, _ in ratios} == {
            ".content p",
            ".content a",
            ".footer p",
            ".footer a",
        }
        low = [(selector, ratio) for selector, ratio in ratios if ratio < 4.5]
        assert not low, f"text below 4.5:1 in {scheme}: {low}"
    finally:
        page.context.close()


def _logo(route: Route) -> None:
    route.fulfill(status=200, content_type="image/png", body=wide_png())

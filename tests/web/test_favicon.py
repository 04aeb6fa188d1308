"""The site's icon: every page links the SVG, /favicon.ico answers with the same drawing as
an ICO, and Chromium draws both."""

from __future__ import annotations

import re
import struct

import pytest
from playwright.sync_api import Browser

from tests.support.browser import open_page
from tests.support.live_server import LiveServer

ICON_LINKS = re.compile(r'<link rel="icon" href="([^"]+)"[^>]*>')


def test_favicon_ico_holds_the_icon_at_three_sizes(client):
    with client.get("/favicon.ico") as answer:  # a file: closed when read
        assert answer.status_code == 200
        assert answer.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
        ico = answer.data
    reserved, kind, count = struct.unpack_from("<HHH", ico)
    assert (reserved, kind) == (0, 1), "an icon file"
    sizes = []
    for n in range(count):
        width, height, *_, length, offset = struct.unpack_from("<BBBBHHII", ico, 6 + 16 * n)
        assert ico[offset : offset + 8] == b"\x89PNG\r\n\x1a\n", "each image a PNG"
        assert offset + length <= len(ico)
        sizes.append((width, height))
    assert sizes == [(16, 16), (32, 32), (48, 48)]


@pytest.mark.parametrize("page", ["/subscribe", "/admin/login", "/no/such/page"])
def test_every_page_links_the_icon(client, page):
    html = client.get(page).get_data(as_text=True)
    links = ICON_LINKS.findall(html)
    assert links == ["/favicon.ico", "/static/favicon.svg"], page
    with client.get(links[1]) as svg:
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        assert svg.get_data(as_text=True).startswith("<svg")


@pytest.mark.browser
def test_chromium_draws_both_forms_of_the_icon(browser: Browser, live: LiveServer):
    page = open_page(browser, live, {"width": 375, "height": 400})
    try:
        page.goto("/subscribe")
        for link in page.locator('link[rel="icon"]').all():
            href = link.get_attribute("href")
            width = page.evaluate(
                """async (src) => {
                  const img = new Image(); img.src = src; await img.decode();
                  return img.naturalWidth;
                }""",
                href,
            )
            assert width >= 16, f"{href} does not draw"
    finally:
        page.context.close()

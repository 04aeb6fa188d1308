"""The site's icon in Chromium: both forms a page links, the SVG and /favicon.ico, draw."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from tests.support.browser import open_page
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser


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

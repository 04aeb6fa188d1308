"""The site's icon: every page links the SVG, and /favicon.ico answers with the same drawing
as an ICO (Chromium draws both: tests/e2e/browser/test_favicon.py)."""

from __future__ import annotations

import re
import struct

import pytest

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

"""Make web/static/favicon.ico from web/static/favicon.svg: the SVG drawn by Debian's
Chromium at 16, 32 and 48 px, each kept as a PNG inside one ICO file (Windows Vista's
format, read by every browser and feed reader that asks for /favicon.ico).

Run it after changing the SVG: .venv/bin/python scripts/favicon.py
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"  # Debian's (sh scripts/install-browser.sh)
STATIC = Path(__file__).resolve().parent.parent / "web" / "static"
SIZES = (16, 32, 48)


def drawn(svg: bytes, sizes: tuple[int, ...]) -> list[bytes]:
    """The SVG as a transparent PNG at each size."""
    source = "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            pngs = []
            for size in sizes:
                page.set_content(f'<img src="{source}" width="{size}" height="{size}">')
                image = page.locator("img")
                image.evaluate("img => img.decode()")
                pngs.append(image.screenshot(omit_background=True))
            return pngs
        finally:
            browser.close()


def icon_file(pngs: list[bytes], sizes: tuple[int, ...]) -> bytes:
    """An ICO holding each PNG: a 6-byte header, a 16-byte entry per image, the images."""
    header = struct.pack("<HHH", 0, 1, len(pngs))
    offset = len(header) + 16 * len(pngs)
    entries, images = b"", b""
    for size, png in zip(sizes, pngs, strict=True):
        entries += struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(png), offset)
        images += png
        offset += len(png)
    return header + entries + images


if __name__ == "__main__":
    pngs = drawn((STATIC / "favicon.svg").read_bytes(), SIZES)
    (STATIC / "favicon.ico").write_bytes(icon_file(pngs, SIZES))
    print(f"wrote {STATIC / 'favicon.ico'}")

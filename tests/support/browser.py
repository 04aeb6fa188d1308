"""Debian's Chromium driven by Playwright (it downloads no browser), and checks on pages."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from playwright.sync_api import Browser, Page, Playwright, ViewportSize

Scheme = Literal["light", "dark"]  # the colour scheme a page is shown in
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# WCAG contrast of each element's text against the first opaque background behind it.
_CONTRAST_JS = """
(selectors) => {
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (c) => (c /= 255) <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] === 1) return c;
    }
    return [255, 255, 255];
  };
  const out = [];
  for (const selector of selectors) {
    for (const el of document.querySelectorAll(selector)) {
      const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      out.push([selector, Math.round(ratio * 100) / 100]);
    }
  }
  return out;
}
"""


def open_page(
    browser: Browser,
    base_url: object,
    viewport: ViewportSize,
    scheme: Scheme = "light",
) -> Page:
    """A page in a fresh context (no cookies) at `viewport` and colour scheme, on the server."""
    url = getattr(base_url, "url", base_url)
    context = browser.new_context(viewport=viewport, color_scheme=scheme, base_url=str(url))
    return context.new_page()


def launch(playwright: Playwright) -> Browser:
    """Headless Chromium from the system package, with the background chatter switched off."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the document is wider than the viewport (0 when nothing scrolls)."""
    overflow: int = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
    return overflow


def contrast_ratios(page: Page, selectors: list[str]) -> list[tuple[str, float]]:
    """(selector, ratio) for every element matching each selector."""
    return [(s, r) for s, r in page.evaluate(_CONTRAST_JS, selectors)]

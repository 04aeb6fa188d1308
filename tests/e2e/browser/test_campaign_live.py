"""The campaign page during a real send (a Celery worker and beat, the aiosmtpd relay, a low
SEND_RATE) in Debian's Chromium: progress, pace and the throughput chart move without a
reload, and a relay that refuses one domain shows as failures grouped under that domain with
the relay's reply, which lead to the list of those deliveries. Screenshots at 375 and 1440 px,
light and dark, go to tests/artifacts/screenshots/test_campaign_live/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from tests.e2e.test_faults import ticking
from tests.support.admin_browser import DESKTOP, PHONE, sign_in
from tests.support.browser import Scheme, horizontal_overflow, open_page
from tests.support.factories import add_readers, make_campaign, make_user
from tests.support.live_server import LiveServer

pytestmark = pytest.mark.browser

REFUSAL = "550 5.7.1 refusing.test takes no mail from you"


@pytest.fixture
def sending(celery_worker, stack, smtp) -> Iterator[None]:
    """The worker at 12 messages a second with a beat ticking each second; the relay refuses
    every reader at refusing.test."""
    smtp.rcpt_rule = lambda address: REFUSAL if address.endswith("@refusing.test") else None
    with ticking(celery_worker, stack, SEND_RATE="12"):
        yield


def bars(page: Page) -> int:
    return page.locator('[data-fragment="chart"] rect').count()


# The estimated finish ("in 3 min 12 s", "in 9.5 s") in seconds, read in the page; null
# when there is none.
ESTIMATE = """() => {
  const shown = document.querySelector('[data-pace="finish"]');
  const words = shown ? shown.innerText.split("\\n")[0].match(/^in (.+)$/) : null;
  if (!words) return null;
  const unit = {d: 86400, h: 3600, min: 60, s: 1};
  let seconds = 0;
  for (const [, n, u] of words[1].matchAll(/([\\d.]+) (d|h|min|s)\\b/g)) seconds += n * unit[u];
  return seconds;
}"""


def sent(page: Page) -> int:
    return int(page.locator('[data-count="sent"]').inner_text().replace(",", ""))


def progress(page: Page) -> float:
    return float(page.locator("[data-live-bar]").get_attribute("value") or 0)


@pytest.mark.usefixtures("sending")
def test_the_page_follows_a_send_and_groups_a_refusing_domain(
    browser: Browser, live: LiveServer, committed: Session, shots: Path
):
    make_user(committed, "editor")
    add_readers(committed, 200)
    add_readers(committed, 20, prefix="turned", domain="refusing.test")
    campaign = make_campaign(committed, "The Slow Train")
    committed.commit()
    page = open_page(browser, live, DESKTOP)
    sign_in(page, "editor@example.org")
    page.goto(f"/admin/campaigns/{campaign.id}")
    page.get_by_role("button", name="Send now…").click()
    page.get_by_role("button", name="Send to 220 readers").click()
    expect(page.locator("[data-live-status]")).to_have_text("sending")
    page.evaluate("window.stillTheSamePage = true")

    expect(page.locator('[data-fragment="chart"] rect').first).to_be_attached(timeout=20_000)
    first_bars, first_done = bars(page), page.locator("[data-live-done]").inner_text()
    expect(page.locator('[data-pace="rate"]')).to_have_text(re.compile(r"^\d+(\.\d)?/s$"))
    expect(page.locator('[data-pace="finish"]')).to_contain_text("in ")
    first_estimate, first_sent, first_progress = page.evaluate(ESTIMATE), sent(page), progress(page)
    assert first_estimate is not None and first_estimate > 0
    page.screenshot(path=shots / "sending-1440-light.png", full_page=True)
    # Without a reload: the estimate shrinks, while the progress and the sent count grow.
    page.wait_for_function(
        f"(() => {{ const s = ({ESTIMATE})(); return s !== null && s < {first_estimate}; }})()",
        timeout=30_000,
    )
    page.wait_for_function(
        f"document.querySelectorAll('[data-fragment=chart] rect').length > {first_bars}",
        timeout=30_000,
    )
    assert page.locator("[data-live-done]").inner_text() != first_done
    assert sent(page) > first_sent and progress(page) > first_progress

    expect(page.locator("[data-live-status]")).to_have_text("sent", timeout=40_000)
    assert page.evaluate("window.stillTheSamePage") is True, "it updated in place"
    failures = page.locator('[data-fragment="failures"]')
    domain_row = failures.locator("tr", has_text="refusing.test").first
    expect(domain_row).to_contain_text("20")
    expect(domain_row).to_contain_text(REFUSAL)
    expect(failures.locator("tr", has_text="550 5.7.1").first).to_contain_text("20")
    page.screenshot(path=shots / "sent-1440-light.png", full_page=True)

    domain_row.get_by_role("link", name="20").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Deliveries: failed or bounced")
    expect(page.locator("tbody tr")).to_have_count(20)
    expect(page.locator("tbody tr").first).to_contain_text(REFUSAL)
    page.screenshot(path=shots / "deliveries-1440-light.png", full_page=True)
    page.context.close()

    schemes: tuple[Scheme, ...] = ("light", "dark")
    for (width, viewport), scheme in [(w, s) for w in ((375, PHONE), (1440, DESKTOP))
                                      for s in schemes]:  # fmt: skip
        look = open_page(browser, live, viewport, scheme)
        sign_in(look, "editor@example.org")
        for path, name in [
            (f"/admin/campaigns/{campaign.id}", "campaign"),
            (f"/admin/campaigns/{campaign.id}/deliveries?status=failures", "deliveries"),
        ]:
            look.goto(path)
            look.screenshot(path=shots / f"{name}-{width}-{scheme}.png", full_page=True)
            if name == "campaign":  # the live parts alone, to read at full size
                look.locator("#pace").screenshot(path=shots / f"pace-{width}-{scheme}.png")
            assert horizontal_overflow(look) == 0, (name, width, scheme)
        look.context.close()

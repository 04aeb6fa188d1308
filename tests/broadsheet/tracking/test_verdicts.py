"""Verdicts: who opened or clicked, a person or a machine, and why."""

from __future__ import annotations

import pytest

from broadsheet.tracking.verdicts import REASONS, judge

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
GMAIL = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"


def verdict(agent: str, *, click=False, method="GET", after=3600.0, honeypot=False):
    found = judge(
        click=click, method=method, agent=agent, seconds_since_send=after, honeypot=honeypot
    )
    return found.human, found.reason


def test_a_browser_click_after_the_send_is_human():
    assert verdict(FIREFOX, click=True) == (True, "client")


def test_gmail_image_proxy_opens_are_human():
    assert verdict(GMAIL) == (True, "image-proxy")


def test_a_bare_agent_open_is_apple_privacy_protection():
    assert verdict("Mozilla/5.0") == (False, "bare-agent")
    assert verdict(" Mozilla/5.0 ") == (False, "bare-agent")


@pytest.mark.parametrize("click", [False, True])
def test_head_is_a_scanner_whatever_the_agent(click):
    assert verdict(FIREFOX, click=click, method="HEAD") == (False, "head")


def test_the_honeypot_is_a_machine_even_from_a_browser():
    assert verdict(FIREFOX, click=True, honeypot=True) == (False, "honeypot")


def test_a_click_seconds_after_the_send_is_a_gateway():
    assert verdict(FIREFOX, click=True, after=2) == (False, "too-soon")
    assert verdict(FIREFOX, click=False, after=2) == (True, "client")  # opens are not timed


@pytest.mark.parametrize(
    "agent",
    [
        "curl/8.5.0",
        "python-requests/2.32",
        "Go-http-client/1.1",
        "Mozilla/5.0 (compatible; BingPreview/1.0b)",
        "Barracuda Sentinel (EE)",
        "Mimecast-Security-Scanner",
        "Proofpoint URL Defense",
        "Mozilla/5.0 (compatible; Googlebot/2.1)",
        "SomeCrawler/1.0",
    ],
)
def test_scanners_and_libraries_are_machines(agent):
    assert verdict(agent, click=True) == (False, "scanner")


def test_no_agent_is_a_machine():
    assert verdict("", click=True) == (False, "no-agent")


def test_every_reason_is_explained():
    assert all(REASONS.values())

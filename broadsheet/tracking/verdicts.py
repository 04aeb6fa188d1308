"""Human or machine: the verdict on one open or click, from its method, the agent, the time
since the message was made and whether it was the honeypot link. A pure function; only its
result (a code) is stored, never the agent or the address.

Machines that open and click: Apple Mail Privacy Protection fetches every pixel through a
proxy with a bare `Mozilla/5.0` agent, whether or not the reader opens; mail security gateways
and link scanners follow every link within seconds, often with HEAD, under their own agents or
a library's. Gmail's and Yahoo's image proxies fetch a pixel when a person opens the mail, so
those opens are human."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A click this soon after the message was made is a gateway scanning it on its way in.
CLICK_TOO_SOON = 10  # seconds

# Security gateways, link scanners and HTTP libraries (lower case, matched anywhere).
SCANNERS = re.compile(
    r"barracuda|mimecast|proofpoint|ppops|messagelabs|symantec|trendmicro|fortinet|fortiguard"
    r"|sophos|ironport|cisco|forcepoint|zscaler|safelinks|bingpreview|appengine-google"
    r"|curl/|wget/|python-requests|python-urllib|python-httpx|aiohttp|go-http-client|java/"
    r"|okhttp|libwww-perl|apache-httpclient|node-fetch|axios/|headlesschrome|phantomjs"
    r"|bot\b|bot/|crawler|spider|scanner",
)
_HUMAN_PROXIES = re.compile(r"googleimageproxy|yahoomailproxy")

REASONS: dict[str, str] = {
    "head": "a HEAD request: a link scanner checking the address, never a reader",
    "honeypot": "the hidden link no person can see or reach",
    "no-agent": "no user agent: a script, not a mail client",
    "scanner": "a known security gateway, link scanner or HTTP library",
    "bare-agent": "a bare 'Mozilla/5.0' agent: Apple Mail Privacy Protection's proxy",
    "too-soon": f"clicked within {CLICK_TOO_SOON} s of sending: a gateway scanning the mail",
    "image-proxy": "Gmail's or Yahoo's image proxy, which fetches when a person opens",
    "client": "an ordinary mail client or browser",
}
HUMAN_REASONS = frozenset({"image-proxy", "client"})


@dataclass(frozen=True)
class Verdict:
    human: bool
    reason: str  # a key of REASONS

    @property
    def explanation(self) -> str:
        return REASONS[self.reason]


def judge(
    *, click: bool, method: str, agent: str, seconds_since_send: float, honeypot: bool = False
) -> Verdict:
    """The verdict on an open (`click` False) or a click, first rule that applies wins."""
    if method.upper() == "HEAD":
        return _machine("head")
    if honeypot:
        return _machine("honeypot")
    agent = agent.strip()
    lowered = agent.lower()
    if not agent:
        return _machine("no-agent")
    if SCANNERS.search(lowered):
        return _machine("scanner")
    if lowered == "mozilla/5.0":
        return _machine("bare-agent")
    if _HUMAN_PROXIES.search(lowered):
        return Verdict(True, "image-proxy")
    if click and seconds_since_send < CLICK_TOO_SOON:
        return _machine("too-soon")
    return Verdict(True, "client")


def _machine(reason: str) -> Verdict:
    return Verdict(False, reason)

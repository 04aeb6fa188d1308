"""Tracing a report back to (campaign, subscriber): through our Message-ID or a VERP return
path, both carrying the HMAC of `make_message_id`, or through our X-Broadsheet-* headers.

The HMAC makes the first two trustworthy: nobody without SECRET_KEY can forge them. The
headers are plain text anyone can write, so `broadsheet.bounces.intake` accepts a header match
only when it agrees with the ledger and with the address the report names.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass

from broadsheet.bounces.report import Report
from broadsheet.mail.skeleton import make_message_id

_ID = r"bs(?:\.c(\d{1,18}))?\.s(\d{1,18})\.([0-9a-f]{8})"
OUR_MESSAGE_ID = re.compile(rf"<{_ID}@[^<>\s@]+>", re.IGNORECASE)
_VERP = re.compile(rf"\+{_ID}@", re.IGNORECASE)
_NUMBER = re.compile(r"\s*(\d{1,18})\s*")


@dataclass(frozen=True)
class Match:
    campaign_id: int | None  # None for one-off mail (a confirmation)
    subscriber_id: int
    method: str  # "message-id", "verp" or "headers"


def match_report(report: Report, secret: str) -> Match | None:
    """Who a report is about, trying the signed traces first; None when it is not ours."""
    for message_id in report.message_ids:
        found = _signed(OUR_MESSAGE_ID.search(message_id), secret, "message-id")
        if found is not None:
            return found
    for address in report.returned_to:
        found = _signed(_VERP.search(address), secret, "verp")
        if found is not None:
            return found
    return _headers(report)


def verp_address(
    envelope_from: str, campaign_id: int | None, subscriber_id: int, secret: str
) -> str:
    """A return path that names the message: `news+bs.c12.s34.<hmac>@example.org`."""
    local, _, domain = envelope_from.rpartition("@")
    campaign = "" if campaign_id is None else f".c{campaign_id}"
    digest = _digest(campaign_id, subscriber_id, secret)
    return f"{local}+bs{campaign}.s{subscriber_id}.{digest}@{domain}"


def _signed(found: re.Match[str] | None, secret: str, method: str) -> Match | None:
    if found is None:
        return None
    campaign_id = int(found[1]) if found[1] is not None else None
    subscriber_id = int(found[2])
    if not hmac.compare_digest(found[3].lower(), _digest(campaign_id, subscriber_id, secret)):
        return None
    return Match(campaign_id, subscriber_id, method)


def _digest(campaign_id: int | None, subscriber_id: int, secret: str) -> str:
    """The HMAC part of our Message-ID for (campaign, subscriber); its domain plays no part."""
    message_id = make_message_id(campaign_id, subscriber_id, "localhost", secret)
    return message_id.rpartition("@")[0].rpartition(".")[2]


def _headers(report: Report) -> Match | None:
    if report.original is None:
        return None
    subscriber = _NUMBER.fullmatch(str(report.original.get("X-Broadsheet-Subscriber", "")))
    if subscriber is None:
        return None
    campaign = _NUMBER.fullmatch(str(report.original.get("X-Broadsheet-Campaign", "")))
    return Match(int(campaign[1]) if campaign else None, int(subscriber[1]), "headers")

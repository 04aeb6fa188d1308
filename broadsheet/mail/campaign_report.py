"""The report an admin gets when a campaign is sent or pauses itself (NOTIFY_ADMINS): its
figures, what to do next and a link to its page, from templates/email/campaign_report/.

It is rendered for each admin (a handful per campaign, so no skeleton is cached). It is not
bulk mail: one message to an account holder about their own system, so it carries no
List-Unsubscribe or Precedence header; it says why they get it and how it stops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.utils import make_msgid

from broadsheet.mail.compose import dkim_signer, publication_name
from broadsheet.mail.rendering import render_email
from broadsheet.mail.skeleton import MessageSkeleton, Recipient, domain_of
from broadsheet.settings import Settings


@dataclass(frozen=True)
class CampaignFigures:
    """What a report says about its campaign (broadsheet/services/admin_reports.py counts it
    when the report is sent)."""

    campaign_id: int
    subject: str
    started_at: datetime | None
    pause_reason: str | None
    counts: dict[str, int]  # deliveries by status, and `total`


def campaign_url(settings: Settings, campaign_id: int) -> str:
    return f"{settings.public_url}/admin/campaigns/{campaign_id}"


def report_context(
    figures: CampaignFigures, as_of: datetime, *, paused: bool, settings: Settings
) -> dict[str, object]:
    """The template's values: every figure worked out and worded here, none in the template.
    `as_of`: when the campaign was sent or paused (the report was owed in that transaction)."""
    counts = figures.counts
    seconds = _seconds(figures.started_at, as_of)
    return {
        "paused": paused,
        "subject": figures.subject,
        "campaign_url": campaign_url(settings, figures.campaign_id),
        "publication_name": publication_name(settings),
        "public_url": settings.public_url,
        "pause_reason": figures.pause_reason or "",
        "rows": _rows(counts, seconds),
        "left": counts.get("queued", 0) + counts.get("sending", 0),
        "failed": counts.get("failed", 0) + counts.get("bounced", 0),
        "as_of": as_of.strftime("%Y-%m-%d %H:%M UTC"),
    }


def campaign_report_message(
    to: str, figures: CampaignFigures, as_of: datetime, *, paused: bool, settings: Settings
) -> bytes:
    """The report to address `to` as one RFC 5322 message (text/plain and HTML parts, a
    fresh Message-ID)."""
    context = report_context(figures, as_of, paused=paused, settings=settings)
    rendered = render_email("campaign_report", context)
    skeleton = MessageSkeleton(
        rendered,
        mail_from=settings.mail_from,
        list_id=None,
        campaign_id=None,  # not the campaign's own mail: no Precedence: bulk, no X-header
        unsubscribe=False,  # not bulk mail (see the module's docstring)
        signer=dkim_signer(settings),
    )
    domain = domain_of(settings.mail_from)
    recipient = Recipient(
        email=to,
        name="",
        subscriber_id=None,  # a bounce of it must never be matched to a reader
        unsubscribe_url=None,
        message_id=make_msgid("report", domain=domain),
    )
    return skeleton.render(recipient)


def _seconds(started_at: datetime | None, until: datetime) -> float | None:
    if started_at is None:
        return None
    return max(0.0, (until - started_at).total_seconds())


def _rows(counts: dict[str, int], seconds: float | None) -> list[tuple[str, str]]:
    """(label, value) lines of the figures table, the same in the text and HTML parts."""
    sent = counts.get("sent", 0)
    rows = [
        ("Recipients", f"{counts.get('total', 0):,}"),
        ("Sent", f"{sent:,}"),
        ("Failed", f"{counts.get('failed', 0):,}"),
        ("Bounced", f"{counts.get('bounced', 0):,}"),
        ("Unknown", f"{counts.get('unknown', 0):,}"),
    ]
    left = counts.get("queued", 0) + counts.get("sending", 0)
    if left:
        rows.append(("Not sent yet", f"{left:,}"))
    if seconds is not None:
        rows.append(("Duration", duration(seconds)))
        rows.append(("Average rate", rate(sent, seconds)))
    return rows


def duration(seconds: float) -> str:
    """'2 h 05 min', '3 min 20 s', '12 s': how long a send took, to the second."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


def rate(sent: int, seconds: float) -> str:
    """Messages sent per minute over the whole send ('1,234 a minute'); per second when the
    send took under a minute, where a per-minute figure would be a guess."""
    if sent == 0 or seconds <= 0:
        return "none sent"
    if seconds < 60:
        return f"{sent / seconds:,.1f} a second"
    return f"{sent * 60 / seconds:,.0f} a minute"

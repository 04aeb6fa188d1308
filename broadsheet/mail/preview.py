"""A campaign's message exactly as sent, for a sample reader (the preview) or for a typed
address (a test send): the worker's own skeleton and substitution over the campaign's stored,
inlined rendering, so what is previewed, tested and sent are the same bytes but for the
personal fields (and a test's "[Test]" subject)."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from broadsheet.mail.checks import Check, run_checks
from broadsheet.mail.compose import (
    campaign_identity,
    campaign_recipient,
    campaign_skeleton,
    subscription_urls,
)
from broadsheet.mail.personal import PLACEHOLDER, Field, decode, placeholders
from broadsheet.mail.skeleton import Recipient, domain_of
from broadsheet.models import Campaign
from broadsheet.settings import Settings

# The reader a preview is made for: no real subscriber (id 0), so its unsubscribe link
# unsubscribes nobody.
SAMPLE_ID, SAMPLE_EMAIL, SAMPLE_NAME = 0, "reader@example.org", "Ann Reader"
TEST_PREFIX = "[Test] "
_DARK_RULES = re.compile(r"@media \(prefers-color-scheme: dark\)")


def preview_message(campaign: Campaign, settings: Settings, *, date: str | None = None) -> bytes:
    """The whole message a sample reader would get (the campaign must be prepared)."""
    recipient = campaign_recipient(settings, campaign.id, SAMPLE_ID, SAMPLE_EMAIL, SAMPLE_NAME)
    return campaign_skeleton(campaign, settings).render(recipient, date)


def campaign_checks(campaign: Campaign, settings: Settings) -> list[Check]:
    """The pre-send checks over the message exactly as a reader would get it (the campaign
    must be prepared), with the worker's last link check: for the admin and the API alike."""
    identity = campaign_identity(campaign, settings)
    return run_checks(
        preview_message(campaign, settings),
        subject=campaign.subject,
        preheader=campaign.preheader,
        settings=settings,
        link_report=campaign.link_report,
        postal_address=identity.postal_address,
        accent=identity.look.accent,
        reader_fields=fields_of(campaign.subject, campaign.rendered_html or ""),
    )


def fields_of(subject: str, rendered: str) -> list[Field]:
    """The reader fields a subject and a rendering fill in, in order of appearance."""
    found = [
        *PLACEHOLDER.finditer(placeholders(subject, html_escaped=False)),
        *PLACEHOLDER.finditer(placeholders(rendered, html_escaped=True)),
    ]
    return [decode(p) for p in dict.fromkeys(m.group(0) for m in found)]


def message_for_test(campaign: Campaign, settings: Settings, address: str) -> bytes:
    """The message a test send delivers to `address`: the preview's bytes with "[Test]"
    before the subject, the address as the reader (no name) and a Message-ID of its own.
    Its unsubscribe and preferences links are the sample reader's: they change nobody."""
    skeleton = campaign_skeleton(campaign, settings, subject=TEST_PREFIX + campaign.subject)
    unsubscribe, preferences = subscription_urls(settings, SAMPLE_ID, campaign.id)
    recipient = Recipient(
        email=address,
        name="",
        subscriber_id=None,
        unsubscribe_url=unsubscribe,
        preferences_url=preferences,
        message_id=make_msgid("test", domain=domain_of(settings.mail_from)),
    )
    return skeleton.render(recipient)


@dataclass(frozen=True)
class Parts:
    """A message taken apart for showing: headers as an inbox lists them, and both bodies."""

    sender: str
    subject: str
    to: str
    html: str
    text: str
    size: int  # bytes of the whole message, as the relay receives it


def message_parts(raw: bytes) -> Parts:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    html = parsed.get_body(preferencelist=("html",))
    text = parsed.get_body(preferencelist=("plain",))
    return Parts(
        sender=str(parsed["From"]),
        subject=str(parsed["Subject"]),
        to=str(parsed["To"]),
        html=html.get_content() if html is not None else "",
        text=text.get_content() if text is not None else "",
        size=len(raw),
    )


def in_colour_scheme(html: str, scheme: str) -> str:
    """The HTML part as a mail client in `scheme` ("light" or "dark") shows it: the message's
    own dark-mode rules applied always, or never, whatever the viewer's browser prefers."""
    return _DARK_RULES.sub("@media all" if scheme == "dark" else "@media not all", html)

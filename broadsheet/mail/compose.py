"""Campaign, confirmation and welcome messages from the settings: the campaign's email rendered
once, its skeleton (List-Id, MIME boundary, DKIM signer), each reader's part (Message-ID,
unsubscribe and confirm URLs), the confirmation email and the welcome. The outbox queue is
services/outbox_queue.py."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import formataddr, make_msgid, parseaddr
from functools import lru_cache
from urllib.parse import urlencode

from broadsheet.mail.dkim import DkimSigner
from broadsheet.mail.look import Look
from broadsheet.mail.personal import placeholders
from broadsheet.mail.rendering import RenderedEmail, render_email
from broadsheet.mail.skeleton import (
    MessageSkeleton,
    Recipient,
    domain_of,
    make_message_id,
    placeholder_context,
)
from broadsheet.models import Article, Campaign, Subscriber
from broadsheet.settings import Settings
from broadsheet.signing import make_confirm_token, make_issue_key, make_unsubscribe_token
from broadsheet.tracking.links import make_trackable


def publication_name(settings: Settings, chosen: str = "") -> str:
    """The name readers know the publication by: the one an admin `chosen`, else MAIL_FROM's
    display name, else its domain."""
    return chosen or parseaddr(settings.mail_from)[0] or domain_of(settings.mail_from)


def publication_sender(settings: Settings, chosen: str = "") -> str:
    """The publication's From: MAIL_FROM, under the name an admin `chosen` when there is one."""
    return formataddr((chosen, parseaddr(settings.mail_from)[1])) if chosen else settings.mail_from


@dataclass(frozen=True)
class Identity:
    """Who a campaign's messages come from: the name readers know it by (in the header and
    footer), the From address, where replies go, and the list (List-Id)."""

    name: str
    mail_from: str
    reply_to: str | None
    list_id: str
    postal_address: str = ""  # lines, printed in the footer
    footer_note: str = ""
    look: Look = field(default_factory=Look)


def newsletter_identity(
    settings: Settings, name: str, slug: str, sender_name: str, sender_address: str, reply_to: str
) -> dict[str, str]:
    """A newsletter's identity as a campaign keeps it (`Campaign.identity`): its name, its
    sender (a field left empty takes MAIL_FROM's), its reply-to and its own List-Id."""
    publication_sender, publication_address = parseaddr(settings.mail_from)
    address = sender_address or publication_address
    shown = sender_name or (name if sender_address else publication_sender) or name
    return {
        "name": name,
        "mail_from": formataddr((shown, address)),
        "reply_to": reply_to,
        "list_id": f"{name} <{slug}.{domain_of(address)}>",
    }


def campaign_identity(campaign: Campaign, settings: Settings) -> Identity:
    """The identity kept on the campaign with its rendering: a newsletter's sender or the
    publication's, its look, and the footer's postal address and note."""
    kept = campaign.identity or {}
    look = Look(kept.get("logo_url", ""), kept.get("logo_alt", ""), kept.get("accent", ""))
    footer = (kept.get("postal_address", ""), kept.get("footer_note", ""), look)
    if "mail_from" in kept:
        reply_to = kept.get("reply_to") or None
        return Identity(kept["name"], kept["mail_from"], reply_to, kept["list_id"], *footer)
    chosen = kept.get("publication", "")
    return Identity(
        publication_name(settings, chosen), publication_sender(settings, chosen), None,
        list_id(settings, chosen), *footer,
    )  # fmt: skip


def archive_url(settings: Settings, slug: str) -> str:
    return f"{settings.public_url}/archive/{slug}"


def issue_url(settings: Settings, article: Article) -> str:
    """The issue's web edition with its key, as its emails link to it: the key opens an issue
    sent only to private newsletters (the archive's own links need none for the others)."""
    key = make_issue_key(settings.secret_key, article.id)
    return f"{archive_url(settings, article.slug)}?{urlencode({'key': key})}"


def unsubscribe_url(settings: Settings, subscriber_id: int, campaign_id: int | None) -> str:
    return subscription_urls(settings, subscriber_id, campaign_id)[0]


def subscription_urls(
    settings: Settings, subscriber_id: int, campaign_id: int | None
) -> tuple[str, str]:
    """The reader's unsubscribe link and preferences page, on one token: both manage their
    own subscription, neither shows anything about them (their data is only ever mailed)."""
    token = make_unsubscribe_token(settings.secret_key, subscriber_id, campaign_id)
    return (
        f"{settings.public_url}/unsubscribe/{token}",
        f"{settings.public_url}/preferences/{token}",
    )


def confirm_url(settings: Settings, subscriber: Subscriber) -> str:
    token = make_confirm_token(settings.secret_key, subscriber.id, subscriber.email_key)
    return f"{settings.public_url}/confirm/{token}"


def render_campaign(campaign: Campaign, settings: Settings) -> RenderedEmail:
    """Render and inline the campaign's article once, leaving placeholders for personal parts."""
    article = campaign.article
    identity = campaign_identity(campaign, settings)
    return render_email(
        "article",
        {
            "article": article,
            # Reader fields ({{ reader.attributes.city }}) become placeholders, filled per reader.
            "body_html": placeholders(article.body_html, html_escaped=True),
            "subject": campaign.subject,
            "preheader": campaign.preheader,
            "archive_url": issue_url(settings, article),
            "publication_name": identity.name,
            "postal_address": identity.postal_address.splitlines(),
            "footer_note": identity.footer_note,
            "look": identity.look,
            "public_url": settings.public_url,
            **placeholder_context(),
        },
    )


def list_id(settings: Settings, chosen: str = "") -> str:
    return f"{publication_name(settings, chosen)} <newsletter.{domain_of(settings.mail_from)}>"


def dkim_signer(settings: Settings) -> DkimSigner | None:
    """The process's DKIM signer for these settings, or None when DKIM is not configured."""
    if settings.dkim_private_key is None or settings.dkim_selector is None:
        return None
    domain = settings.dkim_domain or domain_of(settings.mail_from)
    return _signer(settings.dkim_private_key, settings.dkim_selector, domain)


@lru_cache(maxsize=4)
def _signer(pem: str, selector: str, domain: str) -> DkimSigner:
    """Parse the key once per process, not once per campaign or confirmation."""
    return DkimSigner(pem, selector=selector, domain=domain)


def is_tracked(campaign: Campaign, settings: Settings) -> bool:
    """Whether the campaign's messages carry the pixel and wrapped links: TRACKING is on and
    so is the campaign's own switch."""
    return settings.tracking and campaign.tracking


def campaign_skeleton(
    campaign: Campaign, settings: Settings, *, subject: str | None = None, tracked: bool = False
) -> MessageSkeleton:
    """The MIME skeleton for a campaign, from its stored rendering (campaigns.prepare): what
    the worker sends (`tracked` when `is_tracked`), the admin previews and a test send
    delivers (with another `subject`). Previews and tests are never tracked: their links are
    the real ones, and nothing they do is counted."""
    if campaign.rendered_html is None or campaign.rendered_text is None:
        raise ValueError(f"campaign {campaign.id} has not been rendered yet")
    html = campaign.rendered_html
    if tracked:  # a regular-expression pass over the HTML, once per batch
        html = make_trackable(html, settings.public_url).html
    subject = placeholders(subject or campaign.subject, html_escaped=False)
    rendered = RenderedEmail(subject, campaign.rendered_text, html)
    identity = campaign_identity(campaign, settings)
    return MessageSkeleton(
        rendered,
        mail_from=identity.mail_from,
        list_id=identity.list_id,
        reply_to=identity.reply_to,
        campaign_id=campaign.id,
        unsubscribe=True,
        signer=dkim_signer(settings),
        boundary=campaign_boundary(settings, campaign.id),
    )


def campaign_boundary(settings: Settings, campaign_id: int) -> str:
    """The campaign's MIME boundary: the same for every message of it, and unguessable."""
    key = f"broadsheet-boundary:{campaign_id}".encode()
    return hmac.new(settings.secret_key.encode(), key, hashlib.sha256).hexdigest()[:24]


def campaign_recipient(
    settings: Settings,
    campaign_id: int,
    subscriber_id: int,
    email: str,
    name: str,
    sender_domain: str | None = None,
    track: str | None = None,
    attributes: Mapping[str, object] | None = None,
) -> Recipient:
    """One reader's part of a campaign message; a batch passes `sender_domain` (MAIL_FROM's
    domain) worked out once, instead of parsing the address for every reader."""
    domain = sender_domain or domain_of(settings.mail_from)
    unsubscribe, preferences = subscription_urls(settings, subscriber_id, campaign_id)
    return Recipient(
        email=email,
        name=name,
        subscriber_id=subscriber_id,
        unsubscribe_url=unsubscribe,
        preferences_url=preferences,
        message_id=make_message_id(campaign_id, subscriber_id, domain, settings.secret_key),
        track=track,
        attributes=attributes,
    )


@dataclass(frozen=True)
class Publisher:
    """Who the publication's own mail (confirmations, welcomes) comes from: the name an admin
    chose ("": MAIL_FROM's) and the publication's look."""

    name: str = ""
    look: Look = field(default_factory=Look)


@lru_cache(maxsize=4)
def _confirmation_skeleton(
    mail_from: str, public_url: str, publication: str, look: Look, signer: DkimSigner | None
) -> MessageSkeleton:
    """The confirmation email rendered and inlined once per process and look; the link is
    personal."""
    context = {"publication_name": publication, "public_url": public_url, "look": look}
    rendered = render_email("confirm", {**context, **placeholder_context()})
    return MessageSkeleton(
        rendered,
        mail_from=mail_from,
        list_id=None,
        campaign_id=None,
        unsubscribe=False,
        signer=signer,
    )


def confirmation_message(
    subscriber: Subscriber, settings: Settings, publisher: Publisher = Publisher()
) -> bytes:
    """The double opt-in email for one reader. Nothing a visitor typed goes in it but the
    address: until the link is clicked, whoever typed may not own the address, so a name in
    `To:` or in the greeting would let anyone send their words to anyone from us."""
    skeleton = _confirmation_skeleton(
        publication_sender(settings, publisher.name), settings.public_url,
        publication_name(settings, publisher.name), publisher.look, dkim_signer(settings),
    )  # fmt: skip
    recipient = Recipient(
        email=subscriber.email,
        name="",
        subscriber_id=subscriber.id,
        unsubscribe_url=None,
        # A fresh id: a second confirmation mail is a new message, not a copy of the first.
        message_id=make_msgid("confirm", domain=domain_of(settings.mail_from)),
        confirm_url=confirm_url(settings, subscriber),
    )
    return skeleton.render(recipient)


@lru_cache(maxsize=16)
def _welcome_skeleton(
    mail_from: str,
    public_url: str,
    publication: str,
    newsletters: tuple[str, ...],
    look: Look,
    signer: DkimSigner | None,
) -> MessageSkeleton:
    """The welcome email for one set of newsletters, rendered and inlined once per process."""
    rendered = render_email(
        "welcome",
        {
            "publication_name": publication,
            "public_url": public_url,
            "archive_url": f"{public_url}/archive",
            "newsletters": list(newsletters),
            "look": look,
            **placeholder_context(),
        },
    )
    return MessageSkeleton(
        rendered,
        mail_from=mail_from,
        list_id=None,
        campaign_id=None,
        unsubscribe=True,
        signer=signer,
    )


def welcome_message(
    subscriber: Subscriber,
    newsletters: tuple[str, ...],
    settings: Settings,
    publisher: Publisher = Publisher(),
) -> bytes:
    """The welcome a reader gets once, after confirming: the `newsletters` they will receive
    (those with a welcome), with their unsubscribe (one-click too) and preferences links."""
    skeleton = _welcome_skeleton(
        publication_sender(settings, publisher.name), settings.public_url,
        publication_name(settings, publisher.name), newsletters, publisher.look,
        dkim_signer(settings),
    )  # fmt: skip
    unsubscribe, preferences = subscription_urls(settings, subscriber.id, None)
    recipient = Recipient(
        email=subscriber.email,
        name=subscriber.name,
        subscriber_id=subscriber.id,
        unsubscribe_url=unsubscribe,
        preferences_url=preferences,
        message_id=make_msgid("welcome", domain=domain_of(settings.mail_from)),
    )
    return skeleton.render(recipient)

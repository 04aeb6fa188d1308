"""The email that brings a reader the data kept about them (asked for on their preferences
page): a short note and the data as a JSON attachment, to their own address only, so it is
never shown in a browser that a forwarded link could open.

It is one message now and then, with an attachment: built with the standard library's
EmailMessage (multipart/mixed over the usual text and HTML parts), not a campaign skeleton.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from broadsheet.mail.compose import (
    Publisher,
    dkim_signer,
    publication_name,
    publication_sender,
    subscription_urls,
)
from broadsheet.mail.rendering import render_email
from broadsheet.mail.skeleton import domain_of
from broadsheet.models import Subscriber
from broadsheet.settings import Settings

FILENAME = "my-data.json"


def data_export_message(
    subscriber: Subscriber,
    export: Mapping[str, Any],
    settings: Settings,
    publisher: Publisher = Publisher(),  # noqa: B008 (a frozen value)
) -> bytes:
    """The reader's data as one RFC 5322 message, DKIM-signed when DKIM is set up."""
    _, preferences = subscription_urls(settings, subscriber.id, None)
    rendered = render_email(
        "my_data",
        {
            "publication_name": publication_name(settings, publisher.name),
            "public_url": settings.public_url,
            "preferences_url": preferences,
            "filename": FILENAME,
            "look": publisher.look,
        },
    )
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = publication_sender(settings, publisher.name)
    message["To"] = subscriber.email  # the address alone: the name is theirs to change
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid("data", domain=domain_of(settings.mail_from))
    message["Auto-Submitted"] = "auto-generated"
    message["X-Broadsheet-Subscriber"] = str(int(subscriber.id))
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    data = json.dumps(export, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    message.add_attachment(data.encode(), maintype="application", subtype="json", filename=FILENAME)
    raw = message.as_bytes()
    signer = dkim_signer(settings)
    return raw if signer is None else signer.sign(raw)

"""“Email me my data” through the outbox and the real worker's sweep: the reader's own
address gets their export as a JSON attachment, from the publication under its chosen name
and look; the page never shows the data, and asking again within the hour is refused kindly."""

from __future__ import annotations

import json
import re

import pytest

from broadsheet.mail.compose import subscription_urls
from broadsheet.services.publication import save_publication
from broadsheet.services.subscriptions import create_subscriber
from tests.support.api import html_part

pytestmark = pytest.mark.usefixtures("celery_worker")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
LOGO = "https://cdn.example.org/gazette/logo.png"


def test_a_reader_gets_their_data_by_mail_once_an_hour(client, committed, settings, smtp):
    save_publication(committed, "", "", name="The Gazette", logo_url=LOGO, logo_alt="Gazette")
    reader = create_subscriber(
        committed, "dana@example.org", "Dana", status="active", attributes={"city": "Lyon"}
    )
    committed.commit()
    path = subscription_urls(settings, reader.id, None)[1].removeprefix(settings.public_url)
    token = TOKEN.search(client.get(path).get_data(as_text=True))
    assert token is not None
    asked = client.post(f"{path}/my-data", data={"csrf_token": token.group(1)})
    page = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "On its way" in page
    assert "Lyon" not in page  # the data is never shown, only mailed

    (mail,) = smtp.wait_for(1)
    message = mail.parsed()
    assert mail.rcpt_tos == ("dana@example.org",)
    assert str(message["From"]).startswith("The Gazette <")
    assert str(message["Subject"]) == "Your data from The Gazette"
    assert f'src="{LOGO}"' in html_part(message)
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "my-data.json"
    data = json.loads(attachment.get_content())
    assert data["email"] == "dana@example.org" and data["attributes"] == {"city": "Lyon"}

    again = client.post(f"{path}/my-data", data={"csrf_token": token.group(1)})
    assert again.status_code == 429 and "You can ask again in" in again.get_data(as_text=True)

"""The welcome email through the outbox and the real worker's sweep: once, after the reader
confirms, naming the newsletters that send one, with working unsubscribe and preferences
links; none for newsletters without one."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest

from broadsheet.services import newsletters
from tests.e2e.test_flow import signup
from tests.support.api import html_part, links, text_part

pytestmark = pytest.mark.usefixtures("celery_worker")


def confirm_by_mail(client, smtp) -> None:
    (confirmation,) = smtp.wait_for(1)
    path = urlsplit(links(text_part(confirmation.parsed()), "confirm")[0]).path
    assert client.post(path).status_code == 200
    assert client.post(path).status_code == 200  # twice: still one welcome
    smtp.reset()


def test_a_confirmed_reader_is_welcomed_once_to_the_newsletters_that_welcome(
    client, committed, smtp
):
    for existing in newsletters.list_newsletters(committed):  # the migration's, if kept
        existing.public = False
    newsletters.create_newsletter(committed, "Mornings", welcome=True)
    newsletters.create_newsletter(committed, "Weekend", welcome=True)
    newsletters.create_newsletter(committed, "Quiet")  # no welcome
    committed.commit()
    signup(client, "ann@example.org")
    confirm_by_mail(client, smtp)
    (welcome,) = smtp.wait_for(1)
    message = welcome.parsed()
    assert message["Subject"].startswith("Welcome to")
    text = text_part(message)
    assert "- Mornings" in text and "- Weekend" in text and "Quiet" not in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "BSx" not in welcome.data.decode(), "a placeholder was left unfilled"
    preferences = links(html_part(message), "preferences")[0]
    assert client.get(urlsplit(preferences).path).status_code == 200
    time.sleep(1.5)  # a second welcome would have come by now
    assert len(smtp.messages) == 1


def test_no_welcome_when_no_newsletter_of_theirs_sends_one(client, committed, smtp):
    for existing in newsletters.list_newsletters(committed):
        existing.public = False
    newsletters.create_newsletter(committed, "Quiet")
    committed.commit()
    signup(client, "bo@example.org")
    confirm_by_mail(client, smtp)
    time.sleep(1.5)
    assert smtp.messages == []

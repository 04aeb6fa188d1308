"""The publication's settings: an admin sets the postal address and footer note (errors next
to their field), campaigns made after carry them in both parts of their footer, and the
pre-send checks warn while the address is empty."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from broadsheet.mail.preview import campaign_checks, preview_message
from broadsheet.services import campaigns, newsletters
from tests.support.admin import csrf_token, sign_in
from tests.support.api import html_part, text_part
from tests.support.factories import make_article, make_user

ADDRESS = "The Test Gazette\n12 Quay Street\nLyon 69002, France"


def admin_client(app, committed):
    make_user(committed, "admin")
    committed.commit()
    client = app.test_client()
    sign_in(client, "admin@example.org")
    return client


def prepared(committed, settings, audience: object = "everyone"):
    campaign = campaigns.create_campaign(committed, make_article(committed).id, audience=audience)
    campaigns.prepare(committed, campaign, settings)
    return campaign


def parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_an_admin_sets_the_postal_address_and_campaigns_carry_it(app, committed, settings):
    before = prepared(committed, settings)
    assert (
        next(c for c in campaign_checks(before, settings) if c.key == "postal-address").level
        == "warn"
    )
    client = admin_client(app, committed)
    saved = client.post(
        "/admin/publication",
        data={"csrf_token": csrf_token(client, "/admin/publication"),
              "postal_address": ADDRESS, "footer_note": "Published by Gazette Ltd."},
    )  # fmt: skip
    assert saved.status_code == 303
    assert "12 Quay Street" in client.get("/admin/publication").get_data(as_text=True)
    newsletters.create_newsletter(committed, "Weekly Dispatch", "weekly")
    after = prepared(committed, settings, {"newsletters": ["weekly"]})
    message = parsed(preview_message(after, settings))
    for part in (text_part(message), html_part(message)):
        assert "12 Quay Street" in part and "Lyon 69002, France" in part
        assert "Published by Gazette Ltd." in part and "Weekly Dispatch" in part
    assert (
        next(c for c in campaign_checks(after, settings) if c.key == "postal-address").level
        == "pass"
    )
    assert "12 Quay Street" not in text_part(
        parsed(preview_message(before, settings))
    )  # kept as made


def test_a_bad_form_shows_the_error_by_its_field(app, committed):
    client = admin_client(app, committed)
    refused = client.post(
        "/admin/publication",
        data={"csrf_token": csrf_token(client, "/admin/publication"),
              "postal_address": "\n".join(f"line {n}" for n in range(8)), "footer_note": ""},
    )  # fmt: skip
    assert refused.status_code == 422
    assert 'id="postal_address-error"' in refused.get_data(as_text=True)


def test_only_admins_open_it(app, committed, editor):
    assert editor.get("/admin/publication").status_code == 403

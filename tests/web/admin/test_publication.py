"""The publication's settings: an admin sets the postal address and footer note (errors next
to their field), campaigns made after carry them in both parts of their footer, and the
pre-send checks warn while the address is empty."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

import pytest

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


LOGO = "https://cdn.example.org/gazette/logo.png"


def save(client, **fields: str):
    data = {"postal_address": "", "footer_note": "", "name": "", "logo_url": "", "logo_alt": "",
            "accent": "", **fields}  # fmt: skip
    return client.post(
        "/admin/publication", data={"csrf_token": csrf_token(client, "/admin/publication"), **data}
    )


def test_a_campaign_carries_the_name_logo_and_accent_and_passes_the_checks(
    app, committed, settings
):
    client = admin_client(app, committed)
    saved = save(client, name="The Gazette", logo_url=LOGO, logo_alt="The Gazette",
                 accent="#0B57B8")  # fmt: skip
    assert saved.status_code == 303
    campaign = prepared(committed, settings)
    message = parsed(preview_message(campaign, settings))
    html = html_part(message)
    assert str(message["From"]).startswith("The Gazette <")
    assert f'<img class="logo" src="{LOGO}" alt="The Gazette"' in html
    assert "color:#0b57b8" in html.replace(" ", "")  # inlined on the links, light mode
    assert "#5489cd !important" in html  # the lighter shade for dark mode
    assert "latest from The Gazette" in text_part(message)
    checks = {c.key: c for c in campaign_checks(campaign, settings)}
    assert checks["contrast"].level == "pass", checks["contrast"].detail
    assert checks["size"].level == "pass" and checks["images"].level == "pass"
    assert "fail" not in {c.level for c in checks.values()}


def test_a_hard_to_read_accent_warns_before_sending(app, committed, settings):
    client = admin_client(app, committed)
    saved = save(client, accent="#ffcc00")
    assert saved.status_code == 303
    assert "hard to read for links in light mode" in client.get("/admin/publication").get_data(
        as_text=True
    )  # said at once, as a flash
    check = next(c for c in campaign_checks(prepared(committed, settings), settings)
                 if c.key == "contrast")  # fmt: skip
    assert check.level == "warn" and "links in light mode (1.5:1)" in check.detail


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"accent": "#fff;}body{display:none"}, "accent"),
        ({"accent": "red"}, "accent"),
        ({"accent": "#12345"}, "accent"),
        ({"logo_url": "http://example.org/logo.png", "logo_alt": "Logo"}, "logo_url"),
        ({"logo_url": 'https://example.org/a"onerror="x', "logo_alt": "Logo"}, "logo_url"),
        ({"logo_url": "javascript:alert(1)", "logo_alt": "Logo"}, "logo_url"),
        ({"logo_url": LOGO}, "logo_alt"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_a_bad_look_is_refused_by_its_field_and_never_reaches_the_email(
    app, committed, settings, fields, field
):
    client = admin_client(app, committed)
    refused = save(client, **fields)
    assert refused.status_code == 422
    assert f'id="{field}-error"' in refused.get_data(as_text=True)
    html = html_part(parsed(preview_message(prepared(committed, settings), settings)))
    assert "body{display:none" not in html and "onerror" not in html

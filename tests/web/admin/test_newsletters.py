"""The admin's Newsletters page: every newsletter with its readers, made by an editor from a
form (errors next to their field), only listed to an operator."""

from __future__ import annotations

import email
from email.policy import default

from broadsheet.mail.preview import preview_message
from broadsheet.services import campaigns, newsletters, subscriptions
from broadsheet.services.publication import save_publication
from tests.support.admin import csrf_token, sign_in
from tests.support.api import html_part
from tests.support.factories import make_article, make_user


def test_an_editor_sees_the_readers_of_each_and_makes_one(app, committed, editor):
    newsletters.create_newsletter(committed, "Daily")
    for n in range(3):
        subscriptions.create_subscriber(
            committed, f"r{n}@example.org", newsletters_chosen=["daily"]
        )
    committed.commit()
    page = editor.get("/admin/newsletters").get_data(as_text=True)
    assert ">Daily</a></strong>" in page and 'data-label="Readers subscribed">3<' in page
    token = csrf_token(editor, "/admin/newsletters")
    made = editor.post(
        "/admin/newsletters",
        data={
            "csrf_token": token,
            "name": "The Weekly",
            "public": "yes",
            "reply_to": "ed@example.org",
        },
    )
    assert made.status_code == 303
    weekly = newsletters.by_slugs(committed, ["the-weekly"])[0]
    assert weekly.public and not weekly.welcome and weekly.reply_to == "ed@example.org"


def test_a_bad_form_shows_each_error_by_its_field_and_a_taken_address(app, committed, editor):
    newsletters.create_newsletter(committed, "Daily")
    committed.commit()
    token = csrf_token(editor, "/admin/newsletters")
    refused = editor.post(
        "/admin/newsletters",
        data={"csrf_token": token, "name": "", "slug": "Bad Slug", "sender_address": "nobody"},
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    for name in ("name", "slug", "sender_address"):
        assert f'id="{name}-error"' in html, name
    taken = editor.post("/admin/newsletters", data={"csrf_token": token, "name": "Daily"})
    assert taken.status_code == 409 and 'id="slug-error"' in taken.get_data(as_text=True)


def test_an_operator_sees_the_list_and_no_form(app, committed):
    newsletters.create_newsletter(committed, "Daily")
    make_user(committed, "operator")
    client = app.test_client()
    sign_in(client, "operator@example.org")
    page = client.get("/admin/newsletters")
    assert page.status_code == 200 and "Daily" in page.get_data(as_text=True)
    assert "Make a newsletter" not in page.get_data(as_text=True)
    token = csrf_token(client, "/admin/")
    refused = client.post("/admin/newsletters", data={"csrf_token": token, "name": "Ops"})
    assert refused.status_code == 403


def test_a_newsletter_has_its_own_look_and_its_campaigns_carry_it(editor, committed, settings):
    save_publication(committed, "", "Published by Gazette Ltd.", accent="#9b1c1c")
    daily = newsletters.create_newsletter(committed, "Daily", "daily")
    committed.commit()
    page = f"/admin/newsletters/{daily.id}"
    assert "Empty: the publication&#39;s (#9b1c1c)" in editor.get(page).get_data(as_text=True)
    look = {"logo_url": "https://cdn.example.org/daily.png", "logo_alt": "The Daily",
            "accent": "#2f7d5b", "footer_note": "The Daily, every morning."}  # fmt: skip
    saved = editor.post(page, data={"csrf_token": csrf_token(editor, page), **look})
    assert saved.status_code == 303
    committed.expire_all()  # saved by the request's own session

    def html_of(audience: object) -> str:
        campaign = campaigns.create_campaign(
            committed, make_article(committed).id, audience=audience
        )
        campaigns.prepare(committed, campaign, settings)
        message = email.message_from_bytes(preview_message(campaign, settings), policy=default)
        return html_part(message)

    own, everyone = html_of({"newsletters": ["daily"]}), html_of("everyone")
    assert "cdn.example.org/daily.png" in own and "#2f7d5b" in own
    assert "The Daily, every morning." in own and "Gazette Ltd" not in own
    assert "daily.png" not in everyone and "#9b1c1c" in everyone
    assert "Published by Gazette Ltd." in everyone


def test_a_bad_newsletter_look_is_shown_by_its_field(editor, committed):
    daily = newsletters.create_newsletter(committed, "Daily", "daily")
    committed.commit()
    page = f"/admin/newsletters/{daily.id}"
    refused = editor.post(page, data={"csrf_token": csrf_token(editor, page),
                                      "accent": "#0b57b8;color:red", "logo_url": "",
                                      "logo_alt": "", "footer_note": ""})  # fmt: skip
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert 'id="accent-error"' in body and 'aria-invalid="true" autofocus' in body
    assert editor.get("/admin/newsletters/999999").status_code == 404


def test_an_operator_may_not_open_a_newsletters_look(app, committed):
    daily = newsletters.create_newsletter(committed, "Daily", "daily")
    make_user(committed, "operator", "op@example.org")
    committed.commit()
    client = app.test_client()
    sign_in(client, "op@example.org")
    assert client.get(f"/admin/newsletters/{daily.id}").status_code == 403


def details_form(editor, newsletter_id: int, **fields: str | None):
    page = f"/admin/newsletters/{newsletter_id}"
    data = {"csrf_token": csrf_token(editor, page), "name": "Daily", "description": "",
            "sender_name": "", "sender_address": "", "reply_to": "", "public": "yes",
            **fields}  # fmt: skip
    return editor.post(f"{page}/details", data={k: v for k, v in data.items() if v is not None})


def test_an_editor_changes_a_newsletters_details_and_its_slug_stays(editor, committed):
    daily = newsletters.create_newsletter(committed, "Daily", "daily")
    committed.commit()
    page = editor.get(f"/admin/newsletters/{daily.id}").get_data(as_text=True)
    assert "<code>daily</code>, stays as it was made" in page and 'value="Daily"' in page
    saved = details_form(
        editor, daily.id, name="The Daily", description="Mornings.", sender_name="Desk",
        sender_address="desk@example.org", reply_to="letters@example.org", public=None,
        welcome="yes",
    )  # fmt: skip
    assert saved.status_code == 303, saved.get_data(as_text=True)
    committed.expire_all()
    changed = newsletters.get_newsletter(committed, daily.id)
    assert (changed.slug, changed.name, changed.description) == ("daily", "The Daily", "Mornings.")
    assert (changed.sender_name, changed.sender_address, changed.reply_to) == (
        "Desk", "desk@example.org", "letters@example.org",
    )  # fmt: skip
    assert not changed.public and changed.welcome
    shown = editor.get(f"/admin/newsletters/{daily.id}").get_data(as_text=True)
    assert 'name="public" value="yes">' in shown and 'name="welcome" value="yes" checked>' in shown


def test_bad_details_are_shown_by_their_field_and_nothing_changes(editor, committed):
    daily = newsletters.create_newsletter(committed, "Daily", "daily")
    committed.commit()
    refused = details_form(editor, daily.id, name=" ", sender_address="nobody", reply_to="@x")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    for name in ("name", "sender_address", "reply_to"):
        assert f'id="{name}-error"' in html, name
    assert 'value="nobody"' in html  # as typed
    committed.expire_all()
    assert newsletters.get_newsletter(committed, daily.id).name == "Daily"


def test_the_default_newsletter_stays_public_said_by_its_box(editor, committed):
    main = newsletters.create_newsletter(committed, "Main", "main")
    main.is_default = True
    committed.commit()
    refused = details_form(editor, main.id, name="Main", public=None)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="public-error"' in html and "default newsletter" in html
    committed.expire_all()
    assert newsletters.get_newsletter(committed, main.id).public


def test_an_operator_may_not_change_a_newsletters_details(app, committed):
    daily = newsletters.create_newsletter(committed, "Daily", "daily")
    make_user(committed, "operator", "op@example.org")
    committed.commit()
    client = app.test_client()
    sign_in(client, "op@example.org")
    token = csrf_token(client, "/admin/")
    refused = client.post(
        f"/admin/newsletters/{daily.id}/details", data={"csrf_token": token, "name": "Ops"}
    )
    assert refused.status_code == 403
    committed.expire_all()
    assert newsletters.get_newsletter(committed, daily.id).name == "Daily"

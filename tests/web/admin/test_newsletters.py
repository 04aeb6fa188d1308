"""The admin's Newsletters page: every newsletter with its readers, made by an editor from a
form (errors next to their field), only listed to an operator."""

from __future__ import annotations

from broadsheet.services import newsletters, subscriptions
from tests.support.admin import csrf_token, sign_in
from tests.support.factories import make_user


def test_an_editor_sees_the_readers_of_each_and_makes_one(app, committed, editor):
    newsletters.create_newsletter(committed, "Daily")
    for n in range(3):
        subscriptions.create_subscriber(
            committed, f"r{n}@example.org", newsletters_chosen=["daily"]
        )
    committed.commit()
    page = editor.get("/admin/newsletters").get_data(as_text=True)
    assert "<strong>Daily</strong>" in page and 'data-label="Readers subscribed">3<' in page
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

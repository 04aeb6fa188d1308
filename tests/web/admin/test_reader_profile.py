"""A reader's newsletters, tags and attributes on their admin page: shown, changed by an
editor in one form (errors next to their field, nothing saved), only shown to an operator."""

from __future__ import annotations

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from broadsheet.services import newsletters, profiles, subscriptions
from tests.support.admin import csrf_token, sign_in
from tests.support.factories import make_user


def reader_with_profile(committed) -> int:
    newsletters.create_newsletter(committed, "Daily")
    newsletters.create_newsletter(committed, "Weekly", public=False)
    reader = subscriptions.create_subscriber(
        committed, "ann@example.org", status="active", tags=["donor"],
        attributes={"city": "Lyon", "paid": True}, newsletters_chosen=["daily"],
    )  # fmt: skip
    committed.commit()
    return reader.id


def save(
    client: FlaskClient, reader_id: int, chosen: list[str], tags: str, attributes: str
) -> TestResponse:
    """The profile form sent as a browser would, with the page's CSRF token."""
    page = f"/admin/subscribers/{reader_id}"
    fields = {"newsletters": chosen, "tags": tags, "attributes": attributes}
    return client.post(f"{page}/profile", data={"csrf_token": csrf_token(client, page), **fields})


def test_an_editor_changes_them_in_one_form(app, committed, editor):
    reader_id = reader_with_profile(committed)
    page = editor.get(f"/admin/subscribers/{reader_id}").get_data(as_text=True)
    assert 'value="daily" checked' in page and 'value="weekly">' in page
    assert 'value="donor"' in page and "city = Lyon\npaid = true" in page
    saved = save(editor, reader_id, ["weekly"], "press, Donor ,", "city = Paris\nn = 3")
    assert saved.status_code == 303
    assert profiles.tags_of(committed, reader_id) == ["donor", "press"]
    reader = subscriptions.get_subscriber(committed, reader_id)
    committed.refresh(reader)
    assert reader.attributes == {"city": "Paris", "n": 3}
    states = {n.slug: m.status.value for n, m in newsletters.memberships(committed, reader_id)}
    assert states == {"daily": "unsubscribed", "weekly": "subscribed"}


def test_a_bad_line_is_shown_next_to_its_field_and_nothing_is_saved(app, committed, editor):
    reader_id = reader_with_profile(committed)
    refused = save(editor, reader_id, ["daily"], "ok", "city = Paris\nno equals sign")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert 'id="attributes-error"' in html and "Line 2 has no" in html
    assert "no equals sign</textarea>" in html  # what was typed, to fix
    assert profiles.tags_of(committed, reader_id) == ["donor"]


def test_an_operator_sees_them_and_no_form(app, committed):
    reader_id = reader_with_profile(committed)
    make_user(committed, "operator")
    client = app.test_client()
    sign_in(client, "operator@example.org")
    page = client.get(f"/admin/subscribers/{reader_id}").get_data(as_text=True)
    assert "Daily" in page and "donor" in page and "Lyon" in page
    assert "/profile" not in page


def test_an_editor_downloads_their_data_then_erases_them_after_confirming(app, committed, editor):
    reader_id = reader_with_profile(committed)
    page = f"/admin/subscribers/{reader_id}"
    download = editor.get(f"{page}/export")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert download.get_json()["attributes"] == {"city": "Lyon", "paid": True}
    token = csrf_token(editor, page)
    asked = editor.post(f"{page}/erase", data={"csrf_token": token})
    assert asked.status_code == 200 and "Erase ann@example.org?" in asked.get_data(as_text=True)
    assert subscriptions.get_subscriber(committed, reader_id).email == "ann@example.org"
    unticked = editor.post(f"{page}/erase", data={"csrf_token": token, "confirm": "yes"})
    assert unticked.status_code in (200, 422)  # the box must be ticked too
    committed.expire_all()
    assert subscriptions.get_subscriber(committed, reader_id).email == "ann@example.org"
    done = editor.post(
        f"{page}/erase", data={"csrf_token": token, "confirm": "yes", "acknowledge": "yes"}
    )
    assert done.status_code == 303
    committed.expire_all()
    assert subscriptions.get_subscriber(committed, reader_id).email.endswith("@erased.invalid")


def test_an_operator_cannot_download_or_erase(app, committed):
    reader_id = reader_with_profile(committed)
    make_user(committed, "operator")
    client = app.test_client()
    sign_in(client, "operator@example.org")
    assert client.get(f"/admin/subscribers/{reader_id}/export").status_code == 403
    token = csrf_token(client, "/admin/")
    assert (
        client.post(f"/admin/subscribers/{reader_id}/erase", data={"csrf_token": token}).status_code
        == 403
    )

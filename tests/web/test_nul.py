"""A NUL character, which PostgreSQL refuses to store, is a 4xx naming where it was, never a
500: in a query parameter, an admin form field, or a field of an API body."""

from __future__ import annotations

import pytest

from tests.support.api import bearer


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/subscribers?email=a%00b@example.org",
        "/admin/subscribers?q=%00",
        "/admin/articles?q=ann%00",
        "/admin/campaigns?status=%00",
    ],
)
def test_a_query_parameter_with_a_nul_is_a_400_naming_it(editor, committed, path):
    headers = bearer(committed) if path.startswith("/api/") else {}
    answer = editor.get(path, headers=headers)
    assert answer.status_code == 400
    assert "holds a NUL character" in answer.get_data(as_text=True)


@pytest.mark.parametrize("field", ["title", "body_markdown", "dek"])
def test_an_api_body_field_with_a_nul_is_a_422_on_that_field(client, committed, field):
    body = {"title": "Fine", "body_markdown": "Fine too.", field: "bad\x00text"}
    answer = client.post("/api/v1/articles", json=body, headers=bearer(committed))
    assert answer.status_code == 422
    assert answer.get_json()["fields"] == {field: "must not hold a NUL character"}


def test_a_nested_nul_names_the_top_level_field(client, committed):
    body = {"email": "ann@example.org", "name": ["x", {"y": "z\x00"}]}
    answer = client.post("/api/v1/subscribers", json=body, headers=bearer(committed))
    assert answer.status_code == 422
    assert answer.get_json()["fields"] == {"name": "must not hold a NUL character"}


def test_an_admin_form_field_with_a_nul_is_a_400_naming_it(editor):
    page = editor.get("/admin/articles/new").get_data(as_text=True)
    token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"csrf_token": token, "title": "A\x00B", "body_markdown": "Text."}
    answer = editor.post("/admin/articles", data=form)
    assert answer.status_code == 400
    assert "form field &#39;title&#39; holds a NUL character" in answer.get_data(as_text=True)

"""A reader's data through the API (GDPR): exported as JSON, erased with DELETE (twice is
fine), and then refused if added again, saying why."""

from __future__ import annotations

import pytest

from tests.support.api import bearer


@pytest.fixture
def headers(committed):
    return bearer(committed)


def test_a_reader_is_exported_then_erased_and_not_added_back(client, committed, headers):
    made = client.post(
        "/api/v1/subscribers",
        json={"email": "cy@example.org", "name": "Cy", "tags": ["donor"], "status": "active"},
        headers=headers,
    ).get_json()
    data = client.get(f"/api/v1/subscribers/{made['id']}/export", headers=headers).get_json()
    assert data["email"] == "cy@example.org" and data["tags"] == ["donor"]
    assert client.delete(f"/api/v1/subscribers/{made['id']}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/subscribers/{made['id']}", headers=headers).status_code == 204
    gone = client.get(f"/api/v1/subscribers/{made['id']}", headers=headers).get_json()
    assert gone["email"].endswith("@erased.invalid") and gone["name"] == "" and gone["tags"] == []
    again = client.post("/api/v1/subscribers", json={"email": "cy@example.org"}, headers=headers)
    assert again.status_code == 422
    assert "erased at the reader's request" in again.get_json()["fields"]["email"]
    assert client.delete("/api/v1/subscribers/999999", headers=headers).status_code == 404

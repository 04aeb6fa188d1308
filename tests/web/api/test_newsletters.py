"""Newsletters through the API: made, changed and listed, readers put in them, campaigns sent
to them, and every bad field answered 422 naming it."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from broadsheet.models import Newsletter
from broadsheet.services.api_tokens import create_token
from tests.support.api import bearer
from tests.support.factories import make_article


@pytest.fixture
def headers(committed):
    return bearer(committed)


def test_newsletters_are_made_listed_and_given_readers_and_campaigns(client, committed, headers):
    made = client.post(
        "/api/v1/newsletters",
        json={"name": "The Weekly", "description": "Sundays.", "sender_name": "Ed"},
        headers=headers,
    )
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["slug"] == "the-weekly" and made.get_json()["public"] is True
    listed = client.get("/api/v1/newsletters", headers=headers).get_json()
    assert "the-weekly" in [n["slug"] for n in listed]
    reader = client.post(
        "/api/v1/subscribers",
        json={"email": "ann@example.org", "status": "active", "newsletters": ["the-weekly"]},
        headers=headers,
    )
    assert reader.status_code == 201, reader.get_json()
    article = make_article(committed)
    committed.commit()
    campaign = client.post(
        "/api/v1/campaigns",
        json={"article_id": article.id, "audience": {"newsletters": ["the-weekly"]}},
        headers=headers,
    )
    assert campaign.status_code == 201, campaign.get_json()
    body = campaign.get_json()
    assert body["audience"] == "chosen"
    assert body["audience_rules"] == {"newsletters": [made.get_json()["id"]]}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/newsletters", {"name": ""}, "name"),
        ("/api/v1/newsletters", {"name": "A", "slug": "Bad Slug"}, "slug"),
        ("/api/v1/newsletters", {"name": "A", "reply_to": "nobody"}, "reply_to"),
        ("/api/v1/subscribers", {"email": "b@example.org", "newsletters": ["none"]}, "newsletters"),
        ("/api/v1/campaigns", {"article_id": 1, "audience": {"newsletters": 7}},
         "audience.newsletters"),
    ],
)  # fmt: skip
def test_a_bad_field_is_a_422_naming_it(client, headers, path, body, field):
    answer = client.post(path, json=body, headers=headers)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert field in answer.get_json()["fields"]


def test_a_slug_in_use_is_a_409_and_an_operator_cannot_make_one(client, committed, headers):
    first = client.post("/api/v1/newsletters", json={"name": "Daily"}, headers=headers)
    assert first.status_code == 201
    again = client.post("/api/v1/newsletters", json={"name": "Daily"}, headers=headers)
    assert again.status_code == 409
    _, secret = create_token(committed, "dashboard", "operator")
    committed.commit()
    operator = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/newsletters", headers=operator).status_code == 200
    refused = client.post("/api/v1/newsletters", json={"name": "Ops"}, headers=operator)
    assert refused.status_code == 403


def test_a_reader_is_made_and_changed_with_tags_attributes_and_newsletters(
    client, committed, headers
):
    for name in ("Daily", "Weekly"):
        client.post("/api/v1/newsletters", json={"name": name}, headers=headers)
    made = client.post(
        "/api/v1/subscribers",
        json={"email": "cy@example.org", "tags": ["Donor"], "attributes": {"city": "Lyon"},
              "newsletters": ["daily"]},
        headers=headers,
    )  # fmt: skip
    assert made.status_code == 201, made.get_json()
    reader = made.get_json()
    assert (reader["tags"], reader["attributes"], reader["newsletters"]) == (
        ["donor"], {"city": "Lyon"}, ["daily"],
    )  # fmt: skip
    changed = client.patch(
        f"/api/v1/subscribers/{reader['id']}",
        json={"tags": ["press"], "newsletters": ["weekly"]},
        headers=headers,
    ).get_json()
    assert (changed["tags"], changed["attributes"], changed["newsletters"]) == (
        ["press"], {"city": "Lyon"}, ["weekly"],
    )  # fmt: skip
    article = make_article(committed)
    committed.commit()
    campaign = client.post(
        "/api/v1/campaigns",
        json={"article_id": article.id, "audience": {"tags_any": ["press"]}},
        headers=headers,
    ).get_json()
    assert campaign["audience_rules"] == {"tags_any": ["press"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "active"}, "status"),
        ({"tags": "press"}, "tags"),
        ({"attributes": {"a b": 1}}, "attributes"),
        ({"newsletters": ["nope"]}, "newsletters"),
    ],
)
def test_a_change_that_cannot_be_made_is_a_422_naming_it(client, committed, headers, body, field):
    made = client.post("/api/v1/subscribers", json={"email": "d@example.org"}, headers=headers)
    answer = client.patch(
        f"/api/v1/subscribers/{made.get_json()['id']}", json=body, headers=headers
    )
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert field in answer.get_json()["fields"]
    missing = client.patch("/api/v1/subscribers/999999", json={"tags": []}, headers=headers)
    assert missing.status_code == 404


def test_readers_are_listed_a_page_at_a_time_by_newsletter_tag_and_status(client, headers):
    client.post("/api/v1/newsletters", json={"name": "Weekly"}, headers=headers)
    ids = []
    for n in range(5):
        body = {
            "email": f"r{n}@example.org",
            "status": "active" if n % 2 else "pending",
            "newsletters": ["weekly"] if n < 4 else [],
            "tags": ["odd"] if n % 2 else [],
        }
        ids.append(client.post("/api/v1/subscribers", json=body, headers=headers).get_json()["id"])

    def listed(query: str) -> tuple[list[int], int | None]:
        answer = client.get(f"/api/v1/subscribers?{query}", headers=headers)
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        return [r["id"] for r in body["subscribers"]], body["next_before"]

    assert listed("newsletter=weekly&limit=3") == ([ids[3], ids[2], ids[1]], ids[1])
    assert listed(f"newsletter=weekly&limit=3&before={ids[1]}") == ([ids[0]], None)
    assert listed("tag=ODD") == ([ids[3], ids[1]], None)
    assert listed("tag=odd&status=active&newsletter=weekly") == ([ids[3], ids[1]], None)
    assert listed("status=pending&q=r4") == ([ids[4]], None)
    refused = [
        ("newsletter=none", "newsletter"),
        ("tag=%20", "tag"),
        ("status=gone", "status"),
        ("before=x", "before"),
        ("email=", "email"),
    ]
    for query, field in refused:
        answer = client.get(f"/api/v1/subscribers?{query}", headers=headers)
        assert answer.status_code == 422 and field in answer.get_json()["fields"], query


def test_a_newsletter_is_changed_by_slug_or_id_its_slug_kept(client, committed, headers):
    made = client.post("/api/v1/newsletters", json={"name": "Daily"}, headers=headers).get_json()
    changed = client.patch(
        "/api/v1/newsletters/daily",
        json={"name": "The Daily", "description": "Mornings.", "public": False,
              "sender_name": "Desk", "sender_address": "Desk@Example.org",
              "reply_to": "letters@example.org", "welcome": True},
        headers=headers,
    )  # fmt: skip
    assert changed.status_code == 200, changed.get_json()
    assert {k: changed.get_json()[k] for k in ("slug", "name", "public", "sender_address")} == {
        "slug": "daily", "name": "The Daily", "public": False, "sender_address": "Desk@example.org"
    }  # fmt: skip
    by_id = client.patch(
        f"/api/v1/newsletters/{made['id']}", json={"sender_name": ""}, headers=headers
    )
    assert by_id.status_code == 200
    kept = by_id.get_json()
    assert (kept["sender_name"], kept["description"], kept["welcome"]) == ("", "Mornings.", True)
    listed = client.get("/api/v1/newsletters", headers=headers).get_json()
    assert [n["name"] for n in listed if n["slug"] == "daily"] == ["The Daily"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": " "}, "name"),
        ({"slug": "other"}, "slug"),
        ({"public": "no"}, "public"),
        ({"welcome": 1}, "welcome"),
        ({"description": "x" * 2001}, "description"),
        ({"sender_address": "nobody"}, "sender_address"),
        ({"reply_to": "@example.org"}, "reply_to"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_newsletter_change_that_cannot_be_made_is_a_422_naming_it(client, headers, body, field):
    client.post("/api/v1/newsletters", json={"name": "Weekly"}, headers=headers)
    answer = client.patch("/api/v1/newsletters/weekly", json=body, headers=headers)
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert list(answer.get_json()["fields"]) == [field]
    unchanged = client.get("/api/v1/newsletters", headers=headers).get_json()
    assert [n["name"] for n in unchanged if n["slug"] == "weekly"] == ["Weekly"]


def test_an_unknown_newsletter_is_a_404_and_the_default_stays_public(client, committed, headers):
    for ref in ("nope", "999999", "%00"):
        answer = client.patch(f"/api/v1/newsletters/{ref}", json={"name": "X"}, headers=headers)
        assert answer.status_code == 404, ref
    client.post("/api/v1/newsletters", json={"name": "Main"}, headers=headers)
    committed.execute(update(Newsletter).where(Newsletter.slug == "main").values(is_default=True))
    committed.commit()
    refused = client.patch("/api/v1/newsletters/main", json={"public": False}, headers=headers)
    assert refused.status_code == 422
    assert "default newsletter" in refused.get_json()["fields"]["public"]
    _, secret = create_token(committed, "dashboard", "operator")
    committed.commit()
    operator = {"Authorization": f"Bearer {secret}"}
    forbidden = client.patch("/api/v1/newsletters/main", json={"name": "Y"}, headers=operator)
    assert forbidden.status_code == 403

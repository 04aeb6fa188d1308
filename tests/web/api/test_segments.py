"""Segments through the API: made with their count, listed, used by a campaign, explained
for one reader, and every bad field a 422 naming it."""

from __future__ import annotations

import pytest

from tests.support.api import bearer
from tests.support.factories import make_article


@pytest.fixture
def headers(committed):
    return bearer(committed)


def test_a_segment_is_made_counted_explained_and_sent_to(client, committed, headers):
    for n, tags in enumerate((["donor"], ["donor", "press"], [])):
        body = {"email": f"r{n}@example.org", "status": "active", "tags": tags}
        assert client.post("/api/v1/subscribers", json=body, headers=headers).status_code == 201
    made = client.post(
        "/api/v1/segments",
        json={"name": "Quiet donors", "rules": {"tags_any": ["donor"], "exclude_tags": ["press"]}},
        headers=headers,
    )
    assert made.status_code == 201, made.get_json()
    segment = made.get_json()
    assert segment["readers"] == 1
    assert [s["name"] for s in client.get("/api/v1/segments", headers=headers).get_json()] == [
        "Quiet donors"
    ]
    why = client.get(
        f"/api/v1/segments/{segment['id']}/explain?email=r1@example.org", headers=headers
    ).get_json()
    assert why["member"] is False
    assert {r["rule"]: r["met"] for r in why["rules"]} == {
        "status": True, "tags_any": True, "exclude_tags": False,
    }  # fmt: skip
    article = make_article(committed)
    committed.commit()
    campaign = client.post(
        "/api/v1/campaigns",
        json={"article_id": article.id, "audience": {"segment": "Quiet donors"}},
        headers=headers,
    ).get_json()
    assert campaign["audience_rules"]["segment"] == "Quiet donors"


def test_attribute_and_never_engaged_rules_through_the_api(client, committed, headers):
    for n, attributes in enumerate(({"plan": "pro", "seats": 3}, {"plan": "pro"}, {})):
        body = {"email": f"r{n}@example.org", "status": "active", "attributes": attributes}
        assert client.post("/api/v1/subscribers", json=body, headers=headers).status_code == 201
    rules = {"attributes": {"plan": "pro", "seats": "3"}, "never_engaged": True}
    made = client.post("/api/v1/segments", json={"name": "Pros", "rules": rules}, headers=headers)
    assert made.status_code == 201, made.get_json()
    segment = made.get_json()
    assert segment["readers"] == 1 and segment["rules"] == rules
    why = client.get(
        f"/api/v1/segments/{segment['id']}/explain?email=r1@example.org", headers=headers
    ).get_json()
    assert why["member"] is False
    assert [(r["rule"], r["met"]) for r in why["rules"]] == [
        ("status", True), ("attributes", False), ("never_engaged", True),
    ]  # fmt: skip
    article = make_article(committed)
    committed.commit()
    campaign = client.post(
        "/api/v1/campaigns",
        json={"article_id": article.id, "audience": {"has_attributes": ["plan"]}},
        headers=headers,
    )
    assert campaign.status_code == 201, campaign.get_json()
    assert campaign.get_json()["audience_rules"] == {"has_attributes": ["plan"]}


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/api/v1/segments", {"name": "A", "rules": {"tags_any": "x"}}, 422, "rules.tags_any"),
        ("/api/v1/segments", {"name": "A"}, 422, "rules"),
        (
            "/api/v1/segments",
            {"name": "A", "rules": {"attributes": {"city": ["Lyon"]}}},
            422,
            "rules.attributes.city",
        ),
        (
            "/api/v1/segments",
            {"name": "A", "rules": {"never_engaged": 1}},
            422,
            "rules.never_engaged",
        ),
        (
            "/api/v1/campaigns",
            {"article_id": 1, "audience": {"has_attributes": ["a b"]}},
            422,
            "audience.has_attributes",
        ),
        (
            "/api/v1/campaigns",
            {"article_id": 1, "audience": {"attributes": {"n": {}}}},
            422,
            "audience.attributes.n",
        ),
        ("/api/v1/segments/999/explain?email=a@example.org", None, 404, None),
        ("/api/v1/segments/999", None, 404, None),
    ],
)
def test_bad_asks_are_refused(client, headers, path, body, status, field):
    answer = (
        client.post(path, json=body, headers=headers)
        if body is not None
        else client.get(path, headers=headers)
    )
    assert answer.status_code == status, answer.get_data(as_text=True)
    if field:
        assert field in answer.get_json()["fields"]

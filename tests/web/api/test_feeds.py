"""Feeds through the API: added (to the default newsletter, or one named), listed with how
their polls went, resumed; every bad field a 422 naming it, a second add of an address 409."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from broadsheet.models import Feed
from broadsheet.services.newsletters import create_newsletter
from tests.support.api import bearer


@pytest.fixture
def headers(committed):
    return bearer(committed)


def test_a_feed_is_added_listed_and_resumed(client, committed, headers):
    create_newsletter(committed, "Weekly", "weekly")
    committed.commit()
    body = {"url": "https://example.org/feed.xml", "newsletter": "weekly", "send_now": True}
    made = client.post("/api/v1/feeds", json=body, headers=headers)
    assert made.status_code == 201, made.get_json()
    feed = made.get_json()
    assert (feed["url"], feed["newsletter"], feed["send_now"]) == (body["url"], "weekly", True)
    assert (feed["paused"], feed["failures"], feed["last_error"]) == (False, 0, None)

    committed.execute(
        update(Feed).values(paused=True, failures=5, last_error="the server answered 500")
    )
    committed.commit()
    (listed,) = client.get("/api/v1/feeds", headers=headers).get_json()
    assert (listed["paused"], listed["last_error"]) == (True, "the server answered 500")
    resumed = client.post(f"/api/v1/feeds/{feed['id']}/resume", headers=headers).get_json()
    assert (resumed["paused"], resumed["failures"]) == (False, 0)
    again = client.post("/api/v1/feeds", json=body, headers=headers)
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://example.org/feed"}, "url"),
        ({}, "url"),
        ({"url": "https://example.org/f", "newsletter": "nope"}, "newsletter"),
        ({"url": "https://example.org/f", "newsletter": 3}, "newsletter"),
        ({"url": "https://example.org/f", "send_now": "yes"}, "send_now"),
    ],
)
def test_a_bad_field_is_a_422_naming_it(client, committed, headers, body, field):
    answer = client.post("/api/v1/feeds", json=body, headers=headers)
    assert answer.status_code == 422
    assert field in answer.get_json()["fields"]


def test_resuming_a_feed_that_does_not_exist_is_a_404(client, committed, headers):
    assert client.post("/api/v1/feeds/999/resume", headers=headers).status_code == 404

"""Listing campaigns through the API: newest first, filtered by status, keyset pages, precise
errors for bad parameters, and the same few queries however long the page."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import event

from broadsheet.services.campaigns import start_send
from tests.support.api import bearer
from tests.support.factories import make_campaign
from web.app import create_app, dispose


@pytest.fixture
def headers(committed):
    return bearer(committed)


def drafts(committed, count: int, sent: int = 0) -> list[int]:
    ids = [make_campaign(committed, f"Issue {n}").id for n in range(count)]
    for campaign_id in ids[:sent]:
        start_send(committed, campaign_id)
    committed.commit()
    return ids


def test_drafts_are_listed_newest_first_page_by_page(client, committed, headers):
    ids = drafts(committed, 5, sent=2)
    first = client.get("/api/v1/campaigns?status=draft&limit=2", headers=headers).get_json()
    assert [c["id"] for c in first["campaigns"]] == [ids[4], ids[3]]
    assert {c["status"] for c in first["campaigns"]} == {"draft"}
    assert first["next_before"] == ids[3]
    url = f"/api/v1/campaigns?status=draft&limit=2&before={first['next_before']}"
    second = client.get(url, headers=headers).get_json()
    assert [c["id"] for c in second["campaigns"]] == [ids[2]]
    assert second["next_before"] is None, "a short page is the last"
    every = client.get("/api/v1/campaigns", headers=headers).get_json()["campaigns"]
    assert [c["id"] for c in every] == ids[::-1]
    assert every[-1]["status"] == "sending" and every[-1]["counts"]["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=mailed", "status"),
        ("before=abc", "before"),
        ("before=0", "before"),
        ("before=99999999999999999999999", "before"),
        ("limit=0", "limit"),
        ("limit=1000", "limit"),
        ("limit=ten", "limit"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(client, committed, headers, query, field):
    answer = client.get(f"/api/v1/campaigns?{query}", headers=headers)
    assert answer.status_code == 422
    assert list(answer.get_json()["fields"]) == [field]


def test_a_page_costs_the_same_queries_however_many_campaigns_it_holds(app, committed, headers):
    client = app.test_client()
    statements: list[str] = []
    engine = app.extensions["broadsheet.engine"]
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    def queries_for_a_page() -> int:
        statements.clear()
        assert client.get("/api/v1/campaigns?limit=50", headers=headers).status_code == 200
        return len(statements)

    drafts(committed, 2)
    few = queries_for_a_page()
    drafts(committed, 20)
    assert queries_for_a_page() == few


@pytest.mark.commits  # a second app, on connections of its own
def test_rates_answer_503_when_redis_is_down(settings, committed, headers):
    down = create_app(replace(settings, redis_url="redis://127.0.0.1:9/0"))
    try:
        answer = down.test_client().get("/api/v1/rates", headers=headers)
    finally:
        dispose(down)
    assert answer.status_code == 503
    assert "Redis" in answer.get_json()["error"]

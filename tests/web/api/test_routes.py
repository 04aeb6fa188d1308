"""The JSON API: bearer authentication, precise errors, and a send that starts only once."""

from __future__ import annotations

import re
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from broadsheet.models import ApiToken, utcnow
from cli import main as cli
from tests.support.api import bearer

ARTICLE = {"title": "On Brevity", "body_markdown": "Short is sweet.\n"}


@pytest.fixture
def headers(committed):
    return bearer(committed)


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/api/v1/subscribers"),
        ("get", "/api/v1/subscribers/1"),
        ("get", "/api/v1/subscribers?email=a@example.org"),
        ("post", "/api/v1/articles"),
        ("post", "/api/v1/campaigns"),
        ("get", "/api/v1/campaigns/1"),
        ("post", "/api/v1/campaigns/1/send"),
    ],
)
@pytest.mark.parametrize(
    "auth", [None, "Bearer", "Bearer bs_wrong", "Basic dXNlcjpwYXNz", "bs_notbearer"]
)
def test_every_endpoint_needs_a_valid_token(client, committed, method, url, auth):
    answer = getattr(client, method)(url, headers={"Authorization": auth} if auth else {})
    assert answer.status_code == 401
    assert answer.get_json()["error"]


def test_revoked_token_is_refused(client, committed, headers):
    committed.execute(select(ApiToken)).scalar_one().revoked_at = utcnow()
    committed.commit()
    assert client.get("/api/v1/campaigns/1", headers=headers).status_code == 401


def test_only_a_hash_of_the_token_is_stored(committed, headers):
    secret = headers["Authorization"].split()[1]
    stored = committed.execute(select(ApiToken.token_hash)).scalar_one()
    assert secret not in stored and len(stored) == 64


def test_create_subscriber_and_look_it_up(client, committed, headers):
    made = client.post(
        "/api/v1/subscribers",
        json={"email": "Ann@Example.org", "name": "Ann", "status": "active"},
        headers=headers,
    )
    assert made.status_code == 201
    body = made.get_json()
    assert (body["email"], body["status"]) == ("Ann@example.org", "active")
    by_id = client.get(f"/api/v1/subscribers/{body['id']}", headers=headers).get_json()
    by_email = client.get("/api/v1/subscribers?email=ANN@example.org", headers=headers)
    assert by_id == by_email.get_json() == body


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"email": "not-an-address"}, "email"),
        ({}, "email"),
        ({"email": "a@example.org", "status": "bounced"}, "status"),
        ({"email": "a@example.org", "name": 7}, "name"),
    ],
)
def test_invalid_subscriber_is_422_with_the_field(client, committed, headers, payload, field):
    answer = client.post("/api/v1/subscribers", json=payload, headers=headers)
    assert answer.status_code == 422
    assert field in answer.get_json()["fields"]


def test_existing_address_is_409(client, committed, headers):
    payload = {"email": "ann@example.org", "status": "active"}
    assert client.post("/api/v1/subscribers", json=payload, headers=headers).status_code == 201
    again = client.post("/api/v1/subscribers", json=payload, headers=headers)
    assert again.status_code == 409 and "already" in again.get_json()["error"]


def test_non_json_body_is_422(client, committed, headers):
    answer = client.post("/api/v1/subscribers", data="email=a@example.org", headers=headers)
    assert answer.status_code == 422 and "body" in answer.get_json()["fields"]


def test_unknown_things_are_404(client, committed, headers):
    assert client.get("/api/v1/subscribers/999", headers=headers).status_code == 404
    assert (
        client.get("/api/v1/subscribers?email=no@example.org", headers=headers).status_code == 404
    )
    assert client.get("/api/v1/campaigns/999", headers=headers).status_code == 404
    assert client.post("/api/v1/campaigns/999/send", headers=headers).status_code == 404
    assert client.get("/api/v1/nothing", headers=headers).get_json()["error"]


@pytest.mark.parametrize("too_big", [2**31, 2**63])  # past PostgreSQL's INTEGER; past 64 bits
def test_an_id_no_row_can_have_is_404_naming_it_on_every_route(
    app, client, committed, headers, too_big
):
    checked = 0
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or "<int:" not in rule.rule:
            continue
        url = re.sub(r"<int:\w+>", str(too_big), rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            answer = client.open(url, method=method, json={}, headers=headers)
            assert answer.status_code == 404, (method, url, answer.status_code)
            assert answer.get_json()["error"].endswith(f" {too_big} does not exist"), url
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("article_id", [2**31, 2**63, 10**30])
def test_an_article_id_no_row_can_have_is_422_naming_the_field(
    client, committed, headers, article_id
):
    body = {"article_id": article_id, "subject": "Hello"}
    answer = client.post("/api/v1/campaigns", json=body, headers=headers)
    assert answer.status_code == 422
    assert answer.get_json()["fields"] == {"article_id": f"article {article_id} does not exist"}


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("[" * 100_000 + "]" * 100_000, "is not valid JSON: it is nested too deeply"),
        ('{"a":' * 50_000 + "1" + "}" * 50_000, "is not valid JSON: it is nested too deeply"),
        ('{"email": "a@example.org",}', "is not valid JSON: Expecting property name"),
        (b'{"email": "\xff@example.org"}', "is not valid JSON: 'utf-8' codec can't decode"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/subscribers",
        "/api/v1/articles",
        "/api/v1/campaigns",
        "/api/v1/campaigns/1/schedule",
    ],
)
def test_a_body_that_is_not_a_json_object_is_422_saying_why(
    client, committed, headers, url, body, says
):
    answer = client.post(url, data=body, content_type="application/json", headers=headers)
    assert answer.status_code == 422
    assert answer.get_json()["fields"]["body"].startswith(says)


def test_article_fields_are_all_checked_at_once(client, committed, headers):
    answer = client.post(
        "/api/v1/articles",
        json={"title": "", "body_markdown": 5, "url": "ftp://x", "published_at": "yesterday"},
        headers=headers,
    )
    assert answer.status_code == 422
    assert set(answer.get_json()["fields"]) == {"title", "body_markdown", "url", "published_at"}


def test_article_gets_a_unique_slug_and_reading_time(client, committed, headers):
    words = " ".join(["word"] * 700)
    first = client.post(
        "/api/v1/articles",
        json={"title": "Déjà Vu, Again!", "body_markdown": words, "author": "Ada"},
        headers=headers,
    ).get_json()
    second = client.post(
        "/api/v1/articles", json={"title": "Déjà vu again", "body_markdown": "x"}, headers=headers
    ).get_json()
    assert (first["slug"], second["slug"]) == ("deja-vu-again", "deja-vu-again-2")
    assert first["reading_minutes"] == 4


def test_campaign_needs_an_existing_article(client, committed, headers):
    answer = client.post("/api/v1/campaigns", json={"article_id": 12345}, headers=headers)
    assert answer.status_code == 422 and "article_id" in answer.get_json()["fields"]
    answer = client.post("/api/v1/campaigns", json={"article_id": "1"}, headers=headers)
    assert answer.status_code == 422


def test_campaign_subject_defaults_to_title(client, committed, headers):
    article = client.post("/api/v1/articles", json=ARTICLE, headers=headers).get_json()
    campaign = client.post(
        "/api/v1/campaigns", json={"article_id": article["id"]}, headers=headers
    ).get_json()
    assert campaign["subject"] == "On Brevity" and campaign["status"] == "draft"
    assert campaign["counts"] == {
        "queued": 0, "sending": 0, "sent": 0, "failed": 0, "bounced": 0, "unknown": 0, "total": 0,
        "opened": 0, "opened_human": 0, "clicked": 0, "clicked_human": 0,
        "unsubscribed": 0, "complained": 0,
    }  # fmt: skip
    assert campaign["tracking"] is True


@pytest.mark.commits  # the racing requests run in threads, each on a connection of its own
def test_racing_sends_start_the_campaign_exactly_once(app, committed, headers):
    client = app.test_client()
    article = client.post("/api/v1/articles", json=ARTICLE, headers=headers).get_json()
    campaign = client.post(
        "/api/v1/campaigns", json={"article_id": article["id"]}, headers=headers
    ).get_json()
    url = f"/api/v1/campaigns/{campaign['id']}/send"
    barrier, codes = threading.Barrier(4), []

    def send() -> None:
        own = app.test_client()
        barrier.wait()
        codes.append(own.post(url, headers=headers).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [202, 409, 409, 409]
    assert client.post(url, headers=headers).status_code == 409


@pytest.mark.commits  # the command line writes on a connection of its own
def test_create_token_prints_the_token_last(committed, stack):
    result = CliRunner().invoke(cli, ["create-token", "editor bot"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("bs_")
    names = committed.execute(select(ApiToken.name)).scalars().all()
    assert "editor bot" in names

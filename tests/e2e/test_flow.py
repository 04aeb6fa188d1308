"""The whole path on real parts: signup, confirmation by mail, an article sent by a real
Celery worker over SMTP to every active reader exactly once, and one-click unsubscribe."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

import pytest

from tests.support.api import bearer, html_part, links, text_part, wait_for_status

pytestmark = pytest.mark.usefixtures("celery_worker")

ARTICLE = {
    "title": "The Case for Slower News",
    "dek": "Why a weekly rhythm beats the endless feed.",
    "author": "Ada Columnist",
    "body_markdown": "First paragraph with a [link](https://example.org/source).\n\n"
    "## A heading\n\nSecond paragraph, with *emphasis*.\n",
    "url": "https://gazette.example.test/2026/slower-news",
}


def csrf_token(page: bytes) -> str:
    match = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form carries no CSRF token"
    return match.group(1).decode()


def signup(client, email: str, name: str = "") -> None:
    form = client.get("/subscribe")
    assert form.status_code == 200
    answer = client.post(
        "/subscribe", data={"email": email, "name": name, "csrf_token": csrf_token(form.data)}
    )
    assert answer.status_code == 200
    assert b"Check your inbox" in answer.data


def send_article(client, headers) -> int:
    article = client.post("/api/v1/articles", json=ARTICLE, headers=headers)
    assert article.status_code == 201, article.get_json()
    campaign = client.post(
        "/api/v1/campaigns", json={"article_id": article.get_json()["id"]}, headers=headers
    )
    assert campaign.status_code == 201
    campaign_id: int = campaign.get_json()["id"]
    assert campaign.get_json()["status"] == "draft"
    assert client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=headers).status_code == 202
    return campaign_id


def test_reader_signs_up_confirms_and_receives_each_issue_once(client, committed, smtp):
    headers = bearer(committed)
    signup(client, "Reader.One@Example.org", "Reader One")

    (confirmation,) = smtp.wait_for(1)
    assert confirmation.rcpt_tos == ("Reader.One@example.org",)
    assert confirmation.parsed()["To"] == "Reader.One@example.org", "no name typed in the form"
    assert "Reader One" not in confirmation.data.decode()
    confirm_url = links(text_part(confirmation.parsed()), "confirm")[0]
    assert confirm_url.startswith("http://news.example.test/confirm/")
    assert f'href="{confirm_url}"' in html_part(confirmation.parsed())
    assert "BSx" not in confirmation.data.decode(), "a placeholder was left unfilled"
    path = urlsplit(confirm_url).path
    page = client.get(path)
    assert page.status_code == 200 and b"Confirm subscription" in page.data
    lookup = "/api/v1/subscribers?email=reader.one@example.org"
    assert (
        client.get(lookup, headers=headers).get_json()["status"] == "pending"
    )  # GET changes nothing
    assert client.post(path).status_code == 200
    assert client.get(lookup, headers=headers).get_json()["status"] == "active"

    others = [f"reader{n}@example.org" for n in range(2, 6)]
    for address in others:
        made = client.post(
            "/api/v1/subscribers", json={"email": address, "status": "active"}, headers=headers
        )
        assert made.status_code == 201
    pending = client.post(
        "/api/v1/subscribers", json={"email": "later@example.org"}, headers=headers
    )
    assert pending.status_code == 201 and pending.get_json()["status"] == "pending"
    smtp.wait_for(2)  # the API-made pending reader got a confirmation too
    smtp.reset()

    campaign_id = send_article(client, headers)
    done = wait_for_status(client, headers, campaign_id, "sent")
    readers = ["Reader.One@example.org", *others]
    assert done["counts"]["total"] == 5 and done["counts"]["sent"] == 5
    assert done["counts"]["queued"] == 0 and done["counts"]["failed"] == 0
    received = smtp.wait_for(5)
    per_reader = Counter(rcpt for m in received for rcpt in m.rcpt_tos)
    assert per_reader == Counter(readers), "every active reader exactly once, nobody else"

    message = next(m for m in received if m.rcpt_tos == ("Reader.One@example.org",)).parsed()
    assert message["Subject"] == ARTICLE["title"]
    assert message["To"].addresses[0].display_name == "Reader One"
    assert message["Message-ID"] and message["Date"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Precedence"] == "bulk" and message["Auto-Submitted"] == "auto-generated"
    assert message["X-Broadsheet-Campaign"] == str(campaign_id)
    html, text = html_part(message), text_part(message)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert [s.split("{")[0].strip() for s in styles] == ["@media (prefers-color-scheme: dark)"]
    assert re.search(r"<p[^>]* style=\"", html), "CSS is inlined, bar the dark-mode rules"
    assert ARTICLE["dek"] in text and "Second paragraph" in text
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith("http://news.example.test/unsubscribe/")
    assert unsubscribe in html and unsubscribe in text
    ids = {m.parsed()["Message-ID"] for m in received}
    assert len(ids) == 5

    # RFC 8058 one-click, as a mail client does it: no cookies, no CSRF token, no redirect.
    fresh = client.application.test_client()
    answer = fresh.post(
        urlsplit(unsubscribe).path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 200
    assert client.get(lookup, headers=headers).get_json()["status"] == "unsubscribed"
    assert (
        fresh.post(urlsplit(unsubscribe).path, data="List-Unsubscribe=One-Click").status_code == 200
    )

    smtp.reset()
    second = send_article(client, headers)
    assert wait_for_status(client, headers, second, "sent")["counts"]["sent"] == 4
    assert "Reader.One@example.org" not in {r for m in smtp.wait_for(4) for r in m.rcpt_tos}


def test_campaign_with_no_readers_finishes(client, committed):
    headers = bearer(committed)
    campaign_id = send_article(client, headers)
    body = wait_for_status(client, headers, campaign_id, "sent")
    assert body["counts"]["total"] == 0
    assert body["finished_at"] is not None

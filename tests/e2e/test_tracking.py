"""Opens and clicks on real parts: a campaign sent by the Celery worker through the SMTP
relay, its messages read back, their pixel and links fetched from the web app as a reader,
Apple's proxy and a scanner would, the hits drained by the worker, and the API's counts."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from broadsheet.models import Engagement
from broadsheet.tracking.verdicts import CLICK_TOO_SOON
from tests.e2e.test_flow import ARTICLE
from tests.support.api import bearer, html_part, text_part, wait_for_status
from tests.support.factories import add_readers
from worker.tracking import drain_hits

FIREFOX = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}
HREF = re.compile(r'href="([^"]+)"')
SRC = re.compile(r'<img src="([^"]+)"')


def send(client, headers) -> int:
    article = client.post("/api/v1/articles", json=ARTICLE, headers=headers).get_json()
    made = client.post("/api/v1/campaigns", json={"article_id": article["id"]}, headers=headers)
    campaign_id: int = made.get_json()["id"]
    assert client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=headers).status_code == 202
    wait_for_status(client, headers, campaign_id, "sent")
    return campaign_id


def by_reader(smtp, count: int) -> dict[str, tuple[str, str]]:
    """Each reader's HTML and text parts."""
    received = smtp.wait_for(count)
    return {m.rcpt_tos[0]: (html_part(m.parsed()), text_part(m.parsed())) for m in received}


def path(url: str) -> str:
    return urlsplit(url).path


def counts_after_drain(client, headers, campaign_id, expected: dict[str, int]) -> dict[str, int]:
    deadline = time.monotonic() + 30
    while True:
        drain_hits.delay()
        counts: dict[str, int] = client.get(
            f"/api/v1/campaigns/{campaign_id}", headers=headers
        ).get_json()["counts"]
        if all(counts[name] == n for name, n in expected.items()) or time.monotonic() > deadline:
            return counts
        time.sleep(0.3)


def test_a_reader_a_proxy_and_a_scanner_are_told_apart(client, committed, smtp, celery_worker):
    headers = bearer(committed)
    add_readers(committed, 2)
    campaign_id = send(client, headers)
    sent_by = time.time()  # every message was made before the campaign became `sent`
    messages = by_reader(smtp, 2)
    html, text = messages["reader0@example.org"]
    other_html, _ = messages["reader1@example.org"]

    hrefs = HREF.findall(html)
    tracked = [url for url in hrefs if "/t/" in url]
    assert tracked and all(path(url).startswith("/t/") for url in tracked)
    assert "https://example.org/source" not in html, "the article's link was not wrapped"
    assert any("/unsubscribe/" in url for url in hrefs), "unsubscribe link wrapped or missing"
    assert any("/archive/" in url for url in hrefs), "archive link wrapped or missing"
    assert "https://example.org/source" in text and "/t/" not in text  # plain text as it is
    [pixel] = [url for url in SRC.findall(html) if url.endswith(".gif")]
    [other_pixel] = [url for url in SRC.findall(other_html) if url.endswith(".gif")]
    article_link = tracked[0]

    # A scanner's HEAD: answered, never an open or a click.
    assert client.head(path(article_link), headers={"User-Agent": "curl/8"}).status_code == 302
    assert client.head(path(pixel), headers=FIREFOX).status_code == 200
    # Apple Mail Privacy Protection fetches reader1's pixel: a machine open.
    assert client.get(path(other_pixel), headers={"User-Agent": "Mozilla/5.0"}).status_code == 200
    # reader0 opens the mail and, a little later, clicks the article's link.
    assert client.get(path(pixel), headers=FIREFOX).status_code == 200
    time.sleep(max(0.0, sent_by + CLICK_TOO_SOON + 0.5 - time.time()))  # not a gateway's click
    answer = client.get(path(article_link), headers=FIREFOX)
    assert answer.status_code == 302 and answer.headers["Location"] == "https://example.org/source"

    # reader1 leaves by the message's one-click link: the campaign's unsubscribe.
    [leave] = [url for url in HREF.findall(other_html) if "/unsubscribe/" in url]
    assert client.post(path(leave), data={"List-Unsubscribe": "One-Click"}).status_code == 200

    expected = {
        "opened": 2, "opened_human": 1, "clicked": 1, "clicked_human": 1, "unsubscribed": 1,
        "complained": 0,
    }  # fmt: skip
    counts = counts_after_drain(client, headers, campaign_id, expected)
    assert {name: counts[name] for name in expected} == expected, counts

    # A tampered link never redirects.
    token = path(article_link).split("/")[2]
    forged = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    assert client.get(f"/t/{forged}/0", headers=FIREFOX).status_code == 400


def test_a_known_scanners_open_and_click_count_as_a_machines(
    client, committed, smtp, celery_worker
):
    headers = bearer(committed)
    add_readers(committed, 1)
    campaign_id = send(client, headers)
    [(html, _)] = by_reader(smtp, 1).values()
    [pixel] = [url for url in SRC.findall(html) if url.endswith(".gif")]
    link = next(url for url in HREF.findall(html) if "/t/" in url)
    mimecast = {"User-Agent": "Mozilla/5.0 (compatible; Mimecast URL Protect)"}
    assert client.get(path(pixel), headers=mimecast).status_code == 200
    answer = client.get(path(link), headers=mimecast)
    assert answer.status_code == 302 and answer.headers["Location"] == "https://example.org/source"
    expected = {"opened": 1, "opened_human": 0, "clicked": 1, "clicked_human": 0}
    counts = counts_after_drain(client, headers, campaign_id, expected)
    assert {name: counts[name] for name in expected} == expected, counts
    reasons = committed.scalars(select(Engagement.reason).where(Engagement.human.is_(False)))
    assert sorted(reasons) == ["scanner", "scanner"]  # the agent decided, not the timing


@pytest.fixture
def untracked_worker(celery_worker):
    celery_worker.restart(TRACKING="off")
    yield celery_worker
    celery_worker.restart()


def test_tracking_off_sends_no_pixel_and_no_wrapped_link(client, committed, smtp, untracked_worker):
    headers = bearer(committed)
    add_readers(committed, 1)
    send(client, headers)
    [(html, _)] = by_reader(smtp, 1).values()
    assert "/t/" not in html and ".gif" not in html
    assert 'href="https://example.org/source"' in html

"""Audiences on real parts, as an editor meets them: newsletters and readers made through the
API, campaigns sent by the real worker over SMTP. Two newsletters with overlapping readers
reach each member once and no one else; a tag reaches exactly the tagged readers; every
message's footer carries the postal address; a reader who leaves one newsletter on the
preferences page (followed from her mail) is skipped by its next campaign and still gets
the other's."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlsplit

import pytest

from broadsheet.services.publication import save_publication
from tests.support.api import bearer, html_part, links, text_part, wait_for_status

pytestmark = pytest.mark.usefixtures("celery_worker")

READERS = {  # address: (newsletters, tags)
    "ann@example.org": (["daily", "weekly"], []),
    "bo@example.org": (["weekly"], []),
    "cy@example.org": (["daily"], ["donor"]),
    "dee@example.org": (["daily", "weekly"], ["donor"]),
    "eve@example.org": ([], ["press"]),  # the default newsletter only
}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def send(client, headers, smtp, title: str, audience: dict[str, list[str]]) -> dict[str, str]:
    """Send a new article to `audience`; each recipient's message text (one each, or fail)."""
    smtp.reset()
    article = client.post(
        "/api/v1/articles", json={"title": title, "body_markdown": "Body."}, headers=headers
    ).get_json()
    made = client.post(
        "/api/v1/campaigns", json={"article_id": article["id"], "audience": audience},
        headers=headers,
    )  # fmt: skip
    assert made.status_code == 201, made.get_json()
    campaign_id = made.get_json()["id"]
    assert client.post(f"/api/v1/campaigns/{campaign_id}/send", headers=headers).status_code == 202
    done = wait_for_status(client, headers, campaign_id, "sent")
    received = smtp.wait_for(done["counts"]["sent"])
    recipients = Counter(r for message in received for r in message.rcpt_tos)
    assert max(recipients.values()) == 1, f"someone got {title} twice: {recipients}"
    return {m.rcpt_tos[0]: m.data.decode() for m in received}


def test_newsletters_tags_and_preferences_decide_who_gets_each_campaign(client, committed, smtp):
    headers = bearer(committed)
    save_publication(committed, "12 Quay Street\nLyon 69002, France", "")
    committed.commit()
    for name, slug in (("The Daily", "daily"), ("The Weekly", "weekly")):
        made = client.post(
            "/api/v1/newsletters", json={"name": name, "slug": slug}, headers=headers
        )
        assert made.status_code == 201, made.get_json()
    for address, (chosen, tags) in READERS.items():
        fields = {"email": address, "status": "active", "tags": tags}
        made = client.post(
            "/api/v1/subscribers", json={**fields, **({"newsletters": chosen} if chosen else {})},
            headers=headers,
        )  # fmt: skip
        assert made.status_code == 201, made.get_json()

    both = send(client, headers, smtp, "To both", {"newsletters": ["daily", "weekly"]})
    assert set(both) == {"ann@example.org", "bo@example.org", "cy@example.org", "dee@example.org"}
    assert all("12 Quay Street" in raw for raw in both.values())
    donors = send(client, headers, smtp, "To donors", {"tags_any": ["donor"]})
    assert set(donors) == {"cy@example.org", "dee@example.org"}

    daily = send(client, headers, smtp, "Daily one", {"newsletters": ["daily"]})
    ann_mail = smtp.messages[[m.rcpt_tos[0] for m in smtp.messages].index("ann@example.org")]
    message = ann_mail.parsed()
    assert "The Daily" in text_part(message) and "12 Quay Street" in text_part(message)
    assert "The Daily" in message["List-Id"]
    preferences = urlsplit(links(html_part(message), "preferences")[0]).path
    page = client.get(preferences).get_data(as_text=True)
    token = CSRF.search(page)
    assert token, "the preferences page has no form"
    saved = client.post(
        preferences, data={"csrf_token": token.group(1), "newsletters": ["weekly"], "name": ""}
    )
    assert saved.status_code == 200 and "Saved." in saved.get_data(as_text=True)
    assert set(daily) == {"ann@example.org", "cy@example.org", "dee@example.org"}

    after = send(client, headers, smtp, "Daily two", {"newsletters": ["daily"]})
    assert set(after) == {"cy@example.org", "dee@example.org"}
    weekly = send(client, headers, smtp, "Weekly one", {"newsletters": ["weekly"]})
    assert set(weekly) == {"ann@example.org", "bo@example.org", "dee@example.org"}

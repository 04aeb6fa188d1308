"""A campaign to two newsletters and a saved segment, made on the admin's form and sent by
the real worker over SMTP: the draft follows the segment's edits, the start freezes it (an
edit after changes nothing), each reader gets one message, and the one-click unsubscribe in
that message leaves exactly the two newsletters; one from a campaign to everyone leaves
everything."""

from __future__ import annotations

from collections import Counter
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from broadsheet.models import Campaign, Delivery, SubscriberStatus
from broadsheet.services import newsletters, segments, subscriptions
from tests.support.admin import csrf_token
from tests.support.api import bearer, wait_for_status
from tests.support.factories import make_article

pytestmark = pytest.mark.usefixtures("celery_worker")

READERS = {  # address: (newsletters, tags)
    "ann@example.org": (["daily", "weekly", "staff"], ["donor"]),
    "bo@example.org": (["weekly"], ["donor"]),
    "cy@example.org": (["daily"], ["press"]),
    "dee@example.org": (["staff"], ["donor"]),
}


def post(client, url: str, **fields):
    return client.post(url, data={"csrf_token": csrf_token(client, "/admin/campaigns"), **fields})


def one_click(client, message) -> int:
    """What a mail client does with the message's List-Unsubscribe-Post (RFC 8058)."""
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = message["List-Unsubscribe"].strip("<>")
    answer = client.post(urlsplit(url).path, data={"List-Unsubscribe": "One-Click"})
    return int(answer.status_code)


def subscribed(committed, email: str) -> set[str]:
    committed.expire_all()
    reader = subscriptions.find_subscriber(committed, email)
    assert reader is not None
    kept = {
        n.slug
        for n, m in newsletters.memberships(committed, reader.id)
        if m.status.value == "subscribed"
    }
    committed.commit()
    return kept


def test_a_segment_is_followed_until_the_send_then_frozen_and_unsubscribing_leaves_its_newsletters(
    client, editor, committed, smtp
):
    headers = bearer(committed)
    for name in ("Daily", "Weekly", "Staff"):
        newsletters.create_newsletter(committed, name)
    for email, (chosen, tags) in READERS.items():
        subscriptions.create_subscriber(
            committed, email, status="active", tags=tags, newsletters_chosen=chosen
        )
    segment = segments.create_segment(committed, "Givers", {"tags_any": ["press"]})
    article = make_article(committed, "Spring appeal")
    committed.commit()

    made = post(
        editor, "/admin/campaigns", article_id=str(article.id), subject="Spring appeal",
        newsletters=["daily", "weekly"], segment="Givers", tracking="off",
    )  # fmt: skip
    assert made.status_code == 303
    campaign_id = committed.scalar(select(Campaign.id))
    committed.commit()  # ends the read (on SQLite it holds the writers' lock)
    page = editor.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    assert "It would go to <strong>1</strong> readers now" in page  # Cy
    segments.update_segment(committed, segment.id, "Givers", {"tags_any": ["donor"]})
    committed.commit()
    page = editor.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    assert "It would go to <strong>2</strong> readers now" in page  # Ann and Bo

    sent = post(editor, f"/admin/campaigns/{campaign_id}/send", confirm="yes")
    assert sent.status_code == 303
    done = wait_for_status(client, headers, campaign_id, "sent")
    assert done["counts"]["sent"] == 2 and done["segment_id"] is None
    received = smtp.wait_for(2)
    assert Counter(r for m in received for r in m.rcpt_tos) == {
        "ann@example.org": 1,
        "bo@example.org": 1,
    }

    segments.update_segment(committed, segment.id, "Givers", {"tags_any": ["press"]})
    committed.commit()
    committed.expire_all()
    campaign = committed.get(Campaign, campaign_id)
    assert campaign.audience_rules["tags_any"] == ["donor"]  # frozen at the start
    planned = select(func.count()).where(Delivery.campaign_id == campaign_id)
    assert committed.scalar(planned) == 2
    committed.commit()
    segments.delete_segment(committed, segment.id)  # nothing waits on it now
    committed.commit()

    ann_mail = next(m for m in received if "ann@example.org" in m.rcpt_tos)
    assert one_click(client, ann_mail.parsed()) == 200
    assert subscribed(committed, "ann@example.org") == {"staff"}
    ann = subscriptions.find_subscriber(committed, "ann@example.org")
    assert ann is not None and ann.status == SubscriberStatus.ACTIVE
    committed.commit()

    smtp.reset()
    to_all_article = make_article(committed, "To all")
    committed.commit()
    everyone = client.post(
        "/api/v1/campaigns", json={"article_id": to_all_article.id}, headers=headers
    ).get_json()
    client.post(f"/api/v1/campaigns/{everyone['id']}/send", headers=headers)
    to_all = wait_for_status(client, headers, everyone["id"], "sent")
    smtp.wait_for(to_all["counts"]["sent"])
    (dee_mail,) = smtp.to("dee@example.org")
    assert one_click(client, dee_mail.parsed()) == 200
    committed.expire_all()
    dee = subscriptions.find_subscriber(committed, "dee@example.org")
    assert dee is not None and dee.status == SubscriberStatus.UNSUBSCRIBED

"""The admin's words say what is true: the relay accepting a message is "sent", not
"delivered"; rows a worker's batch has claimed are "in flight"; every column has a heading.
(A reader's history names who made a change: tests/web/admin/test_subscribers.py.)"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from broadsheet.models import Delivery, Subscriber
from broadsheet.services.api_tokens import create_token, revoke_token
from tests.support.admin import sign_in
from tests.support.factories import add_readers, campaign_in, make_user

HEADINGS = re.compile(r"<thead>(.*?)</thead>", re.S)


@pytest.fixture
def admin(app, committed: Session):
    make_user(committed, "admin")
    client = app.test_client()
    sign_in(client, "admin@example.org")
    return client


def test_the_counts_say_sent_and_in_flight(admin, committed: Session):
    add_readers(committed, 5)
    campaign = campaign_in(committed, "sending", "Night Trains")
    held = select(Delivery.id).where(Delivery.campaign_id == campaign.id).limit(2)
    committed.execute(update(Delivery).where(Delivery.id.in_(held)).values(status="sending"))
    committed.commit()
    page = admin.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert re.search(r'<dt>In flight</dt><dd data-count="sending"><a [^>]*>2</a></dd>', page)
    assert "<dt>Sending</dt>" not in page
    hint = "“In flight”: claimed by a worker's batch: being handed to the relay now, or next"
    assert hint in page, "the hint says what is counted: a batch's rows, not only the one sent"
    listing = admin.get("/admin/campaigns").get_data(as_text=True)
    assert '<th class="num">Sent</th>' in listing and "Delivered" not in listing
    assert '<p class="kicker">Sending</p>' not in listing, "the kicker reads as no status"


@pytest.mark.parametrize(
    "page", ["/admin/", "/admin/campaigns", "/admin/articles", "/admin/subscribers",
             "/admin/subscribers/{reader}", "/admin/users", "/admin/tokens"],
)  # fmt: skip
def test_every_column_has_a_heading(admin, committed: Session, page):
    add_readers(committed, 1)
    campaign_in(committed, "sent")
    revoke_token(committed, create_token(committed, "Old script", "operator")[0].id)
    create_token(committed, "CMS publisher", "editor")
    reader = committed.scalar(select(Subscriber.id))
    committed.commit()
    html = admin.get(page.format(reader=reader)).get_data(as_text=True)
    tables = HEADINGS.findall(html)
    assert tables, f"{page} has a table"
    for heads in tables:
        for cell in re.findall(r"<th[^>]*>(.*?)</th>", heads, re.S):
            shown = re.sub(r'<span class="visually-hidden">.*?</span>|<[^>]+>', "", cell)
            assert shown.strip(), f"a column of {page} has no heading: {heads}"

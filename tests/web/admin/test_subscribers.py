"""The admin's Subscribers section through the test client, with real commits: the list (search,
status filter, keyset pages), a reader's page (history and deliveries), adding a reader and
unsubscribing one (asked first, recorded with who did it)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import insert, select, update

from broadsheet.models import Delivery, Subscriber, SubscriberEvent
from broadsheet.services.subscriptions import request_subscription
from tests.support.admin import post_form, sign_in
from tests.support.factories import add_readers, make_campaign, make_user

ADDRESS = re.compile(r'class="title address" href="/admin/subscribers/(\d+)">([^<]+)</a>')
OLDER = re.compile(r'href="([^"]*before=(\d+)[^"]*)">Older')


def listed(html: str) -> list[str]:
    return [address for _, address in ADDRESS.findall(html)]


def reader_state(committed, email: str) -> tuple[Any, ...] | None:
    """(id, status, name) as committed, or None; the read ends at once."""
    try:
        row = committed.execute(
            select(Subscriber.id, Subscriber.status, Subscriber.name).where(
                Subscriber.email_key == email
            )
        ).one_or_none()
        return row and (row[0], row[1].value, row[2])
    finally:
        committed.rollback()


def known_reader(committed, email: str) -> tuple[Any, ...]:
    """`reader_state` of a reader who must be there."""
    state = reader_state(committed, email)
    assert state is not None, f"no reader {email}"
    return state


def events_of(committed, subscriber_id: int) -> list[tuple[Any, ...]]:
    """(from, to, source, reason, actor) oldest first, as committed."""
    query = (
        select(
            SubscriberEvent.from_status,
            SubscriberEvent.to_status,
            SubscriberEvent.source,
            SubscriberEvent.reason,
            SubscriberEvent.actor,
        )
        .where(SubscriberEvent.subscriber_id == subscriber_id)
        .order_by(SubscriberEvent.id)
    )
    try:
        return [
            (f and f.value, t.value, s.value, r, a) for f, t, s, r, a in committed.execute(query)
        ]
    finally:
        committed.rollback()


def test_search_finds_readers_by_the_start_of_their_address_or_name(editor, committed):
    add_readers(committed, 3, prefix="ann")
    add_readers(committed, 2, prefix="bob")
    committed.execute(
        update(Subscriber).where(Subscriber.email_key == "bob0@example.org").values(name="Annie B")
    )
    committed.commit()
    html = editor.get("/admin/subscribers?q=ANN").get_data(as_text=True)
    assert sorted(listed(html)) == [
        "ann0@example.org", "ann1@example.org", "ann2@example.org", "bob0@example.org",
    ]  # fmt: skip
    assert listed(editor.get("/admin/subscribers?q=annie").get_data(as_text=True)) == [
        "bob0@example.org"
    ]
    assert listed(editor.get("/admin/subscribers?q=bob1@").get_data(as_text=True)) == [
        "bob1@example.org"
    ]
    nothing = editor.get("/admin/subscribers?q=%25").get_data(as_text=True)  # a literal "%"
    assert listed(nothing) == [] and "address or name starts with" in nothing
    assert 'value="%"' in nothing, "the search stays in the box"


def test_the_status_filter_shows_only_that_status_and_keeps_the_search(editor, committed):
    add_readers(committed, 4)
    committed.execute(
        update(Subscriber)
        .where(Subscriber.email_key.in_(["reader1@example.org", "reader3@example.org"]))
        .values(status="unsubscribed")
    )
    committed.commit()
    html = editor.get("/admin/subscribers?status=unsubscribed").get_data(as_text=True)
    assert listed(html) == ["reader3@example.org", "reader1@example.org"]
    assert 'href="/admin/subscribers?status=unsubscribed" aria-current="page"' in html
    searched = editor.get("/admin/subscribers?status=active&q=reader2").get_data(as_text=True)
    assert listed(searched) == ["reader2@example.org"]
    bad = editor.get("/admin/subscribers?status=gone")
    assert bad.status_code == 422
    assert "Status must be one of pending, active" in bad.get_data(as_text=True)


def test_pages_follow_each_other_newest_first_without_overlap_or_gaps(editor, committed):
    add_readers(committed, 123)
    seen: list[str] = []
    url, pages = "/admin/subscribers", 0
    while url:
        html = editor.get(url.replace("&amp;", "&")).get_data(as_text=True)
        seen += listed(html)
        pages += 1
        older = OLDER.search(html)
        url = older.group(1) if older else ""
    assert pages == 3
    assert seen == [f"reader{n}@example.org" for n in reversed(range(123))]
    # A page that ends exactly at the last reader offers no empty "Older" page.
    exact = editor.get("/admin/subscribers?limit=41").get_data(as_text=True)
    older = OLDER.search(exact)
    assert older is not None
    last = editor.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    older = OLDER.search(last)
    assert older is not None
    final = older.group(1).replace("&amp;", "&")
    assert "Older" not in editor.get(final).get_data(as_text=True)


def test_a_readers_page_shows_their_history_and_deliveries(editor, committed):
    outcome = request_subscription(committed, "ann@example.org", "Ann Reader")
    committed.commit()
    post_form(
        editor, f"/admin/subscribers/{outcome.subscriber_id}/unsubscribe",
        f"/admin/subscribers/{outcome.subscriber_id}", confirm="yes", reason="asked by phone",
    )  # fmt: skip
    first, second = make_campaign(committed, "First Light"), make_campaign(committed, "Late Train")
    committed.flush()
    committed.execute(
        insert(Delivery),
        [
            {"campaign_id": first.id, "subscriber_id": outcome.subscriber_id, "status": "sent",
             "relay_reply": "250 2.0.0 Ok: queued as 4XyZ"},
            {"campaign_id": second.id, "subscriber_id": outcome.subscriber_id,
             "status": "bounced", "relay_reply": "550 5.1.1 <ann@example.org>: no such user"},
        ],
    )  # fmt: skip
    committed.commit()
    html = editor.get(f"/admin/subscribers/{outcome.subscriber_id}").get_data(as_text=True)
    assert "ann@example.org" in html and "Ann Reader" in html
    history = html[html.index('id="history"') : html.index('id="deliveries"')]
    by_editor = history.index("by editor@example.org, in the admin")  # who, not a role
    assert by_editor < history.index("signed up on the subscribe page")
    assert "asked by phone" in history
    deliveries = html[html.index('id="deliveries"') :]
    assert deliveries.index("Late Train") < deliveries.index("First Light")
    assert "550 5.1.1 &lt;ann@example.org&gt;: no such user" in deliveries
    assert "250 2.0.0 Ok: queued as 4XyZ" in deliveries
    assert "Unsubscribe…" not in html, "nothing to unsubscribe any more"
    assert editor.get("/admin/subscribers/999999").status_code == 404


def test_an_editor_adds_a_pending_reader_and_a_confirmation_is_mailed(editor, committed, owed):
    answer = post_form(
        editor, "/admin/subscribers", "/admin/subscribers/new",
        email="New.Reader@Example.org", name="New Reader", status="pending", reason="",
    )  # fmt: skip
    assert answer.status_code == 303
    reader_id, status, name = known_reader(committed, "new.reader@example.org")
    assert (status, name) == ("pending", "New Reader")
    assert owed() == [reader_id]
    assert events_of(committed, reader_id) == [
        (None, "pending", "admin", None, "editor@example.org")
    ]
    page = editor.get(answer.headers["Location"]).get_data(as_text=True)
    assert "a confirmation email is on its way" in page


def test_adding_an_active_reader_needs_a_reason_and_keeps_what_was_typed(editor, committed, owed):
    fields = {"email": "kim@example.org", "name": "Kim Lee", "status": "active", "reason": " "}
    answer = post_form(editor, "/admin/subscribers", "/admin/subscribers/new", **fields)
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    error = re.search(r'<p class="error" id="reason-error">([^<]+)</p>\s*<textarea', html)
    assert error and "say how this reader agreed" in error.group(1).lower()
    assert 'value="kim@example.org"' in html and 'value="Kim Lee"' in html
    assert re.search(r'value="active" checked', html)
    assert reader_state(committed, "kim@example.org") is None and owed() == []

    fields["reason"] = "signed the paper form at the fair"
    answer = post_form(editor, "/admin/subscribers", "/admin/subscribers/new", **fields)
    assert answer.status_code == 303
    reader_id, status, _ = known_reader(committed, "kim@example.org")
    assert status == "active" and owed() == []
    assert events_of(committed, reader_id) == [
        (None, "active", "admin", "signed the paper form at the fair", "editor@example.org")
    ]


def test_a_bad_address_is_refused_next_to_its_field(editor, committed):
    answer = post_form(
        editor, "/admin/subscribers", "/admin/subscribers/new",
        email="not an address", name="Kim", status="pending", reason="",
    )  # fmt: skip
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert re.search(r'<p class="error" id="email-error">[^<]+</p>\s*<input id="email"', html)
    assert 'value="not an address"' in html and 'aria-invalid="true" autofocus' in html


def test_a_known_address_is_answered_with_a_link_to_that_reader(editor, committed):
    add_readers(committed, 1, prefix="known")
    reader_id = known_reader(committed, "known0@example.org")[0]
    answer = post_form(
        editor, "/admin/subscribers", "/admin/subscribers/new",
        email="Known0@example.org", name="", status="pending", reason="",
    )  # fmt: skip
    assert answer.status_code == 409
    html = answer.get_data(as_text=True)
    assert "This address is already a reader." in html
    assert f'href="/admin/subscribers/{reader_id}"' in html and "(now active)" in html


def test_unsubscribing_asks_first_then_records_who_did_it(editor, committed):
    add_readers(committed, 1, prefix="leaving")
    reader_id = known_reader(committed, "leaving0@example.org")[0]
    url, page = f"/admin/subscribers/{reader_id}/unsubscribe", f"/admin/subscribers/{reader_id}"
    asked = post_form(editor, url, page, reason="asked by email")
    assert asked.status_code == 200
    html = asked.get_data(as_text=True)
    assert "Unsubscribe leaving0@example.org?" in html
    assert 'name="reason" value="asked by email"' in html, "the reason is carried over"
    assert known_reader(committed, "leaving0@example.org")[1] == "active"

    done = post_form(editor, url, page, reason="asked by email", confirm="yes")
    assert done.status_code == 303
    assert known_reader(committed, "leaving0@example.org")[1] == "unsubscribed"
    assert events_of(committed, reader_id)[-1] == (
        "active", "unsubscribed", "admin", "asked by email", "editor@example.org",
    )  # fmt: skip
    again = post_form(editor, url, page, confirm="yes")
    assert again.status_code == 303
    assert "already unsubscribed" in editor.get(page).get_data(as_text=True)
    assert len(events_of(committed, reader_id)) == 1


def test_an_operator_reads_readers_but_cannot_add_or_unsubscribe(app, committed):
    make_user(committed, "operator")
    add_readers(committed, 1)
    reader_id = known_reader(committed, "reader0@example.org")[0]
    client = app.test_client()
    sign_in(client, "operator@example.org")
    html = client.get("/admin/subscribers").get_data(as_text=True)
    assert listed(html) == ["reader0@example.org"] and "Add a reader" not in html
    page = client.get(f"/admin/subscribers/{reader_id}").get_data(as_text=True)
    assert "reader0@example.org" in page and "Unsubscribe…" not in page
    assert client.get("/admin/subscribers/new").status_code == 403
    for url in ("/admin/subscribers", f"/admin/subscribers/{reader_id}/unsubscribe"):
        answer = post_form(
            client, url, "/admin/subscribers", email="x@example.org", status="pending",
            confirm="yes",
        )  # fmt: skip
        assert answer.status_code == 403
    assert known_reader(committed, "reader0@example.org")[1] == "active"
    assert reader_state(committed, "x@example.org") is None

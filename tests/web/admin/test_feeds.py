"""The admin's Feeds page: feeds listed with how their polls went, added and changed by an
editor (errors by their field), paused, resumed and removed after a confirmation that keeps
their articles; operators only read. ("Poll now" answered by the real worker:
tests/e2e/test_feed_polling.py.)"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import func, select

from broadsheet.feeds.polling import MAX_FAILURES, record_failure
from broadsheet.models import Article, Feed, FeedEntry
from broadsheet.services import feeds, newsletters
from tests.support.admin import csrf_token, post_form, sign_in
from tests.support.factories import make_article, make_user
from worker.queues import QUEUE

URL = "https://blog.example.org/feed.xml"
CLOSED = "http://127.0.0.1:9/feed.xml"  # nothing listens: a poll fails at once


def queued_tasks(stack) -> list[tuple[str, str]]:
    """(task name, its arguments) of every task waiting in the default queue."""
    raw = stack["redis"].client().lrange(QUEUE, 0, -1)
    return [
        (message["headers"]["task"], message["headers"]["argsrepr"])
        for message in map(json.loads, raw)
    ]


def add(client, **fields: str):
    token = csrf_token(client, "/admin/feeds")
    return client.post("/admin/feeds", data={"csrf_token": token, **fields})


def test_an_editor_adds_a_feed_and_sees_it_listed(app, committed, editor):
    newsletters.create_newsletter(committed, "Daily")
    committed.commit()
    made = add(editor, url=f"  {URL} ", newsletter="daily", send_now="send")
    assert made.status_code == 303
    feed = committed.scalars(select(Feed)).one()
    assert feed.url == URL and feed.send_now
    page = editor.get("/admin/feeds").get_data(as_text=True)
    assert URL in page and "Daily" in page and "sent at once" in page
    assert "Not polled yet" in page


def test_a_bad_feed_form_names_each_field_and_a_duplicate(app, committed, editor):
    newsletters.create_newsletter(committed, "Daily")  # the form offers newsletters
    committed.commit()
    refused = add(editor, url="ftp://nowhere", newsletter="nope", send_now="maybe")
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    for name in ("url", "newsletter", "send_now"):
        assert f'id="{name}-error"' in html, name
    assert "No such newsletter" in html and 'value="ftp://nowhere"' in html
    feeds.create_feed(committed, URL)
    committed.commit()
    again = add(editor, url=URL, send_now="draft")
    assert again.status_code == 409 and 'id="url-error"' in again.get_data(as_text=True)
    assert committed.scalar(select(func.count()).select_from(Feed)) == 1


def test_a_failing_feed_says_why_and_a_paused_one_warns_on_the_overview(app, committed, editor):
    feed = feeds.create_feed(committed, URL)
    committed.commit()
    for _ in range(MAX_FAILURES):
        record_failure(
            committed, feed.id, "the server answered 503 Service Unavailable",
            now=datetime.now(UTC),
        )  # fmt: skip
    committed.commit()
    listed = editor.get("/admin/feeds").get_data(as_text=True)
    assert "Failed" in listed and "503 Service Unavailable" in listed
    assert f"{MAX_FAILURES} in a row" in listed and 'data-status="paused"' in listed
    home = editor.get("/admin/").get_data(as_text=True)
    assert f"The feed {URL} is paused after {MAX_FAILURES} failed polls in a row" in home
    assert f'href="/admin/feeds/{feed.id}"' in home
    resumed = post_form(editor, f"/admin/feeds/{feed.id}/resume", "/admin/feeds")
    assert resumed.status_code == 303
    committed.expire_all()
    assert not feed.paused and feed.failures == 0
    assert f"The feed {URL} is paused" not in editor.get("/admin/").get_data(as_text=True)


def test_an_editor_changes_where_a_feeds_campaigns_go(app, committed, editor):
    newsletters.create_newsletter(committed, "Daily")
    feed = feeds.create_feed(committed, URL, newsletter="daily")
    newsletters.create_newsletter(committed, "Weekly")
    committed.commit()
    page = f"/admin/feeds/{feed.id}"
    bad = post_form(editor, page, page, newsletter="gone", send_now="later")
    assert bad.status_code == 422
    assert 'id="newsletter-error"' in bad.get_data(as_text=True)
    assert 'id="send_now-error"' in bad.get_data(as_text=True)
    saved = post_form(editor, page, page, newsletter="weekly", send_now="send")
    assert saved.status_code == 303
    committed.expire_all()
    weekly = newsletters.by_slugs(committed, ["weekly"])[0]
    assert feed.newsletter_id == weekly.id and feed.send_now
    everyone = post_form(editor, page, page, newsletter="", send_now="draft")
    assert everyone.status_code == 303
    committed.expire_all()
    assert tuple(committed.execute(select(Feed.newsletter_id, Feed.send_now)).one()) == (
        None,
        False,
    )


def test_removing_a_feed_is_confirmed_and_keeps_its_articles(app, committed, editor):
    feed = feeds.create_feed(committed, URL)
    article = make_article(committed, "From the feed")
    committed.add(FeedEntry(feed_id=feed.id, key="entry-1", article_id=article.id))
    committed.commit()
    feed_id, article_id = feed.id, article.id
    asked = post_form(editor, f"/admin/feeds/{feed_id}/delete", f"/admin/feeds/{feed_id}")
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "The 1 article and campaigns it made stay" in html
    assert committed.get(Feed, feed_id) is not None
    committed.rollback()
    done = post_form(
        editor, f"/admin/feeds/{feed_id}/delete", f"/admin/feeds/{feed_id}", confirm="yes"
    )
    assert done.status_code == 303 and done.headers["Location"] == "/admin/feeds"
    committed.expunge_all()
    assert committed.get(Feed, feed_id) is None
    assert committed.scalar(select(func.count()).select_from(FeedEntry)) == 0
    assert committed.get(Article, article_id) is not None


def test_an_operator_reads_feeds_and_changes_nothing(app, committed, stack):
    feed = feeds.create_feed(committed, URL)
    make_user(committed, "operator")
    committed.commit()
    client = app.test_client()
    sign_in(client, "operator@example.org")
    listed = client.get("/admin/feeds").get_data(as_text=True)
    assert URL in listed and "Add a feed" not in listed and "Poll now" not in listed
    assert "Remove the feed" not in client.get(f"/admin/feeds/{feed.id}").get_data(as_text=True)
    token = csrf_token(client, "/admin/feeds")
    for url in ("/admin/feeds", f"/admin/feeds/{feed.id}/poll", f"/admin/feeds/{feed.id}/delete"):
        answer = client.post(url, data={"csrf_token": token, "url": URL, "confirm": "yes"})
        assert answer.status_code == 403, url
    assert queued_tasks(stack) == [] and committed.get(Feed, feed.id) is not None
    assert committed.get(Feed, feed.id).last_polled_at is None  # nor polled by a worker

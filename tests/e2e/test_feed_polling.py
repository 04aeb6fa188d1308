"""Feed polling through real processes: beat's task through a real Celery worker (one poll
task per due feed, under the production address guard), the admin's "Poll now" answered by
the worker (and refused for a paused feed), and two pollers in processes of their own making
one article per entry."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import func, select

from broadsheet.models import Article, Campaign, Feed
from broadsheet.services import feeds
from broadsheet.services.feeds import create_feed
from broadsheet.services.newsletters import create_newsletter
from tests.support.admin import post_form
from tests.support.feed_server import INTERNAL, Answer, FeedServer, feed_errors, fixture, running
from worker.feeds import poll_feeds

CLOSED = "http://127.0.0.1:9/feed.xml"  # nothing listens: a poll fails at once


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    yield from running()


def count(committed, model: type[Article] | type[Campaign]) -> int:
    found: int = committed.scalar(select(func.count()).select_from(model))
    committed.rollback()
    return found


def test_beat_task_enqueues_a_poll_per_due_feed_under_the_production_guard(
    committed, celery_worker, server
):
    urls = [server.url("/one.xml"), server.url("/two.xml")]
    for url in urls:
        server.answers[url.removeprefix(server.url(""))] = Answer(fixture("rss20.xml"))
        create_feed(committed, url)
    committed.commit()
    server.seen.clear()
    poll_feeds.delay()
    deadline = time.monotonic() + 30
    while set(feed_errors(committed).values()) != {INTERNAL}:
        assert time.monotonic() < deadline, celery_worker.log()
        time.sleep(0.2)
    assert server.seen == []  # loopback is never asked by a worker in production


def test_poll_now_has_the_worker_poll_it_and_not_a_paused_feed(
    app, committed, editor, celery_worker
):
    feed_id = feeds.create_feed(committed, CLOSED).id
    committed.commit()
    polled = post_form(editor, f"/admin/feeds/{feed_id}/poll", "/admin/feeds", **{"from": "list"})
    assert polled.status_code == 303 and polled.headers["Location"] == "/admin/feeds"
    polled_at = wait_for_poll(committed, feed_id)
    paused = post_form(editor, f"/admin/feeds/{feed_id}/pause", "/admin/feeds")
    assert paused.headers["Location"] == f"/admin/feeds/{feed_id}"
    refused = post_form(editor, f"/admin/feeds/{feed_id}/poll", "/admin/feeds")
    assert refused.status_code == 303
    assert "is paused; resume it" in editor.get(refused.headers["Location"]).get_data(as_text=True)
    time.sleep(1)  # a poll queued anyway would have been made by now
    assert committed.scalar(select(Feed.last_polled_at)) == polled_at


def wait_for_poll(session, feed_id: int, timeout: float = 20) -> datetime:
    """When the worker polled the feed, once it has."""
    deadline = time.monotonic() + timeout
    while True:
        polled_at: datetime | None = session.scalar(
            select(Feed.last_polled_at).where(Feed.id == feed_id)
        )
        session.rollback()  # ends the read: on SQLite it holds the writers' lock
        if polled_at is not None:
            return polled_at
        assert time.monotonic() < deadline, "the worker never polled the feed"
        time.sleep(0.1)


def test_two_processes_at_once_make_one_article_per_entry(committed, server):
    """Two pollers in processes of their own (the test's environment: its database), each
    with the tests' loopback policy; the answer waits so that both have fetched first."""
    create_newsletter(committed, "Dispatch", "dispatch")
    server.answers["/processes.xml"] = Answer(fixture("rss10.rdf"), delay=0.5)
    feed_id = create_feed(committed, server.url("/processes.xml"), newsletter="dispatch").id
    committed.commit()
    script = (
        "import ipaddress, sys\n"
        "from broadsheet.settings import load_settings\n"
        "from worker.feeds import poll_one\n"
        "from worker.link_policy import AddressPolicy\n"
        "from worker.resources import Resources\n"
        "res = Resources(load_settings())\n"
        "policy = AddressPolicy(also=(ipaddress.ip_network('127.0.0.1/32'),))\n"
        "outcome = poll_one(res, int(sys.argv[1]), policy=policy)\n"
        "res.close()\n"
        "print(outcome.new, outcome.error)\n"
    )
    pollers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(feed_id)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "FEED_MAX_AGE": str(3650 * 86_400)},  # the corpus's fixed dates
        )
        for _ in range(2)
    ]
    outputs = sorted(poller.communicate(timeout=60)[0].strip() for poller in pollers)
    assert outputs == ["0 None", "2 None"]
    assert count(committed, Article) == 2
    assert count(committed, Campaign) == 2

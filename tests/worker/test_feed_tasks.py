"""Feed polling as deployed: beat's task through a real Celery worker (one poll task per due
feed, the production address guard), and `broadsheet poll-feeds` with FEED_URLS."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from broadsheet.models import Feed
from broadsheet.services.feeds import create_feed
from cli import main as cli
from tests.support.feed_server import Answer, FeedServer, fixture, running
from worker.feeds import poll_feeds
from worker.resources import close_resources

INTERNAL = "the address of 127.0.0.1 is internal"


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    yield from running()


def errors(committed) -> dict[str, str | None]:
    rows = committed.execute(select(Feed.url, Feed.last_error)).all()
    committed.rollback()
    return {url: error for url, error in rows}


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
    while set(errors(committed).values()) != {INTERNAL}:
        assert time.monotonic() < deadline, celery_worker.log()
        time.sleep(0.2)
    assert server.seen == []  # loopback is never asked by a worker in production


def test_poll_feeds_command_adds_feed_urls_and_polls_them_now(committed, server, monkeypatch):
    url = server.url("/seeded.xml")
    monkeypatch.setenv("FEED_URLS", url)
    close_resources()  # this process's resources read the settings again, with FEED_URLS
    try:
        result = CliRunner().invoke(cli, ["poll-feeds"])
    finally:
        close_resources()
    assert result.exit_code == 0, result.output
    assert errors(committed) == {url: INTERNAL}
    (feed_id,) = committed.scalars(select(Feed.id))
    committed.rollback()
    assert result.output == f"feed {feed_id}: failed: {INTERNAL}\n"


def test_poll_feeds_command_without_feeds_says_so(committed):
    result = CliRunner().invoke(cli, ["poll-feeds"])
    assert result.exit_code == 0, result.output
    assert "no feed to poll" in result.output

"""`broadsheet poll-feeds` with FEED_URLS: the feeds added and polled at once, under the
production address guard. (Beat's task through a real worker: tests/e2e/test_feed_polling.py.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from broadsheet.models import Feed
from cli import main as cli
from tests.support.feed_server import INTERNAL, FeedServer, feed_errors, running
from worker.resources import close_resources


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    yield from running()


def test_poll_feeds_command_adds_feed_urls_and_polls_them_now(committed, server, monkeypatch):
    url = server.url("/seeded.xml")
    monkeypatch.setenv("FEED_URLS", url)
    close_resources()  # this process's resources read the settings again, with FEED_URLS
    try:
        result = CliRunner().invoke(cli, ["poll-feeds"])
    finally:
        close_resources()
    assert result.exit_code == 0, result.output
    assert feed_errors(committed) == {url: INTERNAL}
    (feed_id,) = committed.scalars(select(Feed.id))
    committed.rollback()
    assert result.output == f"feed {feed_id}: failed: {INTERNAL}\n"


def test_poll_feeds_command_without_feeds_says_so(committed):
    result = CliRunner().invoke(cli, ["poll-feeds"])
    assert result.exit_code == 0, result.output
    assert "no feed to poll" in result.output

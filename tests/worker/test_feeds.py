"""Polling feeds end to end: a feed server on loopback, the worker's fetch (with a policy that
allows 127.0.0.1, as the link check's tests do), the real database. Each poll commits, as the
task's do; `committed` empties the tables afterwards. (Two pollers in processes of their own:
tests/e2e/test_feed_polling.py.)"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy import func, select, update

from broadsheet.feeds.entries import take_entry
from broadsheet.feeds.polling import MAX_FAILURES, PollOutcome, due_feeds, seed_feeds
from broadsheet.feeds.reading import Entry
from broadsheet.mail.preview import campaign_checks
from broadsheet.models import Article, Campaign, CampaignStatus, Feed, FeedEntry, Newsletter
from broadsheet.services.campaigns import get_campaign, prepare
from broadsheet.services.feeds import create_feed, resume_feed
from broadsheet.services.newsletters import create_newsletter
from tests.support.feed_server import Answer, FeedServer, fixture, running
from worker.feeds import poll_one
from worker.link_policy import AddressPolicy
from worker.resources import Resources

LOOPBACK = AddressPolicy(also=(ipaddress.ip_network("127.0.0.1/32"),))
# Dated entries (RSS 0.91 and 0.92 have no dates: see the test of a first poll of an undated
# feed, and the versions' test below, which polls a feed polled before).
CORPUS = [
    "rss093.xml", "rss094.xml", "rss10.rdf", "rss20.xml", "atom03.xml", "atom.xml",
    "latin1.xml", "illformed.xml",
]  # fmt: skip
# Per version new to the corpus: its first article's title, link, author, time (None: the
# format has none, so the poll's) and a piece of its sanitized body.
VERSIONS = {
    "rss092.xml": (
        "Ferry timetable & winter changes", "https://harbour.example.org/log/ferry", "", None,
        "starts <em>Monday</em>",
    ),
    "rss093.xml": (
        "Planting garlic", "https://allotment.example.org/diary/garlic", "",
        datetime(2026, 12, 1, 8, 15, tzinfo=UTC), "Cloves go in <strong>pointy end up</strong>",
    ),
    "rss094.xml": (
        "The Geminids peak", "https://sky.example.org/notes/geminids", "Caroline Herschel",
        datetime(2026, 12, 2, 20, tzinfo=UTC), 'href="https://sky.example.org/charts/east"',
    ),
    "atom03.xml": (
        "Sharpening chisels", "https://workshop.example.org/notes/chisels", "Joseph Moxon",
        datetime(2026, 12, 3, 8, tzinfo=UTC), "Hold the bevel <em>flat</em> on the stone.",
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    yield from running()


@pytest.fixture
def res(settings) -> Iterator[Resources]:
    """The worker's resources, with a short timeout (long enough for a loopback answer on a
    machine busy with other tests), a small cap, and (for the corpus, whose dates are fixed)
    no age limit on a first poll."""
    resources = Resources(
        replace(settings, feed_timeout=3.0, feed_max_bytes=64 * 1024, feed_max_age=10**9)
    )
    yield resources
    resources.close()


@pytest.fixture
def newsletter(committed) -> int:
    """The id of the newsletter the tests' feeds send to (its slug: dispatch)."""
    letter = create_newsletter(committed, "Dispatch", "dispatch")
    committed.commit()
    return letter.id


def add(committed, server: FeedServer, path: str, answer: Answer | None = None, **fields) -> int:
    if answer is not None:
        server.answers[path] = answer
    fields.setdefault("newsletter", "dispatch")
    feed = create_feed(committed, server.url(path), **fields)
    committed.commit()
    return feed.id


def poll(res: Resources, feed_id: int) -> PollOutcome:
    return poll_one(res, feed_id, policy=LOOPBACK)


def read_back(committed, query) -> list[Any]:
    """Rows as they are now, detached, and the read ended at once: SQLite's write lock is
    taken at BEGIN, and a poll in this thread needs it (an expired row read later would
    begin again)."""
    committed.expire_all()
    found = list(committed.scalars(query))
    committed.expunge_all()
    committed.rollback()
    return found


def articles(committed) -> list[Article]:
    return read_back(committed, select(Article).order_by(Article.id))


def campaigns(committed) -> list[Campaign]:
    return read_back(committed, select(Campaign).order_by(Campaign.id))


def feed_row(committed, feed_id: int) -> Feed:
    found: list[Feed] = read_back(committed, select(Feed).where(Feed.id == feed_id))
    return found[0]


def rss(*items: tuple[str, str, datetime]) -> bytes:
    """An RSS 2.0 feed of (guid, link, published) items."""
    body = "".join(
        f"<item><title>Post {guid}</title><link>{link}</link>"
        f'<guid isPermaLink="false">{guid}</guid>'
        f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
        f"<description>Text of {guid}.</description></item>"
        for guid, link, when in items
    )
    return f'<rss version="2.0"><channel><title>t</title>{body}</channel></rss>'.encode()


# The corpus


@pytest.mark.parametrize("name", CORPUS)
def test_each_shape_of_feed_makes_one_draft_per_entry(committed, server, res, newsletter, name):
    feed_id = add(committed, server, f"/corpus/{name}", Answer(fixture(name)))
    outcome = poll(res, feed_id)
    made = campaigns(committed)
    assert outcome.error is None
    assert outcome.new == len(made) > 0
    assert {c.status for c in made} == {CampaignStatus.DRAFT}
    assert {c.audience for c in made} == {"chosen"}
    assert {tuple((c.audience_rules or {})["newsletters"]) for c in made} == {(newsletter,)}
    for article in articles(committed):
        assert article.title and article.body_html and article.canonical_url
        assert article.word_count > 0


def test_an_article_keeps_the_entry_sanitized(committed, server, res, newsletter):
    feed_id = add(committed, server, "/corpus/rss20-body.xml", Answer(fixture("rss20.xml")))
    poll(res, feed_id)
    cafe = next(a for a in articles(committed) if a.title.startswith("Café"))
    assert cafe.author == "Grace Hopper"
    assert cafe.canonical_url == server.url("/corpus/posts/cafe")
    assert cafe.published_at == datetime(2026, 12, 2, 9, 30, tzinfo=UTC)
    assert f'href="{server.url("/places/cafe")}"' in cafe.body_html
    assert "<script" not in cafe.body_html and "onclick" not in cafe.body_html
    assert "alert" not in cafe.body_html
    assert "It was <em>good</em>" in cafe.body_html  # not read as Markdown (no code block)
    assert "<pre>" not in cafe.body_html


@pytest.mark.parametrize("name", VERSIONS)
def test_each_version_becomes_the_right_article(committed, server, res, newsletter, name):
    """RSS 0.92 to 0.94 and Atom 0.3: title, link, author and time where the format has them,
    and the content sanitized (no script, style, iframe or event handler left)."""
    title, link, author, published, excerpt = VERSIONS[name]
    feed_id = add(committed, server, f"/versions/{name}", Answer(fixture(name)))
    # Polled before: an undated entry is new then (a first poll only records it).
    committed.execute(update(Feed).where(Feed.id == feed_id).values(last_ok_at=datetime.now(UTC)))
    committed.commit()
    started = datetime.now(UTC)
    assert poll(res, feed_id).error is None
    article = next(a for a in articles(committed) if a.canonical_url == link)
    assert (article.title, article.author) == (title, author)
    if published is None:
        assert article.published_at >= started.replace(microsecond=0)
    else:
        assert article.published_at == published
    assert excerpt in article.body_html
    for banned in ("<script", "<style", "<iframe", "onclick", "onerror", "onmouseover"):
        assert banned not in article.body_html
    assert title in {c.subject for c in campaigns(committed)}


def templates_feed(prose: str) -> bytes:
    """A feed of one post about templates: `prose`, then a code block with braces."""
    body = f"<p>{prose}</p><pre><code>&lt;h1&gt;{{{{ page.title }}}}&lt;/h1&gt;</code></pre>"
    return (
        '<rss version="2.0"><channel><title>t</title><item><title>Templates</title>'
        f"<link>https://blog.example.org/t</link><guid>t</guid>"
        f"<pubDate>{format_datetime(datetime.now(UTC), usegmt=True)}</pubDate>"
        f"<description><![CDATA[{body}]]></description></item></channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    ("prose", "sent"), [("Plain prose.", True), ("Leftover {{ site.title }} here.", False)]
)
def test_a_feed_that_sends_at_once_holds_a_post_with_braces_in_its_prose(
    committed, server, res, newsletter, prose, sent
):
    """Braces in code are the post's own; braces in prose would reach every reader as
    written, so that post waits as a draft (logged) instead of being sent."""
    feed_id = add(committed, server, "/at-once.xml", Answer(templates_feed(prose)), send_now=True)
    outcome = poll(res, feed_id)
    assert outcome.error is None and outcome.new == 1
    (campaign,) = campaigns(committed)
    assert campaign.status == (CampaignStatus.SENDING if sent else CampaignStatus.DRAFT)
    assert (outcome.started, outcome.held) == (([campaign.id], []) if sent else ([], [campaign.id]))


def test_template_braces_in_an_entry_never_block_its_feed(committed, server, res, newsletter):
    """A post about templates (or a static site's leftover `{{ site.title }}`) is taken as the
    blog shows it: code as written, and a draft whose checks name the braces in its prose
    for the editor, instead of a poll that fails until the feed is paused."""
    feed = templates_feed("Leftover {{ site.title }} here.")
    feed_id = add(committed, server, "/templates.xml", Answer(feed))
    outcome = poll(res, feed_id)
    assert outcome.error is None and outcome.new == 1
    (article,) = articles(committed)
    assert "{{ site.title }}" in article.body_html and "{{ page.title }}" in article.body_html
    (draft,) = campaigns(committed)
    campaign = get_campaign(committed, draft.id)
    prepare(committed, campaign, res.settings)  # as the draft's page renders it
    checks = {c.key: c for c in campaign_checks(campaign, res.settings)}
    committed.rollback()
    assert checks["reader-fields"].level == "fail"
    assert "{{ site.title }}" in checks["reader-fields"].detail
    assert "page.title" not in checks["reader-fields"].detail  # code is shown as written


# Once and only once


def test_polling_twice_makes_no_second_article(committed, server, res, newsletter):
    feed_id = add(committed, server, "/twice.xml", Answer(fixture("rss20.xml")))
    assert poll(res, feed_id).new == 2
    assert poll(res, feed_id).new == 0
    assert len(articles(committed)) == 2
    count = committed.scalar(select(func.count()).select_from(FeedEntry))
    committed.rollback()
    assert count == 2


def test_two_pollers_at_once_make_one_article_per_entry(committed, server, res, newsletter):
    # The answer waits, so that both polls have fetched before either records.
    feed_id = add(committed, server, "/racing.xml", Answer(fixture("rss20.xml"), delay=0.3))
    outcomes: list[PollOutcome] = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(poll(res, feed_id))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcome.new for outcome in outcomes) == [0, 2]
    assert len(articles(committed)) == 2
    assert len(campaigns(committed)) == 2


def test_a_key_inserted_already_makes_nothing_even_unseen_by_the_check_before(
    committed, newsletter
):
    """The insert itself skips a key the feed has (ON CONFLICT DO NOTHING), which is what
    stops a second poller whose look-up ran before the first one committed."""
    feed = create_feed(committed, "https://example.org/feed.xml", newsletter="dispatch")
    entry = Entry("k", "https://example.org/k", "K", "<p>k</p>", "", None)
    now = datetime.now(UTC)
    first = take_entry(committed, feed, entry, now=now, only_seen=False, tracking=False)
    second = take_entry(committed, feed, entry, now=now, only_seen=False, tracking=False)
    assert first.campaign is not None and second.campaign is None
    committed.rollback()


def test_an_edited_entry_is_never_sent_again(committed, server, res, newsletter):
    now = datetime.now(UTC)
    server.answers["/edited.xml"] = Answer(rss(("a", "https://example.org/a", now)))
    feed_id = add(committed, server, "/edited.xml")
    assert poll(res, feed_id).new == 1
    edited = rss(("a", "https://example.org/a", now)).replace(b"Text of a", b"Better text")
    server.answers["/edited.xml"] = Answer(edited.replace(b"Post a", b"Post a, corrected"))
    assert poll(res, feed_id).new == 0
    assert [a.title for a in articles(committed)] == ["Post a"]


def test_a_missing_guid_falls_back_to_the_link_and_a_changed_guid_is_known_by_it(
    committed, server, res, newsletter
):
    now = datetime.now(UTC)
    server.answers["/guids.xml"] = Answer(rss(("first-build", "https://example.org/p", now)))
    feed_id = add(committed, server, "/guids.xml")
    assert poll(res, feed_id).new == 1
    # The feed is rebuilt with new GUIDs: the same link is the same post.
    server.answers["/guids.xml"] = Answer(rss(("second-build", "https://example.org/p", now)))
    outcome = poll(res, feed_id)
    assert (outcome.new, outcome.old) == (0, 1)
    assert len(articles(committed)) == 1


# The first poll and the age limit


def test_a_first_poll_takes_only_entries_younger_than_the_age_limit(
    committed, server, res, newsletter
):
    now = datetime.now(UTC)
    res.settings = replace(res.settings, feed_max_age=2 * 86_400)
    server.answers["/backlog.xml"] = Answer(
        rss(
            ("fresh", "https://example.org/fresh", now - timedelta(hours=3)),
            ("stale", "https://example.org/stale", now - timedelta(days=3)),
        )
    )
    feed_id = add(committed, server, "/backlog.xml")
    outcome = poll(res, feed_id)
    assert (outcome.new, outcome.old) == (1, 1)
    assert [a.title for a in articles(committed)] == ["Post fresh"]
    # Seen, so never taken later either; a later poll takes a new entry whatever its date.
    server.answers["/backlog.xml"] = Answer(
        rss(
            ("late", "https://example.org/late", now - timedelta(days=5)),
            ("fresh", "https://example.org/fresh", now - timedelta(hours=3)),
            ("stale", "https://example.org/stale", now - timedelta(days=3)),
        )
    )
    assert poll(res, feed_id).new == 1
    assert [a.title for a in articles(committed)] == ["Post fresh", "Post late"]


def test_a_first_poll_of_an_undated_feed_only_records_its_entries(
    committed, server, res, newsletter
):
    """Their age cannot be told, so none is taken as new; an entry that appears later is."""
    feed_id = add(committed, server, "/undated.xml", Answer(fixture("rss091.xml")))
    outcome = poll(res, feed_id)
    assert (outcome.error, outcome.new, outcome.old) == (None, 0, 2)
    third = b"<item><title>Third dispatch</title><link>http://example.org/wire/3</link>"
    third += b"<description>Third.</description></item>\n    <item>"
    server.answers["/undated.xml"] = Answer(fixture("rss091.xml").replace(b"<item>", third, 1))
    assert poll(res, feed_id).new == 1
    assert [a.canonical_url for a in articles(committed)] == ["http://example.org/wire/3"]


# Conditional GET


def test_an_unchanged_feed_costs_one_request_answered_304(committed, server, res, newsletter):
    answer = Answer(fixture("atom.xml"), etag='"v1"', last_modified="Thu, 03 Dec 2026 18:30:02 GMT")
    feed_id = add(committed, server, "/etag.xml", answer)
    poll(res, feed_id)
    before = len(articles(committed))
    server.seen.clear()
    outcome = poll(res, feed_id)
    assert outcome.unchanged and outcome.new == 0
    (request,) = server.requests_for("/etag.xml")
    assert request["If-None-Match"] == '"v1"'
    assert request["If-Modified-Since"] == "Thu, 03 Dec 2026 18:30:02 GMT"
    assert len(articles(committed)) == before
    assert feed_row(committed, feed_id).etag == '"v1"'


# Failures


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (Answer(b"oops", status=500), "the server answered 500 Internal Server Error"),
        (Answer(b"<html><body>Moved to a web page</body></html>"), "not an RSS or Atom feed"),
        (Answer(b"<rss>" + b"x" * 70_000), "the feed is larger than 65536 bytes"),
        (Answer(endless=True), "the feed is larger than 65536 bytes"),
        (Answer(fixture("rss20.xml"), delay=4.5), "no complete answer within 3 s"),
    ],
    ids=["500", "garbage", "too-large", "endless", "slow"],
)
def test_a_failing_feed_is_recorded_and_the_next_feed_is_still_polled(
    committed, server, res, newsletter, answer, reason, caplog
):
    bad = add(committed, server, f"/bad/{len(server.answers)}.xml", answer)
    good = add(committed, server, "/good.xml", Answer(fixture("rss10.rdf")))
    with caplog.at_level(logging.WARNING, logger="worker.feeds"):
        outcome = poll(res, bad)
    assert outcome.error is not None and outcome.error.startswith(reason)
    (logged,) = caplog.messages
    assert logged.startswith(f"feed {bad} ({server.url('/bad/')}")
    assert logged.endswith(f"): {outcome.error}")
    assert poll(res, good).new == 2
    feed = feed_row(committed, bad)
    assert (feed.failures, feed.paused, feed.last_error) == (1, False, outcome.error)
    assert feed.last_error_at is not None
    assert {(a.canonical_url or "").split("/")[2] for a in articles(committed)} == {"example.org"}


def test_five_failures_in_a_row_pause_the_feed_and_a_success_resets_the_count(
    committed, server, res, newsletter
):
    feed_id = add(committed, server, "/flaky.xml", Answer(b"", status=503))
    for _ in range(MAX_FAILURES - 1):
        poll(res, feed_id)
    server.answers["/flaky.xml"] = Answer(fixture("rss091.xml"))
    poll(res, feed_id)
    recovered = feed_row(committed, feed_id)
    assert (recovered.failures, recovered.paused) == (0, False)
    server.answers["/flaky.xml"] = Answer(b"", status=503)
    outcomes = [poll(res, feed_id) for _ in range(MAX_FAILURES)]
    assert [o.paused for o in outcomes] == [False] * (MAX_FAILURES - 1) + [True]
    feed = feed_row(committed, feed_id)
    assert (feed.failures, feed.paused) == (MAX_FAILURES, True)
    assert "503" in (feed.last_error or "")
    # A paused feed is not fetched, nor due; resuming it makes it due again.
    server.seen.clear()
    assert poll(res, feed_id) == PollOutcome(feed_id)
    assert server.requests_for("/flaky.xml") == []
    later, every = datetime.now(UTC) + timedelta(days=1), timedelta(minutes=15)
    assert feed_id not in due_feeds(committed, later, every)
    resume_feed(committed, feed_id)
    committed.commit()
    assert feed_id in due_feeds(committed, later, every)
    committed.rollback()


def test_a_feed_is_due_once_half_a_period_has_passed_since_its_last_poll(committed, newsletter):
    feed = create_feed(committed, "https://example.org/due.xml")
    every, now = timedelta(minutes=15), datetime.now(UTC)
    assert due_feeds(committed, now, every) == [feed.id]  # never polled
    feed.last_polled_at = now - timedelta(minutes=7)
    committed.flush()
    assert due_feeds(committed, now, every) == []
    feed.last_polled_at = now - timedelta(minutes=8)
    committed.flush()
    assert due_feeds(committed, now, every) == [feed.id]
    committed.rollback()


def test_an_internal_address_is_refused_by_the_production_guard(committed, server, res, newsletter):
    feed_id = add(committed, server, "/internal.xml", Answer(fixture("rss20.xml")))
    server.seen.clear()
    outcome = poll_one(res, feed_id)  # the default policy: public addresses only
    assert outcome.error == "the address of 127.0.0.1 is internal"
    assert server.requests_for("/internal.xml") == []
    assert articles(committed) == []


# Sending at once, seeding


def test_a_feed_that_sends_at_once_starts_its_campaigns(committed, server, res, newsletter):
    feed_id = add(committed, server, "/now.xml", Answer(fixture("rss10.rdf")), send_now=True)
    outcome = poll(res, feed_id)
    assert len(outcome.started) == 2
    assert {c.status for c in campaigns(committed)} == {CampaignStatus.SENDING}


def test_feed_urls_are_added_once_as_drafts_to_the_default_newsletter(committed, newsletter):
    committed.execute(update(Newsletter).values(is_default=True))
    committed.commit()
    urls = ("https://example.org/a.xml", "https://example.org/b.xml")
    assert seed_feeds(committed, urls) == 2
    committed.commit()
    assert seed_feeds(committed, urls) == 0
    feeds = list(committed.scalars(select(Feed).order_by(Feed.id)))
    assert [(f.url, f.newsletter_id, f.send_now) for f in feeds] == [
        (url, newsletter, False) for url in urls
    ]
    committed.rollback()

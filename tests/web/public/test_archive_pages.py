"""The archive's pages through the test client: the list of past issues (all, one
newsletter's), its pages, its Atom feed read back as XML, and refusals of bad addresses; an
issue sent only to private newsletters opens only through its email's link."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
from sqlalchemy.orm import Session

from broadsheet.models import Campaign
from broadsheet.services import archive, newsletters
from broadsheet.services.campaigns import prepare
from broadsheet.settings import Settings
from tests.support.archive import send_issue
from tests.support.factories import make_article

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def issue_links(page: str) -> list[str]:
    return re.findall(r'<h2><a href="/archive/([^"]+)">', page)


def atom(response) -> ET.Element:
    """The feed parsed, after checking what RFC 4287 requires of it and of each entry."""
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{ATOM}feed"
    for element in (root, *root.findall(f"{ATOM}entry")):
        for required in ("id", "title", "updated"):
            found = element.findall(f"{ATOM}{required}")
            assert len(found) == 1 and (found[0].text or "").strip(), required
        assert RFC3339.match(element.findtext(f"{ATOM}updated") or "")
    assert root.find(f"{ATOM}author/{ATOM}name") is not None  # so entries need none
    self_link = root.find(f"{ATOM}link[@rel='self']")
    assert self_link is not None and self_link.get("href", "").startswith("http://news.")
    return root


def test_the_archive_lists_sent_issues_newest_first_linking_each(client, committed: Session):
    send_issue(committed, "Slow News", day=1)
    send_issue(committed, "Fast Trains", day=2)
    committed.commit()

    response = client.get("/archive")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Past issues · The Test Gazette</title>" in page
    assert issue_links(page) == ["fast-trains", "slow-news"]
    assert '<p class="dek">About fast trains.</p>' in page
    assert '<time datetime="2026-11-03T08:00:00+00:00">3 November 2026</time>' in page
    assert 'type="application/atom+xml"' in page and 'href="/archive/feed.atom"' in page
    assert client.get("/archive/fast-trains").status_code == 200


def test_pages_link_on_to_older_issues_and_back(client, committed: Session):
    for day in range(archive.PAGE + 3):
        send_issue(committed, f"Issue {day:02}", day=day)
    committed.commit()

    first = client.get("/archive").get_data(as_text=True)
    assert len(issue_links(first)) == archive.PAGE
    older = re.search(r'<a rel="next" href="(/archive\?before=\d+)">Older issues</a>', first)
    assert older, "a full page links to the next"
    second = client.get(older.group(1)).get_data(as_text=True)
    assert issue_links(second) == ["issue-02", "issue-01", "issue-00"]
    assert 'rel="next"' not in second
    assert '<a href="/archive">Newest issues</a>' in second


def test_one_newsletters_archive_lists_its_issues_and_private_ones_are_not_found(
    client, committed: Session
):
    newsletters.create_newsletter(committed, "The Daily", "daily", description="Every morning.")
    newsletters.create_newsletter(committed, "Weekly", "weekly")
    newsletters.create_newsletter(committed, "Staff Notes", "staff", public=False)
    send_issue(committed, "Morning", day=1, audience={"newsletters": ["daily"]})
    send_issue(committed, "Weekend", day=2, audience={"newsletters": ["weekly"]})
    send_issue(committed, "Pay Rise", day=3, audience={"newsletters": ["staff"]})
    committed.commit()

    everything = client.get("/archive").get_data(as_text=True)
    assert issue_links(everything) == ["weekend", "morning"]
    assert "Staff Notes" not in everything, "a private newsletter is not offered"
    daily = client.get("/archive?newsletter=daily")
    page = daily.get_data(as_text=True)
    assert daily.status_code == 200
    assert issue_links(page) == ["morning"]
    assert "<h1>The Daily</h1>" in page and "Every morning." in page
    assert 'href="/archive?newsletter=daily" aria-current="page"' in page

    for slug in ("staff", "nope"):
        missing = client.get(f"/archive?newsletter={slug}")
        assert missing.status_code == 404
        assert f"There is no public newsletter called &#39;{slug}&#39;." in missing.text
        assert client.get(f"/archive/feed.atom?newsletter={slug}").status_code == 404


@pytest.mark.parametrize("before", ["abc", "0", "-5", "1e3", "99999999999999999999"])
def test_a_bad_page_address_is_a_400_that_says_so(client, before):
    response = client.get(f"/archive?before={before}")
    assert response.status_code == 400
    assert "<h1>This archive page does not exist</h1>" in response.text
    assert 'href="/archive"' in response.text


def test_no_issues_yet_is_a_page_that_says_so(client):
    response = client.get("/archive")
    assert response.status_code == 200
    assert "Nothing has been sent here yet." in response.text


def test_the_feed_is_atom_with_absolute_links_stable_ids_and_escaped_titles(
    client, committed: Session
):
    article = make_article(
        committed, 'Tom & Jerry <3 "quotes"', dek="Cats, mice & <b>tags</b>.", author="Ann"
    )
    send_issue(committed, article, day=5)
    send_issue(committed, "Earlier", day=1)
    committed.commit()

    root = atom(client.get("/archive/feed.atom"))
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}title") for e in entries] == ['Tom & Jerry <3 "quotes"', "Earlier"]
    first = entries[0]
    link = first.find(f"{ATOM}link[@rel='alternate']")
    assert link is not None
    assert link.get("href") == f"http://news.example.test/archive/{article.slug}"
    assert first.findtext(f"{ATOM}summary") == "Cats, mice & <b>tags</b>."
    assert first.findtext(f"{ATOM}author/{ATOM}name") == "Ann"
    assert first.findtext(f"{ATOM}published") == "2026-11-06T08:00:00Z"
    assert root.findtext(f"{ATOM}updated") == max(
        e.findtext(f"{ATOM}updated") or "" for e in entries
    )
    entry_id = first.findtext(f"{ATOM}id") or ""
    created = f"{article.created_at:%Y-%m-%d}"
    assert entry_id == f"tag:news.example.test,{created}:archive/{article.slug}"

    # An edit later changes the entry's updated time, never its id.
    article.title = "Tom and Jerry"
    article.updated_at = datetime(2027, 1, 2, 3, 4, 5, tzinfo=article.updated_at.tzinfo)
    committed.commit()
    again = atom(client.get("/archive/feed.atom")).findall(f"{ATOM}entry")[0]
    assert again.findtext(f"{ATOM}id") == entry_id
    assert again.findtext(f"{ATOM}updated") == "2027-01-02T03:04:05Z"
    assert again.findtext(f"{ATOM}title") == "Tom and Jerry"


def test_a_newsletters_feed_has_its_own_issues_title_and_address(client, committed: Session):
    newsletters.create_newsletter(committed, "The Daily", "daily")
    newsletters.create_newsletter(committed, "Weekly", "weekly")
    send_issue(committed, "Morning", day=1, audience={"newsletters": ["daily"]})
    send_issue(committed, "Weekend", day=2, audience={"newsletters": ["weekly"]})
    committed.commit()

    root = atom(client.get("/archive/feed.atom?newsletter=daily"))
    assert root.findtext(f"{ATOM}title") == "The Daily"
    assert [e.findtext(f"{ATOM}title") for e in root.findall(f"{ATOM}entry")] == ["Morning"]
    assert root.findtext(f"{ATOM}id") == (
        "http://news.example.test/archive/feed.atom?newsletter=daily"
    )


def test_an_empty_feed_is_still_valid(client):
    root = atom(client.get("/archive/feed.atom"))
    assert root.findall(f"{ATOM}entry") == []


def test_the_signup_page_and_an_issue_link_to_the_archive(client, committed: Session):
    send_issue(committed, "Slow News", day=1)
    committed.commit()
    assert 'href="/archive">Read past issues</a>' in client.get("/subscribe").text
    assert '<a href="/archive">From the archive</a>' in client.get("/archive/slow-news").text


def emails_link(committed: Session, campaign: Campaign, settings: Settings) -> str:
    """The "View in browser" link of the campaign's email, as the send renders it, made
    relative to the site (the test client's address)."""
    prepare(committed, campaign, settings)
    link = re.search(r"View in browser: (\S+)", campaign.rendered_text or "")
    assert link is not None and link.group(1).startswith(f"{settings.public_url}/archive/")
    return link.group(1).removeprefix(settings.public_url)


def test_an_issue_sent_only_to_private_newsletters_opens_only_with_its_emails_key(
    client, committed: Session, settings: Settings
):
    newsletters.create_newsletter(committed, "Staff Notes", "staff", public=False)
    newsletters.create_newsletter(committed, "Board", "board", public=False)
    newsletters.create_newsletter(committed, "Weekly", "weekly")
    pay = send_issue(committed, "Pay Rise", day=1, audience={"newsletters": ["staff", "board"]})
    bonus = send_issue(committed, "Bonus", day=2, audience={"newsletters": ["staff"]})
    open_ = send_issue(committed, "Open Day", day=3, audience={"newsletters": ["staff", "weekly"]})
    committed.commit()
    link = emails_link(committed, pay, settings)
    open_link = emails_link(committed, open_, settings)
    committed.commit()
    assert link.startswith("/archive/pay-rise?key=")

    page = client.get(link)
    assert page.status_code == 200 and "<h1>Pay Rise</h1>" in page.text
    assert '<meta name="robots" content="noindex">' in page.text
    assert page.headers["X-Robots-Tag"] == "noindex"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    bonus_key = emails_link(committed, bonus, settings).partition("?")[2]
    committed.rollback()
    for refused in ("/archive/pay-rise", "/archive/pay-rise?key=", "/archive/pay-rise?key=nope",
                    f"/archive/pay-rise?{bonus_key}", f"{link}x"):  # fmt: skip
        missing = client.get(refused)
        assert missing.status_code == 404, refused  # as for an issue that does not exist
        assert missing.text == client.get("/archive/no-such-issue").text.replace(
            "no-such-issue", "pay-rise"
        )
    # One of its newsletters is public: an issue as before, with or without the key.
    for address in ("/archive/open-day", open_link):
        public = client.get(address)
        assert public.status_code == 200 and "noindex" not in public.text
        assert "X-Robots-Tag" not in public.headers
    listed = client.get("/archive").text
    assert issue_links(listed) == ["open-day"]
    feed = atom(client.get("/archive/feed.atom"))
    titles = [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")]
    assert titles == ["Open Day"]


def test_an_issue_to_everyone_opens_without_a_key_and_its_email_links_with_one(
    client, committed: Session, settings: Settings
):
    newsletters.create_newsletter(committed, "Staff Notes", "staff", public=False)
    first = send_issue(committed, "Town Hall", day=1, audience={"newsletters": ["staff"]})
    send_issue(committed, first.article, day=2)  # then sent to everyone: public
    committed.commit()
    link = emails_link(committed, first, settings)
    committed.commit()
    for address in ("/archive/town-hall", link, "/archive/town-hall?key=whatever"):
        page = client.get(address)
        assert page.status_code == 200 and "noindex" not in page.text, address

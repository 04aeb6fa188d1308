"""The public archive's listing (broadsheet.services.archive): newest send first, each article
once, keyset pages, private newsletters' issues kept out, and one newsletter's issues."""

from __future__ import annotations

import pytest

from broadsheet.errors import NotFound, ValidationError
from broadsheet.models import CampaignStatus
from broadsheet.services import archive, newsletters
from tests.support.archive import send_issue
from tests.support.factories import make_article


def titles(issues: list[archive.Issue]) -> list[str]:
    return [issue.title for issue in issues]


def test_sent_issues_come_newest_first_and_unsent_ones_not_at_all(db):
    send_issue(db, "Second", day=2)
    send_issue(db, "Third", day=3)
    send_issue(db, "First", day=1)
    send_issue(db, "Still Sending", day=4, status=CampaignStatus.SENDING)
    send_issue(db, "Dropped", day=5, status=CampaignStatus.CANCELLED)
    make_article(db, "Never Sent")

    issues = archive.list_issues(db)

    assert titles(issues) == ["Third", "Second", "First"]
    assert issues[0].dek == "About third."
    assert issues[0].sent_at.day == 4  # START is the 1st; day 3 after it


def test_an_article_sent_twice_is_listed_once_at_its_newest_send(db):
    weekly = newsletters.create_newsletter(db, "Weekly")
    daily = newsletters.create_newsletter(db, "Daily")
    twice = make_article(db, "Told Twice")
    send_issue(db, twice, day=1, audience={"newsletters": ["daily"]})
    send_issue(db, "Between", day=2)
    latest = send_issue(db, twice, day=3, audience={"newsletters": ["weekly"]})

    issues = archive.list_issues(db)
    assert titles(issues) == ["Told Twice", "Between"]
    assert issues[0].campaign_id == latest.id
    # Each newsletter lists it at its own send.
    assert titles(archive.list_issues(db, newsletter=daily)) == ["Between", "Told Twice"]
    assert titles(archive.list_issues(db, newsletter=weekly)) == ["Told Twice", "Between"]


def test_pages_follow_on_from_the_last_issue_without_gaps_or_repeats(db):
    for day in range(7):
        send_issue(db, f"Issue {day}", day=day)
    # Two sends in the same instant: the campaign id breaks the tie.
    send_issue(db, "Issue 6b", day=6)
    again = make_article(db, "Sent Again")
    send_issue(db, again, day=0)
    send_issue(db, again, day=3)

    seen: list[str] = []
    before = None
    while page := archive.list_issues(db, before=before, limit=3):
        assert len(page) <= 3
        seen += titles(page)
        before = page[-1].campaign_id
    assert seen == [
        "Issue 6b", "Issue 6", "Issue 5", "Issue 4", "Sent Again", "Issue 3", "Issue 2",
        "Issue 1", "Issue 0",
    ]  # fmt: skip


def test_a_page_fills_up_past_many_issues_it_must_skip(db):
    secret = newsletters.create_newsletter(db, "Board Minutes", "board", public=False)
    send_issue(db, "Public, Old", day=0)
    for day in range(1, 250):
        send_issue(db, f"Minutes {day}", day=day, audience={"newsletters": [secret.slug]})
    send_issue(db, "Public, New", day=500)

    assert titles(archive.list_issues(db, limit=2)) == ["Public, New", "Public, Old"]


def test_issues_only_for_private_newsletters_stay_out(db):
    newsletters.create_newsletter(db, "Open", "open")
    newsletters.create_newsletter(db, "Staff", "staff", public=False)
    send_issue(db, "For Staff", day=1, audience={"newsletters": ["staff"]})
    send_issue(db, "For Both", day=2, audience={"newsletters": ["staff", "open"]})
    send_issue(db, "For Everyone", day=3)

    assert titles(archive.list_issues(db)) == ["For Everyone", "For Both"]


def test_a_newsletters_archive_holds_its_issues_and_those_to_everyone(db):
    daily = newsletters.create_newsletter(db, "Daily", "daily")
    newsletters.create_newsletter(db, "Weekly", "weekly")
    send_issue(db, "Daily Only", day=1, audience={"newsletters": ["daily"]})
    send_issue(db, "Weekly Only", day=2, audience={"newsletters": ["weekly"]})
    send_issue(db, "Everyone", day=3)
    send_issue(db, "Both", day=4, audience={"newsletters": ["weekly", "daily"]})

    found = archive.public_newsletter(db, "daily")
    assert found.id == daily.id
    assert titles(archive.list_issues(db, newsletter=found)) == ["Both", "Everyone", "Daily Only"]


@pytest.mark.parametrize("slug", ["staff", "nobody", "", "a\x00b", None, 7])
def test_a_private_or_unknown_newsletter_has_no_archive(db, slug):
    newsletters.create_newsletter(db, "Staff", "staff", public=False)
    with pytest.raises(NotFound, match="no public newsletter"):
        archive.public_newsletter(db, slug)


@pytest.mark.parametrize("before", ["abc", "-1", "0", "1.5", "99999999"])
def test_a_page_marker_that_is_not_a_sent_issue_is_refused_naming_the_field(db, before):
    with pytest.raises(ValidationError) as caught:
        archive.list_issues(db, before=before)
    assert set(caught.value.fields) == {"before"}


def test_a_draft_campaigns_number_is_not_a_page_marker(db):
    draft = send_issue(db, "Draft", day=1, status=CampaignStatus.DRAFT)
    with pytest.raises(ValidationError, match="before"):
        archive.list_issues(db, before=draft.id)


def test_mail_chosen_by_tags_alone_is_not_an_issue_of_the_archive(db):
    daily = newsletters.create_newsletter(db, "Daily")
    send_issue(db, "For Donors", day=1, audience={"tags_any": ["donor"]})
    send_issue(
        db, "For Daily Donors", day=2, audience={"newsletters": ["daily"], "tags_any": ["donor"]}
    )
    send_issue(db, "For Everyone", day=3)
    assert titles(archive.list_issues(db)) == ["For Everyone", "For Daily Donors"]
    assert titles(archive.list_issues(db, newsletter=daily)) == ["For Everyone", "For Daily Donors"]

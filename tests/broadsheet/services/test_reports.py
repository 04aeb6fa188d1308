"""The reports as the admin lists them (broadsheet.services.reports): newest first, one kind or
all, keyset pages, each with its reader's address and its campaign's subject, and a precise
error for a kind or a page marker that is not one."""

from __future__ import annotations

import pytest

from broadsheet.errors import ValidationError
from broadsheet.models import ReportKind
from broadsheet.services.reports import list_reports
from tests.support.factories import make_campaign
from tests.support.history import reader, reported


def test_reports_come_newest_first_with_their_reader_and_campaign(db):
    campaign = make_campaign(db, "Tides")
    ann = reader(db, "ann@example.org")
    first = reported(db, ReportKind.HARD, subscriber_id=ann, campaign_id=campaign.id)
    second = reported(db, ReportKind.COMPLAINT, diagnostic=None)  # traced to nobody
    page = list_reports(db)
    assert [r.id for r in page.rows] == [second, first]
    newest, oldest = page.rows
    assert (newest.subscriber_email, newest.campaign_subject, newest.diagnostic) == (
        None, None, None,
    )  # fmt: skip
    assert (oldest.subscriber_id, oldest.subscriber_email) == (ann, "ann@example.org")
    assert (oldest.campaign_id, oldest.campaign_subject) == (campaign.id, "Tides")
    assert (oldest.status_code, oldest.kind) == ("5.1.1", ReportKind.HARD)
    assert "user unknown" in (oldest.diagnostic or "")
    assert page.next_before is None


def test_a_kind_filters_and_pages_continue_below_the_last_id(db):
    ids = {kind: [reported(db, kind) for _ in range(3)] for kind in ReportKind}
    page = list_reports(db, "soft", limit=2)
    assert [r.id for r in page.rows] == ids[ReportKind.SOFT][:0:-1]
    assert page.next_before == ids[ReportKind.SOFT][1]
    rest = list_reports(db, "soft", before=page.next_before, limit=2)
    assert [r.id for r in rest.rows] == [ids[ReportKind.SOFT][0]]
    assert rest.next_before is None
    assert len(list_reports(db, "", limit=200).rows) == 12


@pytest.mark.parametrize(
    ("kind", "before", "field"),
    [
        ("bounce", None, "kind"),
        ("HARD", None, "kind"),
        (None, "x", "before"),
        (None, "0", "before"),
    ],
)
def test_a_kind_or_page_marker_that_is_not_one_is_refused_on_its_field(db, kind, before, field):
    with pytest.raises(ValidationError) as caught:
        list_reports(db, kind, before)
    assert list(caught.value.fields) == [field]

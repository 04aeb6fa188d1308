"""The bounce and complaint reports page (/admin/reports) through the test client: every role
reads it; each report links to its reader and its campaign and shows what was said; a kind
filters; pages continue below the last id; a bad kind, page marker or size is a 422 naming
the parameter, never a 500."""

from __future__ import annotations

import re

import pytest

from broadsheet.models import ReportKind
from tests.support.admin import sign_in
from tests.support.factories import make_campaign, make_user
from tests.support.history import reader, reported

ROW = re.compile(r'<td data-label="Kind"><span class="status" data-status="(\w+)"')
OLDER = re.compile(r'href="(/admin/reports\?[^"]*before=\d+[^"]*)">Older')


@pytest.mark.parametrize("role", ["operator", "editor", "admin"])
def test_every_role_reads_the_reports_each_linked_to_reader_and_campaign(app, committed, role):
    campaign = make_campaign(committed, "Night Ferry")
    ann = reader(committed, "ann@example.org")
    reported(committed, ReportKind.HARD, subscriber_id=ann, campaign_id=campaign.id)
    make_user(committed, role)
    committed.commit()
    client = app.test_client()
    sign_in(client, f"{role}@example.org")
    answer = client.get("/admin/reports")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert f'href="/admin/subscribers/{ann}">ann@example.org</a>' in html
    assert f'href="/admin/campaigns/{campaign.id}">Night Ferry</a>' in html
    assert "Status 5.1.1" in html
    assert "550 5.1.1 &lt;ann@example.org&gt;: user unknown" in html
    assert "traced by its Message-ID" in html


def test_a_report_traced_to_nobody_says_so(editor, committed):
    reported(committed, ReportKind.SOFT, diagnostic="452 mailbox full")
    committed.commit()
    html = editor.get("/admin/reports").get_data(as_text=True)
    assert "not traced to our mail" in html
    assert "452 mailbox full" in html


def test_a_kind_filters_and_older_pages_follow(editor, committed):
    for kind in (ReportKind.COMPLAINT, ReportKind.HARD) * 3:
        reported(committed, kind)
    committed.commit()
    html = editor.get("/admin/reports?kind=complaint&limit=2").get_data(as_text=True)
    assert ROW.findall(html) == ["complaint", "complaint"]
    assert 'aria-current="page">Complaints' in html
    older = OLDER.search(html)
    assert older, "no link to the older page"
    rest = editor.get(older.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert ROW.findall(rest) == ["complaint"]
    assert not OLDER.search(rest)


def test_no_reports_of_a_kind_is_said_plainly(editor):
    html = editor.get("/admin/reports?kind=policy").get_data(as_text=True)
    assert "No policy refusals reported." in html


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("kind=bounces", "The kind parameter must be one of hard, soft, policy, complaint."),
        ("before=abc", "The before parameter must be the id of the last item of the page"),
        ("before=-3", "The before parameter must be a positive id."),
        ("before=99999999999999999999999", "The before parameter must be a positive id."),
        ("limit=0", "The limit parameter must be a whole number from 1 to 200."),
        ("limit=ten", "The limit parameter must be a whole number from 1 to 200."),
    ],
)
def test_a_bad_parameter_is_a_422_naming_it(editor, query, said):
    answer = editor.get(f"/admin/reports?{query}")
    assert answer.status_code == 422
    assert said in answer.get_data(as_text=True)

"""The campaign workflow in the admin, through the test client: create from an article,
preview the exact message, limit test sends, confirm before every state change, and no double
start from a second click or tab. (A test send through the real worker:
tests/e2e/test_test_sends.py.)"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from broadsheet.mail.checks import KEYS
from broadsheet.mail.preview import SAMPLE_EMAIL
from broadsheet.models import Campaign
from broadsheet.services.campaigns import start_send
from tests.support.admin import csrf_token, post_form, sign_in
from tests.support.api import bearer, html_part
from tests.support.factories import (
    add_readers,
    campaign_in,
    make_article,
    make_campaign,
    make_user,
)
from web.admin.times import duration


def campaign_row(committed, campaign_id: int) -> tuple[Any, ...]:
    """(status, subject, scheduled_at, rendered?) as committed; the read ends at once."""
    query = select(
        Campaign.status,
        Campaign.subject,
        Campaign.scheduled_at,
        Campaign.rendered_html.is_not(None),
    ).where(Campaign.id == campaign_id)
    try:
        status, subject, at, rendered = committed.execute(query).one()
        return status.value, subject, at, rendered
    finally:
        committed.rollback()


def draft(committed, **fields) -> int:
    campaign = make_campaign(committed, "Trains and Time", **fields)
    committed.commit()
    return campaign.id


def test_a_campaign_made_from_an_article_starts_with_its_title_and_dek(editor, committed):
    article = make_article(committed, "On Clocks", dek="Why every station has two.")
    committed.commit()
    form = editor.get(f"/admin/campaigns/new?article={article.id}").get_data(as_text=True)
    assert 'value="On Clocks"' in form and 'value="Why every station has two."' in form
    answer = post_form(
        editor, "/admin/campaigns", "/admin/campaigns/new", article_id=str(article.id),
        subject="", preheader="Two clocks, one time", audience="everyone",
    )  # fmt: skip
    assert answer.status_code == 303
    campaign_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    assert campaign_row(committed, campaign_id)[:2] == ("draft", "On Clocks")


def test_an_article_older_than_the_choices_is_still_the_one_chosen(editor, committed):
    old = make_article(committed, "An Old Piece", dek="From the archive.")
    for n in range(30):
        make_article(committed, f"Newer {n}")
    committed.commit()
    form = editor.get("/admin/campaigns/new").get_data(as_text=True)
    assert "An Old Piece" not in form, "only the latest articles are offered"
    form = editor.get(f"/admin/campaigns/new?article={old.id}").get_data(as_text=True)
    assert re.search(rf'<option value="{old.id}" selected>An Old Piece</option>', form)
    assert 'value="An Old Piece"' in form and 'value="From the archive."' in form


def test_a_bad_campaign_form_keeps_what_was_typed_and_says_why_by_each_field(editor, committed):
    make_article(committed)
    committed.commit()
    answer = post_form(
        editor, "/admin/campaigns", "/admin/campaigns/new", article_id="", subject="x" * 301,
        preheader="Kept as typed", audience="everyone",
    )  # fmt: skip
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="article_id-error"' in html and 'id="subject-error"' in html
    assert 'value="Kept as typed"' in html


# Past PostgreSQL's INTEGER, past 64 bits, superscript two and fullwidth one (both isdigit()).
@pytest.mark.parametrize("typed", ["2147483648", str(2**63), "\u00b2", "\uff11"])
def test_an_article_no_row_can_be_is_refused_by_its_field(editor, committed, typed):
    make_article(committed)
    committed.commit()
    offered = editor.get("/admin/campaigns/new", query_string={"article": typed})
    assert offered.status_code == 200, "the form, with no article chosen"
    answer = post_form(
        editor, "/admin/campaigns", "/admin/campaigns/new", article_id=typed, subject="Hello",
        preheader="", audience="everyone",
    )  # fmt: skip
    assert answer.status_code == 422
    assert 'id="article_id-error"' in answer.get_data(as_text=True)


def test_the_page_previews_the_exact_message_for_a_sample_reader(editor, committed):
    campaign_id = draft(committed, dek="The dek.")
    page = editor.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    assert SAMPLE_EMAIL in page and "Trains and Time" in page
    raw = editor.get(f"/admin/campaigns/{campaign_id}/preview.eml")
    assert raw.headers["Content-Type"] == "message/rfc822"
    message = email.message_from_bytes(raw.data, policy=email.policy.default)
    for header in ("Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post", "Date"):
        assert message[header], header
    html = html_part(message)
    assert editor.get(f"/admin/campaigns/{campaign_id}/preview.html").get_data(
        as_text=True
    ) == html.replace("<head>", '<head><base target="_blank">', 1).replace(
        "@media (prefers-color-scheme: dark)", "@media not all"
    )
    hidden = re.search(r'<div class="preheader"[^>]*>(.*?)</div>', html, re.S)
    assert hidden and hidden.group(1).startswith("The dek."), "the preheader heads the HTML"
    assert "display:none" in hidden.group(0).replace(" ", "")
    dark = editor.get(f"/admin/campaigns/{campaign_id}/preview.html?scheme=dark")
    assert "@media all" in dark.get_data(as_text=True)
    assert "sandbox" in dark.headers["Content-Security-Policy"], "the message's HTML is fenced"


def test_a_draft_says_what_comes_next_instead_of_counting_nothing(app, editor, committed):
    add_readers(committed, 3)
    campaign_id = draft(committed)
    page = editor.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    assert "Not sent yet" in page and "It would go to <strong>3</strong> readers" in page
    assert "Next: read the preview and the checks below" in page
    assert "data-count=" not in page, "no card of zero counts"
    make_user(committed, "operator")
    operator = app.test_client()
    sign_in(operator, "operator@example.org")
    seen = operator.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    assert "An editor checks it" in seen and "The message</h2>" not in seen


def test_a_sent_campaign_says_when_it_started_and_finished_and_how_fast(editor, committed):
    add_readers(committed, 40)
    campaign = campaign_in(committed, "sent", "Night Trains")
    finished_at = campaign.finished_at
    assert finished_at is not None
    started = finished_at - timedelta(minutes=3, seconds=12)
    committed.execute(update(Campaign).where(Campaign.id == campaign.id).values(started_at=started))
    committed.commit()
    page = editor.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    timing = page[
        page.index("data-live-timing") : page.index("</dl>", page.index("data-live-timing"))
    ]
    for shown in ("Started", started.strftime("%-d %b %Y, %H:%M"), "Finished",
                  finished_at.strftime("%H:%M"), "Took, pauses included",
                  "3 min 12 s", "On average", "12.5 messages a minute"):  # fmt: skip
        assert shown in timing, shown
    finished = editor.get(f"/admin/campaigns/{campaign.id}/progress").get_json()["finished"]
    assert finished == {
        "at": finished_at.isoformat(),
        "took": "3 min 12 s",
        "pace": "12.5 messages a minute",
    }, "what the page's script shows when a send ends while it is open"


@pytest.mark.parametrize(
    ("seconds", "said"),
    [(0.42, "0.4 s"), (45, "45 s"), (60, "1 min"), (192, "3 min 12 s"), (7500, "2 h 5 min"),
     (90_000, "1 d 1 h")],
)  # fmt: skip
def test_durations_are_said_as_people_say_them(seconds, said):
    assert duration(seconds) == said


def test_editing_the_subject_re_renders_the_preview(editor, committed):
    campaign_id = draft(committed)
    editor.get(f"/admin/campaigns/{campaign_id}")  # renders and stores it
    assert campaign_row(committed, campaign_id)[3] is True
    answer = post_form(
        editor, f"/admin/campaigns/{campaign_id}/edit", f"/admin/campaigns/{campaign_id}",
        subject="A Better Subject", preheader="",
    )  # fmt: skip
    assert answer.status_code == 303
    raw = editor.get(f"/admin/campaigns/{campaign_id}/preview.eml").data
    assert b"Subject: A Better Subject" in raw


def test_sending_asks_first_naming_the_audience_then_starts_once(editor, committed):
    add_readers(committed, 3)
    campaign_id = draft(committed)
    page = f"/admin/campaigns/{campaign_id}"
    asked = post_form(editor, f"{page}/send", page)
    assert asked.status_code == 200 and "Send to 3 readers" in asked.get_data(as_text=True)
    assert campaign_row(committed, campaign_id)[0] == "draft", "nothing happens before yes"
    token = csrf_token(editor, page)
    first = editor.post(f"{page}/send", data={"csrf_token": token, "confirm": "yes"})
    again = editor.post(f"{page}/send", data={"csrf_token": token, "confirm": "yes"})
    assert first.status_code == again.status_code == 303
    assert campaign_row(committed, campaign_id)[0] == "sending"
    shown = editor.get(page).get_data(as_text=True)
    assert "Nothing changed: this campaign is sending now" in shown, "the 409, said plainly"


def test_scheduling_reads_the_editors_timezone_and_shows_utc(editor, committed):
    campaign_id = draft(committed)
    page = f"/admin/campaigns/{campaign_id}"
    paris = ZoneInfo("Europe/Paris")
    local = (datetime.now(paris) + timedelta(days=2)).replace(hour=7, minute=0, second=0)
    fields = {"local_time": local.strftime("%Y-%m-%dT%H:%M"), "timezone": "Europe/Paris"}
    asked = post_form(editor, f"{page}/schedule", page, **fields).get_data(as_text=True)
    utc = local.astimezone(UTC)
    assert "at 07:00 (Europe/Paris)" in asked and f"{utc:%H:%M} UTC" in asked
    done = post_form(editor, f"{page}/schedule", page, confirm="yes", **fields)
    assert done.status_code == 303
    status, _, scheduled_at, _ = campaign_row(committed, campaign_id)
    assert status == "scheduled" and scheduled_at == utc.replace(second=0, microsecond=0)


@pytest.mark.parametrize("typed", ["2001-01-01T07:00", "tomorrow", ""])
def test_a_past_or_unreadable_time_is_an_error_next_to_the_field(editor, committed, typed):
    campaign_id = draft(committed)
    page = f"/admin/campaigns/{campaign_id}"
    answer = post_form(editor, f"{page}/schedule", page, local_time=typed, timezone="UTC")
    assert answer.status_code == 422
    assert 'id="local_time-error"' in answer.get_data(as_text=True)
    assert campaign_row(committed, campaign_id)[0] == "draft"


def test_an_operator_may_pause_but_not_send_resume_or_cancel(app, committed):
    make_user(committed, "operator")
    client = app.test_client()
    sign_in(client, "operator@example.org")
    campaign = make_campaign(committed)
    start_send(committed, campaign.id)
    committed.commit()
    page = f"/admin/campaigns/{campaign.id}"
    html = client.get(page).get_data(as_text=True)
    assert ">Pause</button>" in html and "Send the test" not in html
    for action in ("send", "resume", "cancel", "retry-failed", "test", "edit"):
        assert post_form(client, f"{page}/{action}", page, confirm="yes").status_code == 403
    assert post_form(client, f"{page}/pause", page, confirm="yes").status_code == 303
    assert campaign_row(committed, campaign.id)[0] == "paused"


# For each state, the controls an editor sees and, for each control, the states the page's
# script shows it in (it reads `data-when` as the state changes under it).
SHOWN = {
    "sending": {"pause", "cancel"},
    "paused": {"resume", "cancel"},
    "sent": set(),  # retry-failed too, once a delivery failed
    "cancelled": set(),
}
WHEN = {
    "pause": "sending",
    "resume": "paused",
    "retry-failed": "sending paused sent",
    "cancel": "draft scheduled sending paused",
}


@pytest.mark.parametrize("status", SHOWN)
def test_a_campaign_shows_the_controls_its_state_allows(editor, committed, status):
    add_readers(committed, 2)
    campaign = campaign_in(committed, status)
    html = editor.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    forms = re.findall(r'<form method="post" action="[^"]*/(\w[\w-]*)"\s+data-when="([^"]*)"'
                       r'(?: data-needs="failed")?(\s+hidden)?>', html)  # fmt: skip
    assert {name: when for name, when, _ in forms} == WHEN
    assert {name for name, _, hidden in forms if not hidden} == SHOWN[status]


def test_cancel_asks_first_and_says_what_is_lost(editor, committed):
    add_readers(committed, 2)
    campaign_id = draft(committed)
    page = f"/admin/campaigns/{campaign_id}"
    asked = post_form(editor, f"{page}/cancel", page).get_data(as_text=True)
    assert "Cancel “Trains and Time”?" in asked and "cannot be undone" in asked
    assert post_form(editor, f"{page}/cancel", page, confirm="yes").status_code == 303
    assert campaign_row(committed, campaign_id)[0] == "cancelled"


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "at least one address"),
        ("ann@example.org, not-an-address", "not-an-address"),
        (", ".join(f"t{n}@example.org" for n in range(11)), "at most 10"),
    ],
)
def test_a_bad_test_send_says_why_next_to_the_field(editor, committed, typed, says):
    campaign_id = draft(committed)
    page = f"/admin/campaigns/{campaign_id}"
    answer = post_form(editor, f"{page}/test", page, addresses=typed)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    error = re.search(r'id="addresses-error">(.*?)</p>', html, re.S)
    assert error and says.lower() in error.group(1).lower()


def test_test_sends_are_limited_per_editor(editor, committed, monkeypatch):
    # Record the copies asked for instead of publishing them: a worker started by an earlier
    # test would still be mailing thirty copies while the next test listens at the SMTP server.
    asked: list[list[str]] = []
    monkeypatch.setattr(
        "web.enqueue.copies_for_test", lambda _id, addresses, _by: asked.append(addresses)
    )
    campaign_id = draft(committed)
    page = f"/admin/campaigns/{campaign_id}"
    ten = ", ".join(f"t{n}@example.org" for n in range(10))
    for _ in range(3):
        assert post_form(editor, f"{page}/test", page, addresses=ten).status_code == 303
    refused = post_form(editor, f"{page}/test", page, addresses="one@example.org")
    assert refused.status_code == 429
    assert "most test messages allowed" in refused.get_data(as_text=True)
    assert [len(addresses) for addresses in asked] == [10, 10, 10]


def test_the_checks_show_before_the_send_and_a_failure_must_be_acknowledged(editor, committed):
    add_readers(committed, 2)
    campaign_id = draft(committed, body_markdown="See [our about page](/about).")
    page = f"/admin/campaigns/{campaign_id}"
    html = editor.get(page).get_data(as_text=True)
    checks = html.index('id="checks"')
    assert 'data-level="fail"' in html[checks:], "the lost relative link fails"
    assert html.index('id="checks"') < html.index('id="send"'), "checks come before sending"
    token = csrf_token(editor, page)
    unticked = editor.post(f"{page}/send", data={"csrf_token": token, "confirm": "yes"})
    assert unticked.status_code == 200 and "Tick this box" in unticked.get_data(as_text=True)
    assert campaign_row(committed, campaign_id)[0] == "draft"
    sent = editor.post(
        f"{page}/send", data={"csrf_token": token, "confirm": "yes", "acknowledge": "yes"}
    )
    assert sent.status_code == 303 and campaign_row(committed, campaign_id)[0] == "sending"


def test_the_api_gives_the_same_checks(client, editor, committed):
    campaign_id = draft(committed, body_markdown="See [our about page](/about).")
    headers = bearer(committed)
    body = client.get(f"/api/v1/campaigns/{campaign_id}/checks", headers=headers).get_json()
    assert body["worst"] == "fail"
    keys = [c["key"] for c in body["checks"]]
    assert keys == list(KEYS)
    html = editor.get(f"/admin/campaigns/{campaign_id}").get_data(as_text=True)
    for check in body["checks"]:
        assert f'data-level="{check["level"]}"' in html
    assert client.get("/api/v1/campaigns/999/checks", headers=headers).status_code == 404

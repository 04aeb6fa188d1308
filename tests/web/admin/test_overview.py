"""The overview (/admin/) through the test client: every role reads it; readers joining and
leaving per day in the configured zone, for the period chosen; the latest campaigns side by
side with their rates; a warning in plain words for a campaign above Gmail's complaint line;
and a period that is not one answered 422 naming `period`, never a 500."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from broadsheet.models import Delivery, DeliveryStatus, ReportKind, utcnow
from tests.support.admin import sign_in
from tests.support.factories import add_readers, campaign_in, make_user
from tests.support.history import changed, reported
from worker import heartbeat

DAY_ROWS = re.compile(r'<tr><th scope="row"><time datetime="([\d-]+)">')


def signed_in(app, committed, role: str):
    make_user(committed, role)
    client = app.test_client()
    sign_in(client, f"{role}@example.org")
    return client


@pytest.mark.parametrize("role", ["operator", "editor", "admin"])
def test_every_role_reads_the_overview_with_a_link_to_the_reports(app, committed, role):
    answer = signed_in(app, committed, role).get("/admin/")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "Readers joining and leaving" in html
    assert 'href="/admin/reports"' in html  # the admin bar's Reports


@pytest.mark.parametrize(("period", "rows"), [(None, 30), ("7", 7), ("90", 90)])
def test_the_day_table_has_a_row_for_every_day_of_the_period(editor, period, rows):
    html = editor.get("/admin/", query_string={"period": period}).get_data(as_text=True)
    days = DAY_ROWS.findall(html)
    assert len(days) == rows
    assert days == sorted(days, reverse=True)  # newest first
    assert f'aria-current="page">Last {rows} days' in html


@pytest.mark.parametrize("period", ["14", "week", "-1", "7;drop", "9" * 50])
def test_a_period_that_is_not_one_is_a_422_naming_it(editor, period):
    answer = editor.get("/admin/", query_string={"period": period})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "The period parameter must be one of 7, 30, 90 (days)." in html
    assert len(DAY_ROWS.findall(html)) == 30  # the default period is still shown


def test_days_follow_the_configured_zone(app, editor, committed, settings):
    now = utcnow()
    app.config["BROADSHEET"] = replace(settings, timezone="Pacific/Kiritimati")  # UTC+14
    changed(committed, now, None, "pending")
    committed.commit()
    html = editor.get("/admin/?period=7").get_data(as_text=True)
    newest = DAY_ROWS.findall(html)[0]
    assert newest == (now + timedelta(hours=14)).date().isoformat()
    assert "Days in Pacific/Kiritimati" in html
    cells = re.search(rf'datetime="{newest}">[^<]+</time></th>\s*<td class="num">(\d+)', html)
    assert cells and cells.group(1) == "1"


def test_campaigns_side_by_side_show_rates_and_a_warning_above_gmails_line(app, committed):
    client = signed_in(app, committed, "operator")
    add_readers(committed, 4)
    campaign = campaign_in(committed, "sent", "Harbour Lights")
    readers = list(
        committed.scalars(
            select(Delivery.subscriber_id)
            .where(Delivery.campaign_id == campaign.id)
            .order_by(Delivery.id)
        )
    )
    committed.execute(
        update(Delivery)
        .where(Delivery.campaign_id == campaign.id, Delivery.subscriber_id == readers[0])
        .values(status=DeliveryStatus.BOUNCED)
    )
    reported(committed, ReportKind.COMPLAINT, subscriber_id=readers[1], campaign_id=campaign.id)
    committed.commit()
    html = client.get("/admin/").get_data(as_text=True)
    assert "“Harbour Lights” drew complaints from 25.00% of the readers it reached (1 of 4)" in html
    assert 'href="/admin/reports?kind=complaint"' in html
    row = html[html.index('class="listing compact side-by-side"') :]
    assert '<td data-label="Sent" class="num">4 of 4</td>' in row
    assert '1 <span class="rate">(25.0%)</span>' in row
    assert "above Gmail's line" in row


def test_no_warning_when_complaints_stay_under_the_line(editor, committed):
    add_readers(committed, 2)
    campaign_in(committed, "sent", "Quiet Week")
    html = editor.get("/admin/").get_data(as_text=True)
    assert "drew complaints" not in html
    assert "Quiet Week" in html


def test_the_system_shows_what_workers_beat_and_the_bounce_poll_left_and_warns(
    editor, stack, settings
):
    client = stack["redis"].client()
    relay = settings.relays[0].name
    heartbeat.ticked(client)
    heartbeat.relay_refused(client, relay, "Connection refused")
    heartbeat.relay_refused(client, "gone", "an old relay no longer configured")
    heartbeat.mailbox_polled(client, False, "login failed")
    html = editor.get("/admin/").get_data(as_text=True)
    system = html[html.index('id="system"') :]
    assert f"Relay {relay} refuses connections: Connection refused." in html  # a warning
    assert "gone" not in html
    assert "has not ticked" not in html  # it just did
    assert re.search(r"Scheduler's last tick</dt><dd>\d+\.\d s ago", system)
    assert "<strong>failed</strong>, login failed" in system
    assert "<code>Connection refused</code>" in system

"""Reports to admins, on the real database: owed with the status change that calls for them,
once per campaign and admin however often the code that notices runs, only to active admins,
and built as a plain, valid message with the campaign's figures and link."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

from sqlalchemy import select, update

from broadsheet.mail.campaign_report import CampaignFigures, campaign_report_message
from broadsheet.models import Delivery, OutboxKind, OutboxMessage, User, utcnow
from broadsheet.services import admin_reports, outbox_queue
from broadsheet.services.campaigns import pause, pause_if_failing, resume
from broadsheet.services.ledger import complete_if_done
from broadsheet.services.users import create_user
from tests.support.factories import planned_campaign

LEASE = timedelta(minutes=5)


def people(db) -> dict[str, int]:
    """Two active admins, one deactivated admin, an editor and an operator."""
    made = {
        name: create_user(db, f"{name}@example.org", "a long enough password", role)
        for name, role in [
            ("ada", "admin"), ("bob", "admin"), ("gone", "admin"),
            ("ed", "editor"), ("op", "operator"),
        ]
    }  # fmt: skip
    made["gone"].active = False
    db.flush()
    return {name: user.id for name, user in made.items()}


def owed(db) -> list[tuple[str, int | None, int | None]]:
    rows = db.execute(
        select(OutboxMessage.kind, OutboxMessage.campaign_id, OutboxMessage.user_id)
        .where(OutboxMessage.user_id.is_not(None))
        .order_by(OutboxMessage.id)
    )
    return [(kind.value, campaign, user) for kind, campaign, user in rows]


def sent_all(db, campaign_id: int, failed: int = 0) -> None:
    ids = db.scalars(select(Delivery.id).where(Delivery.campaign_id == campaign_id)).all()
    db.execute(update(Delivery).where(Delivery.id.in_(ids[failed:])).values(status="sent"))
    db.execute(update(Delivery).where(Delivery.id.in_(ids[:failed])).values(status="failed"))


def test_a_sent_campaign_owes_each_active_admin_one_report_however_often_it_is_noticed(db):
    who = people(db)
    campaign_id, _ = planned_campaign(db, readers=4)
    sent_all(db, campaign_id)
    assert complete_if_done(db, campaign_id, notify_admins=True) == 1
    assert complete_if_done(db, notify_admins=True) == 0, "already sent: nothing noticed again"
    queued_again = admin_reports.queue_reports(db, OutboxKind.CAMPAIGN_SENT, [campaign_id])
    assert queued_again == 0, "the unique key refuses a second report"
    expected = [("campaign_sent", campaign_id, who[name]) for name in ("ada", "bob")]
    assert owed(db) == expected


def test_no_report_without_notify_admins_nor_for_an_operators_pause(db):
    people(db)
    campaign_id, _ = planned_campaign(db, readers=2)
    pause(db, campaign_id)
    resume(db, campaign_id)
    sent_all(db, campaign_id)
    assert complete_if_done(db, campaign_id) == 1
    assert owed(db) == []


def test_a_campaign_pausing_itself_owes_a_paused_report(db):
    who = people(db)
    campaign_id, _ = planned_campaign(db, readers=10)
    sent_all(db, campaign_id, failed=6)
    reason = pause_if_failing(db, campaign_id, rate=0.5, after=5, notify_admins=True)
    assert reason and reason.startswith("paused automatically")
    assert owed(db) == [("campaign_paused", campaign_id, who[n]) for n in ("ada", "bob")]


def test_a_claim_carries_the_figures_and_fails_a_report_to_a_former_admin(db):
    who = people(db)
    campaign_id, _ = planned_campaign(db, readers=5)
    sent_all(db, campaign_id, failed=2)
    complete_if_done(db, campaign_id, notify_admins=True)
    db.execute(update(User).where(User.id == who["bob"]).values(role="editor"))
    held = outbox_queue.claim(db, "sweep-a", LEASE, 10)
    assert [h.address for h in held] == ["ada@example.org"]
    report = held[0].report
    assert report is not None and held[0].reader is None
    assert report.figures.counts["sent"] == 3 and report.figures.counts["failed"] == 2
    errors = db.scalars(select(OutboxMessage.last_error).where(OutboxMessage.user_id.is_not(None)))
    assert set(errors) == {outbox_queue.NOT_ADMIN, None}


def parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_the_report_is_a_plain_valid_message_with_figures_link_and_how_to_stop_it(settings):
    started = utcnow() - timedelta(minutes=10)
    counts = {"sent": 1200, "failed": 3, "bounced": 2, "unknown": 1, "queued": 0, "total": 1206}
    figures = CampaignFigures(7, "Rate of Change", started, None, counts)
    raw = campaign_report_message(
        "ada@example.org", figures, started + timedelta(minutes=10), paused=False,
        settings=settings,
    )  # fmt: skip
    message = parse(raw)
    assert message["Subject"] == "Sent: Rate of Change"
    assert message["To"] == "ada@example.org" and message["Message-ID"]
    for header in ("List-Unsubscribe", "Precedence", "X-Broadsheet-Subscriber"):
        assert message[header] is None, header
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    body = text.get_content()
    for line in ("Sent:          1,200", "Failed:        3", "Bounced:       2", "Unknown:       1",
                 "Duration:      10 min 00 s", "Average rate:  120 a minute"):  # fmt: skip
        assert line in body, line
    assert f"{settings.public_url}/admin/campaigns/7" in body
    assert "NOTIFY_ADMINS=off" in body and "admin account" in body
    html = message.get_body(preferencelist=("html",))
    assert html is not None and f"{settings.public_url}/admin/campaigns/7" in html.get_content()


def test_a_paused_report_says_why_and_what_to_do(settings):
    reason = "paused automatically: 30 of 40 deliveries failed (limit 5%)"
    counts = {"sent": 10, "failed": 30, "queued": 60, "total": 100}
    figures = CampaignFigures(9, "Rate of Change", utcnow(), reason, counts)
    message = parse(
        campaign_report_message(
            "ada@example.org", figures, utcnow(), paused=True, settings=settings
        )
    )
    assert message["Subject"] == "Paused itself: Rate of Change"
    text = message.get_body(preferencelist=("plain",))
    assert text is not None
    body = text.get_content()
    assert reason in body and "resume" in body and "60 messages are not sent yet" in body

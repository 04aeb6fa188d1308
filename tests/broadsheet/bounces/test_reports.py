"""Bounce and complaint reports: reading DSNs and ARF reports, tracing them to the campaign and
reader they are about, and suppressing readers, once, on a real database.

The sample mails in tests/fixtures/bounces/ are about campaign 41 and readers 7-13; their
Message-IDs carry the HMAC made with the test SECRET_KEY.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadsheet.bounces.intake import Outcome, process_mail
from broadsheet.bounces.matching import Match, match_report, verp_address
from broadsheet.bounces.parse import read_report
from broadsheet.bounces.report import Report
from broadsheet.errors import ConfigError
from broadsheet.mail.skeleton import make_message_id
from broadsheet.models import (
    BounceReport,
    Campaign,
    CampaignStatus,
    Delivery,
    DeliveryStatus,
    ReportKind,
    Subscriber,
    SubscriberStatus,
    utcnow,
)
from broadsheet.services.articles import create_article
from broadsheet.services.suppression import SoftBounceLimit
from broadsheet.settings import load_settings
from tests.support import FIXTURES_DIR

FIXTURES = FIXTURES_DIR / "bounces"
SECRET = "test-secret-key-not-for-production"
READERS = {7: "ann", 8: "ben", 9: "cat", 10: "dan", 11: "eve", 12: "fay", 13: "gus"}
SOFT_LIMIT = SoftBounceLimit(campaigns=3, days=30)  # the defaults
# Soft bounces about Cat (reader 9): campaign 41 delayed, then given up; 42 and 43 given up.
SOFT_BOUNCES = {
    "soft-4.2.2-mailbox-full.eml": 41,
    "soft-4.2.2-gave-up.eml": 41,
    "soft-4.4.7-expired.eml": 42,
    "soft-exim-retry-timeout.eml": 43,
}


def sample(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def sent(db):
    """Campaign 41, sent to readers 7-13: the ids the sample mails name."""
    article = create_article(db, title="The Case for Slower News", body_markdown="Steady on.")
    db.add(
        Campaign(id=41, article_id=article.id, subject=article.title, status=CampaignStatus.SENT)
    )
    for sid, name in READERS.items():
        email = f"{name}@example.com"
        db.add(Subscriber(id=sid, email=email, email_key=email, status=SubscriberStatus.ACTIVE))
    db.flush()
    for sid in READERS:
        message_id = make_message_id(41, sid, "example.org", SECRET)
        db.add(Delivery(campaign_id=41, subscriber_id=sid, status="sent", message_id=message_id))
    db.flush()
    return db


@pytest.fixture
def three_sent(sent):
    """Campaigns 41, 42 and 43, each sent to readers 7-13."""
    for campaign_id in (42, 43):
        sent.add(Campaign(id=campaign_id, article_id=sent.get(Campaign, 41).article_id,
                          subject=f"Issue {campaign_id}", status=CampaignStatus.SENT))  # fmt: skip
        sent.flush()
        for sid in READERS:
            sent.add(Delivery(campaign_id=campaign_id, subscriber_id=sid, status="sent"))
    sent.flush()
    return sent


def process(db, raw: bytes, soft_limit: SoftBounceLimit = SOFT_LIMIT) -> Outcome:
    outcome = process_mail(db, raw, SECRET, soft_limit=soft_limit)
    db.expire_all()  # the services update deliveries in bulk
    return outcome


def reader(db: Session, sid: int) -> Subscriber:
    return db.get_one(Subscriber, sid)


def delivery(db: Session, sid: int) -> Delivery:
    return db.execute(
        select(Delivery).where(Delivery.campaign_id == 41, Delivery.subscriber_id == sid)
    ).scalar_one()


def reports(db: Session) -> int:
    return db.execute(select(func.count()).select_from(BounceReport)).scalar_one()


def a_report(raw: bytes) -> Report:
    """read_report of a mail that holds a report."""
    report = read_report(raw)
    assert report is not None, "no report read"
    return report


def without(raw: bytes, header: str) -> bytes:
    """The sample with every `header:` line removed (as from a mangled or minimal original)."""
    return re.sub(rb"(?mi)^" + header.encode() + rb":.*\n", b"", raw)


# --- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "recipient", "status"),
    [
        ("postfix-5.1.1-user-unknown.eml", ReportKind.HARD, "ann@example.com", "5.1.1"),
        ("exim-5.1.1-plain.eml", ReportKind.HARD, "ben@example.com", "5.1.1"),
        ("soft-4.2.2-mailbox-full.eml", ReportKind.SOFT, "cat@example.com", "4.2.2"),
        ("policy-5.7.1-rejected.eml", ReportKind.POLICY, "dan@example.com", "5.7.1"),
        ("headers-only-5.2.1.eml", ReportKind.HARD, "eve@example.com", "5.2.1"),
        ("not-ours-5.1.1.eml", ReportKind.HARD, "zed@example.com", "5.1.1"),
        ("arf-yahoo-abuse.eml", ReportKind.COMPLAINT, "fay@example.com", None),
        ("arf-headers-only.eml", ReportKind.COMPLAINT, "redacted@example.com", None),
    ],
)
def test_samples_are_read(name, kind, recipient, status):
    report = read_report(sample(name))
    assert report is not None
    assert (report.kind, report.recipient, report.status) == (kind, recipient, status)
    assert report.original is not None, "the returned original (or its headers) is found"
    if kind != ReportKind.COMPLAINT:
        assert status in (report.diagnostic or ""), "the remote server's words are kept"


def test_vague_status_is_sharpened_from_the_diagnostic():
    raw = sample("postfix-5.1.1-user-unknown.eml").replace(b"Status: 5.1.1", b"Status: 5.0.0")
    assert a_report(raw).status == "5.1.1"  # as Exim reports it


def test_base64_encoded_delivery_status_is_read():
    raw = sample("headers-only-5.2.1.eml").decode()
    head, _, rest = raw.partition("Content-Type: message/delivery-status\n\n")
    fields, _, tail = rest.partition("\n--4Xk2Nq3Vb1z9vJ")
    encoded = base64.encodebytes(fields.encode()).decode()
    raw = (
        f"{head}Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
        f"{encoded}\n--4Xk2Nq3Vb1z9vJ{tail}"
    )
    report = a_report(raw.encode())
    assert (report.kind, report.status, report.recipient) == ("hard", "5.2.1", "eve@example.com")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage \x80" * 50,
        b"From: Ann <ann@example.com>\nSubject: Out of office\n\nI am away until Monday.\n",
        # A successful delivery notification is not a bounce.
        sample("postfix-5.1.1-user-unknown.eml")
        .replace(b"Action: failed", b"Action: delivered")
        .replace(b"Status: 5.1.1", b"Status: 2.0.0"),
        # A DMARC failure report is not a complaint.
        sample("arf-yahoo-abuse.eml").replace(
            b"Feedback-Type: abuse", b"Feedback-Type: auth-failure"
        ),
        # Broken structures: no boundary, a truncated report, a report with no fields.
        b"Content-Type: multipart/report; report-type=delivery-status\n\n--x\n",
        sample("postfix-5.1.1-user-unknown.eml")[:900],
        b"Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n"
        b"--b\nContent-Type: message/feedback-report\n\n--b--\n",
        # A mailer daemon's note without any SMTP failure in it.
        b"From: MAILER-DAEMON@example.com\nSubject: Notice\n\nYour mail is queued.\n",
    ],
)
def test_anything_else_is_not_a_report_and_never_raises(raw, sent, caplog):
    before = reports(sent)
    assert process(sent, raw) == Outcome("ignored")
    assert reports(sent) == before
    assert "cannot read" not in caplog.text, "handled by the parsers, not the last-resort catch"


# --- tracing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("postfix-5.1.1-user-unknown.eml", Match(41, 7, "message-id")),
        ("exim-5.1.1-plain.eml", Match(41, 8, "message-id")),
        ("soft-4.2.2-mailbox-full.eml", Match(41, 9, "message-id")),
        ("policy-5.7.1-rejected.eml", Match(41, 10, "message-id")),
        ("headers-only-5.2.1.eml", Match(41, 11, "message-id")),
        ("arf-yahoo-abuse.eml", Match(41, 12, "message-id")),
        ("arf-headers-only.eml", Match(41, 13, "message-id")),
        ("not-ours-5.1.1.eml", None),
    ],
)
def test_each_sample_is_traced_to_its_reader(name, expected):
    assert match_report(a_report(sample(name)), SECRET) == expected


@pytest.mark.parametrize(("name", "campaign_id"), SOFT_BOUNCES.items())
def test_soft_bounce_samples_are_read_and_traced(name, campaign_id):
    report = a_report(sample(name))
    assert (report.kind, report.recipient) == (ReportKind.SOFT, "cat@example.com")
    assert (report.status or "").startswith("4.") and report.diagnostic, "the remote words are kept"
    assert match_report(report, SECRET) == Match(campaign_id, 9, "message-id")


def test_a_message_id_without_our_hmac_is_not_trusted():
    forged = sample("postfix-5.1.1-user-unknown.eml").replace(b".b552783a@", b".b552783b@")
    # Falls back to the (unauthenticated) headers, which intake checks against the ledger.
    assert match_report(a_report(forged), SECRET) == Match(41, 7, "headers")
    bare = without(without(forged, "X-Broadsheet-Subscriber"), "X-Broadsheet-Campaign")
    assert match_report(a_report(bare), SECRET) is None
    assert match_report(a_report(sample("postfix-5.1.1-user-unknown.eml")), "other key") == (
        Match(41, 7, "headers")
    )


def test_verp_return_path_traces_a_report_without_its_original():
    assert verp_address("news@example.org", 41, 8, SECRET) == "news+bs.c41.s8.37342cc7@example.org"
    raw = without(sample("exim-5.1.1-plain.eml"), "Message-ID")
    assert match_report(a_report(raw), SECRET) == Match(41, 8, "verp")
    tampered = raw.replace(b"news+bs.c41.s8.", b"news+bs.c41.s9.")
    tampered_match = match_report(a_report(tampered), SECRET)
    assert tampered_match is not None and tampered_match.method == "headers"


def test_message_id_quoted_in_the_prose_is_enough():
    raw = sample("arf-headers-only.eml").decode()
    raw = raw.replace("message-id of\nbs.c41", "message-id of\n<bs.c41").replace(
        "example.org received", "example.org> received"
    )
    raw = raw.split("--boundary-1764349533-5521\nContent-Type: text/rfc822-headers")[0]
    assert match_report(a_report(raw.encode()), SECRET) == Match(41, 13, "message-id")


# --- applying ------------------------------------------------------------------------------


def test_hard_bounce_suppresses_the_reader_and_bounces_the_delivery(sent):
    outcome = process(sent, sample("postfix-5.1.1-user-unknown.eml"))
    assert outcome.action == "suppressed"
    ann = reader(sent, 7)
    assert ann.status == SubscriberStatus.BOUNCED
    assert ann.bounced_at is not None and ann.status_changed_at == ann.bounced_at
    row = delivery(sent, 7)
    assert row.status == DeliveryStatus.BOUNCED
    assert (row.relay_reply or "").startswith("smtp; 550 5.1.1 <ann@example.com>")
    record = sent.scalar(select(BounceReport))
    assert (record.kind, record.subscriber_id, record.campaign_id) == ("hard", 7, 41)
    assert (record.status_code, record.matched_by, record.source) == (
        "5.1.1",
        "message-id",
        "mailbox",
    )
    assert all(reader(sent, sid).status == "active" for sid in READERS if sid != 7)


def test_reprocessing_the_same_mail_changes_nothing(sent):
    raw = sample("exim-5.1.1-plain.eml")
    assert process(sent, raw).action == "suppressed"
    first = reader(sent, 8).bounced_at
    assert process(sent, raw).action == "duplicate"
    assert process(sent, raw.replace(b"\n", b"\r\n")).action == "duplicate"  # as IMAP hands it
    assert reports(sent) == 1
    assert reader(sent, 8).bounced_at == first


def test_soft_bounce_is_recorded_but_does_not_suppress(sent):
    assert process(sent, sample("soft-4.2.2-mailbox-full.eml")).action == "recorded"
    assert reader(sent, 9).status == SubscriberStatus.ACTIVE
    assert delivery(sent, 9).status == DeliveryStatus.SENT
    assert sent.scalar(select(BounceReport.kind)) == ReportKind.SOFT


def test_soft_bounces_for_three_campaigns_bounce_the_reader(three_sent):
    actions = [process(three_sent, sample(name)).action for name in SOFT_BOUNCES]
    # Campaign 41 bounced twice (a delay warning, then the give-up): one campaign, not two.
    assert actions == ["recorded", "recorded", "recorded", "suppressed"]
    cat = reader(three_sent, 9)
    assert cat.status == SubscriberStatus.BOUNCED and cat.bounced_at is not None
    assert all(reader(three_sent, sid).status == "active" for sid in READERS if sid != 9)
    rows = three_sent.scalars(select(Delivery.status).where(Delivery.subscriber_id == 9)).all()
    assert set(rows) == {DeliveryStatus.SENT}, "a soft bounce says nothing final about one send"
    assert process(three_sent, sample("soft-4.4.7-expired.eml")).action == "duplicate"


def test_soft_bounces_older_than_the_window_do_not_count(three_sent):
    *older, last = SOFT_BOUNCES
    for name in older:
        assert process(three_sent, sample(name)).action == "recorded"
    for record in three_sent.scalars(select(BounceReport)):
        record.received_at = utcnow() - timedelta(days=31)
    three_sent.flush()
    assert process(three_sent, sample(last)).action == "recorded"
    assert reader(three_sent, 9).status == SubscriberStatus.ACTIVE


@pytest.mark.parametrize(
    ("campaigns", "bounced_by"),
    [(0, None), (1, "soft-4.2.2-mailbox-full.eml"), (2, "soft-4.4.7-expired.eml")],
)
def test_soft_bounce_limit_is_a_setting(three_sent, campaigns, bounced_by):
    limit = SoftBounceLimit(campaigns=campaigns, days=30)
    actions = {name: process(three_sent, sample(name), limit).action for name in SOFT_BOUNCES}
    # Once bounced, a reader's later soft bounces are recorded only.
    assert [n for n, action in actions.items() if action == "suppressed"] == (
        [bounced_by] if bounced_by else []
    )
    expected = SubscriberStatus.BOUNCED if bounced_by else SubscriberStatus.ACTIVE
    assert reader(three_sent, 9).status == expected


def test_soft_bounces_do_not_override_a_reader_who_left(three_sent):
    reader(three_sent, 9).status = SubscriberStatus.UNSUBSCRIBED
    three_sent.flush()
    assert [process(three_sent, sample(n)).action for n in SOFT_BOUNCES][-1] == "recorded"
    assert reader(three_sent, 9).status == SubscriberStatus.UNSUBSCRIBED


def test_policy_rejection_bounces_the_delivery_but_keeps_the_reader(sent):
    assert process(sent, sample("policy-5.7.1-rejected.eml")).action == "recorded"
    assert reader(sent, 10).status == SubscriberStatus.ACTIVE
    assert delivery(sent, 10).status == DeliveryStatus.BOUNCED
    assert "5.7.1" in (delivery(sent, 10).relay_reply or "")


@pytest.mark.parametrize(
    ("name", "sid"), [("arf-yahoo-abuse.eml", 12), ("arf-headers-only.eml", 13)]
)
def test_complaint_suppresses_the_reader(sent, name, sid):
    assert process(sent, sample(name)).action == "suppressed"
    complainer = reader(sent, sid)
    assert complainer.status == SubscriberStatus.COMPLAINED and complainer.complained_at
    assert delivery(sent, sid).status == DeliveryStatus.SENT  # it was delivered


def test_report_about_someone_elses_mail_changes_nothing(sent):
    outcome = process(sent, sample("not-ours-5.1.1.eml"))
    assert outcome.action == "unmatched"
    assert all(reader(sent, sid).status == "active" for sid in READERS)
    record = sent.scalar(select(BounceReport))
    assert record.subscriber_id is None and record.recipient == "zed@example.com"
    assert process(sent, sample("not-ours-5.1.1.eml")).action == "duplicate"


def test_header_match_must_agree_with_the_ledger_and_the_address(sent):
    raw = without(sample("postfix-5.1.1-user-unknown.eml"), "Message-ID")
    # Someone else's address under Ann's ids: a forgery or a mix-up, not Ann's bounce.
    forged = raw.replace(b"ann@example.com", b"zed@example.com")
    assert process(sent, forged).action == "unmatched"
    # A campaign Ann was never sent.
    other = raw.replace(b"X-Broadsheet-Campaign: 41", b"X-Broadsheet-Campaign: 40")
    assert process(sent, other).action == "unmatched"
    assert reader(sent, 7).status == SubscriberStatus.ACTIVE
    # Consistent headers are enough when the Message-ID was lost on the way.
    outcome = process(sent, raw)
    assert (outcome.action, outcome.match) == ("suppressed", Match(41, 7, "headers"))
    assert reader(sent, 7).status == SubscriberStatus.BOUNCED


def test_statuses_a_report_does_not_override(sent):
    ann, fay = reader(sent, 7), reader(sent, 12)
    ann.status = fay.status = SubscriberStatus.UNSUBSCRIBED
    sent.flush()
    process(sent, sample("postfix-5.1.1-user-unknown.eml"))
    process(sent, sample("arf-yahoo-abuse.eml"))
    # A bounce leaves a reader who left as they chose; a complaint overrides it.
    assert reader(sent, 7).status == SubscriberStatus.UNSUBSCRIBED
    assert delivery(sent, 7).status == DeliveryStatus.BOUNCED
    assert reader(sent, 12).status == SubscriberStatus.COMPLAINED


def test_bounce_for_a_deleted_reader_is_kept_unmatched(sent):
    sent.delete(reader(sent, 11))
    sent.flush()
    assert process(sent, sample("headers-only-5.2.1.eml")).action == "unmatched"


# --- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "imaps://bounces:s3cret@imap.example.org/INBOX",
        "imap://bounces:p%40ss@imap.example.org:1143/Bounces%20In",
        "pop3s://bounces:s3cret@pop.example.org",
        "pop3://bounces:s3cret@pop.example.org:1110",
        "maildir:///var/mail/bounces",
    ],
)
def test_bounce_mailbox_url_is_accepted(tmp_path, url):
    settings = load_settings({"BROADSHEET_INSTANCE": str(tmp_path), "BOUNCE_MAILBOX_URL": url})
    assert settings.bounce_mailbox_url == url
    assert "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    "url",
    [
        "http://imap.example.org/INBOX",
        "imaps://imap.example.org/INBOX",  # no credentials
        "pop3://bounces:pw@pop.example.org/Folder",
        "maildir://relative/path",
        "imap://bounces:pw@imap.example.org:99999/INBOX",
    ],
)
def test_bad_bounce_mailbox_url_names_the_variable(tmp_path, url):
    with pytest.raises(ConfigError) as error:
        load_settings({"BROADSHEET_INSTANCE": str(tmp_path), "BOUNCE_MAILBOX_URL": url})
    assert error.value.variable == "BOUNCE_MAILBOX_URL"


def test_soft_bounce_settings(tmp_path):
    default = load_settings({"BROADSHEET_INSTANCE": str(tmp_path)})
    assert (default.soft_bounce_limit, default.soft_bounce_days) == (3, 30)
    off = load_settings({"BROADSHEET_INSTANCE": str(tmp_path), "SOFT_BOUNCE_LIMIT": "0"})
    assert off.soft_bounce_limit == 0
    for variable, value in (("SOFT_BOUNCE_LIMIT", "-1"), ("SOFT_BOUNCE_DAYS", "0")):
        with pytest.raises(ConfigError) as error:
            load_settings({"BROADSHEET_INSTANCE": str(tmp_path), variable: value})
        assert error.value.variable == variable


def test_bounce_mailbox_is_off_by_default(tmp_path):
    assert load_settings({"BROADSHEET_INSTANCE": str(tmp_path)}).bounce_mailbox_url is None

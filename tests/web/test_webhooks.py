"""POST /webhooks/ses: Amazon SES bounces and complaints delivered by SNS, accepted only with a
valid SNS signature. The tests sign with their own self-signed certificate, handed to the app
through an injected certificate fetcher: nothing here touches the network."""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from broadsheet.bounces.sns import CertificateUnavailable, SignatureError, SnsVerifier
from broadsheet.bounces.sns import fetch_certificate as real_fetch
from broadsheet.mail.skeleton import domain_of, make_message_id
from broadsheet.models import BounceReport, Delivery, DeliveryStatus, Subscriber
from broadsheet.services.articles import create_article
from broadsheet.services.campaigns import create_campaign
from broadsheet.services.subscriptions import create_subscriber
from web.webhooks import VERIFIER

CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-6aad65c2f9911b05cd53efda11f913f9.pem"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:broadsheet-ses"
OTHER_TOPIC = "arn:aws:sns:eu-west-1:999999999999:someone-elses-topic"
SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
}  # fmt: skip


def make_certificate(key: rsa.RSAPrivateKey, *, days: int = 30) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=2))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def allow(app, *topics: str) -> None:
    """Set the app's SES_TOPIC_ARNS."""
    app.config["BROADSHEET"] = replace(app.config["BROADSHEET"], ses_topic_arns=topics)


@pytest.fixture(autouse=True)
def allowed(app) -> None:
    allow(app, "arn:aws:sns:us-east-1:123456789012:another-of-ours", TOPIC)


class Fetcher:
    """Stands in for the https fetch of the signing certificate; records what was asked."""

    def __init__(self, pem: bytes) -> None:
        self.pem = pem
        self.urls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.urls.append(url)
        return self.pem


@pytest.fixture
def fetcher(app, key) -> Fetcher:
    fetch = Fetcher(make_certificate(key))
    app.extensions[VERIFIER] = SnsVerifier(fetch=fetch)
    return fetch


def sign(key, message: dict[str, Any], version: str = "1") -> dict[str, Any]:
    """Sign like SNS: `Name\\nvalue\\n` for each signed field present, SHA1 (v1) or SHA256 (v2)."""
    message = {**message, "SignatureVersion": version, "SigningCertURL": CERT_URL}
    text = "".join(f"{k}\n{message[k]}\n" for k in SIGNED[message["Type"]] if k in message)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = key.sign(text.encode(), padding.PKCS1v15(), digest)
    return {**message, "Signature": base64.b64encode(signature).decode()}


def notification(
    payload: dict[str, Any], message_id: str = "7f1d7f52-2c5a-5b7e-9b1c-1f1e1d1c1b1a"
) -> dict[str, Any]:
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC,
        "Message": json.dumps(payload),
        "Timestamp": "2026-11-28T09:14:05.123Z",
        "UnsubscribeURL": "https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe",
    }


def post(client, message: dict[str, Any] | bytes, **headers: str):
    body = message if isinstance(message, bytes) else json.dumps(message).encode()
    # SNS posts JSON as text/plain, without a CSRF token or cookie.
    return client.post(
        "/webhooks/ses", data=body, content_type="text/plain; charset=UTF-8", headers=headers
    )


@pytest.fixture
def sent(committed, settings):
    """A reader who was sent a campaign: (subscriber id, campaign id, mail object as SES has it)."""
    ann = create_subscriber(committed, "ann@example.com", "Ann", status="active")
    article = create_article(committed, title="The Case for Slower News", body_markdown="Steady.")
    campaign = create_campaign(committed, article.id)
    message_id = make_message_id(
        campaign.id, ann.id, domain_of(settings.mail_from), settings.secret_key
    )
    committed.add(Delivery(campaign_id=campaign.id, subscriber_id=ann.id, status="sent"))
    committed.commit()
    mail = {
        "timestamp": "2026-11-28T09:14:00.000Z",
        "source": "news@example.org",
        "messageId": "0102019375a4b7e1-3f1b1c2d-0000-0000-0000-000000000000-000000",
        "destination": ["ann@example.com"],
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": "The Test Gazette <news@example.org>"},
            {"name": "To", "value": "Ann <ann@example.com>"},
            {"name": "Message-ID", "value": message_id},
            {"name": "X-Broadsheet-Campaign", "value": str(campaign.id)},
            {"name": "X-Broadsheet-Subscriber", "value": str(ann.id)},
        ],
        "commonHeaders": {"to": ["Ann <ann@example.com>"], "messageId": message_id},
    }
    return ann.id, campaign.id, mail


def bounce(mail: dict[str, Any], bounce_type: str = "Permanent") -> dict[str, Any]:
    status = "5.1.1" if bounce_type == "Permanent" else "4.2.2"
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General" if bounce_type == "Permanent" else "MailboxFull",
            "bouncedRecipients": [
                {
                    "emailAddress": "ann@example.com",
                    "action": "failed",
                    "status": status,
                    "diagnosticCode": f"smtp; 550 {status} <ann@example.com>: user unknown",
                }
            ],
            "timestamp": "2026-11-28T09:14:04.000Z",
            "feedbackId": "0102019375a4c0de-bounce-000000",
        },
        "mail": mail,
    }


def complaint(mail: dict[str, Any], feedback: str = "abuse") -> dict[str, Any]:
    return {
        "notificationType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "ann@example.com"}],
            "complaintFeedbackType": feedback,
            "timestamp": "2026-11-28T11:40:00.000Z",
            "feedbackId": "0102019375a4c0de-complaint-000000",
        },
        "mail": mail,
    }


def state(session, subscriber_id: int, campaign_id: int) -> tuple[str, str, str | None]:
    """The reader's and the delivery's status now. Ends its transaction: on SQLite an open
    one would hold the write lock the app's request needs."""
    try:
        reader = session.get(Subscriber, subscriber_id, populate_existing=True)
        row = session.scalar(select(Delivery).where(Delivery.campaign_id == campaign_id))
        return reader.status.value, row.status.value, row.relay_reply
    finally:
        session.rollback()


def bounced_at(session: Session, subscriber_id: int) -> datetime | None:
    try:
        return session.get_one(Subscriber, subscriber_id, populate_existing=True).bounced_at
    finally:
        session.rollback()


def report_count(session: Session) -> int:
    try:
        return session.execute(select(func.count()).select_from(BounceReport)).scalar_one()
    finally:
        session.rollback()


SUBSCRIBE = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=2336412f37"


def confirmation(topic: str = TOPIC) -> dict[str, Any]:
    return {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37",
        "TopicArn": topic,
        "Message": f"You have chosen to subscribe to the topic {topic}.",
        "SubscribeURL": SUBSCRIBE,
        "Timestamp": "2026-11-28T09:00:00.000Z",
    }


def test_subscription_confirmation_is_logged_for_an_operator(client, fetcher, key, caplog):
    message = confirmation()
    with caplog.at_level(logging.WARNING, logger="web.webhooks"):
        answer = post(client, sign(key, message), **{"x-amz-sns-message-type": message["Type"]})
    assert answer.status_code == 200 and "confirm" in answer.get_json()["status"]
    assert SUBSCRIBE in caplog.text
    assert fetcher.urls == [CERT_URL], "only the signing certificate is fetched, never the URL"


@pytest.mark.parametrize("version", ["1", "2"])
def test_permanent_bounce_suppresses_the_reader(client, committed, fetcher, key, sent, version):
    subscriber_id, campaign_id, mail = sent
    answer = post(client, sign(key, notification(bounce(mail)), version))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["outcomes"] == ["suppressed"]
    reader, delivery, reply = state(committed, subscriber_id, campaign_id)
    assert (reader, delivery) == ("bounced", DeliveryStatus.BOUNCED)
    assert reply == "smtp; 550 5.1.1 <ann@example.com>: user unknown"
    assert committed.scalar(select(BounceReport.source)) == "ses"
    committed.rollback()


def test_transient_bounce_is_recorded_only(client, committed, fetcher, key, sent):
    subscriber_id, campaign_id, mail = sent
    answer = post(client, sign(key, notification(bounce(mail, "Transient"))))
    assert answer.get_json()["outcomes"] == ["recorded"]
    assert state(committed, subscriber_id, campaign_id)[:2] == ("active", "sent")
    assert report_count(committed) == 1


def test_complaint_suppresses_the_reader(client, committed, fetcher, key, sent):
    subscriber_id, campaign_id, mail = sent
    answer = post(client, sign(key, notification(complaint(mail)), "2"))
    assert answer.get_json()["outcomes"] == ["suppressed"]
    assert state(committed, subscriber_id, campaign_id)[:2] == ("complained", "sent")


def test_not_spam_feedback_and_deliveries_change_nothing(client, committed, fetcher, key, sent):
    subscriber_id, campaign_id, mail = sent
    for payload in (complaint(mail, "not-spam"), {"notificationType": "Delivery", "mail": mail}):
        answer = post(client, sign(key, notification(payload)))
        assert answer.status_code == 200 and answer.get_json()["outcomes"] == []
    assert state(committed, subscriber_id, campaign_id)[:2] == ("active", "sent")


def test_the_same_notification_twice_changes_nothing(client, committed, fetcher, key, sent):
    subscriber_id, _, mail = sent
    message = sign(key, notification(bounce(mail)))
    assert post(client, message).get_json()["outcomes"] == ["suppressed"]
    first = bounced_at(committed, subscriber_id)
    assert post(client, message).get_json()["outcomes"] == ["duplicate"]
    assert first is not None and bounced_at(committed, subscriber_id) == first
    assert report_count(committed) == 1
    assert fetcher.urls == [CERT_URL], "the certificate is fetched once, then cached"


def tampered(key, message):
    good = sign(key, message)
    return {**good, "Message": good["Message"].replace("Permanent", "Transient")}


def other_key(key, message):
    return sign(rsa.generate_private_key(public_exponent=65537, key_size=1024), message)


def cert_url(url):
    return lambda key, message: {**sign(key, message), "SigningCertURL": url}


def field(name, value):
    return lambda key, message: {**sign(key, message), name: value}


@pytest.mark.parametrize(
    "forge",
    [
        tampered,
        other_key,
        lambda key, message: (
            sign(key, {**message, "Subject": "added after signing"}) | {"Subject": "changed"}
        ),
        field("Signature", "not base64 at all!"),
        field("Signature", None),
        field("SignatureVersion", "3"),
        field("Type", "Surprise"),
        field("MessageId", 12345),
        cert_url("http://sns.eu-west-1.amazonaws.com/cert.pem"),
        cert_url("https://sns.eu-west-1.amazonaws.com.evil.example.com/cert.pem"),
        cert_url("https://evil.example.com/sns.eu-west-1.amazonaws.com/cert.pem"),
        cert_url("https://user@sns.eu-west-1.amazonaws.com/cert.pem"),
        cert_url("https://sns.eu-west-1.amazonaws.com:8443/cert.pem"),
        cert_url("https://s3.amazonaws.com/cert.pem"),
        cert_url(None),
    ],
)
def test_forged_or_broken_messages_get_400(client, committed, fetcher, key, sent, forge):
    subscriber_id, campaign_id, mail = sent
    answer = post(client, forge(key, notification(bounce(mail))))
    assert answer.status_code == 400 and answer.is_json
    assert answer.get_json()["error"]
    assert state(committed, subscriber_id, campaign_id)[:2] == ("active", "sent")
    assert report_count(committed) == 0
    assert all(url == CERT_URL for url in fetcher.urls), "no other URL is ever fetched"


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"this is not json", {}),
        (b"[1, 2, 3]", {}),
        (b'{"Type": "Notification"}', {}),
        (b"[" * 100_000, {}),
        (None, {"x-amz-sns-message-type": "SubscriptionConfirmation"}),
    ],
)
def test_malformed_requests_get_400(client, fetcher, key, sent, body, headers):
    if body is None:
        body = json.dumps(sign(key, notification(bounce(sent[2])))).encode()
    answer = post(client, body, **headers)
    assert answer.status_code == 400 and answer.get_json()["error"]


def test_signed_but_malformed_ses_notification_gets_400(client, committed, fetcher, key, sent):
    broken = notification({"notificationType": "Bounce", "bounce": {"bouncedRecipients": 3}})
    answer = post(client, sign(key, broken))
    assert answer.status_code == 400 and answer.get_json()["error"]
    unparsable = {**notification({}), "Message": "{not json"}
    assert post(client, sign(key, unparsable)).status_code == 400


def test_expired_certificate_is_refused(client, app, key, sent):
    app.extensions[VERIFIER] = SnsVerifier(fetch=Fetcher(make_certificate(key, days=-1)))
    assert post(client, sign(key, notification(bounce(sent[2])))).status_code == 400


def test_unreachable_certificate_asks_sns_to_retry(client, app, key, sent):
    def unreachable(url: str) -> bytes:
        raise CertificateUnavailable(f"cannot fetch {url}: timed out")

    app.extensions[VERIFIER] = SnsVerifier(fetch=unreachable)
    answer = post(client, sign(key, notification(bounce(sent[2]))))
    assert answer.status_code == 503 and answer.get_json()["error"]


@pytest.mark.parametrize(
    "url",
    ["http://sns.us-east-1.amazonaws.com/x.pem", "https://example.com/x.pem", "file:///etc/passwd"],
)
def test_the_real_fetcher_refuses_other_urls_before_connecting(url):
    with pytest.raises(SignatureError):
        real_fetch(url)


def test_notification_from_a_topic_not_listed_gets_403_and_changes_nothing(
    client, committed, fetcher, key, sent, caplog
):
    subscriber_id, campaign_id, mail = sent
    message = sign(key, {**notification(bounce(mail)), "TopicArn": OTHER_TOPIC})
    with caplog.at_level(logging.WARNING, logger="web.webhooks"):
        answer = post(client, message)
    assert answer.status_code == 403
    assert answer.get_json() == {"error": f"SNS topic {OTHER_TOPIC} is not in SES_TOPIC_ARNS"}
    assert OTHER_TOPIC in caplog.text, "the operator can see which topic was refused"
    assert state(committed, subscriber_id, campaign_id)[:2] == ("active", "sent")
    assert report_count(committed) == 0
    assert fetcher.urls == [], "refused before any certificate is fetched"


def test_subscription_confirmation_from_a_topic_not_listed_is_refused(client, fetcher, key, caplog):
    with caplog.at_level(logging.WARNING, logger="web.webhooks"):
        answer = post(client, sign(key, confirmation(OTHER_TOPIC)))
    assert answer.status_code == 403 and OTHER_TOPIC in answer.get_json()["error"]
    assert SUBSCRIBE not in caplog.text, "nobody is invited to confirm a foreign topic"


def test_without_an_allow_list_every_topic_is_refused(app, client, committed, fetcher, key, sent):
    allow(app)  # SES_TOPIC_ARNS unset
    subscriber_id, campaign_id, mail = sent
    for message in (notification(bounce(mail)), confirmation()):
        answer = post(client, sign(key, message))
        assert answer.status_code == 403
        error = answer.get_json()["error"]
        assert error.startswith("SES_TOPIC_ARNS is not set") and TOPIC in error
    assert state(committed, subscriber_id, campaign_id)[:2] == ("active", "sent")
    assert report_count(committed) == 0

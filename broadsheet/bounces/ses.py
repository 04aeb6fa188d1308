"""Amazon SES bounce and complaint notifications (the JSON inside an SNS Notification) read
as reports, one per recipient, so they are traced and applied exactly like mailed reports."""

from __future__ import annotations

import json
from collections.abc import Mapping
from email.message import Message

from broadsheet.bounces.report import Report, address_in, clean_diagnostic, status_code
from broadsheet.bounces.sns import NotificationError
from broadsheet.models import ReportKind

# SES bounce types: Permanent is a hard bounce; Transient and Undetermined are soft.
_BOUNCE_KINDS = {"Permanent": ReportKind.HARD}


def ses_reports(message: str) -> list[tuple[str, Report]]:
    """(recipient key, report) pairs from an SNS Notification's Message; an empty list for
    notifications that report no bounce or complaint (Delivery, or a "not-spam" complaint)."""
    try:
        notification = json.loads(message)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise NotificationError("the SES notification is not JSON") from exc
    if not isinstance(notification, dict):
        raise NotificationError("the SES notification is not a JSON object")
    kind = notification.get("notificationType") or notification.get("eventType")
    original = _original(_object(notification, "mail"))
    if kind == "Bounce":
        return _bounces(_object(notification, "bounce"), original)
    if kind == "Complaint":
        return _complaints(_object(notification, "complaint"), original)
    return []


def _bounces(bounce: Mapping[str, object], original: Message) -> list[tuple[str, Report]]:
    kind = _BOUNCE_KINDS.get(str(bounce.get("bounceType")), ReportKind.SOFT)
    subtype = f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}"
    found = []
    for recipient in _recipients(bounce, "bouncedRecipients"):
        diagnostic = clean_diagnostic(_text(recipient.get("diagnosticCode")) or subtype)
        report = Report(
            kind,
            address_in(_text(recipient.get("emailAddress"))),
            status_code(_text(recipient.get("status")), diagnostic),
            diagnostic,
            original,
            message_ids=_ids(original),
        )
        found.append((str(report.recipient), report))
    return found


def _complaints(complaint: Mapping[str, object], original: Message) -> list[tuple[str, Report]]:
    feedback = _text(complaint.get("complaintFeedbackType")) or "unspecified"
    if feedback == "not-spam":
        return []
    found = []
    for recipient in _recipients(complaint, "complainedRecipients"):
        report = Report(
            ReportKind.COMPLAINT,
            address_in(_text(recipient.get("emailAddress"))),
            None,
            clean_diagnostic(f"feedback-type: {feedback}; via Amazon SES"),
            original,
            message_ids=_ids(original),
        )
        found.append((str(report.recipient), report))
    return found


def _original(mail: Mapping[str, object]) -> Message:
    """The sent message's headers: `mail.headers` when the identity includes them, and the
    Message-ID from `mail.commonHeaders`."""
    original = Message()
    headers = mail.get("headers")
    for header in headers if isinstance(headers, list) else []:
        if isinstance(header, dict):
            name, value = _text(header.get("name")), _text(header.get("value"))
            if name and value is not None and name.lower() != "message-id":
                original[name] = value
    common = mail.get("commonHeaders")
    message_id = _text(common.get("messageId")) if isinstance(common, dict) else None
    if message_id is None and isinstance(headers, list):
        message_id = next(
            (
                _text(h.get("value"))
                for h in headers
                if isinstance(h, dict) and str(h.get("name", "")).lower() == "message-id"
            ),
            None,
        )
    if message_id:
        original["Message-ID"] = message_id
    return original


def _ids(original: Message) -> tuple[str, ...]:
    value = original.get("Message-ID")
    return (str(value),) if value else ()


def _object(notification: Mapping[str, object], name: str) -> Mapping[str, object]:
    value = notification.get(name)
    if not isinstance(value, dict):
        raise NotificationError(f"the SES notification has no {name!r} object")
    return value


def _recipients(section: Mapping[str, object], name: str) -> list[Mapping[str, object]]:
    value = section.get(name)
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise NotificationError(f"the SES notification's {name} is not a list of objects")
    return value


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None

"""Complaint feedback loops: RFC 5965 `multipart/report; report-type=feedback-report` (ARF),
as Yahoo, AOL and most mailbox providers send when a reader presses "this is spam"."""

from __future__ import annotations

from email.message import Message
from email.parser import HeaderParser

from broadsheet.bounces.report import Report, address_in, clean_diagnostic, header, original_of
from broadsheet.models import ReportKind

# Feedback types that mean "the reader does not want this mail". Not `not-spam`, `other`, or
# `auth-failure` (a DMARC/DKIM failure report): none of them says the reader objects.
COMPLAINT_TYPES = frozenset({"abuse", "fraud", "virus"})


def parse_arf(message: Message) -> Report | None:
    """A complaint from a feedback report; None for anything else."""
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type", "")).lower() != "feedback-report":
        return None
    fields = _feedback_fields(message)
    if fields is None:
        return None
    feedback = (header(fields, "Feedback-Type") or "").strip().lower()
    if feedback not in COMPLAINT_TYPES:
        return None
    original = original_of(message)
    recipient = address_in(header(fields, "Original-Rcpt-To")) or address_in(
        header(fields, "Removal-Recipient")
    )
    if recipient is None and original is not None:
        recipient = address_in(header(original, "To"))
    agent = header(fields, "User-Agent")
    detail = f"feedback-type: {feedback}" + (f"; user-agent: {agent}" if agent else "")
    return Report(ReportKind.COMPLAINT, recipient, None, clean_diagnostic(detail), original)


def _feedback_fields(message: Message) -> Message | None:
    for part in message.walk():
        if part.get_content_type() != "message/feedback-report":
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            return HeaderParser().parsestr(data.decode("utf-8", errors="replace"))
    return None

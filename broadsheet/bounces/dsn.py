"""Delivery status notifications: RFC 3464 `multipart/report; report-type=delivery-status`,
and the older plain-text bounces some MTAs still send (Exim's "Mail delivery failed", qmail)."""

from __future__ import annotations

import binascii
import quopri
import re
from email.message import Message
from email.parser import HeaderParser

from broadsheet.bounces.report import (
    Report,
    address_in,
    classify,
    clean_diagnostic,
    header,
    headers_from,
    original_of,
    status_code,
    text_of,
)
from broadsheet.models import ReportKind

# Who sends plain-text bounces, and the line that starts the returned copy in one.
_BOUNCE_SENDER = re.compile(r"mailer-daemon|postmaster|mail delivery (sub)?system", re.I)
_COPY_STARTS = re.compile(
    r"^(return-path|received|message-id|date|from|x-broadsheet-campaign):[ \t]", re.I | re.M
)
# An SMTP reply in a plain bounce: "550 5.1.1 ...", "550-5.1.1 ..." or "(#5.1.1)" (qmail).
_SMTP_REPLY = re.compile(r"(?<!\d)([45])\d\d[ -]#?([45]\.\d{1,3}\.\d{1,3})(?![\d.])")
_QMAIL_CODE = re.compile(r"\(#([45]\.\d{1,3}\.\d{1,3})\)")
_BARE_REPLY = re.compile(r"(?:^|:)\s*([45])\d\d[ -]\S", re.M)
_REPLY_LINE = re.compile(r"\s*[45]\d\d[ -]")
# Transfer encodings a delivery-status part should not have, but sometimes does.
_ENCODINGS = ("base64", "quoted-printable")
# Severity when a report lists several recipients: the one that matters most wins.
_RANK = {ReportKind.HARD: 0, ReportKind.POLICY: 1, ReportKind.SOFT: 2}


def parse_dsn(message: Message) -> Report | None:
    """A failed or delayed delivery report; None for anything else (a success DSN too)."""
    if _is_report(message, "delivery-status"):
        return _delivery_status(message)
    return _plain_bounce(message)


def _is_report(message: Message, report_type: str) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type", "")).lower() == report_type
    )


def _delivery_status(message: Message) -> Report | None:
    part = next(
        (p for p in message.walk() if p.get_content_type() == "message/delivery-status"), None
    )
    if part is None:
        return None
    reports = [r for r in map(_recipient_report, _blocks(part)[1:]) if r is not None]
    if not reports:
        return None
    worst = min(reports, key=lambda r: _RANK[r.kind])
    return Report(
        worst.kind, worst.recipient, worst.status, worst.diagnostic, original=original_of(message)
    )


def _recipient_report(fields: Message) -> Report | None:
    diagnostic = clean_diagnostic(header(fields, "Diagnostic-Code"))
    status = status_code(header(fields, "Status"), diagnostic)
    kind = classify(status, header(fields, "Action"))
    if kind is None:
        return None
    recipient = address_in(header(fields, "Original-Recipient")) or address_in(
        header(fields, "Final-Recipient")
    )
    return Report(kind, recipient, status, diagnostic)


def _blocks(part: Message) -> list[Message]:
    """The field blocks of a message/delivery-status part: per message, then per recipient."""
    payload = part.get_payload()
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if isinstance(payload, list) and encoding not in _ENCODINGS:
        return [block for block in payload if isinstance(block, Message)]
    # Some MTAs encode the part anyway; the parser then split the encoded text into blocks.
    if isinstance(payload, list):
        text = "".join(b.as_string() if isinstance(b, Message) else b for b in payload)
    else:
        text = str(payload)
    if encoding == "base64":
        try:
            data = binascii.a2b_base64("".join(text.split()))
        except binascii.Error:
            return []
    elif encoding == "quoted-printable":
        data = quopri.decodestring(text.encode("ascii", errors="replace"))
    else:
        data = text.encode("utf-8", errors="replace")
    decoded = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
    return [HeaderParser().parsestr(b) for b in re.split(r"\n\s*\n", decoded) if b.strip()]


def _plain_bounce(message: Message) -> Report | None:
    """A bounce without a machine-readable part: trusted only from a mailer daemon (or with
    Exim's X-Failed-Recipients), and only when it quotes an SMTP failure we can classify."""
    failed = header(message, "X-Failed-Recipients")
    if not failed and not _BOUNCE_SENDER.search(header(message, "From") or ""):
        return None
    text = text_of(message)
    copy = _COPY_STARTS.search(text)
    explanation = text[: copy.start()] if copy else text
    status = _status_in(explanation)
    if status is None:
        return None
    kind = classify(status)
    if kind is None:
        return None
    original = original_of(message)
    if original is None and copy is not None:
        original = headers_from(text[copy.start() :].encode("utf-8", errors="replace"))
    return Report(
        kind,
        address_in(failed) if failed else None,
        status,
        clean_diagnostic(_reply_line(explanation, status)),
        original=original,
    )


def _status_in(text: str) -> str | None:
    reply = _SMTP_REPLY.search(text)
    if reply is not None and reply[1] == reply[2][0]:
        return reply[2]
    qmail = _QMAIL_CODE.search(text)
    if qmail is not None:
        return qmail[1]
    bare = _BARE_REPLY.search(text)
    return f"{bare[1]}.0.0" if bare is not None else None


def _reply_line(text: str, status: str) -> str | None:
    """The remote server's reply as quoted in the explanation (its lines joined)."""
    lines = [line.strip() for line in text.splitlines() if _REPLY_LINE.match(line)]
    if lines:
        return " ".join(lines)
    return next((line.strip() for line in text.splitlines() if status in line), None)

"""One entry point for a mail from the bounce mailbox: which report is it, if any."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import logging
from email.message import Message

from broadsheet.bounces.arf import parse_arf
from broadsheet.bounces.dsn import parse_dsn
from broadsheet.bounces.matching import OUR_MESSAGE_ID
from broadsheet.bounces.report import Report, address_in, text_of

log = logging.getLogger(__name__)

# Headers a receiving MTA adds to name the envelope recipient (a VERP return path).
_DELIVERED_TO = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")


def read_report(raw: bytes) -> Report | None:
    """The bounce or complaint in a raw mail; None for anything else (an auto-reply, spam).

    Never raises on malformed input: a mail this cannot read is logged and treated as no report.
    """
    try:
        # compat32 leaves header values as text; the modern policy can raise on odd headers.
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        report = parse_arf(message) or parse_dsn(message)
        if report is None:
            return None
        return dataclasses.replace(
            report, returned_to=_returned_to(message), message_ids=_message_ids(report, message)
        )
    except Exception:  # a bug here must not wedge the mailbox; the mail is logged, not lost
        log.exception("bounce mailbox: cannot read a %s-byte message", len(raw))
        return None


def _returned_to(message: Message) -> tuple[str, ...]:
    found = [
        address_in(str(value)) for name in _DELIVERED_TO for value in message.get_all(name, [])
    ]
    return tuple(dict.fromkeys(a for a in found if a))


def _message_ids(report: Report, message: Message) -> tuple[str, ...]:
    """The reported message's Message-ID; when no original came back, any of ours the report
    quotes (some MTAs name it only in their prose). Both are checked against the HMAC later."""
    value = report.original.get("Message-ID") if report.original is not None else None
    if value:
        return (str(value).strip(),)
    return tuple(dict.fromkeys(m[0] for m in OUR_MESSAGE_ID.finditer(text_of(message))))

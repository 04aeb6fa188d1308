"""What a bounce or complaint report says, whatever format it came in, and the helpers the
format parsers share: status classification and finding the returned original message."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser

from broadsheet.models import ReportKind

# An RFC 3463 enhanced status code: class.subject.detail.
_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_ANGLES = re.compile(r"<([^<>\s]+@[^<>\s]+)>")
_BARE = re.compile(r"[^\s<>()\[\],;:\"]+@[^\s<>()\[\],;:\"]+")
_NOT_DELIVERED = ("failed", "delayed")
_MAX_DIAGNOSTIC = 1000


@dataclass(frozen=True, eq=False)
class Report:
    """One reader's bounce or complaint, as read from a DSN, an ARF report or an SES notice."""

    kind: ReportKind
    recipient: str | None = None  # the address the report is about
    status: str | None = None  # RFC 3463 enhanced status code, e.g. "5.1.1"
    diagnostic: str | None = None  # the remote server's words, e.g. "smtp; 550 5.1.1 ..."
    original: Message | None = None  # headers of the message the report is about
    returned_to: tuple[str, ...] = ()  # where the report was delivered (a VERP address)
    message_ids: tuple[str, ...] = ()  # Message-IDs of the reported message


def classify(status: str | None, action: str | None = None) -> ReportKind | None:
    """Sort one recipient's outcome into hard, soft or policy; None when it was delivered.

    4.x.x and delayed are soft. A full mailbox (x.2.2) is soft even when reported as permanent,
    as RFC 3463 allows both. 5.7.x is a refusal for policy or content: about the sender (its
    reputation, the content), not the address, so it must not suppress the reader.
    """
    action = (action or "failed").strip().lower()
    if action not in _NOT_DELIVERED:
        return None
    code = _ENHANCED.search(status or "")
    if action == "delayed" or (code is not None and code[1] == "4"):
        return ReportKind.SOFT
    if code is None:
        return ReportKind.HARD
    if code[1] == "2":
        return None
    if (code[2], code[3]) == ("2", "2"):
        return ReportKind.SOFT
    if code[2] == "7":
        return ReportKind.POLICY
    return ReportKind.HARD


def status_code(status: str | None, diagnostic: str | None = None) -> str | None:
    """The enhanced status code; a vague one (x.0.0) is sharpened from the diagnostic text,
    as Exim reports `Status: 5.0.0` with `Diagnostic-Code: smtp; 550 5.1.1 ...`."""
    code = _ENHANCED.search(status or "")
    detail = _ENHANCED.search(diagnostic or "")
    if code is None:
        return detail[0] if detail is not None else None
    if detail is not None and code.groups()[1:] == ("0", "0") and detail[1] == code[1]:
        return detail[0]
    return code[0]


def header(message: Message, name: str) -> str | None:
    """A header's value as text (compat32 hands back a Header object for 8-bit values)."""
    value = message.get(name)
    return None if value is None else str(value)


def clean_diagnostic(value: str | None) -> str | None:
    """Header text unfolded onto one line and cut to a storable length."""
    if not value:
        return None
    return " ".join(value.split())[:_MAX_DIAGNOSTIC] or None


def address_in(value: str | None) -> str | None:
    """The address in a header or DSN field (`rfc822; ann@example.org`, `<ann@example.org>`)."""
    if not value:
        return None
    _, semicolon, rest = value.partition(";")
    text = rest if semicolon else value
    found = _ANGLES.search(text) or _BARE.search(text)
    if found is None:
        return None
    address = found[1] if found.re is _ANGLES else found[0]
    return address.strip().strip(".")[:320] or None


def original_of(message: Message) -> Message | None:
    """The returned original (a message/rfc822 or text/rfc822-headers part) of a report."""
    for part in _parts(message):
        kind = part.get_content_type()
        if kind == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                return payload[0]
        elif kind == "text/rfc822-headers":
            return headers_from(_decoded(part))
    return None


def headers_from(data: bytes) -> Message:
    """Header fields parsed from bytes (the body after them, if any, is ignored)."""
    return BytesHeaderParser().parsebytes(data.lstrip(b"\r\n"))


def text_of(message: Message) -> str:
    """The readable text of the report itself (text/* parts, not the returned original)."""
    texts = []
    for part in _parts(message):
        if part.get_content_maintype() == "text" and part.get_content_type() not in (
            "text/rfc822-headers",
            "text/html",
        ):
            texts.append(_decoded(part).decode("utf-8", errors="replace"))
    return "\n".join(texts)


def _parts(message: Message) -> list[Message]:
    """The leaf and message/* parts of a report, not descending into a returned original."""
    if message.get_content_maintype() != "multipart":
        return [message]
    found = []
    payload = message.get_payload()
    for part in payload if isinstance(payload, list) else []:
        if not isinstance(part, Message):  # a multipart's payload holds only messages
            continue
        if part.get_content_maintype() == "multipart":
            found.extend(_parts(part))
        else:
            found.append(part)
    return found


def _decoded(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


_NO_SUCH_ADDRESS = re.compile(
    r"user unknown|unknown user|no such (user|mailbox|recipient)|does not exist|"
    r"mailbox (unavailable|not found)|invalid (recipient|mailbox|address)",
    re.IGNORECASE,
)


def refuses_address(code: int, reply: str) -> bool:
    """Whether a 5xx answer to RCPT says the address itself is bad ("user unknown" class):
    enhanced status 5.1.x, or a bare 550/551/553 whose text says so. Such a reader is
    suppressed; other refusals (policy 5.7.x, a full mailbox 5.2.2) are not about them."""
    if code < 500:
        return False
    enhanced = _ENHANCED.search(reply)
    if enhanced is not None:
        return enhanced[0].startswith("5.1.")
    return code in (550, 551, 553) and _NO_SUCH_ADDRESS.search(reply) is not None

"""Per-recipient MIME messages, made by substitution into a skeleton built once per campaign.

The campaign's email is rendered and CSS-inlined once with placeholders for the personal fields
(see `placeholder_context`); `MessageSkeleton` then precomputes every header and MIME part that is
the same for all readers, and quoted-printable encodes every body line without a placeholder, so
each message costs a few joins and the encoding of a handful of short lines.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import itertools
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import formatdate, parseaddr

from broadsheet.mail.dkim import DkimSigner
from broadsheet.mail.personal import PLACEHOLDER as READER_PLACEHOLDER
from broadsheet.mail.personal import Field, decode
from broadsheet.mail.rendering import RenderedEmail

# Only ASCII letters and digits: they pass Jinja2 autoescaping, premailer (which percent-encodes
# other characters inside href/src) and quoted-printable unchanged.
PLACEHOLDERS: dict[str, str] = {
    "name": "BSxNAMExBS",
    "greeting": "BSxGREETINGxBS",
    "email": "BSxEMAILxBS",
    "unsubscribe_url": "BSxUNSUBSCRIBExBS",
    "preferences_url": "BSxPREFERENCESxBS",
    "confirm_url": "BSxCONFIRMxBS",
    # The message's tracking token (broadsheet/tracking/links.py puts it in wrapped links).
    "track": "BSxTRACKxBS",
}
# The fixed ones, and a reader field's (broadsheet/mail/personal.py), which names itself.
_PLACEHOLDER = re.compile(
    "|".join([*PLACEHOLDERS.values(), READER_PLACEHOLDER.pattern.replace("(", "(?:")])
)
_FIELD_OF = {placeholder: field for field, placeholder in PLACEHOLDERS.items()}
# C0 and C1 controls, DEL and the Unicode line/paragraph separators all become spaces.
_CONTROLS = {c: " " for c in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)}
_SPECIALS = re.compile(r'[][\\()<>@,:;".]')
_NOT_IN_ADDRESS = r'\x00-\x20\x7f-\x9f\s<>()\[\],;:"\\@'
_ADDRESS = re.compile(f"[^{_NOT_IN_ADDRESS}]+@[^{_NOT_IN_ADDRESS}]+")
_URL = re.compile(r"https?://[!#-;=?-~]+", re.IGNORECASE)
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")
# The width of a tracking token (broadsheet/tracking/tokens.py, TOKEN_LENGTH): lines whose
# only placeholders are tokens are encoded once for every message of that width (_Spliced).
TRACK_WIDTH = 32
_MESSAGE_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")
_MAX_LINE = 78
_QP_LINE = 76
# 39 bytes of UTF-8 make a 64-character encoded word: within 78 even after "Subject: ".
_WORD_BYTES = 39


@dataclass(frozen=True)
class Recipient:
    """Who one message goes to, and the personal values substituted into it."""

    email: str
    name: str
    subscriber_id: int | None
    unsubscribe_url: str | None
    message_id: str
    confirm_url: str | None = None
    track: str | None = None  # the tracking token (URL-safe base64), for a tracked message
    preferences_url: str | None = None  # the reader's preferences page (campaign mail)
    attributes: Mapping[str, object] | None = None  # for {{ reader.attributes.<key> }}


def placeholder_context() -> dict[str, str]:
    """Template context values for the personal fields, to be replaced per recipient."""
    return dict(PLACEHOLDERS)


def clean_text(value: str) -> str:
    """Drop line breaks and other control characters and collapse whitespace to single spaces."""
    return " ".join(value.translate(_CONTROLS).split())


def greeting(name: str) -> str:
    """'Hi Ann,' for a reader with a name, 'Hello,' for one without."""
    name = clean_text(name)
    return f"Hi {name}," if name else "Hello,"


def make_message_id(campaign_id: int | None, subscriber_id: int, domain: str, secret: str) -> str:
    """A Message-ID fixed per (campaign, subscriber), so a retried send is recognisably the same.

    The short HMAC keeps ids unguessable; for one-off mail (campaign_id None) it is also fixed, so
    callers that resend such mail should prefer `email.utils.make_msgid`.
    """
    message = f"broadsheet-message-id:{campaign_id}:{subscriber_id}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:8]
    campaign = "" if campaign_id is None else f".c{campaign_id}"
    return f"<bs{campaign}.s{subscriber_id}.{digest}@{_clean_domain(domain)}>"


def domain_of(mail_from: str) -> str:
    """The domain of the sender address, for Message-IDs ('localhost' when there is none)."""
    _, at, domain = parseaddr(mail_from)[1].rpartition("@")
    return _clean_domain(domain if at else "")


class MessageSkeleton:
    """Everything in a campaign's message that is the same for every reader, prepared once."""

    def __init__(
        self,
        rendered: RenderedEmail,
        *,
        mail_from: str,
        list_id: str | None,
        campaign_id: int | None,
        unsubscribe: bool,
        signer: DkimSigner | None = None,
        boundary: str | None = None,
        reply_to: str | None = None,
    ) -> None:
        self.unsubscribe = unsubscribe
        self._signer = signer
        from_name, from_address = parseaddr(mail_from)
        self._from = _address_header("From", clean_text(from_name), _checked_address(from_address))
        # "=_" can never occur in quoted-printable, so the boundary never clashes with a body.
        # Fixed per campaign (`boundary`), a preview and the sent message match byte for byte.
        boundary = f"=_bs_{boundary or secrets.token_hex(12)}"
        if not re.fullmatch(r"=_bs_[0-9A-Za-z]{1,60}", boundary):
            raise ValueError(f"malformed MIME boundary: {boundary!r}")
        self._subject = _fold("Subject", _words(clean_text(rendered.subject)))
        # A subject with reader fields is filled in and encoded per message.
        self._personal_subject = rendered.subject if _PLACEHOLDER.search(rendered.subject) else None
        static = ["MIME-Version: 1.0\r\n"]
        if reply_to:
            reply_name, reply_address = parseaddr(reply_to)
            static.append(
                _address_header("Reply-To", clean_text(reply_name), _checked_address(reply_address))
            )
        if list_id is not None:
            static.append(_list_id_header(list_id))
        if campaign_id is not None:
            # Transactional mail (a confirmation) is not bulk mail; campaigns are.
            static.append("Precedence: bulk\r\n")
        static.append("Auto-Submitted: auto-generated\r\n")
        if campaign_id is not None:
            static.append(f"X-Broadsheet-Campaign: {int(campaign_id)}\r\n")
        static.append(f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n')
        static.append(f"--{boundary}\r\n{_part_headers('plain')}")
        self._static = "".join(static).encode()
        # The CRLF before a boundary belongs to the boundary: add one so bodies keep their last.
        self._between = f"\r\n--{boundary}\r\n{_part_headers('html')}".encode()
        self._end = f"\r\n--{boundary}--\r\n".encode()
        self._text = _Body(rendered.text)
        self._html = _Body(rendered.html)
        found = {*self._text.fields, *self._html.fields, *_PLACEHOLDER.findall(rendered.subject)}
        self._fields: dict[str, Field] = {
            p: decode(p) for p in found if READER_PLACEHOLDER.fullmatch(p)
        }

    def render(self, recipient: Recipient, date: str | None = None) -> bytes:
        """The complete message for one recipient, as CRLF-terminated bytes ready for SMTP.

        With a signer, the message is DKIM-signed: the body hash is per message, as bodies are.
        """
        name = clean_text(recipient.name)
        email = _checked_address(recipient.email)
        values = {
            "name": name,
            "greeting": greeting(name),
            "email": email,
            "unsubscribe_url": "",
            "preferences_url": "",
            "confirm_url": "",
            "track": "",
        }
        if recipient.confirm_url is not None:
            values["confirm_url"] = _checked_url(recipient.confirm_url)
        if recipient.track is not None:
            values["track"] = _checked_token(recipient.track)
        for placeholder, reader_field in self._fields.items():
            values[placeholder] = reader_field.value(name, recipient.attributes)
        subject = self._subject
        if self._personal_subject is not None:
            filled = _PLACEHOLDER.sub(
                lambda m: values[_FIELD_OF.get(m[0], m[0])], self._personal_subject
            )
            subject = _fold("Subject", _words(clean_text(filled)))
        head = [
            f"Date: {clean_text(date or formatdate(usegmt=True))}\r\n",
            self._from,
            _address_header("To", name, email),
            subject,
            f"Message-ID: {_checked_message_id(recipient.message_id)}\r\n",
        ]
        if recipient.unsubscribe_url is not None:
            values["unsubscribe_url"] = _checked_url(recipient.unsubscribe_url)
        if recipient.preferences_url is not None:
            values["preferences_url"] = _checked_url(recipient.preferences_url)
        if self.unsubscribe:
            if recipient.unsubscribe_url is None:
                raise ValueError(f"no unsubscribe URL for {recipient.email!r}")
            head.append(_fold("List-Unsubscribe", [f"<{values['unsubscribe_url']}>"]))
            head.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
        if recipient.subscriber_id is not None:
            head.append(f"X-Broadsheet-Subscriber: {int(recipient.subscriber_id)}\r\n")
        text = {key: value.encode() for key, value in values.items()}
        escaped = {key: html.escape(value).encode() for key, value in values.items()}
        message = b"".join(
            (
                "".join(head).encode(),
                self._static,
                self._text.encode(text),
                self._between,
                self._html.encode(escaped),
                self._end,
            )
        )
        return message if self._signer is None else self._signer.sign(message)


class _Body:
    """A body prepared once: lines without placeholders are quoted-printable encoded up front.

    Quoted-printable works line by line, so only the few lines holding a placeholder are
    encoded per recipient; everything else is joined as ready-made bytes.
    """

    def __init__(self, text: str) -> None:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.removesuffix("\n").split("\n")
        self._parts: list[bytes | _Spliced | tuple[list[bytes], list[str]]] = []
        self.fields: set[str] = set()  # the placeholders it holds
        run: list[str] = []
        for line in lines:
            if not _PLACEHOLDER.search(line):
                run.append(line + "\n")
                continue
            if run:
                self._parts.append(_quoted_printable("".join(run).encode()))
                run = []
            pieces = [piece.encode() for piece in _PLACEHOLDER.split(line + "\n")]
            fields = [_FIELD_OF.get(m, m) for m in _PLACEHOLDER.findall(line)]
            self.fields.update(fields)
            spliced = _Spliced.made(pieces) if set(fields) == {"track"} else None
            self._parts.append(spliced or (pieces, fields))
        if run:
            self._parts.append(_quoted_printable("".join(run).encode()))

    def encode(self, values: Mapping[str, bytes]) -> bytes:
        """The body with `values` (UTF-8, free of line breaks) filled in, quoted-printable."""
        out: list[bytes] = []
        for part in self._parts:
            if isinstance(part, bytes):
                out.append(part)
            elif isinstance(part, _Spliced) and len(values["track"]) == TRACK_WIDTH:
                out.append(part.encode(values["track"]))
            else:
                pieces, fields = part.pieces if isinstance(part, _Spliced) else part
                out.append(_encode_line(pieces, fields, values))
        return b"".join(out)


def _encode_line(pieces: list[bytes], fields: list[str], values: Mapping[str, bytes]) -> bytes:
    """One line with its placeholders filled in, quoted-printable encoded."""
    line = [pieces[0]]
    for field, piece in zip(fields, pieces[1:], strict=True):
        line.append(values[field])
        line.append(piece)
    return _quoted_printable(b"".join(line))


class _Spliced:
    """A line whose only placeholders are the tracking token (a link's address, the pixel),
    encoded once with a stand-in of the token's width: quoted-printable passes every token
    character through as it is, so the encoding of any token differs from the stand-in's in
    those characters alone, soft line breaks included, and each message's token is spliced
    in where they went. A tracked message has a score of such lines: encoding each anew
    doubled the time to make a message."""

    _STAND_IN = b"~" * TRACK_WIDTH  # literal in quoted-printable; never in a token
    _FOUND = re.compile(b"(?:=\r\n)?".join([b"~"] * TRACK_WIDTH))
    _SAMPLE = b"abcdefghijklmnopqrstuvwxyz012345-_ABCDEFGHIJKLMNOPQRSTUVWXYZ"[:TRACK_WIDTH]

    def __init__(self, pieces: list[bytes], literals: list[bytes], breaks: list[list[int]]):
        self.pieces = (pieces, ["track"] * (len(pieces) - 1))
        self._literals, self._breaks = literals, breaks

    @classmethod
    def made(cls, pieces: list[bytes]) -> _Spliced | None:
        """The line prepared for splicing, or None when its own text got in the way (a `~`
        beside a token), as a check against the plain encoding shows."""
        encoded = _quoted_printable(cls._STAND_IN.join(pieces))
        literals, breaks, last = [], [], 0
        for found in cls._FOUND.finditer(encoded):
            literals.append(encoded[last : found.start()])
            # Where a soft break falls within the token: before which of its characters.
            span, at = found.group(), []
            while (cut := span.find(b"=\r\n")) != -1:
                at.append(cut)
                span = span[:cut] + span[cut + 3 :]
            breaks.append(at)
            last = found.end()
        literals.append(encoded[last:])
        spliced = cls(pieces, literals, breaks)
        values = {"track": cls._SAMPLE}
        if len(breaks) != len(pieces) - 1 or spliced.encode(cls._SAMPLE) != _encode_line(
            *spliced.pieces, values
        ):
            return None
        return spliced

    def encode(self, token: bytes) -> bytes:
        out = [self._literals[0]]
        for at, literal in zip(self._breaks, self._literals[1:], strict=True):
            if at:
                cuts = [0, *at, len(token)]
                out.append(b"=\r\n".join(token[a:b] for a, b in itertools.pairwise(cuts)))
            else:
                out.append(token)
            out.append(literal)
        return b"".join(out)


def _quoted_printable(data: bytes) -> bytes:
    """Quoted-printable with CRLF line ends and no line over 76 characters."""
    encoded = binascii.b2a_qp(data, istext=True)
    lines = encoded.split(b"\n")
    if any(len(line) > _QP_LINE for line in lines):
        # b2a_qp can overrun by two when it encodes whitespace at the end of a line.
        lines = [part for line in lines for part in _split_qp_line(line)]
    return b"\r\n".join(lines)


def _split_qp_line(line: bytes) -> list[bytes]:
    parts = []
    while len(line) > _QP_LINE:
        cut = _QP_LINE - 1  # room for the soft break "="
        if line[cut - 1 : cut] == b"=":
            cut -= 1
        elif line[cut - 2 : cut - 1] == b"=":
            cut -= 2
        parts.append(line[:cut] + b"=")
        line = line[cut:]
    parts.append(line)
    return parts


def _part_headers(subtype: str) -> str:
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )


def _address_header(header: str, name: str, address: str) -> str:
    """An address header from an already cleaned name and checked address."""
    return _fold(header, [*_phrase(name), f"<{address}>"] if name else [address])


def _list_id_header(list_id: str) -> str:
    """`List-Id: Name <id.domain>` (RFC 2919); a bare id is wrapped in angle brackets."""
    name, _, list_key = clean_text(list_id).rpartition("<")
    list_key = list_key.rstrip(">").strip()
    if not list_key or any(c in list_key for c in " <>"):
        raise ValueError(f"malformed List-Id: {list_id!r}")
    return _fold("List-Id", [*_phrase(name.strip()), f"<{list_key}>"])


def _phrase(name: str) -> list[str]:
    """A display name as header tokens: atoms, a quoted string, or RFC 2047 encoded words."""
    if not name:
        return []
    if name.isascii() and "=?" not in name:
        if not _SPECIALS.search(name):
            return name.split(" ")
        quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if len(quoted) <= 60:
            return [quoted]
    return _encoded_words(name)


def _words(text: str) -> list[str]:
    """Unstructured header text (a subject) as foldable words, encoded when not plain ASCII."""
    if text.isascii() and "=?" not in text and all(len(w) < 70 for w in text.split(" ")):
        return text.split(" ") if text else []
    return _encoded_words(text)


def _encoded_words(text: str) -> list[str]:
    chunks: list[bytes] = []
    current = b""
    for char in text:
        encoded = char.encode()
        if len(current) + len(encoded) > _WORD_BYTES:
            chunks.append(current)
            current = b""
        current += encoded
    chunks.append(current)
    return [f"=?utf-8?b?{base64.b64encode(chunk).decode()}?=" for chunk in chunks]


def _fold(header: str, tokens: list[str]) -> str:
    """`Header: tokens` folded at spaces so lines stay within 78 characters where possible."""
    lines = [f"{header}:"]
    for token in tokens:
        if len(lines[-1]) + 1 + len(token) > _MAX_LINE and lines[-1] != f"{header}:":
            lines.append("")
        lines[-1] += " " + token
    if any(len(line.encode()) > 998 for line in lines):
        raise ValueError(f"{header} header too long")
    return "\r\n".join(lines) + "\r\n"


def _checked_address(address: str) -> str:
    if not _ADDRESS.fullmatch(address):
        raise ValueError(f"not a plain email address: {address!r}")
    return address


def _checked_url(url: str) -> str:
    if not _URL.fullmatch(url):
        raise ValueError(f"not an absolute http(s) URL safe for a header: {url!r}")
    return url


def _checked_token(token: str) -> str:
    if not _TOKEN.fullmatch(token):
        raise ValueError(f"malformed tracking token: {token!r}")
    return token


def _checked_message_id(message_id: str) -> str:
    if not _MESSAGE_ID.fullmatch(message_id):
        raise ValueError(f"malformed Message-ID: {message_id!r}")
    return message_id


def _clean_domain(domain: str) -> str:
    domain = domain.strip().strip("[]").lower()
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            domain = ""
    return re.sub(r"[^a-z0-9.-]", "", domain).strip(".") or "localhost"

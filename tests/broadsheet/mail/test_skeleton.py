"""Per-recipient messages: valid MIME, safe headers, exact personal values, cheap to repeat."""

import html
import quopri
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser

import pytest

from broadsheet.mail.compose import confirmation_message
from broadsheet.mail.rendering import RenderedEmail, render_email
from broadsheet.mail.skeleton import (
    PLACEHOLDERS,
    TRACK_WIDTH,
    MessageSkeleton,
    Recipient,
    _Body,
    _encode_line,
    _Spliced,
    domain_of,
    greeting,
    make_message_id,
    placeholder_context,
)
from broadsheet.markdown import render_markdown
from broadsheet.models import Subscriber
from broadsheet.settings import load_settings
from broadsheet.tracking.tokens import TOKEN_LENGTH

MAIL_FROM = "The Example Gazette <news@example.org>"
SECRET = "test-secret"
LONG_PARAGRAPH = "Ünïcödé " * 40 + "and a [link](https://example.org/a?b=1&c=%20d)."


@dataclass
class FakeArticle:
    title: str = "Café society"
    dek: str = "What the early risers know"
    author: str = "Ann Author"
    body_html: str = render_markdown(f"Hello **world**.\n\n{LONG_PARAGRAPH}\n\n- one\n- two\n")
    published_at: datetime = datetime(2025, 3, 5, tzinfo=UTC)
    reading_minutes: int = 3
    canonical_url: str | None = None


@pytest.fixture(scope="module")
def rendered() -> RenderedEmail:
    return render_email(
        "article",
        {
            **placeholder_context(),
            "article": FakeArticle(),
            "body_html": FakeArticle().body_html,
            "subject": "Café — 20 % off ✓",
            "preheader": "Twenty per cent off.",
            "archive_url": "https://news.example.org/archive/12",
            "publication_name": "The Example Gazette",
            "public_url": "https://news.example.org",
        },
    )


@pytest.fixture(scope="module")
def skeleton(rendered) -> MessageSkeleton:
    return MessageSkeleton(
        rendered,
        mail_from=MAIL_FROM,
        list_id="The Example Gazette <gazette.news.example.org>",
        campaign_id=7,
        unsubscribe=True,
    )


def recipient(subscriber_id: int = 42, name: str = "Ann Reader", **fields) -> Recipient:
    values = {
        "email": f"reader{subscriber_id}@example.net",
        "name": name,
        "subscriber_id": subscriber_id,
        "unsubscribe_url": f"https://news.example.org/u/tok.{subscriber_id}?sig=a%2Bb=&s={subscriber_id}",
        "message_id": make_message_id(7, subscriber_id, "example.org", SECRET),
    }
    return Recipient(**{**values, **fields})


def parse(raw: bytes) -> EmailMessage:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    for part in message.walk():
        assert part.defects == [], part.defects
    return message


def bodies(message: EmailMessage) -> tuple[str, str]:
    text, markup = (part.get_content().replace("\r\n", "\n") for part in message.iter_parts())
    return text, markup


class Links(HTMLParser):
    def __init__(self, markup: str) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")


def test_headers(skeleton):
    reader = recipient()
    message = parse(skeleton.render(reader))
    assert message["From"].addresses[0].display_name == "The Example Gazette"
    assert message["From"].addresses[0].addr_spec == "news@example.org"
    assert message["To"].addresses[0].display_name == "Ann Reader"
    assert message["To"].addresses[0].addr_spec == "reader42@example.net"
    assert message["Subject"] == "Café — 20 % off ✓"
    assert abs(message["Date"].datetime - datetime.now(UTC)).total_seconds() < 60
    assert message["Message-ID"] == reader.message_id
    assert message["MIME-Version"] == "1.0"
    assert message["List-Unsubscribe"] == f"<{reader.unsubscribe_url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "The Example Gazette <gazette.news.example.org>"
    assert message["Precedence"] == "bulk"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Broadsheet-Campaign"] == "7"
    assert message["X-Broadsheet-Subscriber"] == "42"
    for header in ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe"):
        assert len(message.get_all(header) or []) == 1


def test_explicit_date_is_used(skeleton):
    raw = skeleton.render(recipient(), date="Wed, 05 Mar 2025 07:30:00 GMT")
    assert parse(raw)["Date"].datetime == datetime(2025, 3, 5, 7, 30, tzinfo=UTC)


def test_structure_is_alternative_text_then_html(skeleton):
    message = parse(skeleton.render(recipient()))
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    for part in parts:
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"


def test_bodies_carry_the_content_and_personal_values(skeleton):
    reader = recipient()
    text, markup = bodies(parse(skeleton.render(reader)))
    assert "Hi Ann Reader, here is the latest from The Example Gazette." in text
    assert "Hi Ann Reader, here is the latest" in markup
    assert "Ünïcödé " * 40 in text and "Ünïcödé " * 40 in markup  # long QP line round-trips
    assert "and a link (https://example.org/a?b=1&c=%20d)." in text
    assert f"Unsubscribe: {reader.unsubscribe_url}\n" in text
    assert reader.unsubscribe_url in Links(markup).hrefs  # exact, absolute, after unescaping
    assert "sent to reader42@example.net." in text and "sent to reader42@example.net." in markup
    for placeholder in PLACEHOLDERS.values():
        assert placeholder not in text and placeholder not in markup


def test_name_is_html_escaped_in_html_and_raw_in_text(skeleton):
    message = parse(skeleton.render(recipient(name="<b>Ann & Co</b>")))
    text, markup = bodies(message)
    assert "Hi <b>Ann & Co</b>, here is" in text
    assert "Hi &lt;b&gt;Ann &amp; Co&lt;/b&gt;, here is" in markup
    assert "<b>Ann" not in markup
    assert message["To"].addresses[0].display_name == "<b>Ann & Co</b>"


def test_non_ascii_name_round_trips_and_is_encoded(skeleton):
    raw = skeleton.render(recipient(name="Zoë Ñandú-Łukasz"))
    found = re.search(rb"^To: .*$", raw, re.MULTILINE)
    assert found is not None
    to_line = found.group()
    assert to_line.isascii() and b"=?utf-8?" in to_line
    message = parse(raw)
    assert message["To"].addresses[0].display_name == "Zoë Ñandú-Łukasz"
    assert "Hi Zoë Ñandú-Łukasz," in bodies(message)[0]


def test_empty_name_reads_well(skeleton):
    message = parse(skeleton.render(recipient(name="  ")))
    assert message["To"] == "reader42@example.net"
    text, markup = bodies(message)
    assert "Hello, here is the latest" in text and "Hello, here is the latest" in markup
    assert greeting("Ann") == "Hi Ann," and greeting("") == "Hello,"


def test_a_confirmation_carries_nothing_the_visitor_typed_but_the_address(tmp_path):
    """Anyone can type anyone's address and any name into the signup form: the name must not
    reach the inbox of an address that has not confirmed."""
    settings = load_settings({"BROADSHEET_INSTANCE": str(tmp_path), "MAIL_FROM": MAIL_FROM})
    typed = "You won! Claim at https://prize.example now"
    visitor = Subscriber(id=9, email="victim@example.net", email_key="victim@example.net")
    visitor.name = typed
    raw = confirmation_message(visitor, settings)
    message = parse(raw)
    assert message["To"] == "victim@example.net"
    text, markup = bodies(message)
    assert text.startswith("Hello,\n") and ">Hello,</p>" in markup
    for where in (raw.decode(), text, markup):
        assert "prize" not in where and "won" not in where


def test_lines_are_crlf_and_short(skeleton):
    raw = skeleton.render(recipient(name="Zoë " * 30))
    assert b"\n" not in raw.replace(b"\r\n", b"") and b"\r" not in raw.replace(b"\r\n", b"")
    assert raw.endswith(b"\r\n")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))


def test_long_subject_and_name_are_folded():
    subject = "A very long subject line about the weekly café roundup " * 4
    raw = MessageSkeleton(
        RenderedEmail(subject=subject, text="Hi\n", html="<p>Hi</p>\n"),
        mail_from=MAIL_FROM,
        list_id=None,
        campaign_id=None,
        unsubscribe=False,
    ).render(recipient(name="Bartholomew " * 12))
    head = raw.partition(b"\r\n\r\n")[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))
    message = parse(raw)
    assert message["Subject"] == subject.strip()
    assert message["To"].addresses[0].display_name == ("Bartholomew " * 12).strip()


@pytest.mark.parametrize(
    "name", ["Eve\r\nBcc: x@evil.test", "Eve\nBcc: x@evil.test", "Eve\rBcc: x@evil.test"]
)
def test_name_cannot_inject_headers(skeleton, name):
    raw = skeleton.render(recipient(name=name))
    message = parse(raw)
    assert message["Bcc"] is None
    assert not re.search(rb"^Bcc:", raw, re.MULTILINE | re.IGNORECASE)
    assert [a.addr_spec for a in message["To"].addresses] == ["reader42@example.net"]
    assert message["To"].addresses[0].display_name == "Eve Bcc: x@evil.test"


@pytest.mark.parametrize(
    "subject", ["Hi\r\nBcc: x@evil.test", "Hi\nBcc: x@evil.test", "Hi\x00\u2028Bcc: x@evil.test"]
)
def test_subject_cannot_inject_headers(subject):
    skeleton = MessageSkeleton(
        RenderedEmail(subject=subject, text="Hi\n", html="<p>Hi</p>\n"),
        mail_from=MAIL_FROM,
        list_id=None,
        campaign_id=1,
        unsubscribe=False,
    )
    raw = skeleton.render(recipient())
    message = parse(raw)
    assert message["Bcc"] is None
    assert not re.search(rb"^Bcc:", raw, re.MULTILINE | re.IGNORECASE)
    assert message["Subject"] == "Hi Bcc: x@evil.test"


@pytest.mark.parametrize(
    "fields",
    [
        {"email": "reader@example.net\r\nBcc: x@evil.test"},
        {"email": "Reader <reader@example.net>"},
        {"email": "no-at-sign"},
        {"unsubscribe_url": "https://news.example.org/u\r\nBcc: x@evil.test"},
        {"unsubscribe_url": "javascript:alert(1)"},
        {"unsubscribe_url": "/relative/path"},
        {"unsubscribe_url": None},
        {"message_id": "<id@example.org>\r\nBcc: x@evil.test"},
    ],
)
def test_unsafe_recipient_values_are_refused(skeleton, fields):
    with pytest.raises(ValueError):
        skeleton.render(recipient(**fields))


def test_two_recipients_differ_only_in_personal_values(skeleton):
    first, second = recipient(1, "Ann"), recipient(2, "Bob & Co")
    one, two = parse(skeleton.render(first)), parse(skeleton.render(second))
    assert one["To"] != two["To"]
    assert one["Message-ID"] != two["Message-ID"]
    assert one["List-Unsubscribe"] != two["List-Unsubscribe"]

    def generic(message: EmailMessage, reader: Recipient) -> tuple[str, str]:
        text, markup = bodies(message)
        assert reader.unsubscribe_url is not None
        for value, field in (
            (reader.unsubscribe_url, "unsubscribe_url"),
            (reader.email, "email"),
            (greeting(reader.name), "greeting"),
        ):
            text = text.replace(value, PLACEHOLDERS[field])
            markup = markup.replace(html.escape(value), PLACEHOLDERS[field])
        return text, markup

    assert generic(one, first) == generic(two, second)
    assert one["Subject"] == two["Subject"] and one["From"] == two["From"]


def test_without_unsubscribe_or_campaign_no_list_headers(rendered):
    skeleton = MessageSkeleton(
        rendered, mail_from=MAIL_FROM, list_id=None, campaign_id=None, unsubscribe=False
    )
    message = parse(skeleton.render(recipient(unsubscribe_url=None)))
    for header in ("List-Unsubscribe", "List-Unsubscribe-Post", "List-Id", "Precedence"):
        assert message[header] is None
    assert message["X-Broadsheet-Campaign"] is None
    assert message["Auto-Submitted"] == "auto-generated"


def test_bare_list_id_is_bracketed(rendered):
    skeleton = MessageSkeleton(
        rendered,
        mail_from=MAIL_FROM,
        list_id="gazette.example.org",
        campaign_id=3,
        unsubscribe=True,
    )
    assert parse(skeleton.render(recipient()))["List-Id"] == "<gazette.example.org>"


def test_message_id_is_deterministic_and_distinct():
    first = make_message_id(7, 42, "example.org", SECRET)
    assert first == make_message_id(7, 42, "example.org", SECRET)
    assert re.fullmatch(r"<bs\.c7\.s42\.[0-9a-f]{8}@example\.org>", first)
    others = {
        make_message_id(7, 43, "example.org", SECRET),
        make_message_id(8, 42, "example.org", SECRET),
        make_message_id(None, 42, "example.org", SECRET),
        make_message_id(7, 42, "example.org", "another-secret"),
    }
    assert first not in others and len(others) == 4


@pytest.mark.parametrize(
    ("mail_from", "domain"),
    [
        ("The Gazette <News@Example.ORG>", "example.org"),
        ("news@mail.example.org", "mail.example.org"),
        ("Bücher <info@bücher.example>", "xn--bcher-kva.example"),
        ("nobody", "localhost"),
    ],
)
def test_domain_of(mail_from, domain):
    assert domain_of(mail_from) == domain


@pytest.mark.parametrize("length", range(70, 80))
@pytest.mark.parametrize("trailing", [" ", "\t", "é "])
def test_quoted_printable_lines_stay_within_76_even_with_trailing_space(length, trailing):
    text = "a" * length + trailing + "\n" + "b" * length + PLACEHOLDERS["name"] + trailing + "\n"
    skeleton = MessageSkeleton(
        RenderedEmail(subject="Hi", text=text, html="<p>Hi</p>\n"),
        mail_from=MAIL_FROM,
        list_id=None,
        campaign_id=None,
        unsubscribe=False,
    )
    raw = skeleton.render(recipient(name="Ann"))
    body = raw.partition(b"\r\n\r\n")[2]
    assert all(len(line) <= 76 for line in body.split(b"\r\n"))
    expected = "a" * length + trailing + "\n" + "b" * length + "Ann" + trailing + "\n"
    assert bodies(parse(raw))[0] == expected


@pytest.mark.parametrize("offset", range(0, 80, 7))
def test_a_token_spliced_into_a_line_encodes_as_the_line_would(offset):
    """Lines whose only personal part is the tracking token are encoded once and the token
    spliced in: byte for byte what encoding the line anew gives, wherever a soft break falls
    (inside the token too), for every token."""
    prefix = "x" * offset + "é "  # the soft breaks move with the text before the token
    text = f'<p>{prefix}<a href="https://news.example.test/t/BSxTRACKxBS/3">more</a></p>\n'
    body = _Body(text * 2 + "<img src='https://news.example.test/t/BSxTRACKxBS.gif'>")
    assert sum(isinstance(part, _Spliced) for part in body._parts) == 3
    for seed in range(20):
        token = secrets.token_urlsafe(24).encode()
        assert len(token) == TRACK_WIDTH
        values = {"track": token}
        spliced = body.encode(values)
        slow = b"".join(
            part
            if isinstance(part, bytes)
            else _encode_line(*(part.pieces if isinstance(part, _Spliced) else part), values)
            for part in body._parts
        )
        assert spliced == slow, seed
        assert quopri.decodestring(spliced).count(token) == 3


def test_a_line_whose_text_would_blur_the_token_is_encoded_anew():
    body = _Body('<a href="https://e.test/~BSxTRACKxBS">x</a>')
    (part,) = body._parts
    assert not isinstance(part, _Spliced)
    token = b"A" * TRACK_WIDTH
    assert quopri.decodestring(body.encode({"track": token})) == (
        b'<a href="https://e.test/~' + token + b'">x</a>\r\n'
    )


def test_the_token_width_is_the_trackers():
    assert TRACK_WIDTH == TOKEN_LENGTH

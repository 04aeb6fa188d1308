"""Addresses and display names as readers, imports and editors give them
(broadsheet.addresses)."""

from __future__ import annotations

import random
import string

import pytest
from email_validator import EmailNotValidError, validate_email

from broadsheet.addresses import check_address, clean_name
from broadsheet.errors import ValidationError


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("  Ann   Lee ", "Ann Lee"),
        ("Ann\nLee\t(news)", "Ann Lee (news)"),
        ("Zoë\x00\x1fQ", "Zoë Q"),
        (None, ""),
    ],
)
def test_a_name_is_one_printable_trimmed_line(raw, clean):
    assert clean_name(raw) == clean


def test_a_name_too_long_names_the_field():
    with pytest.raises(ValidationError) as caught:
        clean_name("x" * 201, "First Name")
    assert caught.value.fields == {"First Name": "must be at most 200 characters"}


def library(text: str) -> str | None:
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def ours(text: str) -> str | None:
    try:
        return check_address(text).email
    except ValidationError:
        return None


ATEXT = string.ascii_letters + string.digits + "!#$%&'*+-/=?^_`{|}~"
DOMAINS = [
    "example.org", "EXAMPLE.org", "ex-ample.co.uk", "-bad.com", "bad-.com", "a..b", "localhost",
    "x.test", "x.local", "x.invalid", "münchen.de", "ÉXAMPLE.org", "xn--mnchen-3ya.de", "123.456",
    "[127.0.0.1]", "a.b", "example", "exa mple.com", "ex_ample.com", "", "a" * 63 + ".com",
    "a" * 64 + ".com", ".".join(["y" * 60] * 4) + ".com", "example.c0m",
]  # fmt: skip
LOCALS = ["a", "A.b", "a..b", ".a", "a.", "Postmaster", "INFO", "www", "a+b", '"q"', "é", "a b",
          "x" * 64, "x" * 200, "a@b", "", "o'brien", "{x}"]  # fmt: skip


def corpus(n: int) -> list[str]:
    """Addresses of every shape: plain, role mailboxes, quoted, international, too long,
    refused domains, stray characters."""
    rng = random.Random(7)
    made = [f"{local}@{domain}" for local in LOCALS for domain in DOMAINS]
    stray = ATEXT + '.@"()<>[]\\ ,;:é日'
    for _ in range(n):
        dots = [
            "".join(rng.choice(ATEXT) for _ in range(rng.randint(0, 4)))
            for _ in range(rng.randint(1, 3))
        ]
        made.append(".".join(dots) + "@" + rng.choice(DOMAINS) + rng.choice(["", " ", "."]))
        made.append("".join(rng.choice(stray) for _ in range(rng.randint(1, 20))))
    return made


def test_an_address_is_taken_as_email_validator_takes_it():
    """check_address asks email-validator once per domain for plain addresses (imports):
    what it accepts, and how it writes it, never differs from asking it for every address."""
    differ = [
        (text, library(text), ours(text)) for text in corpus(3000) if library(text) != ours(text)
    ]
    assert differ == []
    assert ours("Ann.Lee+news@ÉXAMPLE.org") == "Ann.Lee+news@éxample.org"

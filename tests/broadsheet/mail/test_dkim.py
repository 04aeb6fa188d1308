"""DKIM: messages signed once each verify with an independent verifier (dkimpy), and break when
anything a reader sees is changed or added; DKIM settings fail at start naming the variable."""

from __future__ import annotations

import base64
import re

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from broadsheet.errors import ConfigError
from broadsheet.mail.compose import (
    campaign_recipient,
    campaign_skeleton,
    confirmation_message,
    dkim_signer,
)
from broadsheet.mail.dkim import DkimSigner
from broadsheet.mail.rendering import RenderedEmail
from broadsheet.mail.skeleton import MessageSkeleton, Recipient, make_message_id
from broadsheet.models import Campaign, Subscriber
from broadsheet.settings import load_settings

SELECTOR = "news2026"
DOMAIN = "example.org"
MAIL_FROM = "The Example Gazette <news@example.org>"
UNSUBSCRIBE = "https://news.example.org/unsubscribe/tok.42?sig=a%2Bb"
# Trailing spaces, tabs, runs of spaces and blank lines at the end: relaxed canonicalization
# has to treat them exactly as a verifier does.
TEXT = "BSxGREETINGxBS\n\nThe  issue\tin   brief. \n\nUnsubscribe: BSxUNSUBSCRIBExBS\n\n\n"
HTML = "<p>BSxGREETINGxBS</p>\n<p>The  issue \t in brief.</p>  \n<a href='BSxUNSUBSCRIBExBS'>x</a>"


PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


def pem_of(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def txt_record(key) -> bytes:
    """The DNS TXT record a domain publishes for `key` (RFC 6376 3.6.1, RFC 8463 for Ed25519)."""
    public = key.public_key()
    if isinstance(key, ed25519.Ed25519PrivateKey):
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return b"v=DKIM1; k=ed25519; p=" + base64.b64encode(raw)
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def verifies(message: bytes, key, selector: str = SELECTOR, domain: str = DOMAIN) -> bool:
    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        if name == f"{selector}._domainkey.{domain}.".encode():
            return txt_record(key)
        return None

    verified: bool = dkim.verify(message, dnsfunc=dnsfunc)
    return verified


def signature_tags(message: bytes) -> dict[str, str]:
    header = re.match(rb"DKIM-Signature:(.*?)\r\n(?![ \t])", message, re.DOTALL)
    assert header, message[:200]
    value = re.sub(r"\s+", "", header.group(1).decode())
    return dict(tag.split("=", 1) for tag in value.rstrip(";").split(";"))


@pytest.fixture(scope="module")
def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ed_key():
    return ed25519.Ed25519PrivateKey.generate()


@pytest.fixture(params=["rsa", "ed25519"])
def key(request, rsa_key, ed_key):
    return rsa_key if request.param == "rsa" else ed_key


def skeleton_for(key, *, unsubscribe: bool = True) -> MessageSkeleton:
    return MessageSkeleton(
        RenderedEmail("Café — issue 12 ✓", TEXT, HTML),
        mail_from=MAIL_FROM,
        list_id="The Example Gazette <newsletter.example.org>",
        campaign_id=7,
        unsubscribe=unsubscribe,
        signer=DkimSigner(pem_of(key), selector=SELECTOR, domain=DOMAIN),
    )


def reader(**fields) -> Recipient:
    values = {
        "email": "ann@example.net",
        "name": "Ann Reader",
        "subscriber_id": 42,
        "unsubscribe_url": UNSUBSCRIBE,
        "message_id": make_message_id(7, 42, DOMAIN, "secret"),
    }
    return Recipient(**{**values, **fields})


def test_rendered_message_verifies(key):
    message = skeleton_for(key).render(reader())
    assert message.startswith(b"DKIM-Signature:")
    assert verifies(message, key)
    algorithm = "rsa-sha256" if isinstance(key, rsa.RSAPrivateKey) else "ed25519-sha256"
    tags = signature_tags(message)
    assert (tags["a"], tags["c"], tags["d"], tags["s"]) == (
        algorithm, "relaxed/relaxed", DOMAIN, SELECTOR,
    )  # fmt: skip


def test_wrong_key_in_dns_fails(rsa_key):
    message = skeleton_for(rsa_key).render(reader())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert not verifies(message, other)


def test_h_covers_one_click_headers_and_oversigns_them(rsa_key):
    signed = signature_tags(skeleton_for(rsa_key).render(reader()))["h"].split(":")
    for name in ("from", "to", "subject", "date", "message-id", "list-unsubscribe",
                 "list-unsubscribe-post", "mime-version", "content-type", "list-id"):  # fmt: skip
        # Listed once more than present: a second copy added later cannot pass as signed.
        assert signed.count(name) == 2, name
    assert "x-broadsheet-subscriber" not in signed


def test_only_present_headers_are_signed(rsa_key):
    message = skeleton_for(rsa_key, unsubscribe=False).render(reader(unsubscribe_url=None))
    signed = signature_tags(message)["h"].split(":")
    assert "list-unsubscribe" not in signed
    assert "list-unsubscribe-post" not in signed
    assert verifies(message, rsa_key)


def test_lines_are_crlf_and_short(rsa_key):
    message = skeleton_for(rsa_key).render(reader())
    assert b"\n" not in message.replace(b"\r\n", b"")
    assert all(len(line) <= 998 for line in message.split(b"\r\n"))
    found = re.match(rb"DKIM-Signature:.*?\r\n(?![ \t])", message, re.DOTALL)
    assert found is not None
    head = found.group(0)
    assert all(len(line) <= 78 for line in head.split(b"\r\n"))


def replace(old: bytes, new: bytes):
    def tamper(message: bytes) -> bytes:
        assert message.count(old) >= 1, old
        return message.replace(old, new, 1)

    return tamper


def prepend_header(header: bytes):
    """Add a header just below the signature, where a forwarder or an attacker would."""

    def tamper(message: bytes) -> bytes:
        return message.replace(b"\r\nDate: ", b"\r\n" + header + b"\r\nDate: ", 1)

    return tamper


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(replace(b"Subject: =?utf-8?b?", b"Subject: Re: =?utf-8?b?"), id="subject"),
        pytest.param(replace(b"Ann Reader <ann@", b"Ann Reader <bob@"), id="to"),
        pytest.param(replace(b"<https://news.", b"<https://evil."), id="list-unsubscribe"),
        pytest.param(replace(b"=One-Click", b"=Two-Clicks"), id="list-unsubscribe-post"),
        pytest.param(replace(b"in brief.", b"in briefs."), id="body"),
        pytest.param(prepend_header(b"From: Bank <alerts@bank.example>"), id="added-from"),
        pytest.param(prepend_header(b"Subject: Account locked"), id="added-subject"),
        pytest.param(
            prepend_header(b"List-Unsubscribe: <https://evil.example/u>"),
            id="added-list-unsubscribe",
        ),
    ],
)
def test_tampering_fails_verification(key, tamper):
    message = skeleton_for(key).render(reader())
    assert verifies(message, key)
    assert not verifies(tamper(message), key)


@pytest.mark.parametrize(
    "harmless",
    [
        replace(b"\r\nSubject: ", b"\r\nSubject:    "),
        replace(b"\r\nTo: Ann Reader", b"\r\nTo: Ann\r\n\tReader"),
        lambda message: message + b"\r\n\r\n",
        replace(b"in brief.", b"in  \tbrief."),
        prepend_header(b"Received: from relay.example.net by mx.example.net"),
    ],
    ids=["header-spaces", "refolded", "blank-tail", "body-spaces", "relay-header"],
)
def test_relaxed_canonicalization_survives_transport(rsa_key, harmless):
    """What relays legitimately do (refold, pad, add trace headers) must not break it."""
    assert verifies(harmless(skeleton_for(rsa_key).render(reader())), rsa_key)


@pytest.mark.parametrize(
    "body",
    [b"", b"\r\n\r\n", b"no final line end", b"a \t b\t\r\n\t\r\n  c  \r\n\r\n\r\n", b" x"],
    ids=["empty", "only-blank-lines", "no-crlf", "whitespace", "leading-space"],
)
def test_bodies_at_the_edges_of_canonicalization(key, body):
    message = b"From: news@example.org\r\nTo: ann@example.net\r\nSubject: hi\r\n\r\n" + body
    signer = DkimSigner(pem_of(key), selector=SELECTOR, domain=DOMAIN)
    assert verifies(signer.sign(message), key)


def dkim_env(tmp_path, **values: str) -> dict[str, str]:
    return {"BROADSHEET_INSTANCE": str(tmp_path), "MAIL_FROM": MAIL_FROM, **values}


def test_unset_means_no_signing(tmp_path):
    settings = load_settings(dkim_env(tmp_path))
    assert (settings.dkim_private_key, settings.dkim_selector, settings.dkim_domain) == (
        None, None, None,
    )  # fmt: skip
    assert dkim_signer(settings) is None


def test_key_from_a_file_one_signer_per_process(tmp_path, rsa_key):
    pkcs1 = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,  # "BEGIN RSA PRIVATE KEY", as openssl had
        serialization.NoEncryption(),
    ).decode()
    path = tmp_path / "dkim.pem"
    path.write_text(pkcs1)
    settings = load_settings(dkim_env(tmp_path, DKIM_PRIVATE_KEY=str(path), DKIM_SELECTOR="S1"))
    assert settings.dkim_private_key == pkcs1
    assert (settings.dkim_selector, settings.dkim_domain) == ("s1", "example.org")
    assert "PRIVATE KEY" not in repr(settings)
    again = load_settings(dkim_env(tmp_path, DKIM_PRIVATE_KEY=str(path), DKIM_SELECTOR="s1"))
    assert dkim_signer(settings) is dkim_signer(again) is not None


@pytest.mark.parametrize("one_line", [False, True], ids=["pem", "pem-on-one-line"])
def test_key_as_text_and_explicit_domain(tmp_path, ed_key, one_line):
    pem = pem_of(ed_key).replace("\n", "\\n") if one_line else pem_of(ed_key)
    values = {"DKIM_PRIVATE_KEY": pem, "DKIM_SELECTOR": "s1", "DKIM_DOMAIN": "Mail.Example.org"}
    settings = load_settings(dkim_env(tmp_path, **values))
    assert settings.dkim_private_key == pem_of(ed_key)
    assert settings.dkim_domain == "mail.example.org"


def test_confirmation_and_campaign_mail_are_signed_from_settings(tmp_path, ed_key):
    settings = load_settings(
        dkim_env(tmp_path, DKIM_PRIVATE_KEY=pem_of(ed_key), DKIM_SELECTOR=SELECTOR)
    )
    subscriber = Subscriber(id=5, email="Ann@example.net", email_key="ann@example.net", name="Ann")
    confirmation = confirmation_message(subscriber, settings)
    assert verifies(confirmation, ed_key)
    assert "list-unsubscribe" not in signature_tags(confirmation)["h"]

    campaign = Campaign(id=3, subject="Issue 3", rendered_text=TEXT, rendered_html=HTML)
    recipient = campaign_recipient(settings, 3, 5, "ann@example.net", "Ann")
    message = campaign_skeleton(campaign, settings).render(recipient)
    assert verifies(message, ed_key)
    assert "list-unsubscribe-post" in signature_tags(message)["h"].split(":")


def encrypted_pem(key: PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    ).decode()


def garbage_pem(key, tmp):
    pem = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"
    return {"DKIM_PRIVATE_KEY": pem, "DKIM_SELECTOR": "s1"}


def ec_key(key, tmp):
    pem = pem_of(ec.generate_private_key(ec.SECP256R1()))
    return {"DKIM_PRIVATE_KEY": pem, "DKIM_SELECTOR": "s1"}


@pytest.mark.parametrize(
    ("variable", "values"),
    [
        pytest.param(
            "DKIM_PRIVATE_KEY",
            lambda key, tmp: {"DKIM_PRIVATE_KEY": str(tmp / "missing.pem"), "DKIM_SELECTOR": "s1"},
            id="missing-file",
        ),
        pytest.param(
            "DKIM_PRIVATE_KEY",
            lambda key, tmp: {"DKIM_PRIVATE_KEY": str(tmp), "DKIM_SELECTOR": "s1"},
            id="a-folder",
        ),
        pytest.param("DKIM_PRIVATE_KEY", garbage_pem, id="garbage-pem"),
        pytest.param(
            "DKIM_PRIVATE_KEY",
            lambda key, tmp: {"DKIM_PRIVATE_KEY": encrypted_pem(key), "DKIM_SELECTOR": "s1"},
            id="encrypted-key",
        ),
        pytest.param("DKIM_PRIVATE_KEY", ec_key, id="ec-key"),
        pytest.param(
            "DKIM_PRIVATE_KEY", lambda key, tmp: {"DKIM_SELECTOR": "s1"}, id="selector-no-key"
        ),
        pytest.param(
            "DKIM_SELECTOR",
            lambda key, tmp: {"DKIM_PRIVATE_KEY": pem_of(key)},
            id="key-no-selector",
        ),
        pytest.param(
            "DKIM_SELECTOR",
            lambda key, tmp: {"DKIM_PRIVATE_KEY": pem_of(key), "DKIM_SELECTOR": "a b"},
            id="bad-selector",
        ),
        pytest.param(
            "DKIM_DOMAIN",
            lambda key, tmp: {
                "DKIM_PRIVATE_KEY": pem_of(key),
                "DKIM_SELECTOR": "s1",
                "DKIM_DOMAIN": "example.org; x=1",
            },
            id="bad-domain",
        ),
    ],
)
def test_bad_dkim_settings_name_the_variable(tmp_path, rsa_key, variable, values):
    with pytest.raises(ConfigError) as info:
        load_settings(dkim_env(tmp_path, **values(rsa_key, tmp_path)))
    assert info.value.variable == variable
    assert str(info.value).startswith(f"{variable}: ")
    assert "PRIVATE KEY-----" not in str(info.value)

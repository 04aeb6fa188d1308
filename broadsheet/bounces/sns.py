"""Verifying Amazon SNS messages: the signature over the canonical string, made with the key
of a certificate fetched only from an https URL on `sns.<region>.amazonaws.com`, and the topic,
which must be on an allow-list (`check_topic`).

The fetcher is injectable (tests sign with their own certificate and never touch the network),
and each certificate is fetched once per process and cached.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import urllib.request
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from urllib.error import URLError
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from broadsheet.errors import BroadsheetError

CertificateFetcher = Callable[[str], bytes]

# The fields each message type signs, in the (alphabetical) order they are signed in.
SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type",
    ),
}  # fmt: skip
_OPTIONAL = frozenset({"Subject"})
HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_CERT_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com")
# arn:<partition>:sns:<region>:<12-digit account>:<topic> (a FIFO topic's name ends in .fifo).
_TOPIC_ARN = re.compile(
    r"arn:aws(-cn|-us-gov)?:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?"
)
_MAX_CERT_BYTES = 64 * 1024
_CACHE_SIZE = 16


class NotificationError(BroadsheetError):
    """An SNS message (or the SES notification in it) that is malformed or not genuine."""


class SignatureError(NotificationError):
    """The message is not signed by Amazon SNS."""


class TopicNotAllowed(BroadsheetError):
    """The message comes from an SNS topic that is not in SES_TOPIC_ARNS."""


class CertificateUnavailable(BroadsheetError):
    """The signing certificate could not be fetched; SNS should try the message again."""


def is_topic_arn(value: str) -> bool:
    return _TOPIC_ARN.fullmatch(value) is not None


def check_topic(message: Mapping[str, object], allowed: Collection[str]) -> str:
    """The message's TopicArn if it is one of `allowed`; TopicNotAllowed otherwise (always,
    when `allowed` is empty), NotificationError when it has none."""
    topic = message.get("TopicArn")
    if not isinstance(topic, str) or not topic:
        raise NotificationError("field TopicArn is missing or not a string")
    if not allowed:
        raise TopicNotAllowed(
            f"SES_TOPIC_ARNS is not set, so no SNS topic is accepted; add {topic} to accept it"
        )
    if topic not in allowed:
        raise TopicNotAllowed(f"SNS topic {topic} is not in SES_TOPIC_ARNS")
    return topic


def canonical_string(message: Mapping[str, object]) -> bytes:
    """The text SNS signs: `Name\\nvalue\\n` for each signed field present, in order."""
    lines = []
    for name in SIGNED_FIELDS[_type(message)]:
        value = message.get(name)
        if value is None and name in _OPTIONAL:
            continue
        if not isinstance(value, str):
            raise NotificationError(f"field {name} is missing or not a string")
        lines.append(f"{name}\n{value}\n")
    return "".join(lines).encode()


def check_certificate_url(url: object) -> str:
    """The SigningCertURL if it is https on an SNS host; SignatureError otherwise."""
    if not isinstance(url, str):
        raise SignatureError("SigningCertURL is missing")
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    host = parts.hostname or ""
    if (
        parts.scheme != "https"
        or parts.username is not None
        or parts.password is not None
        or port not in (None, 443)
        or not _CERT_HOST.fullmatch(host)
        or parts.netloc.lower() not in (host, f"{host}:443")
    ):
        raise SignatureError("SigningCertURL is not an https URL on sns.<region>.amazonaws.com")
    return url


def fetch_certificate(url: str, timeout: float = 10) -> bytes:
    """GET a certificate over https (validated by the system's CAs), following no redirect."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(check_certificate_url(url), timeout=timeout) as answer:
            certificate: bytes = answer.read(_MAX_CERT_BYTES)
            return certificate
    except (URLError, OSError) as exc:
        raise CertificateUnavailable(f"cannot fetch {url}: {exc}") from exc


class SnsVerifier:
    """Checks SNS signatures; certificates are fetched with `fetch` and cached by URL."""

    def __init__(self, fetch: CertificateFetcher = fetch_certificate) -> None:
        self._fetch = fetch
        self._keys: dict[str, rsa.RSAPublicKey] = {}
        self._lock = threading.Lock()

    def verify(self, message: Mapping[str, object]) -> None:
        """Return if `message` is genuine; raise SignatureError (or NotificationError for a
        malformed one, CertificateUnavailable when the certificate cannot be had)."""
        algorithm = HASHES.get(str(message.get("SignatureVersion")))
        if algorithm is None:
            raise SignatureError("SignatureVersion must be 1 or 2")
        signed = canonical_string(message)
        signature = message.get("Signature")
        try:
            raw = base64.b64decode(str(signature), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SignatureError("Signature is not base64") from exc
        key = self._public_key(check_certificate_url(message.get("SigningCertURL")))
        try:
            key.verify(raw, signed, padding.PKCS1v15(), algorithm())
        except InvalidSignature as exc:
            raise SignatureError("the signature does not match the message") from exc

    def _public_key(self, url: str) -> rsa.RSAPublicKey:
        with self._lock:
            cached = self._keys.get(url)
        if cached is not None:
            return cached
        key = _rsa_key(self._fetch(url))
        with self._lock:
            if len(self._keys) >= _CACHE_SIZE:
                self._keys.pop(next(iter(self._keys)))
            self._keys[url] = key
        return key


def _rsa_key(pem: bytes) -> rsa.RSAPublicKey:
    try:
        certificate = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise SignatureError("the signing certificate is not a PEM certificate") from exc
    now = datetime.now(UTC)
    if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
        raise SignatureError("the signing certificate has expired or is not yet valid")
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("the signing certificate does not hold an RSA key")
    return key


def _type(message: Mapping[str, object]) -> str:
    kind = message.get("Type")
    if not isinstance(kind, str) or kind not in SIGNED_FIELDS:
        raise NotificationError(f"unknown SNS message Type: {kind!r}")
    return kind


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None

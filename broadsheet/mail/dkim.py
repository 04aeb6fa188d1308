"""DKIM signatures (RFC 6376) for outgoing messages: relaxed/relaxed, rsa-sha256 or ed25519-sha256.

A `DkimSigner` parses its key once and then signs each message with one body hash, one header
hash and one private-key operation in OpenSSL (through `cryptography`). dkimpy's `sign` parses
the key on every call and does the RSA arithmetic in Python, some 25 times slower per message.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

# Signed when present. From is required by RFC 6376; RFC 8058 requires both List-Unsubscribe
# headers to be signed for one-click unsubscribe to be honoured.
SIGNED_HEADERS = (
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "mime-version",
    "content-type",
    "list-id",
    "reply-to",
)
MIN_RSA_BITS = 1024  # RFC 8301: verifiers reject anything smaller
_SELECTOR = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*")
_FIELD_BREAK = re.compile(rb"\r\n(?![ \t])")
_WSP_RUN = re.compile(rb"[ \t]+")
_TRAILING_WSP = re.compile(rb"[ \t]+\r\n")
_WSP_TO_SQUEEZE = re.compile(rb"\t[ \t]*| [ \t]+")
_MAX_LINE = 78
_HEADER = "DKIM-Signature:"

PrivateKey = rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey


def load_private_key(pem: str) -> PrivateKey:
    """Parse an unencrypted PEM private key usable for DKIM; ValueError says what is wrong."""
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not an unencrypted PEM private key ({exc})") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(f"RSA key of {key.key_size} bits; DKIM needs {MIN_RSA_BITS} or more")
        return key
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return key
    raise ValueError(f"DKIM keys are RSA or Ed25519, not {type(key).__name__}")


def is_selector(value: str) -> bool:
    """True for a selector (or domain) made of DNS labels, which is all DKIM accepts."""
    return bool(_SELECTOR.fullmatch(value))


class DkimSigner:
    """Signs messages for one key, selector and domain; build once, call `sign` per message.

    Every signed header is oversigned: its name appears in h= once more than the message has
    it, so a second From, Subject, List-Unsubscribe (or any other signed header) added on the
    way breaks the signature instead of being shown to the reader as if we had sent it.
    """

    def __init__(self, private_key_pem: str, *, selector: str, domain: str) -> None:
        self._key = load_private_key(private_key_pem)
        if not is_selector(selector.lower()) or not is_selector(domain.lower()):
            raise ValueError(f"bad DKIM selector or domain: {selector!r}, {domain!r}")
        algorithm = "rsa-sha256" if isinstance(self._key, rsa.RSAPrivateKey) else "ed25519-sha256"
        self._tags = (
            "v=1;",
            f"a={algorithm};",
            "c=relaxed/relaxed;",
            f"d={domain.lower()};",
            f"s={selector.lower()};",
        )
        # The header up to h= depends only on which headers a message has: a handful of shapes.
        self._prefixes: dict[tuple[str, ...], tuple[bytes, bytes]] = {}

    def sign(self, message: bytes) -> bytes:
        """`message` (CRLF line ends) with a `DKIM-Signature` header prepended."""
        end = message.find(b"\r\n\r\n")
        if end < 0:
            raise ValueError("message has no header/body separator")
        fields: dict[bytes, list[bytes]] = {}
        for raw in _FIELD_BREAK.split(message[:end]):
            name, colon, value = raw.partition(b":")
            if colon:
                fields.setdefault(name.strip().lower(), []).append(value)
        names = [name for name in SIGNED_HEADERS if name.encode() in fields]
        if "from" not in names:
            raise ValueError("message has no From header")
        # Verifiers take instances bottom-up, one per listed name; the extra name matches nothing.
        canonical = [
            _relaxed_header(name, value)
            for name in names
            for value in reversed(fields[name.encode()])
        ]
        listed = tuple(name for name in names for _ in range(len(fields[name.encode()]) + 1))
        prefix, canonical_prefix = self._prefix(listed)
        body_hash = base64.b64encode(hashlib.sha256(_relaxed_body(message[end + 4 :])).digest())
        suffix = b"\r\n\tt=%d; bh=%s;\r\n\tb=" % (int(time.time()), body_hash)
        data = b"".join(canonical) + canonical_prefix + _relaxed_value(suffix)
        signature = base64.b64encode(self._sign(data)).decode()
        return b"".join((prefix, suffix, _fold_b(signature), message))

    def _prefix(self, listed: tuple[str, ...]) -> tuple[bytes, bytes]:
        """The header through h= as sent, and relaxed-canonical (without its line end)."""
        if listed not in self._prefixes:
            h_tag = [f"{name}:" for name in listed]
            h_tag[0], h_tag[-1] = "h=" + h_tag[0], h_tag[-1][:-1] + ";"
            folded = _fold([*self._tags, *h_tag]).encode()
            self._prefixes[listed] = (
                folded,
                _relaxed_header("dkim-signature", folded[len(_HEADER) :])[:-2],
            )
        return self._prefixes[listed]

    def _sign(self, data: bytes) -> bytes:
        if isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())
        # RFC 8463: Ed25519 signs the SHA-256 digest of the header data, not the data itself.
        return self._key.sign(hashlib.sha256(data).digest())


def _relaxed_header(name: str, value: bytes) -> bytes:
    """RFC 6376 3.4.2: lower-case name, unfolded value with whitespace runs as one space."""
    return name.encode() + b":" + _relaxed_value(value).strip(b" ") + b"\r\n"


def _relaxed_value(value: bytes) -> bytes:
    value = value.replace(b"\r\n", b"")
    return _WSP_RUN.sub(b" ", value) if b"\t" in value or b"  " in value else value


def _relaxed_body(body: bytes) -> bytes:
    """RFC 6376 3.4.4: no trailing whitespace, runs of whitespace as one space, no empty tail."""
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    if b" \r\n" in body or b"\t" in body:
        body = _TRAILING_WSP.sub(b"\r\n", body)
    if b"  " in body or b"\t" in body:
        body = _WSP_TO_SQUEEZE.sub(b" ", body)
    body = body.rstrip(b"\r\n")
    return body + b"\r\n" if body else b""


def _fold(tokens: list[str]) -> str:
    """`DKIM-Signature:` and `tokens`, folded so no line passes 78 characters where possible.

    A token after one ending in ":" (the h= list) follows it without a space.
    """
    lines = [_HEADER]
    previous = ""
    for token in tokens:
        glue = "" if previous.endswith(":") else " "
        if len(lines[-1]) + len(glue) + len(token) > _MAX_LINE:
            lines.append("\t")
            glue = ""
        lines[-1] += glue + token
        previous = token
    return "\r\n".join(lines)


def _fold_b(signature: str) -> bytes:
    """The b= value in chunks of 72 characters, one per line (whitespace in b= is ignored)."""
    chunks = [signature[i : i + 72] for i in range(0, len(signature), 72)]
    return ("\r\n\t".join(chunks) + "\r\n").encode()

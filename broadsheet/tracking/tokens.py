"""One signed token per message: it names the delivery, the campaign and the send time, and
covers the open pixel and every wrapped link of that message (the link's index is beside it
in the URL, not inside it), so tracking costs one HMAC per message. Verifying it needs no
database: a forged or altered token fails the HMAC and is never looked up."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

# 6 bytes of delivery id, 4 of campaign id, 5 of Unix seconds, then 9 bytes (72 bits) of
# HMAC-SHA256: 24 bytes, 32 URL-safe base64 characters without padding.
_DELIVERY, _CAMPAIGN, _TIME, _SIGNATURE = 6, 4, 5, 9
_PAYLOAD = _DELIVERY + _CAMPAIGN + _TIME
TOKEN_LENGTH = 32


@dataclass(frozen=True)
class TrackingClaim:
    """What a verified token says: whose message it was, and when it was made."""

    delivery_id: int
    campaign_id: int
    sent_at: int  # Unix seconds when the message was made


@lru_cache(maxsize=8)
def tracking_key(secret: str) -> bytes:
    """The key for tracking tokens only, derived from SECRET_KEY: no other token verifies."""
    return hmac.new(secret.encode(), b"broadsheet.tracking", hashlib.sha256).digest()


def make_tracking_token(key: bytes, delivery_id: int, campaign_id: int, sent_at: int) -> str:
    """The token of one message; `key` is `tracking_key(SECRET_KEY)`."""
    payload = (
        delivery_id.to_bytes(_DELIVERY, "big")
        + campaign_id.to_bytes(_CAMPAIGN, "big")
        + sent_at.to_bytes(_TIME, "big")
    )
    signature = hmac.new(key, payload, hashlib.sha256).digest()[:_SIGNATURE]
    return base64.urlsafe_b64encode(payload + signature).decode()


def read_tracking_token(key: bytes, token: str) -> TrackingClaim | None:
    """The claim of a token made with `key`, or None when it is malformed or not ours."""
    if len(token) != TOKEN_LENGTH:
        return None
    try:
        raw = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    payload, signature = raw[:_PAYLOAD], raw[_PAYLOAD:]
    expected = hmac.new(key, payload, hashlib.sha256).digest()[:_SIGNATURE]
    if not hmac.compare_digest(signature, expected):
        return None
    return TrackingClaim(
        delivery_id=int.from_bytes(payload[:_DELIVERY], "big"),
        campaign_id=int.from_bytes(payload[_DELIVERY : _DELIVERY + _CAMPAIGN], "big"),
        sent_at=int.from_bytes(payload[_DELIVERY + _CAMPAIGN :], "big"),
    )

"""Signed, purposeful link tokens: a confirm token cannot unsubscribe, and vice versa."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from broadsheet.errors import BadToken

CONFIRM_MAX_AGE = 7 * 24 * 3600


@lru_cache(maxsize=8)
def _confirm_serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="broadsheet.confirm")


@lru_cache(maxsize=8)
def _unsubscribe_serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="broadsheet.unsubscribe")


def make_confirm_token(secret: str, subscriber_id: int, email_key: str) -> str:
    """Token for the double opt-in link; bound to the address and valid for seven days."""
    return _confirm_serializer(secret).dumps([subscriber_id, email_key])


@dataclass(frozen=True)
class ConfirmClaim:
    subscriber_id: int
    email_key: str


def read_confirm_token(secret: str, token: str, max_age: int = CONFIRM_MAX_AGE) -> ConfirmClaim:
    try:
        sid, key = _confirm_serializer(secret).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise BadToken("this confirmation link has expired", expired=True) from exc
    except (BadSignature, ValueError, TypeError) as exc:
        raise BadToken("this confirmation link is not valid") from exc
    return ConfirmClaim(int(sid), str(key))


def make_unsubscribe_token(secret: str, subscriber_id: int, campaign_id: int | None = None) -> str:
    """Token for unsubscribe links; it never expires, since old issues must keep working."""
    payload = [subscriber_id] if campaign_id is None else [subscriber_id, campaign_id]
    return _unsubscribe_serializer(secret).dumps(payload)


@dataclass(frozen=True)
class UnsubscribeClaim:
    subscriber_id: int
    campaign_id: int | None


def read_unsubscribe_token(secret: str, token: str) -> UnsubscribeClaim:
    try:
        payload = _unsubscribe_serializer(secret).loads(token)
        sid = int(payload[0])
        cid = int(payload[1]) if len(payload) > 1 else None
    except (BadSignature, ValueError, TypeError, IndexError, KeyError) as exc:
        raise BadToken("this unsubscribe link is not valid") from exc
    return UnsubscribeClaim(sid, cid)


@lru_cache(maxsize=8)
def _issue_serializer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="broadsheet.issue")


def make_issue_key(secret: str, article_id: int) -> str:
    """The key in an email's link to its issue's web edition, which an issue sent only to
    private newsletters opens only with; it never expires, as old issues' links must work."""
    return _issue_serializer(secret).dumps(article_id)


def issue_key_opens(secret: str, key: str, article_id: int) -> bool:
    """Whether `key` is the web edition key of `article_id` (a bad or another's: False)."""
    try:
        return bool(_issue_serializer(secret).loads(key) == article_id)
    except BadSignature:
        return False


def erasure_hash(secret: str, email_key: str) -> str:
    """The keyed hash (HMAC-SHA256) an address erased at its reader's request is kept as: it
    recognises the address again, and cannot be turned back into it without SECRET_KEY."""
    return hmac.new(secret.encode(), f"erasure:{email_key}".encode(), hashlib.sha256).hexdigest()

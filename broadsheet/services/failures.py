"""A campaign's failures grouped as an operator reads them: by the relay's reply class
(`550 5.1.1`, `451 4.7.1`, `connection lost`, ...) and by the readers' domain (the largest
few, the rest summed), each with a reply to show and a way to list its deliveries.

Grouping reads the campaign's failed and bounced rows with their reader's address. A small
campaign is grouped at each ask; a large one (progress.KEPT_COUNTS_ABOVE) keeps its groups on
the campaign (`Campaign.failures`), made again by the tick when its failures change.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from broadsheet.models import Campaign, Delivery, DeliveryStatus, Subscriber, utcnow
from broadsheet.services import progress
from broadsheet.services.claims import SUPPRESSED_ERROR

FAILURE_STATUSES = (DeliveryStatus.FAILED, DeliveryStatus.BOUNCED)
TOP_DOMAINS = 5
TOP_CLASSES = 8
NO_REPLY = "no reply recorded"
READER_LEFT = "reader left before their turn"
# A reply code and, when given, the enhanced status code after it: "550 5.1.1", "421-4.7.0".
_CODE = re.compile(r"\b([245]\d\d)(?:[ -]([245]\.\d{1,3}\.\d{1,3}))?\b")
_GAVE_UP = re.compile(r"^gave up after [^:]*: ")


def reply_class(reply: str | None, error: str | None = None) -> str:
    """The class of a failed delivery's reply (or, with none, its error): the SMTP codes when
    there are, else the error's first words; the same text always gives the same class."""
    text = (reply or error or "").strip()
    if not text:
        return NO_REPLY
    if text.startswith(SUPPRESSED_ERROR.split(":")[0]):
        return READER_LEFT
    text = _GAVE_UP.sub("", text)  # a retry budget spent: the class of the last refusal
    code = _CODE.match(text) or _CODE.search(text[:200])
    if code is not None:
        return " ".join(part for part in code.groups() if part)
    return text.split(":")[0].strip().lower()[:60] or NO_REPLY


def group(session: Session, campaign_id: int) -> dict[str, Any]:
    """Failed and bounced deliveries by reply class (the largest TOP_CLASSES, the rest
    summed) and by domain (the largest TOP_DOMAINS, the rest summed), each with a reply."""
    rows = session.execute(
        select(Delivery.relay_reply, Delivery.last_error, Subscriber.email_key)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.campaign_id == campaign_id, Delivery.status.in_(FAILURE_STATUSES))
    )
    classes: Counter[str] = Counter()
    domains: Counter[str] = Counter()
    samples: dict[str, str] = {}
    for reply, error, email in rows:
        said = reply or error or ""
        kind = reply_class(reply, error)
        domain = email.rpartition("@")[2]
        classes[kind] += 1
        domains[domain] += 1
        samples.setdefault(f"class:{kind}", said)
        samples.setdefault(f"domain:{domain}", said)
    return {
        "total": sum(classes.values()),
        "classes": _top(classes, TOP_CLASSES, samples, "class"),
        "domains": _top(domains, TOP_DOMAINS, samples, "domain"),
    }


def _top(counts: Counter[str], n: int, samples: dict[str, str], kind: str) -> dict[str, Any]:
    top = counts.most_common(n)
    rest = counts.most_common()[n:]
    return {
        "top": [{"name": name, "count": k, "reply": samples[f"{kind}:{name}"]} for name, k in top],
        "rest": {"count": sum(k for _, k in rest), "groups": len(rest)},
    }


def keep(session: Session, campaign_id: int) -> None:
    """Group the campaign's failures now and keep the groups on it (a large campaign)."""
    groups = {**group(session, campaign_id), "at": utcnow().isoformat()}
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(failures=groups)
        .execution_options(synchronize_session=False)
    )


def shown(session: Session, campaign: Campaign) -> dict[str, Any]:
    """The groups a page shows: kept ones for a large campaign, made now for the rest."""
    if progress.is_kept(campaign.counts) and campaign.failures is not None:
        return dict(campaign.failures)
    return group(session, campaign.id)


def matches(column: Any, text: str) -> Any:
    """A condition that a reply column holds `text`, in any case (its wildcards escaped)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")


def reply_filter(kind: str) -> Any:
    """A first, loose cut of the rows of reply class `kind`, for an index-ordered page that
    then keeps the rows whose `reply_class` is exactly `kind`."""
    if kind == NO_REPLY:
        return (Delivery.relay_reply.is_(None)) & (Delivery.last_error.is_(None))
    if kind == READER_LEFT:
        return Delivery.suppressed.is_(True)
    # A code class by its last code ("5.1.1"), which a reply may write as "550-5.1.1".
    text = kind.split(" ")[-1] if kind[:1].isdigit() else kind
    return or_(matches(Delivery.relay_reply, text), matches(Delivery.last_error, text))

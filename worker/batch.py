"""A campaign's batch: the due, queued deliveries of one id range, sent by the one send loop
(worker/sending.py) with their outcomes in the delivery ledger (broadsheet/services/claims.py).

Each outcome is committed in the same statement that marks the next row in flight, so a
killed worker leaves at most one row of its connection whose fate is unknown.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from broadsheet.mail.compose import campaign_recipient, campaign_skeleton, is_tracked
from broadsheet.mail.skeleton import MessageSkeleton, domain_of
from broadsheet.models import Campaign, CampaignStatus, DeliveryStatus
from broadsheet.services import claims, suppression
from broadsheet.services.claims import Claimed
from broadsheet.tracking.tokens import make_tracking_token, tracking_key
from worker import sending
from worker.resources import Resources
from worker.sending import Connections, Fate, Outcome

# What each fate is in the delivery ledger.
STATUS = {
    Fate.SENT: DeliveryStatus.SENT,
    Fate.FAILED: DeliveryStatus.FAILED,
    Fate.BOUNCED: DeliveryStatus.BOUNCED,
    Fate.UNKNOWN: DeliveryStatus.UNKNOWN,
}


def send_range(
    res: Resources, campaign_id: int, first_id: int, last_id: int, claim_key: str
) -> Outcome:
    """Send the due, queued deliveries with ids in [first_id, last_id] over one connection;
    the outcome's `retry_at` says when rows of the range that wait for a retry fall due."""
    return sending.run(res, claim_key, CampaignRange(res, campaign_id, first_id, last_id))


class CampaignRange:
    """The source of a batch: one claim on the range (a batch never claims twice)."""

    kind = "campaign"

    def __init__(self, res: Resources, campaign_id: int, first_id: int, last_id: int) -> None:
        self.res, self.campaign_id, self.first_id, self.last_id = (
            res,
            campaign_id,
            first_id,
            last_id,
        )

    def claim(self, held: Connections, claim_key: str, outcome: Outcome) -> CampaignLedger | None:
        lease = timedelta(seconds=self.res.settings.claim_lease)
        with held.sessions.begin() as session:
            rows = claims.claim(
                session, self.campaign_id, self.first_id, self.last_id, claim_key, lease,
                begin_first=False,
            )  # fmt: skip
            campaign = session.get(Campaign, self.campaign_id) if rows else None
        if not rows or campaign is None:
            return None
        tracked = is_tracked(campaign, self.res.settings)
        skeleton = campaign_skeleton(campaign, self.res.settings, tracked=tracked)
        return CampaignLedger(
            self.res, held, claim_key, outcome, campaign.id, rows, skeleton, tracked=tracked
        )

    def again(self, ledger: sending.Ledger) -> bool:
        return False

    def renew(self, session: Session, claim_key: str, until: datetime) -> bool:
        return claims.renew(session, claim_key, until)

    def next_due(self, session: Session) -> datetime | None:
        return claims.next_due(session, self.campaign_id, self.first_id, self.last_id)


@dataclass
class CampaignLedger(sending.Ledger):
    """The held deliveries of a claim, each reader's message made from the campaign's
    skeleton (rendered once per campaign; only the personal parts per reader)."""

    campaign_id: int
    rows: list[Claimed]
    skeleton: MessageSkeleton
    message_ids: dict[int, str] = field(default_factory=dict)  # by row, kept once it is sent
    tracked: bool = False  # the skeleton has the pixel and wrapped links: each needs a token

    def __post_init__(self) -> None:
        self.sender_domain = domain_of(self.res.settings.mail_from)  # once, not per reader
        self.tracking_key = tracking_key(self.res.settings.secret_key)

    def addresses(self) -> Sequence[str]:
        return [row.email for row in self.rows]

    def message(self, index: int) -> bytes:
        row = self.rows[index]
        track = None
        if self.tracked:  # one HMAC covers the pixel and every link of this message
            now = int(time.time())
            track = make_tracking_token(self.tracking_key, row.delivery_id, self.campaign_id, now)
        recipient = campaign_recipient(
            self.res.settings, self.campaign_id, row.subscriber_id, row.email, row.name,
            self.sender_domain, track, row.attributes,
        )  # fmt: skip
        self.message_ids[index] = recipient.message_id
        return self.skeleton.render(recipient)

    def still_sending(self) -> bool:
        with self.held.sessions.begin() as session:
            status = session.scalar(select(Campaign.status).where(Campaign.id == self.campaign_id))
        return status == CampaignStatus.SENDING

    def _finish_and_begin(
        self, db: Session | Connection, index: int, fate: Fate, values: Mapping[str, str],
        begin: int | None,
    ) -> bool:  # fmt: skip
        next_row = None if begin is None else self.rows[begin].delivery_id
        message_id = self.message_ids.get(index) if fate is Fate.SENT else None
        return claims.finish_and_begin(
            db, self.claim_key, self.rows[index].delivery_id, STATUS[fate], next_row,
            error=values.get("error"), reply=values.get("reply"), message_id=message_id,
        )  # fmt: skip

    def _begin(self, session: Session, index: int) -> bool:
        return claims.begin(session, self.claim_key, self.rows[index].delivery_id)

    def _defer(
        self, session: Session, indices: Sequence[int], error: str, *, count_attempt: bool
    ) -> tuple[list[int], datetime | None]:
        settings = self.res.settings
        deferred = claims.defer(
            session,
            self.claim_key,
            self._ids(indices),
            error,
            delays=settings.retry_delays,
            max_age=timedelta(seconds=settings.retry_max_age),
            jitter=random.uniform(-0.2, 0.2),
            count_attempt=count_attempt,
        )
        given_up = set(deferred.failed)
        return [i for i in indices if self.rows[i].delivery_id in given_up], deferred.retry_at

    def _give_back(
        self, session: Session, indices: Sequence[int], due: datetime | None, reason: str | None
    ) -> None:
        if reason is None:  # put off: not a failure, the attempt is taken back
            assert due is not None
            claims.postpone(session, self.claim_key, self._ids(indices), due)
        else:
            claims.release(session, self.claim_key, self._ids(indices), reason, due)

    def _bounce(self, session: Session, index: int, reply: str) -> None:
        suppression.mark_bounced(session, self.rows[index].subscriber_id, reply)

    def about(self, index: int) -> tuple[str, dict[str, object]]:
        row = self.rows[index]
        ids: dict[str, object] = {"campaign_id": self.campaign_id, "delivery_id": row.delivery_id,
               "subscriber_id": row.subscriber_id}  # fmt: skip
        return f"campaign {self.campaign_id} delivery {row.delivery_id}", ids

    def _ids(self, indices: Sequence[int]) -> list[int]:
        return [self.rows[i].delivery_id for i in indices]

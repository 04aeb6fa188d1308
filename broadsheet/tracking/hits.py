"""A hit as it travels from the web to the worker through a Redis list: one short line
(`o,<campaign>,<delivery>,<link>,<human>,<reason>,<unix ms>`), with the verdict already made,
so neither the agent nor the address ever leaves the request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from broadsheet.models import EngagementKind
from broadsheet.tracking.verdicts import REASONS

HITS_KEY = "broadsheet:tracking:hits"  # the web appends here
PROCESSING_KEY = "broadsheet:tracking:processing"  # a batch being written; first item its id
_KINDS = {"o": EngagementKind.OPEN, "c": EngagementKind.CLICK}
_LETTERS = {kind: letter for letter, kind in _KINDS.items()}


@dataclass(frozen=True)
class Hit:
    kind: EngagementKind
    campaign_id: int
    delivery_id: int
    link_index: int | None  # None for an open
    human: bool
    reason: str
    at_ms: int  # Unix milliseconds

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.at_ms / 1000, UTC)

    def encode(self) -> bytes:
        link = "" if self.link_index is None else str(self.link_index)
        fields = (
            _LETTERS[self.kind], str(self.campaign_id), str(self.delivery_id), link,
            "1" if self.human else "0", self.reason, str(self.at_ms),
        )  # fmt: skip
        return ",".join(fields).encode()


def decode_hit(raw: bytes) -> Hit | None:
    """The hit a line holds, or None for a line that is not one (it is then dropped)."""
    try:
        letter, campaign, delivery, link, human, reason, at_ms = raw.decode().split(",")
        if letter not in _KINDS or reason not in REASONS or human not in ("0", "1"):
            return None
        return Hit(
            _KINDS[letter], int(campaign), int(delivery), int(link) if link else None,
            human == "1", reason, int(at_ms),
        )  # fmt: skip
    except (UnicodeDecodeError, ValueError):
        return None

"""The link check's report as stored on a campaign (`Campaign.link_report`): written by the
worker (worker/links.py), read by the pre-send checks (broadsheet/mail/checks.py).

Each link is one of three outcomes with a short reason. The reasons never tell how a server
failed to answer (refused, silent, or not speaking HTTP): the check must not become a way to
learn which ports are open on a host.
"""

from __future__ import annotations

from typing import Literal, TypedDict

Outcome = Literal["works", "broken", "not checked"]
WORKS: Outcome = "works"
BROKEN: Outcome = "broken"
NOT_CHECKED: Outcome = "not checked"


class LinkResult(TypedDict):
    url: str
    outcome: Outcome
    reason: str | None  # None when the link works
    # For an http:// link, whether its https:// form works (None: not asked, or not checked).
    https: bool | None


class LinkReport(TypedDict):
    checked_at: str  # ISO 8601, UTC
    results: list[LinkResult]
    skipped: str | None  # why the whole check says nothing (the worker is offline), or None

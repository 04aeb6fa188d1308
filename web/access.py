"""Rights enforced per blueprint, in one `before_request` each: reading needs READ, changing
needs EDIT (or what the blueprint says for a view), decided by broadsheet.access."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import Blueprint, abort, request

from broadsheet.access import Right, can
from broadsheet.models import Role

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WHAT = {
    Right.READ: "see this",
    Right.PAUSE: "pause a send",
    Right.EDIT: "make changes",
    Right.MANAGE: "manage people and API tokens",
}


def guard(
    bp: Blueprint,
    role_of: Callable[[], Role],
    *,
    read: Right = Right.READ,
    write: Right = Right.EDIT,
    rights: Mapping[str, Right] | None = None,
) -> None:
    """Check every request to `bp`: `role_of()` names the caller's role (it answers for an
    anonymous caller itself); `rights` maps a view's name to the right it needs instead."""
    overrides = dict(rights or {})

    @bp.before_request
    def _check_rights() -> None:
        role = role_of()
        view = (request.endpoint or "").rpartition(".")[2]
        right = overrides.get(view) or (read if request.method in SAFE_METHODS else write)
        if not can(role, right):
            abort(403, description=f"an {role.value} may not {WHAT[right]}")
